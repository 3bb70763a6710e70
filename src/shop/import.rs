//! Orders from a CSV file, as spreadsheets and shop back offices export them: quoted fields
//! (with the separator or line breaks inside), a UTF-8 byte order mark, `,`, `;` (what French
//! spreadsheets write) or tab as the separator, columns in any order and named in any case,
//! extra columns ignored. A bad row is reported with its line and skipped; the others import.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::{Customer, Money, Order, OrderItem, OrderStatus};
use crate::model::UiLang;
use crate::store::{Store, StoreError};
use crate::t;

/// Columns an order cannot do without, then those it may leave out.
const REQUIRED: [&str; 3] = ["reference", "customer_email", "status"];
/// `created_at` is `ordered_at` as the shop connections' CSV format names it.
const OPTIONAL: [&str; 8] = [
    "ordered_at",
    "items",
    "carrier",
    "tracking_number",
    "created_at",
    "total",
    "currency",
    "tracking_url",
];
/// A customers file: `email,first_name,last_name,created_at`.
const CUSTOMER_REQUIRED: [&str; 1] = ["email"];
const CUSTOMER_OPTIONAL: [&str; 3] = ["first_name", "last_name", "created_at"];

/// What makes the whole file unusable: nothing of it is imported; shown in English by
/// `Display` (logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    Empty,
    NotUtf8,
    MissingColumns(Vec<&'static str>),
    DuplicateColumn(String),
    Unreadable { line: u64, reason: String },
}

impl CsvError {
    /// The error for a person, in their language.
    pub fn explain(&self, lang: UiLang) -> String {
        match self {
            CsvError::Empty => t!(lang, "shop_import.empty").to_string(),
            CsvError::NotUtf8 => t!(lang, "shop_import.not_utf8").to_string(),
            CsvError::MissingColumns(columns) => {
                t!(
                    lang,
                    "shop_import.missing_columns",
                    columns = columns.join(", ")
                )
            }
            CsvError::DuplicateColumn(column) => {
                t!(lang, "shop_import.duplicate_column", column = column)
            }
            CsvError::Unreadable { line, reason } => {
                t!(lang, "shop_import.unreadable", line = line, reason = reason)
            }
        }
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain(UiLang::En))
    }
}

/// Why one row was skipped; shown in English by `Display` (logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    FieldCount { expected: usize, found: usize },
    NotUtf8,
    Missing(&'static str),
    BadEmail(String),
    UnknownStatus(String),
    BadDate(String),
    BadQuantity(String),
    BadAmount(String),
}

impl RowProblem {
    /// The reason for a person, in their language.
    pub fn explain(&self, lang: UiLang) -> String {
        match self {
            RowProblem::FieldCount { expected, found } => t!(
                lang,
                "shop_import.field_count",
                expected = expected,
                found = found
            ),
            RowProblem::NotUtf8 => t!(lang, "shop_import.row_not_utf8").to_string(),
            RowProblem::Missing(column) => t!(lang, "shop_import.missing", column = column),
            RowProblem::BadEmail(text) => t!(lang, "shop_import.bad_email", text = text),
            RowProblem::UnknownStatus(text) => {
                t!(lang, "shop_import.unknown_status", text = text)
            }
            RowProblem::BadDate(text) => t!(lang, "shop_import.bad_date", text = text),
            RowProblem::BadQuantity(text) => t!(lang, "shop_import.bad_quantity", text = text),
            RowProblem::BadAmount(text) => t!(lang, "shop_connect.bad_amount", text = text),
        }
    }
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain(UiLang::En))
    }
}

/// A skipped row: its line in the file (the first line of a row whose quoted value spans
/// several) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    pub problem: RowProblem,
}

impl RejectedRow {
    pub fn explain(&self, lang: UiLang) -> String {
        t!(
            lang,
            "shop_import.rejected_row",
            line = self.line,
            reason = self.problem.explain(lang)
        )
    }
}

