//! Presentation shared by every edge: the stable JSON shapes the command line prints with
//! `--json` (and the web API serves), built from the typed values of the store and the desk,
//! and the localized labels people read beside them. Times are RFC 3339 in UTC here and only
//! here; the store keeps milliseconds.

use serde::Serialize;

use crate::answering::RecordedDecision;
use crate::desk::actions::CustomerPanel;
use crate::desk::mailboxes::SyncState;
use crate::desk::tickets::TicketDetail;
use crate::desk::triage::EvalReport;
use crate::intake::imap::Security;
use crate::intake::sync::FolderSummary;
use crate::model::{ReplyKind, ReplyState, Role, Status, UiLang};
use crate::store::{
    AttachmentView, Contact, Employee, IntentSetting, MailboxRow, MessageView, ReplyView, Shop,
    TicketView,
};
use crate::t;
use crate::triage::eval::Report;
use crate::triage::{self, Reason, Triage};

pub use crate::desk::replies::state_label;

/// RFC 3339 in UTC, the format of every time in the JSON output.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn rfc3339_opt(ms: Option<i64>) -> Option<String> {
    ms.map(rfc3339)
}

/// `tickets list --json`: one ticket. Field names and order are a stable interface (README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketJson<'a> {
    pub number: i64,
    pub shop: &'a str,
    pub subject: &'a str,
    pub customer_email: &'a str,
    pub customer_name: Option<&'a str>,
    pub status: Status,
    pub assignee: Option<&'a str>,
    pub contact: Option<&'a str>,
    pub language: Option<&'a str>,
    /// Intent of the customer's latest message.
    pub intent: Option<&'a str>,
    pub message_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl<'a> From<&'a TicketView> for TicketJson<'a> {
    fn from(t: &'a TicketView) -> Self {
        TicketJson {
            number: t.number,
            shop: &t.shop,
            subject: &t.subject,
            customer_email: &t.customer_email,
            customer_name: t.customer_name.as_deref(),
            status: t.status,
            assignee: t.assignee.as_deref(),
            contact: t.contact.as_deref(),
            language: t.language.as_deref(),
            intent: t.intent.as_deref(),
            message_count: t.message_count,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
        }
    }
}

/// An attachment of a message in `tickets show --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentJson<'a> {
    pub filename: Option<&'a str>,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub inline: bool,
}

/// A message in `tickets show --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageJson<'a> {
    pub id: i64,
    pub message_id: Option<&'a str>,
    pub direction: &'a str,
    pub from: &'a str,
    pub from_name: Option<&'a str>,
    pub to: &'a [String],
    pub date: Option<String>,
    pub subject: &'a str,
    pub new_text: &'a str,
    pub text: &'a str,
    pub parse_error: Option<&'a str>,
    pub attachments: Vec<AttachmentJson<'a>>,
    /// Triage of a customer's message: language, intent, confidence, facts and why.
    pub triage: Option<&'a Triage>,
    /// What automatic answering decided for a customer's message, and why, as recorded.
    pub decision: Option<&'a serde_json::Value>,
}

impl<'a> From<&'a MessageView> for MessageJson<'a> {
    fn from(m: &'a MessageView) -> Self {
        let attachment = |a: &'a AttachmentView| AttachmentJson {
            filename: a.filename.as_deref(),
            content_type: &a.content_type,
            size: a.size,
            sha256: &a.sha256,
            inline: a.inline,
        };
        MessageJson {
            id: m.id,
            message_id: m.message_id.as_deref(),
            direction: &m.direction,
            from: &m.from,
            from_name: m.from_name.as_deref(),
            to: &m.to,
            date: rfc3339_opt(m.date),
            subject: &m.subject,
            new_text: &m.new_text,
            text: &m.text,
            parse_error: m.parse_error.as_deref(),
            attachments: m.attachments.iter().map(attachment).collect(),
            triage: m.triage.as_ref(),
            decision: m.decision.as_ref(),
        }
    }
}

