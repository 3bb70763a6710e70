//! IMAP/SMTP settings of well-known mail providers, found from the email domain.

use crate::intake::imap::Security;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub name: &'static str,
    pub imap: ServerSettings,
    pub smtp: ServerSettings,
    /// What to tell the user when the password is refused (app password, OAuth...), in (fr, en).
    pub auth_hint: Option<(&'static str, &'static str)>,
}

/// The provider serving `email`'s domain, if known.
pub fn for_email(_email: &str) -> Option<&'static Provider> {
    None
}

pub fn by_name(_name: &str) -> Option<&'static Provider> {
    None
}
