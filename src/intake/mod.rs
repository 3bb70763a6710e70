//! Getting mail in: IMAP sync, MIME parsing, reply-text extraction.

pub mod contact_form;
pub mod imap;
pub mod parse;
pub mod providers;
pub mod reply_text;
pub mod sync;