/// `tickets show --json`: the ticket, its messages, its automatic answers, its case file and
/// who the customer is to the shop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketDetailJson<'a> {
    pub ticket: TicketJson<'a>,
    pub messages: Vec<MessageJson<'a>>,
    pub replies: Vec<ReplyJson<'a>>,
    pub case_file: Option<&'a serde_json::Value>,
    pub customer: CustomerJson<'a>,
}

impl<'a> TicketDetailJson<'a> {
    pub fn new(d: &'a TicketDetail, customer: &'a CustomerPanel, lang: UiLang) -> Self {
        TicketDetailJson {
            ticket: (&d.ticket).into(),
            messages: d.messages.iter().map(Into::into).collect(),
            replies: d.replies.iter().map(Into::into).collect(),
            case_file: d.case_file.as_ref(),
            customer: CustomerJson::new(customer, lang),
        }
    }
}

/// The `customer` block of a ticket: the shop's record of the sender and their orders, and
/// the platform's failure when the data could not be refreshed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerJson<'a> {
    pub name: Option<&'a str>,
    pub email: &'a str,
    pub customer_since: Option<String>,
    pub orders_count: usize,
    /// A decimal string (`"149.70"`), exact in the currency's minor unit.
    pub total_spent: Option<String>,
    pub currency: Option<&'a str>,
    pub orders: Vec<CustomerOrderJson<'a>>,
    pub source_error: Option<SourceErrorJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerOrderJson<'a> {
    pub reference: &'a str,
    pub date: Option<String>,
    pub status: crate::shop::OrderStatus,
    pub raw_status: Option<&'a str>,
    pub total: Option<String>,
    pub currency: Option<&'a str>,
    pub carrier: Option<&'a str>,
    pub tracking_number: Option<&'a str>,
    pub tracking_url: Option<&'a str>,
    pub partially_shipped: bool,
    pub partially_refunded: bool,
}

/// Why the data shown may be stale: the platform, the error's kind, the sentence in the
/// reader's language, and when the data shown was fetched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceErrorJson {
    pub platform: crate::shop::platform::Platform,
    pub error: crate::shop::platform::ShopError,
    pub message: String,
    pub data_from: Option<String>,
}

impl<'a> CustomerJson<'a> {
    pub fn new(panel: &'a CustomerPanel, lang: UiLang) -> Self {
        CustomerJson {
            name: panel.name.as_deref(),
            email: &panel.email,
            customer_since: rfc3339_opt(panel.customer_since),
            orders_count: panel.validated_orders,
            total_spent: panel.total_spent.as_ref().map(|m| m.decimal()),
            currency: panel.total_spent.as_ref().map(|m| m.currency.as_str()),
            orders: panel
                .orders
                .iter()
                .map(|o| CustomerOrderJson {
                    reference: &o.reference,
                    date: rfc3339_opt(o.ordered_at),
                    status: o.status,
                    raw_status: o.raw_status.as_deref(),
                    total: o.total.as_ref().map(|m| m.decimal()),
                    currency: o.total.as_ref().map(|m| m.currency.as_str()),
                    carrier: o.carrier.as_deref(),
                    tracking_number: o.tracking_number.as_deref(),
                    tracking_url: o.tracking_url.as_deref(),
                    partially_shipped: o.partially_shipped,
                    partially_refunded: o.partially_refunded,
                })
                .collect(),
            source_error: panel.source_error.as_ref().map(|e| SourceErrorJson {
                platform: e.error.platform(),
                error: e.error.clone(),
                message: e.error.explain(lang),
                data_from: rfc3339_opt(e.data_from),
            }),
        }
    }
}

/// `replies list --json`: one outbox row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyJson<'a> {
    pub id: i64,
    pub shop: &'a str,
    /// None for a notice to the shop itself.
    pub ticket: Option<i64>,
    pub kind: ReplyKind,
    pub intent: Option<&'a str>,
    pub lang: UiLang,
    pub state: ReplyState,
    pub due_at: String,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
    pub attempts: i64,
    pub error: Option<&'a str>,
    pub sent_at: Option<String>,
}