/// A file read: the good rows' orders, and the rows skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderFile {
    pub orders: Vec<Order>,
    pub rejected: Vec<RejectedRow>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Orders stored (new, or updated when the reference was already known).
    pub imported: usize,
    pub rejected: Vec<RejectedRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads an orders CSV file and stores its good rows for the shop, in one transaction; an
/// order already known by its reference is updated.
pub async fn import_orders_csv(
    store: &Store,
    shop_id: i64,
    content: &[u8],
) -> Result<ImportReport, ImportError> {
    let file = read_orders_csv(content)?;
    let imported = store.import_orders(shop_id, &file.orders).await?;
    Ok(ImportReport {
        imported,
        rejected: file.rejected,
    })
}

/// Reads an orders CSV file (see the module's documentation). Rows with every field empty,
/// as spreadsheets leave below the data, are no orders and no errors.
pub fn read_orders_csv(content: &[u8]) -> Result<OrderFile, CsvError> {
    let (orders, rejected) = read_rows(content, &REQUIRED, &OPTIONAL, Columns::order)?;
    Ok(OrderFile { orders, rejected })
}

/// A customers file read: the good rows' customers, and the rows skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerFile {
    pub customers: Vec<Customer>,
    pub rejected: Vec<RejectedRow>,
}

/// Reads a customers CSV file (`email,first_name,last_name,created_at`, read as orders
/// files are).
pub fn read_customers_csv(content: &[u8]) -> Result<CustomerFile, CsvError> {
    let (customers, rejected) = read_rows(
        content,
        &CUSTOMER_REQUIRED,
        &CUSTOMER_OPTIONAL,
        Columns::customer,
    )?;
    Ok(CustomerFile {
        customers,
        rejected,
    })
}

/// The rows of a file with these columns, each read by `row`; the bad ones with their line.
fn read_rows<T>(
    content: &[u8],
    required: &'static [&'static str],
    optional: &'static [&'static str],
    row: impl Fn(&Columns, &csv::ByteRecord) -> Result<Option<T>, RowProblem>,
) -> Result<(Vec<T>, Vec<RejectedRow>), CsvError> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(content))
        .has_headers(false)
        .flexible(true)
        .from_reader(content);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => return Err(CsvError::Empty),
        Some(record) => record.map_err(unreadable)?,
    };
    let columns = Columns::from_header(&header, required, optional)?;
    let mut lines = LineCounter::new(content);
    let (mut good, mut rejected) = (Vec::new(), Vec::new());
    for record in records {
        let record = record.map_err(unreadable)?;
        let line = lines.line_at(record.position().map_or(0, |p| p.byte()));
        match row(&columns, &record) {
            Ok(Some(value)) => good.push(value),
            Ok(None) => {}
            Err(problem) => rejected.push(RejectedRow { line, problem }),
        }
    }
    Ok((good, rejected))
}

fn unreadable(error: csv::Error) -> CsvError {
    CsvError::Unreadable {
        line: error.position().map_or(0, |p| p.line()),
        reason: error.to_string(),
    }
}

