//! IMAP client: connection (implicit TLS, STARTTLS, plain), UID-based fetch, IDLE, and errors a
//! shop owner can act on.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::model::UiLang;

/// How the connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS; refusing to go on without it.
    Starttls,
    /// No encryption (loopback or trusted networks only).
    None,
}

#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub accept_invalid_certs: bool,
    pub username: String,
    pub password: SecretString,
}

/// State of a selected folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    pub uid_validity: u32,
    pub uid_next: Option<u32>,
    pub exists: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub uid: u32,
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot resolve host {host}")]
    Dns { host: String },
    #[error("connection refused by {host}:{port}")]
    ConnectionRefused { host: String, port: u16 },
    #[error("timed out talking to {host}:{port}")]
    Timeout { host: String, port: u16 },
    #[error("TLS certificate of {host} rejected: {reason}")]
    Certificate { host: String, reason: String },
    #[error("TLS failure with {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("the server refused the user name or password")]
    AuthenticationFailed { provider_hint: Option<String> },
    #[error("folder {folder} does not exist")]
    FolderMissing { folder: String },
    #[error("connection lost: {0}")]
    Connection(String),
    #[error("IMAP protocol error: {0}")]
    Protocol(String),
}

impl ImapError {
    /// The message shown to the shop, in its language.
    pub fn localized(&self, _lang: UiLang) -> String {
        self.to_string()
    }

    /// Whether retrying later may succeed (network trouble) rather than needing a human.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ImapError::Timeout { .. }
                | ImapError::Connection(_)
                | ImapError::ConnectionRefused { .. }
        )
    }
}

pub struct ImapClient {}

impl ImapClient {
    pub async fn connect(_settings: &ImapSettings) -> Result<Self, ImapError> {
        todo!("helper: imap")
    }
    pub async fn select(&mut self, _folder: &str) -> Result<FolderState, ImapError> {
        todo!()
    }
    /// UIDs greater than `last_uid` in the selected folder, ascending.
    pub async fn uids_after(&mut self, _last_uid: u32) -> Result<Vec<u32>, ImapError> {
        todo!()
    }
    /// `UID FETCH <uids> BODY.PEEK[]`: never changes the \Seen flag.
    pub async fn fetch(&mut self, _uids: &[u32]) -> Result<Vec<FetchedMessage>, ImapError> {
        todo!()
    }
    pub async fn mark_seen(&mut self, _uids: &[u32]) -> Result<(), ImapError> {
        todo!()
    }
    /// Flags \Deleted and expunges exactly these UIDs (UID EXPUNGE when offered).
    pub async fn delete(&mut self, _uids: &[u32]) -> Result<(), ImapError> {
        todo!()
    }
    pub fn supports_idle(&self) -> bool {
        todo!()
    }
    /// Waits in IDLE until the server reports a change or `timeout` passes. Returns true on change.
    pub async fn idle(self, _timeout: std::time::Duration) -> Result<(Self, bool), ImapError> {
        todo!()
    }
    pub async fn logout(self) {}
}

#[derive(Debug)]
pub struct MailboxReport;
impl std::fmt::Display for MailboxReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("")
    }
}
pub async fn test_mailbox(
    _settings: &ImapSettings,
    _folders: &[String],
) -> Result<MailboxReport, ImapError> {
    todo!()
}
