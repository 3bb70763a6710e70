//! Domain types shared by the pipeline.

use serde::de::{DeserializeOwned, IntoDeserializer, value::StrDeserializer};
use serde::{Deserialize, Serialize};

/// The serde name of a unit variant (as stored in rows and shown in JSON): serde is the one
/// place that spells each name.
pub fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        // Only unit variants are named this way; anything else shows as its JSON.
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The unit variant serde names `name` (trimmed, any case), if there is one.
pub fn from_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    let name = name.trim().to_ascii_lowercase();
    let deserializer: StrDeserializer<'_, serde::de::value::Error> =
        name.as_str().into_deserializer();
    T::deserialize(deserializer).ok()
}

/// A name that is none of an enum's variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value \"{0}\"")]
pub struct UnknownName(pub String);

/// `FromStr` and `Display` for enums whose names serde spells (lowercase, as in JSON).
#[macro_export]
macro_rules! serde_names {
    ($($ty:ty),+ $(,)?) => {$(
        impl std::str::FromStr for $ty {
            type Err = $crate::model::UnknownName;
            fn from_str(name: &str) -> Result<Self, Self::Err> {
                $crate::model::from_name(name)
                    .ok_or_else(|| $crate::model::UnknownName(name.to_string()))
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&$crate::model::name_of(self))
            }
        }
    )+};
}

/// Language of the user interface and of user-facing errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum UiLang {
    Fr,
    #[default]
    En,
}

impl UiLang {
    /// Every language, in the order of the catalogue files.
    pub const ALL: &[UiLang] = &[UiLang::Fr, UiLang::En];

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

serde_names!(UiLang, Status, ReplyState, ReplyKind, Role);

/// What an employee may do: administrators also change the shop's settings and its team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Employee,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_serde_and_read_back_in_any_case() {
        assert_eq!(Status::Pending1.to_string(), "pending1");
        assert_eq!(" CLOSED ".parse::<Status>(), Ok(Status::Closed));
        assert_eq!("fr".parse::<UiLang>(), Ok(UiLang::Fr));
        assert_eq!(UiLang::En.to_string(), UiLang::En.code());
        assert_eq!("de".parse::<UiLang>(), Err(UnknownName("de".to_string())));
        for lang in UiLang::ALL {
            assert_eq!(lang.code().parse::<UiLang>().as_ref(), Ok(lang));
        }
    }

    #[test]
    fn reply_states_and_kinds_read_back_as_the_columns_and_json_spell_them() {
        for state in ReplyState::ALL {
            assert_eq!(state.to_string().parse::<ReplyState>(), Ok(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::from(state.to_string())
            );
        }
        for kind in ReplyKind::ALL {
            assert_eq!(kind.to_string().parse::<ReplyKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.to_string())
            );
        }
        assert_eq!(ReplyState::Uncertain.to_string(), "uncertain");
        assert!("robot".parse::<ReplyKind>().is_err());
    }
}
