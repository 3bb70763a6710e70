//! The ticket list: one page of a shop's tickets, filtered, searched and sorted, read by keyset
//! (the tickets after a cursor, never an OFFSET), with the details of each row (excerpt,
//! attachments, automatic answer, presence) read for that page only, and the unread count of
//! each contact read from an index that holds only unread tickets.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Dialect, Result, Store, decode_name};
use crate::model::Status;
use crate::triage::facts::mask_ibans;

/// The order of the list. Each is a strict order (the ticket number breaks ties), which the
/// keyset cursor relies on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSort {
    /// Latest message first.
    #[default]
    Recent,
    /// Oldest latest message first.
    Oldest,
    /// The customer waiting longest for an answer first; answered tickets last.
    WaitingLongest,
    /// Highest ticket number first.
    Number,
}

impl TicketSort {
    pub const ALL: [TicketSort; 4] = [
        TicketSort::Recent,
        TicketSort::Oldest,
        TicketSort::WaitingLongest,
        TicketSort::Number,
    ];

    /// The ticket's value this sort orders by (the number breaks ties).
    pub fn key_of(self, row: &TicketRow) -> i64 {
        match self {
            TicketSort::Recent | TicketSort::Oldest => row.last_message_at,
            TicketSort::WaitingLongest => row.waiting_since.unwrap_or(ANSWERED),
            TicketSort::Number => row.number,
        }
    }

    /// The SQL of that value, spelled exactly as in the indexes of migration 0009.
    fn key_sql(self) -> &'static str {
        match self {
            TicketSort::Recent | TicketSort::Oldest => "t.last_message_at",
            TicketSort::WaitingLongest => "COALESCE(t.waiting_since, 9223372036854775807)",
            TicketSort::Number => "t.number",
        }
    }

    fn descending(self) -> bool {
        matches!(self, TicketSort::Recent | TicketSort::Number)
    }

    /// Whether a ticket's place in this order can change while the list is walked (then the
    /// pages after the first leave out the tickets changed since the first).
    fn key_moves(self) -> bool {
        self != TicketSort::Number
    }
}

/// The waiting sort's key of an answered ticket: after every waiting one.
const ANSWERED: i64 = i64::MAX;

/// Who the listed tickets are assigned to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssigneeMatch {
    #[default]
    Anyone,
    Employee(i64),
    Unassigned,
}

/// Where the previous page ended: the last row's sort key and number, and when the walk began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub key: i64,
    pub number: i64,
    /// Time of the first page: tickets changed after it are left out of the later pages of a
    /// sort whose order they may have moved in, so that no ticket is shown twice.
    pub as_of: i64,
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub status: Option<Status>,
    pub assignee: AssigneeMatch,
    pub contact_id: Option<i64>,
    pub lang: Option<String>,
    pub intent: Option<String>,
    /// Words as typed: each must appear in the ticket's subjects, messages or customer.
    pub search: Option<String>,
    pub sort: TicketSort,
    pub after: Option<ListCursor>,
    pub limit: usize,
}

/// Whether someone on a ticket is reading it or writing an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceActivity {
    Viewing,
    Replying,
}

crate::serde_names!(TicketSort, PresenceActivity);

/// The ticket's automatic answer, as the outbox has it (the latest one not cancelled or failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AutoAnswer {
    Sent {
        at: i64,
    },
    /// Waiting for its time (or being sent now).
    Scheduled {
        at: i64,
    },
    /// Drafted in shadow mode, never sent.
    Shadow,
    /// Interrupted while being sent: it may have arrived.
    Uncertain,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignee {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub employee: String,
    pub activity: PresenceActivity,
}

