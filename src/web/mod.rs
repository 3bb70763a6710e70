//! The back office, its API and the contact forms over HTTP.

pub mod charts;
