//! Domain types shared by the pipeline.

use serde::{Deserialize, Serialize};

/// Language of the user interface and of user-facing errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum UiLang {
    Fr,
    #[default]
    En,
}

impl UiLang {
    /// From a locale string such as `fr_FR.UTF-8`; English unless it says French.
    pub fn from_locale(locale: &str) -> Self {
        if locale.to_ascii_lowercase().starts_with("fr") {
            UiLang::Fr
        } else {
            UiLang::En
        }
    }

    /// The language's code, as in `lang` columns and catalogue files.
    pub fn code(self) -> &'static str {
        match self {
            UiLang::Fr => "fr",
            UiLang::En => "en",
        }
    }

    /// Picks the French or English text.
    pub fn pick<'a>(self, fr: &'a str, en: &'a str) -> &'a str {
        match self {
            UiLang::Fr => fr,
            UiLang::En => en,
        }
    }
}

/// Ticket lifecycle as employees see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Pending1,
    Pending2,
    Closed,
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [
            Status::Open,
            Status::Pending1,
            Status::Pending2,
            Status::Closed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("unknown ticket status {text}"))
    }
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending1 => "pending1",
            Status::Pending2 => "pending2",
            Status::Closed => "closed",
        }
    }
}

/// Where an outbox row is on its way out; the `state` column holds its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ReplyState {
    /// Waits for its time.
    Scheduled,
    /// Leased by a sender, committed before any SMTP traffic.
    Sending,
    Sent,
    /// Refused for good before the message was handed over.
    Failed,
    Cancelled,
    /// Interrupted during or after the transfer: it may have arrived; never resent by itself.
    Uncertain,
    /// Drafted in shadow mode, never sent.
    Shadow,
}

impl ReplyState {
    pub const ALL: [ReplyState; 7] = [
        ReplyState::Scheduled,
        ReplyState::Sending,
        ReplyState::Sent,
        ReplyState::Failed,
        ReplyState::Cancelled,
        ReplyState::Uncertain,
        ReplyState::Shadow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReplyState::Scheduled => "scheduled",
            ReplyState::Sending => "sending",
            ReplyState::Sent => "sent",
            ReplyState::Failed => "failed",
            ReplyState::Cancelled => "cancelled",
            ReplyState::Uncertain => "uncertain",
            ReplyState::Shadow => "shadow",
        }
    }

    /// From the `state` column; None for a state this version does not know.
    pub fn parse(text: &str) -> Option<ReplyState> {
        ReplyState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What an outbox row is; the `kind` column holds its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyKind {
    /// An automatic answer to a customer.
    Answer,
    /// An automatic request for missing information.
    Ask,
    /// A message to the shop itself (quota spent...).
    Notice,
    /// An employee's answer.
    Employee,
}

impl ReplyKind {
    pub const ALL: [ReplyKind; 4] = [
        ReplyKind::Answer,
        ReplyKind::Ask,
        ReplyKind::Notice,
        ReplyKind::Employee,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Answer => "answer",
            ReplyKind::Ask => "ask",
            ReplyKind::Notice => "notice",
            ReplyKind::Employee => "employee",
        }
    }

    /// From the `kind` column; None for a kind this version does not know.
    pub fn parse(text: &str) -> Option<ReplyKind> {
        ReplyKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_states_and_kinds_read_back_as_the_columns_and_json_spell_them() {
        for state in ReplyState::ALL {
            assert_eq!(ReplyState::parse(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::from(state.as_str())
            );
        }
        for kind in ReplyKind::ALL {
            assert_eq!(ReplyKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(ReplyState::parse("Sent"), None);
        assert_eq!(ReplyKind::parse("robot"), None);
    }
}