impl<'a> From<&'a ReplyView> for ReplyJson<'a> {
    fn from(r: &'a ReplyView) -> Self {
        ReplyJson {
            id: r.id,
            shop: &r.shop,
            ticket: r.ticket,
            kind: r.kind,
            intent: r.intent.as_deref(),
            lang: r.lang,
            state: r.state,
            due_at: rfc3339(r.due_at),
            to: &r.to,
            subject: &r.subject,
            body: &r.body,
            message_id: &r.message_id,
            attempts: r.attempts,
            error: r.error.as_deref(),
            sent_at: rfc3339_opt(r.sent_at),
        }
    }
}

/// `mailbox list --json`: a mailbox's settings and last sync, never its password.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailboxJson<'a> {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: &'a str,
    pub email: &'a str,
    pub imap_host: &'a str,
    pub imap_port: u16,
    pub imap_security: Security,
    pub accept_invalid_certs: bool,
    pub username: &'a str,
    pub folders: &'a [String],
    pub delete_after_import: bool,
    pub mark_as_read: bool,
    pub smtp_host: &'a str,
    pub smtp_port: u16,
    pub smtp_security: Security,
    pub contact_id: Option<i64>,
    pub last_sync_at: Option<String>,
    pub last_error: Option<&'a str>,
}

impl<'a> From<&'a MailboxRow> for MailboxJson<'a> {
    fn from(m: &'a MailboxRow) -> Self {
        MailboxJson {
            id: m.id,
            shop_id: m.shop_id,
            shop_name: &m.shop_name,
            email: &m.email,
            imap_host: &m.imap_host,
            imap_port: m.imap_port,
            imap_security: m.imap_security,
            accept_invalid_certs: m.accept_invalid_certs,
            username: &m.username,
            folders: &m.folders,
            delete_after_import: m.delete_after_import,
            mark_as_read: m.mark_as_read,
            smtp_host: &m.smtp_host,
            smtp_port: m.smtp_port,
            smtp_security: m.smtp_security,
            contact_id: m.contact_id,
            last_sync_at: rfc3339_opt(m.last_sync_at),
            last_error: m.last_error.as_deref(),
        }
    }
}

/// `shop list --json`: one shop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShopJson<'a> {
    pub id: i64,
    pub name: &'a str,
    pub retention_months: Option<i64>,
    pub created_at: String,
}

impl<'a> From<&'a Shop> for ShopJson<'a> {
    fn from(s: &'a Shop) -> Self {
        ShopJson {
            id: s.id,
            name: &s.name,
            retention_months: s.retention_months,
            created_at: rfc3339(s.created_at),
        }
    }
}

/// `user list --json` (and the API): one employee. Never their password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployeeJson<'a> {
    pub id: i64,
    pub shop_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub lang: UiLang,
    pub created_at: String,
}

impl<'a> From<&'a Employee> for EmployeeJson<'a> {
    fn from(e: &'a Employee) -> Self {
        EmployeeJson {
            id: e.id,
            shop_id: e.shop_id,
            email: &e.email,
            name: &e.name,
            role: e.role,
            lang: e.lang,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// An employee's role in their language.
pub fn role_label(role: Role, lang: UiLang) -> &'static str {
    match role {
        Role::Admin => t!(lang, "employees.role_admin"),
        Role::Employee => t!(lang, "employees.role_employee"),
    }
}

/// `contact list --json`: one contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactJson<'a> {
    pub id: i64,
    pub name: &'a str,
    pub email: &'a str,
    pub description: &'a str,
    /// Messages to this contact are filed as customer-service tickets.
    pub customer_service: bool,
}

