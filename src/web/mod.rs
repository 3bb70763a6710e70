//! The back office, the JSON API and the contact forms (axum).

pub mod mail_html;