/// One line of the ticket list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketRow {
    pub number: i64,
    pub subject: String,
    pub customer_name: Option<String>,
    pub customer_email: String,
    pub contact_id: Option<i64>,
    /// The contact's name.
    pub contact: Option<String>,
    pub language: Option<String>,
    pub status: Status,
    pub assignee: Option<Assignee>,
    pub intent: Option<String>,
    pub message_count: i64,
    /// About [`EXCERPT_CHARS`] characters of the latest message's new text, IBANs masked.
    pub last_message_excerpt: String,
    pub last_message_at: i64,
    /// Received time of the customer's oldest message no message of ours followed; None when
    /// answered.
    pub waiting_since: Option<i64>,
    /// A message of the ticket has an attachment (inline images aside).
    pub has_attachments: bool,
    pub auto_answer: AutoAnswer,
    /// Employees on the ticket now, by name.
    pub presence: Vec<Presence>,
    /// A customer message came after an employee last opened the ticket.
    pub unread: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub rows: Vec<TicketRow>,
    /// Where the next page starts; None on the last page.
    pub next: Option<ListCursor>,
}

/// A contact of the shop with its unread tickets (`contact_id` None: tickets of no contact,
/// listed only when some are unread; its name is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactSection {
    pub contact_id: Option<i64>,
    pub name: String,
    pub unread: u64,
}

/// Characters of the latest message shown in the list.
pub const EXCERPT_CHARS: usize = 120;
/// Messages and customers with a word from which it is common enough to be looked for in
/// the list's order rather than read ticket by ticket (about a page's worth of lookups in
/// either way on 100,000 tickets: a page walks about `limit x tickets / hits` index entries).
const COMMON_WORD_HITS: i64 = 2_000;
/// Tickets of the list's order a common word's search looks at in one go (SQLite): the word's
/// messages are read only among theirs, by the ticket ids the search index's keys start with.
/// A window's cost grows with its size: 1,000 fills a page of 50 in one go for a word in one
/// ticket of ten, and a rarer common word takes a few windows.
const SEARCH_WINDOW_TICKETS: i64 = 1_000;
/// At most this many words of a search are used.
pub const MAX_SEARCH_WORDS: usize = 8;

/// Accented Latin letters and the separators PostgreSQL's parser would keep inside a word
/// (addresses, host names, paths), and what they become before the text is split into words:
/// the same two strings as in `migrations/postgres/0009_ticket_list.sql`.
pub(crate) const PG_FOLD_FROM: &str = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĆćČčĎďĐđĒēĘęĚěĞğĪīİıŁłŃńŇňŌōŐőŔŕŘřŚśŞşŠšŢţŤťŪūŮůŰűŸŹźŻżŽž@./:_";
pub(crate) const PG_FOLD_TO: &str = "aaaaaaceeeeiiiinoooooouuuuyaaaaaaceeeeiiiinoooooouuuuyyaaaaccccddddeeeeeeggiiiillnnnnoooorrrrssssssttttuuuuuuyzzzzzz     ";

/// `text` folded like PostgreSQL's `translate(text, PG_FOLD_FROM, PG_FOLD_TO)`.
pub(crate) fn pg_fold(text: &str) -> String {
    text.chars()
        .map(|c| {
            PG_FOLD_FROM
                .chars()
                .position(|f| f == c)
                .and_then(|i| PG_FOLD_TO.chars().nth(i))
                .unwrap_or(c)
        })
        .collect()
}

/// The words of a search as typed: split on white space, without the ones that hold no letter
/// or digit (a lone `"` or `*`) and without control characters, at most [`MAX_SEARCH_WORDS`]. A word is matched as a phrase of
/// the tokens in it (`alice@client.test`), never read as query syntax.
pub fn search_words(input: &str) -> Vec<String> {
    input
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .take(MAX_SEARCH_WORDS)
        .collect()
}

/// The ticket of a `message_search` entry, read from its key (migration 0014: the ticket's id
/// times [`SQLITE_SEARCH_KEY_SPAN`] plus the message's).
pub(crate) const SQLITE_SEARCH_TICKET: &str = "message_search.rowid / 4294967296";
const SQLITE_SEARCH_KEY_SPAN: i64 = 1 << 32;

/// What a page shows of each ticket, read from `tickets` alone.
const PAGE_COLUMNS: &str = "t.id, t.number, t.subject, t.customer_name, t.customer_email, \
    t.contact_id, t.language, t.status, t.assignee_id, t.intent, t.message_count, \
    t.last_message_at, t.waiting_since, \
    CASE WHEN t.last_in_at > COALESCE(t.seen_at, 0) THEN 1 ELSE 0 END AS unread";