impl<'a> From<&'a Contact> for ContactJson<'a> {
    fn from(c: &'a Contact) -> Self {
        ContactJson {
            id: c.id,
            name: &c.name,
            email: &c.email,
            description: &c.description,
            customer_service: c.customer_service,
        }
    }
}

/// `intents list --json`: one intent of a shop, its label in the desk's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentJson<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub custom: bool,
    pub enabled: bool,
    pub examples: i64,
    pub corrections: i64,
}

impl<'a> From<&'a IntentSetting> for IntentJson<'a> {
    fn from(i: &'a IntentSetting) -> Self {
        IntentJson {
            id: &i.id,
            label: &i.label,
            custom: i.custom,
            enabled: i.enabled,
            examples: i.examples,
            corrections: i.corrections,
        }
    }
}

/// The JSON shapes of a list of values, in order.
pub fn list<'a, T, J: From<&'a T>>(items: &'a [T]) -> Vec<J> {
    items.iter().map(J::from).collect()
}

/// An intent's label in `lang` (built-in intents), or its identifier.
pub fn intent_label(intent: &str, lang: UiLang) -> &str {
    triage::builtin_label(intent, lang).unwrap_or(intent)
}

/// A mailbox's last sync in a person's words.
pub fn sync_state_label(state: SyncState<'_>, lang: UiLang) -> String {
    match state {
        SyncState::Failed(error) => t!(lang, "mailbox.state_error", error = error),
        SyncState::SyncedAt(at) => t!(lang, "mailbox.state_synced", at = rfc3339(at)),
        SyncState::Never => t!(lang, "mailbox.state_never").into(),
    }
}

/// The decision beside a message: why, in `lang`, and whether it was only drafted.
pub fn decision_label(decision: &RecordedDecision, lang: UiLang) -> String {
    let why = decision.explanation(lang);
    if decision.shadow {
        t!(lang, "tickets.shadow_decision", why = why)
    } else {
        why.to_string()
    }
}

/// A triage in a few lines for people: language, intent and confidence; why; the facts found.
pub fn triage_lines(triage: &Triage, lang: UiLang) -> Vec<String> {
    let summary = t!(
        lang,
        "triage.summary",
        lang_code = triage.lang.as_deref().unwrap_or("?"),
        label = intent_label(&triage.intent, lang),
        intent = triage.intent,
        confidence = format!("{:.0}", triage.confidence * 100.0)
    );
    let why = match &triage.reason {
        Reason::Model { features } => {
            t!(lang, "triage.why_model", features = features.join(", "))
        }
        Reason::Rule { rule_id, keyword } => {
            t!(lang, "triage.why_rule", id = rule_id, keyword = keyword)
        }
        Reason::Correction { by } => t!(lang, "triage.why_correction", by = by),
    };
    let mut lines = vec![summary, t!(lang, "triage.why", why = why)];
    let facts = &triage.facts;
    let lists: [(&str, &[String]); 6] = [
        (t!(lang, "facts.orders"), &facts.order_refs),
        (t!(lang, "facts.tracking"), &facts.tracking_numbers),
        (t!(lang, "facts.emails"), &facts.emails),
        (t!(lang, "facts.phones"), &facts.phones),
        (t!(lang, "facts.amounts"), &facts.amounts),
        ("IBAN", &facts.ibans),
    ];
    for (name, values) in lists {
        if !values.is_empty() {
            lines.push(format!("{name}: {}", values.join(", ")));
        }
    }
    lines
}

