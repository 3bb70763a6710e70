//! MIME -> [`ParsedMessage`]. Pure: no I/O. Never panics on input.

/// Headers that tell a machine-sent message from a person's (RFC 3834 and friends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutomationHeaders {
    /// Value of `Auto-Submitted`, lowercased, when present and not `no`.
    pub auto_submitted: Option<String>,
    /// Value of `Precedence`, lowercased.
    pub precedence: Option<String>,
    pub list_id: Option<String>,
    /// `Return-Path: <>` (a bounce).
    pub empty_return_path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub content_id: Option<String>,
    /// Shown inside the body (Content-Disposition inline with a Content-ID) rather than listed.
    pub inline: bool,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Lowercased address.
    pub from_email: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Decoded (encoded-words resolved), trimmed, empty when absent.
    pub subject: String,
    /// Unix milliseconds, from the Date header.
    pub date_ms: Option<i64>,
    /// Full plain text (converted from HTML when the message has only HTML).
    pub text: String,
    pub html: Option<String>,
    /// The customer's new words: quoted history and signature removed.
    pub new_text: String,
    pub attachments: Vec<Attachment>,
    pub automation: AutomationHeaders,
    /// Set when the MIME structure could not be fully understood; what could be read is still filled.
    pub parse_error: Option<String>,
}

/// Parses raw RFC 5322 bytes.
pub fn parse_message(_raw: &[u8]) -> ParsedMessage {
    todo!("helper: parse")
}