/// How much of the list's order a query walks.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// From the cursor on (a rare word's tickets are read from its set, then sorted).
    Whole,
    /// From the cursor to a window's end, each ticket checked against the window's hits.
    Window(Window),
    /// The next tickets of the order, their ids and sort keys only: to find a window.
    WindowTickets,
}

/// A stretch of the list's order: its lowest and highest ticket ids, and where it ends.
#[derive(Debug, Clone, Copy)]
struct Window {
    first_id: i64,
    last_id: i64,
    end_key: i64,
    end_number: i64,
    /// It holds [`SEARCH_WINDOW_TICKETS`] tickets: more may follow.
    full: bool,
}

impl Window {
    /// Every ticket, for a plan's shape.
    const EVERY_TICKET: Window = Window {
        first_id: 0,
        last_id: i64::MAX,
        end_key: i64::MIN,
        end_number: i64::MIN,
        full: false,
    };
}

/// `AND <the sort's key and number are past (key, number)>`, in the direction of `cmp`.
fn push_bound(q: &mut Query, sort: TicketSort, cmp: &str, key: i64, number: i64) {
    let number = q.arg(Value::Int(number));
    if sort == TicketSort::Number {
        q.push(&format!(" AND t.number {cmp} {number}"));
        return;
    }
    let key_sql = sort.key_sql();
    let key = q.arg(Value::Int(key));
    if sort == TicketSort::WaitingLongest {
        // SQLite reads a row comparison on an expression index as no range: the first
        // bound alone is one.
        let first = &cmp[..1];
        q.push(&format!(" AND {key_sql} {first}= {key}"));
    }
    q.push(&format!(
        " AND ({key_sql}, t.number) {cmp} ({key}, {number})"
    ));
}

/// A search word as an FTS5 string: every character inside double quotes is text to tokenize,
/// so `NEAR`, `*`, `:` or `-` are no operators.
fn fts5_phrase(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// About `max` characters of `text` on one line, cut at a word when one ends near the limit.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if cut[..space].chars().count() > max * 3 / 4 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// One value bound to a query built piece by piece.
#[derive(Debug, Clone)]
enum Value {
    Int(i64),
    Text(String),
}

/// SQL text and its values, numbered as they are added.
#[derive(Default)]
struct Query {
    sql: String,
    values: Vec<Value>,
}

impl Query {
    fn arg(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn build(self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for value in self.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
            };
        }
        query
    }
}