/// `triage eval` in plain text: headline, per-intent table, confusion matrix, precision and
/// coverage curve, language accuracy, fact extraction and speed.
pub fn eval_report_text(report: &EvalReport, lang: UiLang) -> String {
    let mut out = format!("{}\n", t!(lang, "eval.model", model = report.model));
    if let Some(seconds) = report.training_seconds {
        let seconds = format!("{seconds:.2}");
        out += &format!("{}\n", t!(lang, "eval.training", seconds = seconds));
    }
    if let Some(intents) = &report.intents {
        intent_report(&mut out, intents, lang);
    }
    if let Some(accuracy) = report.language_accuracy {
        let long = report
            .language_accuracy_20_words
            .map(|a| t!(lang, "eval.language_long", accuracy = format!("{a:.4}")))
            .unwrap_or_default();
        let accuracy = format!("{accuracy:.4}");
        let line = t!(lang, "eval.language", accuracy = accuracy, long = long);
        out += &format!("\n{line}\n");
    }
    for (name, score) in [
        (t!(lang, "eval.order_refs"), &report.order_refs),
        (t!(lang, "eval.tracking_numbers"), &report.tracking_numbers),
    ] {
        if let Some(s) = score {
            let [precision, recall, f1] = [s.precision, s.recall, s.f1].map(|x| format!("{x:.3}"));
            let line = t!(
                lang,
                "eval.extraction",
                name = name,
                precision = precision,
                recall = recall,
                f1 = f1,
                expected = s.expected,
                found = s.found
            );
            out += &format!("{line}\n");
        }
    }
    let rate = format!("{:.0}", report.messages_per_second);
    out + &format!("{}\n", t!(lang, "eval.speed", rate = rate))
}

fn intent_report(out: &mut String, r: &Report, lang: UiLang) {
    let [accuracy, macro_f1] = [r.accuracy, r.macro_f1].map(|x| format!("{x:.4}"));
    let messages = r.messages;
    let headline = t!(
        lang,
        "eval.headline",
        messages = messages,
        accuracy = accuracy,
        macro_f1 = macro_f1
    );
    let (intent, precision) = (t!(lang, "eval.intent"), t!(lang, "eval.precision"));
    let (recall, support) = (t!(lang, "eval.recall"), t!(lang, "eval.support"));
    *out += &format!(
        "{headline}\n\n{intent:<24} {precision:>9} {recall:>9} {:>9} {support:>8}\n",
        "F1"
    );
    for s in &r.intents {
        let (name, p, rc, f1, n) = (&s.intent, s.precision, s.recall, s.f1, s.support);
        *out += &format!("{name:<24} {p:>9.3} {rc:>9.3} {f1:>9.3} {n:>8}\n");
    }
    *out += &format!("\n{}\n{:<24}", t!(lang, "eval.confusion"), "");
    for i in 1..=r.labels.len() {
        *out += &format!(" {i:>4}");
    }
    for (i, row) in r.confusion.iter().enumerate() {
        *out += &format!("\n{:<24}", format!("{:>2} {}", i + 1, r.labels[i]));
        for count in row {
            *out += &format!(" {count:>4}");
        }
    }
    let (threshold, coverage) = (t!(lang, "eval.threshold"), t!(lang, "eval.coverage"));
    *out += &format!(
        "\n\n{}\n{threshold:>9} {coverage:>10} {precision:>10}\n",
        t!(lang, "eval.curve")
    );
    for point in &r.curve {
        let (t, c, p) = (
            point.threshold,
            point.coverage * 100.0,
            point.precision * 100.0,
        );
        *out += &format!("{t:>9.3} {c:>9.1} % {p:>9.1} %\n");
    }
}

/// `sync --once --json`: what syncing one folder of one mailbox did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncFolderJson<'a> {
    pub shop: &'a str,
    pub mailbox: &'a str,
    pub folder: &'a str,
    pub new_messages: u64,
    pub new_tickets: u64,
    pub duplicates: u64,
    pub own_skipped: u64,
    pub parse_errors: u64,
    pub error: Option<&'a str>,
}

impl<'a> From<&'a FolderSummary> for SyncFolderJson<'a> {
    fn from(s: &'a FolderSummary) -> Self {
        SyncFolderJson {
            shop: &s.shop,
            mailbox: &s.mailbox,
            folder: &s.folder,
            new_messages: s.filed.new_messages,
            new_tickets: s.filed.new_tickets,
            duplicates: s.filed.duplicates,
            own_skipped: s.own_skipped,
            parse_errors: s.parse_errors,
            error: s.error.as_deref(),
        }
    }
}

