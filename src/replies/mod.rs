//! Automatic answers: whether to answer (safety, settings, quota), what to ask for, when to
//! send, and the text. Pure: everything comes in as values, nothing is read or sent here.

pub mod decision;
pub mod html;
pub mod quota;
pub mod safety;
pub mod schedule;
pub mod shipped;
pub mod subject;
pub mod templates;

pub use decision::{
    AutoAnswerSettings, Decision, DecisionInput, Mode, OrderLookup, PendingRequest, decide,
};
pub use quota::{Plan, PlanName, QuotaState, month_start_ms, quota_state};
pub use safety::{NoAutoReply, machine_refusal, sender_refusal};
pub use schedule::{BusinessHours, DelayPolicy, ScheduleError, due_at, parse_duration};
pub use subject::reply_subject;
pub use templates::{
    Branding, Need, ReplyContext, ReplyTemplate, TemplateError, WhenComplete, missing_needs,
    quote_original, render, render_html, shipped_templates,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse::AutomationHeaders;
    use crate::model::UiLang;
    use crate::triage::Facts;

    /// Deterministic odd strings: multi-byte letters, separators, digits, brackets, quotes.
    fn odd_strings() -> Vec<String> {
        const PIECES: [&str; 24] = [
            "Re",
            ":",
            " ",
            "[",
            "#",
            "]",
            "1527",
            "é",
            "\u{202f}",
            "\r\n",
            "-",
            "h",
            "@",
            "<",
            ">",
            "https://",
            "www.",
            "(",
            ")",
            "«",
            "»",
            "75011 Paris",
            "rue",
            "\u{0}",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut strings = vec![String::new()];
        for _ in 0..400 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let length = (state % 12) as usize;
            for step in 0..length {
                let index = ((state >> (step * 5)) % PIECES.len() as u64) as usize;
                text.push_str(PIECES[index]);
            }
            strings.push(text);
        }
        strings
    }

    #[test]
    fn nothing_panics_on_odd_input() {
        let facts = Facts::default();
        for text in odd_strings() {
            let _ = reply_subject(i64::MIN, &text);
            let _ = machine_refusal(
                &text,
                &AutomationHeaders::default(),
                std::slice::from_ref(&text),
            );
            let _ = missing_needs(&Need::ALL, &facts, false, &text);
            let _ = render_html(&text, &templates::Branding::default());
            let _ = quote_original(&text, &text, i64::MIN, UiLang::Fr, &text);
            let _ = BusinessHours::parse(&text);
            let _ = parse_duration(&text);
            let _ = month_start_ms(0, &text);
            let _ = text.parse::<PlanName>();
        }
    }
}