/// `t.id IN (…)` markers for the page's ids.
fn id_list(query: &mut Query, ids: &[i64]) -> String {
    ids.iter()
        .map(|&id| query.arg(Value::Int(id)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// One page of the shop's tickets. `now` decides who is still on a ticket and, on a first
    /// page, when the walk began.
    pub async fn ticket_list(
        &self,
        shop_id: i64,
        request: &ListRequest,
        now: i64,
    ) -> Result<ListPage> {
        let limit = request.limit.max(1);
        let sort = request.sort;
        let common = self.common_words(request).await?;
        let found = if common {
            self.common_word_rows(shop_id, request, now).await?
        } else {
            match self.list_query(shop_id, request, now, Walk::Whole) {
                Some((q, as_of)) => Some((q.build().fetch_all(&self.pool).await?, as_of)),
                None => None,
            }
        };
        let Some((found, as_of)) = found else {
            // Nothing searchable was typed (only punctuation): nothing matches.
            return Ok(ListPage {
                rows: Vec::new(),
                next: None,
            });
        };
        let more = found.len() > limit;
        let mut ids = Vec::with_capacity(limit);
        let mut rows = Vec::with_capacity(limit);
        for row in found.iter().take(limit) {
            let number: i64 = row.try_get("number")?;
            ids.push(row.try_get::<i64, _>("id")?);
            // Names are read with the page's details: the query stays on `tickets` alone.
            let assignee = row
                .try_get::<Option<i64>, _>("assignee_id")?
                .map(|id| Assignee {
                    id,
                    name: String::new(),
                });
            rows.push(TicketRow {
                number,
                subject: row.try_get("subject")?,
                customer_name: row.try_get("customer_name")?,
                customer_email: row.try_get("customer_email")?,
                contact_id: row.try_get("contact_id")?,
                contact: None,
                language: row.try_get("language")?,
                status: decode_name(row.try_get("status")?, "status", "ticket", number)?,
                assignee,
                intent: row.try_get("intent")?,
                message_count: row.try_get("message_count")?,
                last_message_excerpt: String::new(),
                last_message_at: row.try_get("last_message_at")?,
                waiting_since: row.try_get("waiting_since")?,
                has_attachments: false,
                auto_answer: AutoAnswer::None,
                presence: Vec::new(),
                unread: row.try_get::<i64, _>("unread")? != 0,
            });
        }
        self.fill_details(&ids, &mut rows, now).await?;
        let next = match rows.last() {
            Some(last) if more => Some(ListCursor {
                key: sort.key_of(last),
                number: last.number,
                as_of,
            }),
            _ => None,
        };
        Ok(ListPage { rows, next })
    }

    /// The query of a page and the start of the walk it belongs to; None when the search
    /// holds no word.
    fn list_query(
        &self,
        shop_id: i64,
        request: &ListRequest,
        now: i64,
        walk: Walk,
    ) -> Option<(Query, i64)> {
        let limit = match walk {
            Walk::WindowTickets => SEARCH_WINDOW_TICKETS as usize - 1,
            _ => request.limit.max(1),
        };
        let sort = request.sort;
        let key = sort.key_sql();
        let mut q = Query::default();
        let shop = q.arg(Value::Int(shop_id));
        let columns = match walk {
            Walk::WindowTickets => format!("t.id, {key} AS k, t.number AS n"),
            // The page's ids first: the walk stays in the list's index, which holds them,
            // and only the page's tickets are read.
            Walk::Window(_) => "t.id".to_string(),
            Walk::Whole => PAGE_COLUMNS.to_string(),
        };
        q.push(&format!(
            "SELECT {columns} FROM tickets t WHERE t.shop_id = {shop}"
        ));
        if let Some(status) = request.status {
            let status = q.arg(Value::Text(status.to_string()));
            q.push(&format!(" AND t.status = {status}"));
        }
        match request.assignee {
            AssigneeMatch::Anyone => {}
            AssigneeMatch::Employee(id) => {
                let id = q.arg(Value::Int(id));
                q.push(&format!(" AND t.assignee_id = {id}"));
            }
            AssigneeMatch::Unassigned => q.push(" AND t.assignee_id IS NULL"),
        }
        if let Some(contact) = request.contact_id {
            let contact = q.arg(Value::Int(contact));
            q.push(&format!(" AND t.contact_id = {contact}"));
        }
        if let Some(lang) = &request.lang {
            let lang = q.arg(Value::Text(lang.clone()));
            q.push(&format!(" AND t.language = {lang}"));
        }
        if let Some(intent) = &request.intent {
            let intent = q.arg(Value::Text(intent.clone()));
            q.push(&format!(" AND t.intent = {intent}"));
        }
        if let (Some(search), false) = (&request.search, matches!(walk, Walk::WindowTickets)) {
            let words = search_words(search);
            if words.is_empty() {
                return None;
            }
            let window = match walk {
                Walk::Window(window) => Some(window),
                _ => None,
            };
            for word in words {
                self.push_search_word(&mut q, &word, window);
            }
        }
        let (cmp, dir) = if sort.descending() {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let as_of = match request.after {
            Some(cursor) => {
                push_bound(&mut q, sort, cmp, cursor.key, cursor.number);
                if sort.key_moves() {
                    let as_of = q.arg(Value::Int(cursor.as_of));
                    q.push(&format!(" AND t.updated_at <= {as_of}"));
                }
                cursor.as_of
            }
            None => now,
        };
        if let Walk::Window(window) = walk {
            // The walk stops at the window's last ticket, inclusive.
            let until = if sort.descending() { ">=" } else { "<=" };
            push_bound(&mut q, sort, until, window.end_key, window.end_number);
        }
        let order = if sort == TicketSort::Number {
            format!(" ORDER BY t.number {dir}")
        } else {
            format!(" ORDER BY {key} {dir}, t.number {dir}")
        };
        q.push(&order);
        let fetch = q.arg(Value::Int(limit as i64 + 1));
        q.push(&format!(" LIMIT {fetch}"));
        if let Walk::Window(_) = walk {
            q.sql = format!(
                "SELECT {PAGE_COLUMNS} FROM tickets t WHERE t.id IN ({}){order}",
                q.sql
            );
        }

        Some((q, as_of))
    }

    /// A page of a search whose words are all common (SQLite): the list's order is walked a
    /// window of [`SEARCH_WINDOW_TICKETS`] tickets at a time, each checked against the words'
    /// hits among the window's ticket ids only, until the page is full or the list ends.
    /// Reading every hit of a common word costs more than the page itself; recent tickets
    /// have close ids, so a window's range holds few of them.
    async fn common_word_rows(
        &self,
        shop_id: i64,
        request: &ListRequest,
        now: i64,
    ) -> Result<Option<(Vec<AnyRow>, i64)>> {
        let limit = request.limit.max(1);
        let as_of = request.after.map_or(now, |cursor| cursor.as_of);
        let mut walk = request.clone();
        let mut rows = Vec::new();
        loop {
            let Some(window) = self.search_window(shop_id, &walk, now).await? else {
                break;
            };
            walk.limit = limit - rows.len();
            let Some((q, _)) = self.list_query(shop_id, &walk, now, Walk::Window(window)) else {
                return Ok(None);
            };
            rows.extend(q.build().fetch_all(&self.pool).await?);
            if rows.len() > limit || !window.full {
                break;
            }
            walk.after = Some(ListCursor {
                key: window.end_key,
                number: window.end_number,
                as_of,
            });
        }
        Ok(Some((rows, as_of)))
    }

    /// The next [`SEARCH_WINDOW_TICKETS`] tickets of the list's order after `request`'s
    /// cursor, the search left aside; None when there are none.
    async fn search_window(
        &self,
        shop_id: i64,
        request: &ListRequest,
        now: i64,
    ) -> Result<Option<Window>> {
        let (inner, _) = self
            .list_query(shop_id, request, now, Walk::WindowTickets)
            .expect("a window query holds no search");
        // The window's end is its last ticket in the list's order.
        let last = if request.sort.descending() {
            "ASC"
        } else {
            "DESC"
        };
        let mut q = inner;
        q.sql = format!(
            "WITH w AS MATERIALIZED ({}) SELECT \
             (SELECT COUNT(*) FROM w) AS tickets, (SELECT MIN(id) FROM w) AS first_id, \
             (SELECT MAX(id) FROM w) AS last_id, \
             (SELECT k FROM w ORDER BY k {last}, n {last} LIMIT 1) AS end_key, \
             (SELECT n FROM w ORDER BY k {last}, n {last} LIMIT 1) AS end_number",
            q.sql
        );
        let row = q.build().fetch_one(&self.pool).await?;
        let tickets: i64 = row.try_get("tickets")?;
        if tickets == 0 {
            return Ok(None);
        }
        Ok(Some(Window {
            first_id: row.try_get("first_id")?,
            last_id: row.try_get("last_id")?,
            end_key: row.try_get("end_key")?,
            end_number: row.try_get("end_number")?,
            full: tickets >= SEARCH_WINDOW_TICKETS,
        }))
    }

    /// The plan the database picks for a page of `request` (EXPLAIN on PostgreSQL, EXPLAIN
    /// QUERY PLAN on SQLite), one line per step: to check that a page reads an index.
    pub async fn explain_ticket_list(
        &self,
        shop_id: i64,
        request: &ListRequest,
    ) -> Result<Vec<String>> {
        let walk = match self.common_words(request).await? {
            true => Walk::Window(Window::EVERY_TICKET),
            false => Walk::Whole,
        };
        let Some((mut q, _)) = self.list_query(shop_id, request, super::now_ms(), walk) else {
            return Ok(Vec::new());
        };
        let column = match self.dialect {
            Dialect::Sqlite => {
                q.sql = format!("EXPLAIN QUERY PLAN {}", q.sql);
                "detail"
            }
            Dialect::Postgres => {
                q.sql = format!("EXPLAIN {}", q.sql);
                "QUERY PLAN"
            }
        };
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get::<String, _>(column)?))
            .collect()
    }

    /// Whether every word of the search is in at least [`COMMON_WORD_HITS`] messages or
    /// customers (SQLite only: PostgreSQL's planner knows how common a word is).
    ///
    /// SQLite cannot tell how many tickets a search finds, and reads each of them by id and
    /// sorts them: right for a rare word, thousands of lookups for a common one. The tickets
    /// of a common word are better found by walking the list's own index in its order and
    /// keeping the ones in the word's set, which stops after a page.
    async fn common_words(&self, request: &ListRequest) -> Result<bool> {
        let Some(search) = &request.search else {
            return Ok(false);
        };
        if self.dialect != Dialect::Sqlite {
            return Ok(false);
        }
        let words = search_words(search);
        for word in &words {
            let hits: i64 = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM message_search WHERE message_search MATCH $1 LIMIT $2)) \
                 + (SELECT COUNT(*) FROM (SELECT 1 FROM customer_search WHERE customer_search MATCH $1 LIMIT $2)) AS hits",
            )
            .bind(fts5_phrase(word))
            .bind(COMMON_WORD_HITS)
            .fetch_one(&self.pool)
            .await?
            .try_get("hits")?;
            if hits < COMMON_WORD_HITS {
                return Ok(false);
            }
        }
        Ok(!words.is_empty())
    }

    /// `AND <the ticket has the word in a subject, a message or its customer>`; in a window
    /// (SQLite, common words) only the hits of the window's ticket ids are read, and each
    /// ticket of the walk is checked against them ([`Store::common_word_rows`]).
    fn push_search_word(&self, q: &mut Query, word: &str, window: Option<Window>) {
        match self.dialect {
            Dialect::Sqlite => {
                let phrase = q.arg(Value::Text(fts5_phrase(word)));
                let (id, message_range, customer_range) = match window {
                    // `+` keeps SQLite from reading the tickets by id from the set.
                    Some(window) => {
                        let (first, last) = (window.first_id, window.last_id);
                        let first_key =
                            q.arg(Value::Int(first.saturating_mul(SQLITE_SEARCH_KEY_SPAN)));
                        let last_key = q.arg(Value::Int(
                            last.saturating_mul(SQLITE_SEARCH_KEY_SPAN)
                                .saturating_add(SQLITE_SEARCH_KEY_SPAN - 1),
                        ));
                        let (first, last) = (q.arg(Value::Int(first)), q.arg(Value::Int(last)));
                        (
                            "+t.id",
                            format!(" AND message_search.rowid BETWEEN {first_key} AND {last_key}"),
                            format!(" AND rowid BETWEEN {first} AND {last}"),
                        )
                    }
                    None => ("t.id", String::new(), String::new()),
                };
                // The index's key names the ticket: no message is looked up per hit. The set
                // may hold a ticket twice: IN reads it once.
                q.push(&format!(
                    " AND {id} IN (SELECT {SQLITE_SEARCH_TICKET} FROM message_search \
                     WHERE message_search MATCH {phrase}{message_range} \
                     UNION ALL SELECT rowid FROM customer_search WHERE customer_search MATCH {phrase}{customer_range})"
                ));
            }
            Dialect::Postgres => {
                // Plain text to phraseto_tsquery: its operators are not read from it.
                let phrase = q.arg(Value::Text(pg_fold(word)));
                // The ticket's own words (migration 0014) find it without reading its
                // messages; they hold no positions, so a word of several tokens is checked
                // as a phrase on the messages of the tickets that have all its tokens.
                q.push(&format!(
                    " AND ((t.search_words @@ plainto_tsquery('simple', {phrase}) \
                     AND (numnode(phraseto_tsquery('simple', {phrase})) = 1 \
                     OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.search @@ phraseto_tsquery('simple', {phrase})))) \
                     OR t.customer_search @@ phraseto_tsquery('simple', {phrase}))"
                ));
            }
        }
    }

    /// The details of the page's rows, each read in one query over the page's ids.
    async fn fill_details(&self, ids: &[i64], rows: &mut [TicketRow], now: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();

        let mut q = Query::default();
        let list = id_list(&mut q, ids);
        q.push(&format!(
            "SELECT t.id, \
             (SELECT substr(m.new_text, 1, 400) FROM messages m WHERE m.ticket_id = t.id \
              ORDER BY m.received_at DESC, m.id DESC LIMIT 1) AS last_text, \
             CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND EXISTS \
              (SELECT 1 FROM attachments a WHERE a.message_row_id = m.id AND a.inline = 0)) THEN 1 ELSE 0 END AS has_attachments \
             FROM tickets t WHERE t.id IN ({list})"
        ));
        for row in q.build().fetch_all(&self.pool).await? {
            let Some(&i) = index.get(&row.try_get::<i64, _>("id")?) else {
                continue;
            };
            let text: Option<String> = row.try_get("last_text")?;
            rows[i].last_message_excerpt =
                excerpt(&mask_ibans(&text.unwrap_or_default()), EXCERPT_CHARS);
            rows[i].has_attachments = row.try_get::<i64, _>("has_attachments")? != 0;
        }

        // The names of the page's contacts and assignees (small tables, by primary key).
        let contacts: Vec<i64> = rows.iter().filter_map(|r| r.contact_id).collect();
        let assignees: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.assignee.as_ref().map(|a| a.id))
            .collect();
        if !contacts.is_empty() || !assignees.is_empty() {
            let mut q = Query::default();
            let c = id_list(&mut q, if contacts.is_empty() { &[0] } else { &contacts });
            let e = id_list(
                &mut q,
                if assignees.is_empty() {
                    &[0]
                } else {
                    &assignees
                },
            );
            q.push(&format!(
                "SELECT 'c' AS kind, id, name FROM contacts WHERE id IN ({c}) \
                 UNION ALL SELECT 'e' AS kind, id, name FROM employees WHERE id IN ({e})"
            ));
            let mut names: HashMap<(String, i64), String> = HashMap::new();
            for row in q.build().fetch_all(&self.pool).await? {
                names.insert(
                    (row.try_get("kind")?, row.try_get("id")?),
                    row.try_get("name")?,
                );
            }
            for row in rows.iter_mut() {
                if let Some(id) = row.contact_id {
                    row.contact = names.get(&("c".to_string(), id)).cloned();
                }
                if let Some(assignee) = row.assignee.as_mut() {
                    assignee.name = names
                        .get(&("e".to_string(), assignee.id))
                        .cloned()
                        .unwrap_or_default();
                }
            }
        }

        let mut q = Query::default();
        let list = id_list(&mut q, ids);
        q.push(&format!(
            "SELECT id, ticket_id, state, due_at, sent_at FROM outbox WHERE ticket_id IN ({list}) \
             AND kind IN ('answer', 'ask') AND state NOT IN ('cancelled', 'failed') ORDER BY id"
        ));
        for row in q.build().fetch_all(&self.pool).await? {
            let Some(&i) = index.get(&row.try_get::<i64, _>("ticket_id")?) else {
                continue;
            };
            let id: i64 = row.try_get("id")?;
            let state: crate::model::ReplyState =
                decode_name(row.try_get("state")?, "state", "reply", id)?;
            use crate::model::ReplyState as S;
            // Rows come oldest first: the latest one wins.
            rows[i].auto_answer = match state {
                S::Sent => AutoAnswer::Sent {
                    at: row
                        .try_get::<Option<i64>, _>("sent_at")?
                        .unwrap_or(row.try_get("due_at")?),
                },
                S::Scheduled | S::Sending => AutoAnswer::Scheduled {
                    at: row.try_get("due_at")?,
                },
                S::Shadow => AutoAnswer::Shadow,
                S::Uncertain => AutoAnswer::Uncertain,
                S::Cancelled | S::Failed => AutoAnswer::None,
            };
        }

        let mut q = Query::default();
        let list = id_list(&mut q, ids);
        let now = q.arg(Value::Int(now));
        q.push(&format!(
            "SELECT p.ticket_id, e.name, p.activity FROM ticket_presence p JOIN employees e ON e.id = p.employee_id \
             WHERE p.ticket_id IN ({list}) AND p.expires_at > {now} ORDER BY e.name, e.id"
        ));
        for row in q.build().fetch_all(&self.pool).await? {
            let ticket_id: i64 = row.try_get("ticket_id")?;
            let Some(&i) = index.get(&ticket_id) else {
                continue;
            };
            rows[i].presence.push(Presence {
                employee: row.try_get("name")?,
                activity: decode_name(
                    row.try_get("activity")?,
                    "activity",
                    "ticket_presence",
                    ticket_id,
                )?,
            });
        }
        Ok(())
    }

    /// The shop's contacts, by name, each with its unread tickets; then, when some are unread,
    /// the tickets of no contact.
    pub async fn unread_by_contact(&self, shop_id: i64) -> Result<Vec<ContactSection>> {
        // The WHERE clause is the partial index's own: only unread tickets are read.
        let counts: HashMap<Option<i64>, i64> = sqlx::query(
            "SELECT contact_id, COUNT(*) AS unread FROM tickets \
             WHERE shop_id = $1 AND last_in_at > COALESCE(seen_at, 0) GROUP BY contact_id",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("contact_id")?, r.try_get("unread")?)))
        .collect::<Result<_>>()?;
        let mut sections = Vec::new();
        for row in sqlx::query("SELECT id, name FROM contacts WHERE shop_id = $1 ORDER BY name, id")
            .bind(shop_id)
            .fetch_all(&self.pool)
            .await?
        {
            let id: i64 = row.try_get("id")?;
            sections.push(ContactSection {
                contact_id: Some(id),
                name: row.try_get("name")?,
                unread: counts.get(&Some(id)).copied().unwrap_or(0).max(0) as u64,
            });
        }
        if let Some(&unread) = counts.get(&None).filter(|&&n| n > 0) {
            sections.push(ContactSection {
                contact_id: None,
                name: String::new(),
                unread: unread as u64,
            });
        }
        Ok(sections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_drop_what_holds_no_word_and_keep_the_rest_as_typed() {
        assert_eq!(
            search_words(" \" * NEAR a:b  alice@client.test -x "),
            vec!["NEAR", "a:b", "alice@client.test", "-x"]
        );
        assert!(search_words("\" * : ()").is_empty());
        assert_eq!(search_words("a\u{0}b \u{7}"), vec!["ab"]);
        assert_eq!(search_words(&"mot ".repeat(20)).len(), MAX_SEARCH_WORDS);
    }

    #[test]
    fn fts5_phrases_quote_every_character() {
        assert_eq!(fts5_phrase("NEAR"), "\"NEAR\"");
        assert_eq!(fts5_phrase("a\"b*"), "\"a\"\"b*\"");
    }

    #[test]
    fn postgres_folding_matches_the_migration() {
        let migration = include_str!("../../migrations/postgres/0009_ticket_list.sql");
        assert_eq!(PG_FOLD_FROM.chars().count(), PG_FOLD_TO.chars().count());
        assert_eq!(migration.matches(&format!("'{PG_FOLD_FROM}'")).count(), 2);
        assert_eq!(migration.matches(&format!("'{PG_FOLD_TO}'")).count(), 2);
        assert_eq!(pg_fold("Théière ÉTÉ à Łódź"), "Theiere eTe a lodz");
        assert_eq!(pg_fold("alice@client.test"), "alice client test");
    }

    #[test]
    fn excerpts_are_one_line_and_cut_near_a_word_end() {
        assert_eq!(
            excerpt("Bonjour,\n\n  ma commande ", 120),
            "Bonjour, ma commande"
        );
        let long = "mot ".repeat(60);
        let cut = excerpt(&long, 120);
        assert!(cut.ends_with("mot…"), "{cut}");
        assert!(cut.chars().count() <= 121);
        let word = "é".repeat(300);
        assert_eq!(excerpt(&word, 120).chars().count(), 121);
    }

    #[test]
    fn sort_keys_put_answered_tickets_last() {
        assert_eq!("waiting_longest".parse(), Ok(TicketSort::WaitingLongest));
        for sort in TicketSort::ALL {
            assert_eq!(sort.to_string().parse(), Ok(sort));
        }
        assert_eq!("viewing".parse(), Ok(PresenceActivity::Viewing));
    }
}