/// The JSON shapes are a stable interface: exact field names, order and time format.
#[cfg(test)]
mod tests {
    use super::*;

    const NOV_22: i64 = 1_795_338_720_000;

    #[test]
    fn a_ticket_keeps_its_documented_shape() {
        let ticket = TicketView {
            number: 1001,
            shop: "demo".into(),
            subject: "Où est ma commande ?".into(),
            customer_email: "marie@client.example".into(),
            customer_name: Some("Marie".into()),
            status: Status::Pending1,
            assignee: None,
            contact: Some("Service client".into()),
            language: Some("fr".into()),
            intent: Some("order_status".into()),
            message_count: 2,
            created_at: NOV_22,
            updated_at: NOV_22 + 1_000,
        };
        assert_eq!(
            serde_json::to_string(&TicketJson::from(&ticket)).unwrap(),
            r#"{"number":1001,"shop":"demo","subject":"Où est ma commande ?","customer_email":"marie@client.example","customer_name":"Marie","status":"pending1","assignee":null,"contact":"Service client","language":"fr","intent":"order_status","message_count":2,"created_at":"2026-11-22T09:12:00Z","updated_at":"2026-11-22T09:12:01Z"}"#
        );
    }

    #[test]
    fn a_reply_shows_times_in_rfc3339_and_hides_its_row_ids() {
        let reply = ReplyView {
            id: 7,
            shop: "demo".into(),
            ticket: Some(1001),
            kind: crate::model::ReplyKind::Answer,
            intent: Some("order_status".into()),
            lang: UiLang::Fr,
            state: crate::model::ReplyState::Sent,
            due_at: NOV_22,
            to: "marie@client.example".into(),
            subject: "Re: commande".into(),
            body: "Bonjour".into(),
            message_id: "<a@b>".into(),
            attempts: 1,
            error: None,
            sent_at: None,
            shop_id: 3,
            ticket_id: Some(9),
            reply_to_message: Some(12),
        };
        assert_eq!(
            serde_json::to_string(&ReplyJson::from(&reply)).unwrap(),
            r#"{"id":7,"shop":"demo","ticket":1001,"kind":"answer","intent":"order_status","lang":"fr","state":"sent","due_at":"2026-11-22T09:12:00Z","to":"marie@client.example","subject":"Re: commande","body":"Bonjour","message_id":"<a@b>","attempts":1,"error":null,"sent_at":null}"#
        );
    }

    #[test]
    fn a_mailbox_never_shows_its_password() {
        let mailbox = MailboxRow {
            id: 1,
            shop_id: 2,
            shop_name: "demo".into(),
            email: "sav@boutique.fr".into(),
            imap_host: "imap.boutique.fr".into(),
            imap_port: 993,
            imap_security: Security::Tls,
            accept_invalid_certs: false,
            username: "sav".into(),
            auth: crate::oauth::MailboxAuth::Password,
            password_sealed: b"sealed secret".to_vec(),
            folders: vec!["INBOX".into()],
            delete_after_import: false,
            mark_as_read: true,
            smtp_host: "smtp.boutique.fr".into(),
            smtp_port: 465,
            smtp_security: Security::Tls,
            contact_id: None,
            last_sync_at: Some(NOV_22),
            last_error: None,
            reconnect_notice: Default::default(),
        };
        let json = serde_json::to_value(MailboxJson::from(&mailbox)).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert!(!keys.iter().any(|k| k.contains("password")), "{keys:?}");
        assert_eq!(keys.len(), 18);
        assert_eq!(json["last_sync_at"], "2026-11-22T09:12:00Z");
        assert_eq!(
            sync_state_label(SyncState::of(&mailbox), UiLang::En),
            t!(
                UiLang::En,
                "mailbox.state_synced",
                at = "2026-11-22T09:12:00Z"
            )
        );
    }
}
