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
