//! What the statistics page reads: counts over a period aggregated in SQL (per quarter hour,
//! so the desk can place them in the shop's calendar whatever its zone), and the few per-ticket
//! rows that medians and the reopen rate need.

use serde::Serialize;
use sqlx::Row;

use super::{Dialect, Result, Store, StoreError, decode_column, decode_name};
use crate::model::{ReplyKind, Status};

/// The width of the buckets counts come in: every time zone's offset is a multiple of it.
pub const QUARTER_MS: i64 = 15 * 60 * 1000;

/// Rows counted in one quarter hour, numbered `instant / QUARTER_MS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarterCount {
    pub quarter: i64,
    pub count: i64,
}

/// What is counted per quarter hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Tickets, by creation.
    Tickets,
    /// Customers' messages, by their date.
    CustomerMessages,
    /// Messages sent to customers (automatic or employees'), by their date.
    Replies,
}

/// One ticket created in the period, with when it was first answered and first closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketTimes {
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// One entry of a ticket's status history, as the reopen rate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEntry {
    Changed {
        from: Option<Status>,
        to: Status,
    },
    /// A customer message arrived (threading reopens a closed ticket).
    CustomerMessage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedStatus {
    pub ticket_id: i64,
    pub at: i64,
    pub entry: StatusEntry,
}

/// What tickets are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupedBy {
    Contact,
    Intent,
}

/// Tickets created and replies sent in the period, for one contact or intent (None: without).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupCount {
    pub key: Option<String>,
    pub tickets: i64,
    pub replies: i64,
}

/// An employee's work in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmployeeActivity {
    pub employee_id: i64,
    pub name: String,
    /// Tickets the employee replied to.
    pub tickets: i64,
    pub replies: i64,
    /// Tickets created in the period and assigned to the employee now.
    pub assigned: i64,
}

/// Answers drafted in shadow mode in the period, per intent and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowCount {
    pub intent: Option<String>,
    pub kind: ReplyKind,
    pub count: i64,
}

/// One answer shadow mode drafted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowDraft {
    pub ticket_number: i64,
    pub ticket_subject: String,
    pub intent: Option<String>,
    pub kind: ReplyKind,
    pub subject: String,
    pub drafted_at: i64,
}

/// The answering kinds that count as a response to the customer.
const RESPONSE_KINDS: &str = "'answer', 'ask', 'employee'";

