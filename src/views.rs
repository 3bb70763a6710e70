//! Presentation shared by every edge: the stable JSON shapes the command line prints with
//! `--json` (and the web API serves), built from the typed values of the store and the desk,
//! and the localized labels people read beside them. Times are RFC 3339 in UTC here and only
//! here; the store keeps milliseconds.

use crate::answering::RecordedDecision;
use crate::desk::mailboxes::SyncState;
use crate::desk::triage::EvalReport;
use crate::model::UiLang;
use crate::t;
use crate::triage::eval::Report;
use crate::triage::{self, Reason, Triage};

pub use crate::desk::replies::state_label;

/// RFC 3339 in UTC, the format of every time in the JSON output.
pub fn rfc3339(ms: i64) -> String {
    crate::store::rfc3339(ms)
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
    let why = match lang {
        UiLang::Fr => &decision.explanation_fr,
        UiLang::En => &decision.explanation_en,
    };
    if decision.shadow {
        t!(lang, "tickets.shadow_decision", why = why)
    } else {
        why.clone()
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
