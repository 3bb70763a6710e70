//! The ticket list employees work from: filters, search, sort and keyset pages, with one
//! section per contact and its unread count.

use crate::model::Status;
use crate::store::{AssigneeMatch, ListCursor, ListRequest, Shop, now_ms};

pub use crate::store::{
    Assignee, AutoAnswer, ContactSection, Presence, PresenceActivity, TicketRow, TicketSort,
};

use super::{Desk, DeskError, DeskResult};

/// Whose tickets to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    /// The viewing employee's.
    Mine,
    Unassigned,
}

crate::serde_names!(AssigneeFilter);

/// Rows per page unless asked otherwise, and at most.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// What the employee asked to see. Filters combine; `after` is the `next` of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketQuery {
    pub status: Option<Status>,
    pub assignee: AssigneeFilter,
    pub contact: Option<i64>,
    pub lang: Option<String>,
    pub intent: Option<String>,
    pub search: Option<String>,
    pub sort: TicketSort,
    /// Opaque keyset cursor.
    pub after: Option<String>,
    /// Rows per page: 0 is [`DEFAULT_LIMIT`], more than [`MAX_LIMIT`] is that.
    pub limit: usize,
}

impl Default for TicketQuery {
    fn default() -> Self {
        TicketQuery {
            status: None,
            assignee: AssigneeFilter::Anyone,
            contact: None,
            lang: None,
            intent: None,
            search: None,
            sort: TicketSort::Recent,
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPage {
    pub rows: Vec<TicketRow>,
    /// The cursor of the next page; None on the last one.
    pub next: Option<String>,
    pub sections: Vec<ContactSection>,
}

/// A cursor as text: the sort's letter, then its key, the ticket number and the walk's start,
/// dot-separated (`r1790000000000.1042.1790000000123`).
pub fn encode_cursor(sort: TicketSort, cursor: &ListCursor) -> String {
    format!(
        "{}{}.{}.{}",
        sort_letter(sort),
        cursor.key,
        cursor.number,
        cursor.as_of
    )
}

/// The cursor `text` of a page of `sort`; None when it is not one (edited, or of another sort).
pub fn decode_cursor(sort: TicketSort, text: &str) -> Option<ListCursor> {
    let rest = text.strip_prefix(sort_letter(sort))?;
    let mut parts = rest.split('.');
    let key = parts.next()?.parse().ok()?;
    let number = parts.next()?.parse().ok()?;
    let as_of = parts.next()?.parse().ok()?;
    parts
        .next()
        .is_none()
        .then_some(ListCursor { key, number, as_of })
}

fn sort_letter(sort: TicketSort) -> char {
    match sort {
        TicketSort::Recent => 'r',
        TicketSort::Oldest => 'o',
        TicketSort::WaitingLongest => 'w',
        TicketSort::Number => 'n',
    }
}

/// An empty filter value is no filter (a form sends every field).
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl Desk {
    /// One page of the shop's tickets as `viewer_employee_id` asked for it, with the unread
    /// count of each contact.
    pub async fn ticket_list(
        &self,
        shop: &Shop,
        viewer_employee_id: i64,
        query: &TicketQuery,
    ) -> DeskResult<TicketPage> {
        let after = match given(&query.after) {
            Some(text) => Some(decode_cursor(query.sort, &text).ok_or(DeskError::BadCursor)?),
            None => None,
        };
        let limit = match query.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let request = ListRequest {
            status: query.status,
            assignee: match query.assignee {
                AssigneeFilter::Anyone => AssigneeMatch::Anyone,
                AssigneeFilter::Mine => AssigneeMatch::Employee(viewer_employee_id),
                AssigneeFilter::Unassigned => AssigneeMatch::Unassigned,
            },
            contact_id: query.contact,
            lang: given(&query.lang),
            intent: given(&query.intent),
            search: given(&query.search),
            sort: query.sort,
            after,
            limit,
        };
        let page = self.store.ticket_list(shop.id, &request, now_ms()).await?;
        let sections = self.store.unread_by_contact(shop.id).await?;
        Ok(TicketPage {
            rows: page.rows,
            next: page.next.map(|c| encode_cursor(query.sort, &c)),
            sections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_only_for_their_sort() {
        let cursor = ListCursor {
            key: 1_790_000_000_000,
            number: 1042,
            as_of: 1_790_000_000_123,
        };
        for sort in TicketSort::ALL {
            let text = encode_cursor(sort, &cursor);
            assert_eq!(decode_cursor(sort, &text), Some(cursor));
        }
        let recent = encode_cursor(TicketSort::Recent, &cursor);
        assert_eq!(decode_cursor(TicketSort::Oldest, &recent), None);
        let waiting = ListCursor {
            key: i64::MAX,
            ..cursor
        };
        let text = encode_cursor(TicketSort::WaitingLongest, &waiting);
        assert_eq!(
            decode_cursor(TicketSort::WaitingLongest, &text),
            Some(waiting)
        );
        for bad in ["", "r", "r1.2", "r1.2.3.4", "rx.2.3", "r1.2.3 ", "'; DROP"] {
            assert_eq!(decode_cursor(TicketSort::Recent, bad), None, "{bad}");
        }
    }

    #[test]
    fn assignee_filters_have_names() {
        assert_eq!("mine".parse(), Ok(AssigneeFilter::Mine));
        assert_eq!(AssigneeFilter::Unassigned.to_string(), "unassigned");
    }
}