impl Store {
    /// Rows of `what` in [from_ms, to_ms), counted per quarter hour (only non-empty ones).
    pub async fn stats_quarter_counts(
        &self,
        shop_id: i64,
        what: Counted,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<QuarterCount>> {
        let sql = match what {
            Counted::Tickets => format!(
                "SELECT created_at / {QUARTER_MS} AS q, COUNT(*) AS n FROM tickets \
                 WHERE shop_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1"
            ),
            Counted::CustomerMessages | Counted::Replies => format!(
                "SELECT COALESCE(date_ms, received_at) / {QUARTER_MS} AS q, COUNT(*) AS n FROM messages \
                 WHERE shop_id = $1 AND direction = $4 AND COALESCE(date_ms, received_at) >= $2 \
                 AND COALESCE(date_ms, received_at) < $3 GROUP BY 1"
            ),
        };
        let direction = if what == Counted::Replies {
            "out"
        } else {
            "in"
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(from_ms)
            .bind(to_ms);
        if what != Counted::Tickets {
            query = query.bind(direction);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(QuarterCount {
                    quarter: row.try_get("q")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// Customer messages of the period and how many of them got an automatic answer (or a
    /// request for information) actually sent.
    pub async fn stats_automatic_share(
        &self,
        shop_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS messages, COUNT(o.id) AS automatic FROM messages m \
             LEFT JOIN outbox o ON o.reply_to_message = m.id AND o.kind IN ('answer', 'ask') AND o.state = 'sent' \
             WHERE m.shop_id = $1 AND m.direction = 'in' AND COALESCE(m.date_ms, m.received_at) >= $2 \
             AND COALESCE(m.date_ms, m.received_at) < $3",
        )
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("messages")?, row.try_get("automatic")?))
    }

    /// The SQL that reads the `to` of a status change's JSON detail.
    fn detail_to(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "json_extract(e.detail, '$.to')",
            Dialect::Postgres => "(e.detail::jsonb ->> 'to')",
        }
    }

    /// Tickets created in the period with their first response (a reply sent, automatic or
    /// not) and their first closing (the timeline's, else the last update of a ticket closed
    /// without one, as the command line closes them).
    pub async fn stats_ticket_times(
        &self,
        shop_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TicketTimes>> {
        let sql = format!(
            "SELECT t.created_at, t.status, t.updated_at, \
             (SELECT MIN(o.sent_at) FROM outbox o WHERE o.ticket_id = t.id AND o.state = 'sent' \
              AND o.kind IN ({RESPONSE_KINDS})) AS first_response_at, \
             (SELECT MIN(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'status_changed' \
              AND {} = 'closed') AS closed_at \
             FROM tickets t WHERE t.shop_id = $1 AND t.created_at >= $2 AND t.created_at < $3",
            self.detail_to()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(shop_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let created_at: i64 = row.try_get("created_at")?;
                let status: Status = decode_column(row, "status", "ticket", created_at)?;
                let updated_at: i64 = row.try_get("updated_at")?;
                let closed_at: Option<i64> = row.try_get("closed_at")?;
                Ok(TicketTimes {
                    created_at,
                    first_response_at: row.try_get("first_response_at")?,
                    closed_at: closed_at.or((status == Status::Closed).then_some(updated_at)),
                })
            })
            .collect()
    }

    /// The status history that decides reopens in the period: every status change before
    /// `to_ms` and the customer messages filed in the period, of the tickets that have a
    /// status change and moved in the period; ordered by ticket and time.
    pub async fn stats_status_history(
        &self,
        shop_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TimedStatus>> {
        let tickets = "SELECT t.id FROM tickets t WHERE t.shop_id = $1 AND t.updated_at >= $2 \
             AND EXISTS (SELECT 1 FROM ticket_events x WHERE x.ticket_id = t.id AND x.kind = 'status_changed' AND x.at < $3)";
        let events = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT e.id, e.ticket_id, e.at, e.detail FROM ticket_events e WHERE e.shop_id = $1 \
             AND e.kind = 'status_changed' AND e.at < $3 AND e.ticket_id IN ({tickets})"
        )))
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut history = Vec::with_capacity(events.len());
        for row in &events {
            let id: i64 = row.try_get("id")?;
            let detail: String = row.try_get("detail")?;
            let corrupt = |reason: String| StoreError::Corrupt {
                table: "ticket_events",
                id,
                column: "detail",
                reason,
            };
            let detail: serde_json::Value =
                serde_json::from_str(&detail).map_err(|e| corrupt(e.to_string()))?;
            let status = |field: &'static str| -> Result<Option<Status>> {
                match detail.get(field).and_then(|v| v.as_str()) {
                    Some(name) => Ok(Some(decode_name(
                        name.to_string(),
                        "detail",
                        "ticket_events",
                        id,
                    )?)),
                    None => Ok(None),
                }
            };
            let to = status("to")?.ok_or_else(|| corrupt("no \"to\" status".into()))?;
            history.push(TimedStatus {
                ticket_id: row.try_get("ticket_id")?,
                at: row.try_get("at")?,
                entry: StatusEntry::Changed {
                    from: status("from")?,
                    to,
                },
            });
        }
        let messages = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT m.ticket_id, m.received_at FROM messages m WHERE m.shop_id = $1 AND m.direction = 'in' \
             AND m.received_at >= $2 AND m.received_at < $3 AND m.ticket_id IN ({tickets})"
        )))
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        for row in &messages {
            history.push(TimedStatus {
                ticket_id: row.try_get("ticket_id")?,
                at: row.try_get("received_at")?,
                entry: StatusEntry::CustomerMessage,
            });
        }
        history.sort_by_key(|entry| (entry.ticket_id, entry.at));
        Ok(history)
    }

    /// Tickets created and replies sent in the period, per contact or per intent.
    pub async fn stats_groups(
        &self,
        shop_id: i64,
        by: GroupedBy,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<GroupCount>> {
        let key = match by {
            GroupedBy::Contact => "c.name",
            GroupedBy::Intent => "t.intent",
        };
        let tickets = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {key} AS k, COUNT(*) AS n FROM tickets t LEFT JOIN contacts c ON c.id = t.contact_id \
             WHERE t.shop_id = $1 AND t.created_at >= $2 AND t.created_at < $3 GROUP BY {key}"
        )))
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let replies = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {key} AS k, COUNT(*) AS n FROM messages m JOIN tickets t ON t.id = m.ticket_id \
             LEFT JOIN contacts c ON c.id = t.contact_id WHERE m.shop_id = $1 AND m.direction = 'out' \
             AND COALESCE(m.date_ms, m.received_at) >= $2 AND COALESCE(m.date_ms, m.received_at) < $3 GROUP BY {key}"
        )))
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut groups: Vec<GroupCount> = Vec::new();
        for (rows, is_tickets) in [(&tickets, true), (&replies, false)] {
            for row in rows {
                let key: Option<String> = row.try_get("k")?;
                let n: i64 = row.try_get("n")?;
                let index = match groups.iter().position(|g| g.key == key) {
                    Some(index) => index,
                    None => {
                        groups.push(GroupCount {
                            key,
                            tickets: 0,
                            replies: 0,
                        });
                        groups.len() - 1
                    }
                };
                if is_tickets {
                    groups[index].tickets += n;
                } else {
                    groups[index].replies += n;
                }
            }
        }
        groups.sort_by(|a, b| (b.tickets, b.replies, &a.key).cmp(&(a.tickets, a.replies, &b.key)));
        Ok(groups)
    }

    /// Every employee of the shop with their replies in the period (from the timeline's
    /// `replied` events), the tickets those went to, and the period's tickets assigned to them.
    pub async fn stats_employees(
        &self,
        shop_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<EmployeeActivity>> {
        let replied = "FROM ticket_events v WHERE v.shop_id = $1 AND v.kind = 'replied' \
             AND v.employee_id = e.id AND v.at >= $2 AND v.at < $3";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT e.id, e.name, (SELECT COUNT(*) {replied}) AS replies, \
             (SELECT COUNT(DISTINCT v.ticket_id) {replied}) AS tickets, \
             (SELECT COUNT(*) FROM tickets t WHERE t.shop_id = $1 AND t.assignee_id = e.id \
              AND t.created_at >= $2 AND t.created_at < $3) AS assigned \
             FROM employees e WHERE e.shop_id = $1 ORDER BY e.name, e.id"
        )))
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(EmployeeActivity {
                employee_id: row.try_get("id")?,
                name: row.try_get("name")?,
                tickets: row.try_get("tickets")?,
                replies: row.try_get("replies")?,
                assigned: row.try_get("assigned")?,
            })
        })
        .collect()
    }

    /// Answers shadow mode drafted in the period, per intent and kind, and the latest `limit`.
    pub async fn stats_shadow(
        &self,
        shop_id: i64,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<(Vec<ShadowCount>, Vec<ShadowDraft>)> {
        let counts = sqlx::query(
            "SELECT o.intent, o.kind, COUNT(*) AS n FROM outbox o WHERE o.shop_id = $1 AND o.state = 'shadow' \
             AND o.created_at >= $2 AND o.created_at < $3 GROUP BY o.intent, o.kind",
        )
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ShadowCount {
                intent: row.try_get("intent")?,
                kind: decode_column(row, "kind", "outbox", "shadow")?,
                count: row.try_get("n")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let drafts = sqlx::query(
            "SELECT o.id, t.number, t.subject AS ticket_subject, o.intent, o.kind, o.subject, o.created_at \
             FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE o.shop_id = $1 AND o.state = 'shadow' \
             AND o.created_at >= $2 AND o.created_at < $3 ORDER BY o.created_at DESC, o.id DESC LIMIT $4",
        )
        .bind(shop_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(ShadowDraft {
                ticket_number: row.try_get("number")?,
                ticket_subject: row.try_get("ticket_subject")?,
                intent: row.try_get("intent")?,
                kind: decode_column(row, "kind", "outbox", id)?,
                subject: row.try_get("subject")?,
                drafted_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok((counts, drafts))
    }
}
