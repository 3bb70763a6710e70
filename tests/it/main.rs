//! The one integration-test binary. `support` starts the real servers the tests talk to.

mod answering;
mod blob_sweep;
mod cli;
mod crash_send;
mod employees;
mod harness_selftest;
mod intake;
mod jobs;
mod mail_loops;
mod outbound;
mod outbox_lease;
mod parse_corpus;
mod racing;
mod runtime;
mod sending;
mod shop;
mod store;
mod store_corrupt;
mod stored_names;
mod support;
mod triage;
mod web;
mod web_settings;