/// Which line of the file a record starts on. The csv crate's own count is off by one after a
/// CRLF or a blank line (its position stands on the previous line's end), so lines are counted
/// from the record's byte offset, past any line breaks, going forward only: linear in the file.
struct LineCounter<'a> {
    content: &'a [u8],
    counted_to: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(content: &'a [u8]) -> Self {
        LineCounter {
            content,
            counted_to: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        let content = self.content;
        let mut start = usize::try_from(byte).map_or(content.len(), |b| b.min(content.len()));
        // A record never starts with a line break: they end the previous line.
        start += content[start..]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let start = start.max(self.counted_to);
        for (i, &b) in content[self.counted_to..start].iter().enumerate() {
            let next = content.get(self.counted_to + i + 1);
            // LF, CRLF (counted at its LF) and a lone CR each end a line.
            if b == b'\n' || (b == b'\r' && next != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.counted_to = start;
        self.line
    }
}

/// The separator the header line uses most: `,` unless `;` or tab is more frequent.
fn sniff_delimiter(content: &[u8]) -> u8 {
    let header = content.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |separator: u8| header.iter().filter(|&&b| b == separator).count();
    [b';', b'\t'].into_iter().fold(b',', |best, candidate| {
        if count(candidate) > count(best) {
            candidate
        } else {
            best
        }
    })
}

/// `Customer Email`, `customer-email` and ` CUSTOMER_EMAIL ` all name `customer_email`.
fn column_name(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Where each known column is in the file.
struct Columns {
    required: &'static [&'static str],
    /// Index of each of the required then the optional columns, in that order.
    positions: Vec<Option<usize>>,
    width: usize,
}

impl Columns {
    fn from_header(
        header: &csv::ByteRecord,
        required: &'static [&'static str],
        optional: &'static [&'static str],
    ) -> Result<Columns, CsvError> {
        let names = header
            .iter()
            .map(|field| std::str::from_utf8(field).map(column_name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| CsvError::NotUtf8)?;
        let mut positions = vec![None; required.len() + optional.len()];
        for (slot, wanted) in required.iter().chain(optional).enumerate() {
            let mut found = names.iter().enumerate().filter(|(_, name)| name == wanted);
            positions[slot] = found.next().map(|(index, _)| index);
            if found.next().is_some() {
                return Err(CsvError::DuplicateColumn(wanted.to_string()));
            }
        }
        let missing: Vec<&'static str> = required
            .iter()
            .zip(&positions)
            .filter(|(_, position)| position.is_none())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(CsvError::MissingColumns(missing));
        }
        Ok(Columns {
            required,
            positions,
            width: names.len(),
        })
    }

    /// The row's trimmed fields; None for a row with nothing in it.
    fn fields<'r>(&self, record: &'r csv::ByteRecord) -> Result<Option<Vec<&'r str>>, RowProblem> {
        let fields = record
            .iter()
            .map(|field| std::str::from_utf8(field).map(str::trim))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| RowProblem::NotUtf8)?;
        if fields.iter().all(|f| f.is_empty()) {
            return Ok(None);
        }
        // One field too many is usually a separator left unquoted inside a value: every later
        // value would land in the wrong column, so the row is refused rather than guessed.
        if fields.len() != self.width {
            return Err(RowProblem::FieldCount {
                expected: self.width,
                found: fields.len(),
            });
        }
        Ok(Some(fields))
    }

    /// The value of the column in `slot` (required then optional columns), "" when absent.
    fn value<'r>(&self, fields: &[&'r str], slot: usize) -> &'r str {
        self.positions[slot].map_or("", |index| fields[index])
    }

    fn required<'r>(&self, fields: &[&'r str], slot: usize) -> Result<&'r str, RowProblem> {
        match self.value(fields, slot) {
            "" => Err(RowProblem::Missing(self.required[slot])),
            text => Ok(text),
        }
    }

    /// The row's customer; None for a row with nothing in it.
    fn customer(&self, record: &csv::ByteRecord) -> Result<Option<Customer>, RowProblem> {
        let Some(fields) = self.fields(record)? else {
            return Ok(None);
        };
        let email = self.required(&fields, 0)?.to_lowercase();
        if !is_email(&email) {
            return Err(RowProblem::BadEmail(self.value(&fields, 0).to_string()));
        }
        let text =
            |slot: usize| Some(self.value(&fields, slot).to_string()).filter(|v| !v.is_empty());
        Ok(Some(Customer {
            email,
            first_name: text(1),
            last_name: text(2),
            customer_since: optional_date(self.value(&fields, 3))?,
            orders_count: None,
            total_spent: None,
            platform_id: None,
        }))
    }

    /// The row's order; None for a row with nothing in it.
    fn order(&self, record: &csv::ByteRecord) -> Result<Option<Order>, RowProblem> {
        let Some(fields) = self.fields(record)? else {
            return Ok(None);
        };
        let value = |slot: usize| self.value(&fields, slot);
        let required = |slot: usize| self.required(&fields, slot);
        let optional = |slot: usize| Some(value(slot).to_string()).filter(|v| !v.is_empty());
        let reference = required(0)?.to_string();
        let customer_email = required(1)?.to_lowercase();
        if !is_email(&customer_email) {
            return Err(RowProblem::BadEmail(value(1).to_string()));
        }
        let status = OrderStatus::parse(required(2)?)
            .ok_or_else(|| RowProblem::UnknownStatus(value(2).to_string()))?;
        let ordered_at = match value(3) {
            "" => optional_date(value(7))?,
            text => optional_date(text)?,
        };
        let total = match (value(8), value(9)) {
            ("", _) => None,
            (_, "") => return Err(RowProblem::Missing("currency")),
            (amount, currency) => Some(
                Money::parse(amount, currency)
                    .ok_or_else(|| RowProblem::BadAmount(format!("{amount} {currency}")))?,
            ),
        };
        Ok(Some(Order {
            ordered_at,
            total,
            items: parse_items(value(4))?,
            carrier: optional(5),
            tracking_number: optional(6),
            tracking_link: optional(10),
            ..Order::new(&reference, &customer_email, status)
        }))
    }
}

/// One `@` between a local part and a domain, no spaces: enough to catch a shifted column or a
/// name typed in the wrong cell, without pretending to validate deliverability.
fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// A date column: empty is no date.
fn optional_date(text: &str) -> Result<Option<i64>, RowProblem> {
    match text {
        "" => Ok(None),
        text => Ok(Some(
            parse_date(text).ok_or_else(|| RowProblem::BadDate(text.to_string()))?,
        )),
    }
}

/// RFC 3339, an ISO date with or without a time (taken as UTC), or a French-style day first
/// DD/MM/YYYY; Unix milliseconds.
fn parse_date(text: &str) -> Option<i64> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let datetime = match text.parse::<jiff::civil::DateTime>() {
        Ok(datetime) => datetime,
        Err(_) => {
            let mut parts = text.split('/').map(|p| p.trim().parse::<i16>().ok());
            let (Some(Some(day)), Some(Some(month)), Some(Some(year)), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            jiff::civil::Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?)
                .ok()?
                .to_datetime(jiff::civil::Time::midnight())
        }
    };
    Some(
        datetime
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

/// `2 x Mug; 1 x Teapot` (also one item per line, `2x`, `2 ×`); an item without a quantity is
/// one of it.
fn parse_items(text: &str) -> Result<Vec<OrderItem>, RowProblem> {
    static QUANTITY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d+)\s*[xX×]\s+(\S.*)$").expect("valid regex"));
    text.split([';', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| match QUANTITY.captures(item) {
            Some(found) => {
                let quantity = found[1]
                    .parse::<i64>()
                    .ok()
                    .filter(|&q| q > 0 && q <= i64::from(u32::MAX))
                    .ok_or_else(|| RowProblem::BadQuantity(item.to_string()))?;
                Ok(OrderItem {
                    name: found[2].trim().to_string(),
                    quantity,
                })
            }
            None => Ok(OrderItem {
                name: item.to_string(),
                quantity: 1,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "reference,customer_email,status,ordered_at,items,carrier,tracking_number";

    fn read(text: &str) -> OrderFile {
        read_orders_csv(text.as_bytes()).expect("a readable file")
    }

    fn item(quantity: i64, name: &str) -> OrderItem {
        OrderItem {
            name: name.into(),
            quantity,
        }
    }

    #[test]
    fn the_documented_format_reads() {
        let file = read(&format!(
            "{HEADER}\n1042,Marie@Client.example,shipped,2026-11-20,2 x Mug; 1 x Teapot,Colissimo,6A12345678901\n"
        ));
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        let order = &file.orders[0];
        assert_eq!(order.reference, "1042");
        assert_eq!(order.customer_email, "marie@client.example");
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.items, [item(2, "Mug"), item(1, "Teapot")]);
        assert_eq!(order.carrier.as_deref(), Some("Colissimo"));
        assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
        assert_eq!(
            order.ordered_at,
            Some(
                jiff::Timestamp::from_second(1_795_132_800)
                    .unwrap()
                    .as_millisecond()
            )
        );
    }

    #[test]
    fn a_quoted_field_keeps_its_comma() {
        let file = read(&format!(
            "{HEADER}\n1042,marie@client.example,paid,,\"1 x Mug, blue; 2 x Tea, green\",,\n"
        ));
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        assert_eq!(
            file.orders[0].items,
            [item(1, "Mug, blue"), item(2, "Tea, green")]
        );
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let file = read(&format!(
            "\u{feff}{HEADER}\n1042,marie@client.example,paid,,,,\n"
        ));
        assert_eq!(file.orders.len(), 1);
        assert_eq!(file.orders[0].reference, "1042");
    }

    #[test]
    fn semicolons_separate_when_the_header_uses_them() {
        // What a French spreadsheet writes: `;` between fields, a day-first date, items quoted
        // because they hold the separator.
        let file = read(
            "\u{feff}reference;customer_email;status;ordered_at;items;carrier;tracking_number\r\n\
             XKBKNABJK;marie@client.example;shipped;20/11/2026;\"2 x Mug émaillé; 1 x Théière\";Mondial Relay;12345678\r\n",
        );
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        let order = &file.orders[0];
        assert_eq!(order.reference, "XKBKNABJK");
        assert_eq!(order.items, [item(2, "Mug émaillé"), item(1, "Théière")]);
        assert_eq!(order.carrier.as_deref(), Some("Mondial Relay"));
        assert_eq!(
            order.ordered_at,
            read(&format!("{HEADER}\n1,a@b.example,paid,2026-11-20,,,\n")).orders[0].ordered_at
        );
    }

    #[test]
    fn columns_come_in_any_order_and_any_case() {
        let file = read(
            "Tracking Number,STATUS, Customer-Email ,Reference\n6A12345678901,Delivered,marie@client.example,1042\n",
        );
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        let order = &file.orders[0];
        assert_eq!(
            (order.reference.as_str(), order.status.as_str()),
            ("1042", "delivered")
        );
        assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
        assert_eq!((order.ordered_at, order.items.len()), (None, 0));
    }

    #[test]
    fn extra_columns_are_ignored() {
        let file = read(
            "reference,Total TTC,customer_email,status,Notes\n1042,\"49,90\",marie@client.example,paid,VIP\n",
        );
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        assert_eq!(file.orders[0].reference, "1042");
        assert_eq!(file.orders[0].status, OrderStatus::Paid);
    }

    #[test]
    fn a_bad_date_skips_its_row_only_with_its_line_number() {
        let file = read(&format!(
            "{HEADER}\n\
             1041,a@client.example,paid,2026-11-19,,,\n\
             1042,b@client.example,paid,yesterday,,,\n\
             1043,c@client.example,paid,\"2026-11-21\",\"1 x Mug\n1 x Teapot\",,\n\
             1044,d@client.example,paid,32/13/2026,,,\n\
             1045,e@client.example,paid,2026-11-22 14:30,,,\n"
        ));
        let references: Vec<&str> = file.orders.iter().map(|o| o.reference.as_str()).collect();
        assert_eq!(references, ["1041", "1043", "1045"]);
        assert_eq!(file.orders[1].items, [item(1, "Mug"), item(1, "Teapot")]);
        assert_eq!(
            file.orders[2].ordered_at,
            Some(
                jiff::Timestamp::from_second(1_795_357_800)
                    .unwrap()
                    .as_millisecond()
            ),
            "2026-11-22 14:30 UTC"
        );
        assert_eq!(
            file.rejected,
            [
                RejectedRow {
                    line: 3,
                    problem: RowProblem::BadDate("yesterday".into())
                },
                // The row before spans two lines: this one starts on line 6.
                RejectedRow {
                    line: 6,
                    problem: RowProblem::BadDate("32/13/2026".into())
                },
            ]
        );
        assert_eq!(
            file.rejected[0].explain(UiLang::Fr),
            "ligne 3 : date « yesterday » illisible (écrivez AAAA-MM-JJ, JJ/MM/AAAA ou 2026-11-20T14:30:00Z)"
        );
        assert!(
            file.rejected[1]
                .explain(UiLang::En)
                .starts_with("line 6: unreadable date")
        );
    }

    #[test]
    fn each_kind_of_bad_row_is_named() {
        let file = read(&format!(
            "{HEADER}\n\
             ,a@client.example,paid,,,,\n\
             1,not-an-address,paid,,,,\n\
             2,a@client.example,lost,,,,\n\
             3,a@client.example,paid,,0 x Mug,,\n\
             4,a@client.example,paid,,1 x Mug, blue,,\n\
             5,a@client.example\n\
             ,,,,,,\n\
             6,a@client.example,paid,,,,\n"
        ));
        let problems: Vec<(u64, RowProblem)> = file
            .rejected
            .into_iter()
            .map(|r| (r.line, r.problem))
            .collect();
        assert_eq!(
            problems,
            [
                (2, RowProblem::Missing("reference")),
                (3, RowProblem::BadEmail("not-an-address".into())),
                (4, RowProblem::UnknownStatus("lost".into())),
                (5, RowProblem::BadQuantity("0 x Mug".into())),
                (
                    6,
                    RowProblem::FieldCount {
                        expected: 7,
                        found: 8
                    }
                ),
                (
                    7,
                    RowProblem::FieldCount {
                        expected: 7,
                        found: 2
                    }
                ),
            ]
        );
        // A row of empty fields is nothing.
        assert_eq!(file.orders.len(), 1);
        assert_eq!(file.orders[0].reference, "6");
    }

    #[test]
    fn line_numbers_count_crlf_and_blank_lines() {
        let file = read(&format!(
            "{HEADER}\r\n\
             1,a@client.example,paid,,,,\r\n\
             \r\n\
             2,a@client.example,lost,,,,\r\n\
             3,a@client.example,\"paid\",,\"1 x Mug\r\n1 x Tea\",,\r\n\
             4,a@client.example,lost,,,,\r\n"
        ));
        let lines: Vec<u64> = file.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 7]);
        assert_eq!(file.orders.len(), 2);
    }

    #[test]
    fn a_row_that_is_not_utf8_is_skipped() {
        let mut content = format!("{HEADER}\n").into_bytes();
        content.extend_from_slice(b"1,a@client.example,paid,,1 x Th\xe9i\xe8re,,\n");
        content.extend_from_slice(b"2,a@client.example,paid,,,,\n");
        let file = read_orders_csv(&content).unwrap();
        assert_eq!(file.orders.len(), 1);
        assert_eq!(
            file.rejected,
            [RejectedRow {
                line: 2,
                problem: RowProblem::NotUtf8
            }]
        );
    }

    #[test]
    fn a_missing_column_refuses_the_whole_file() {
        let error =
            read_orders_csv(b"reference,email,status\n1042,a@client.example,paid\n").unwrap_err();
        assert_eq!(error, CsvError::MissingColumns(vec!["customer_email"]));
        assert!(
            error
                .explain(UiLang::Fr)
                .contains("Colonne manquante : customer_email")
        );
        assert!(
            error
                .explain(UiLang::En)
                .contains("missing column customer_email")
        );
        assert_eq!(read_orders_csv(b"").unwrap_err(), CsvError::Empty);
        assert_eq!(
            read_orders_csv(b"reference,customer_email,status,Reference\n").unwrap_err(),
            CsvError::DuplicateColumn("reference".into())
        );
        assert_eq!(
            read_orders_csv(b"r\xe9f\xe9rence,customer_email,status\n").unwrap_err(),
            CsvError::NotUtf8
        );
    }

    #[test]
    fn a_header_alone_is_an_empty_import() {
        assert_eq!(read(HEADER), OrderFile::default());
    }
}
