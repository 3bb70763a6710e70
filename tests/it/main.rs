//! The one integration-test binary. `support` starts the real servers the tests talk to.

mod answering;
mod cli;
mod harness_selftest;
mod intake;
mod jobs;
mod mail_loops;
mod outbound;
mod parse_corpus;
mod runtime;
mod shop;
mod store;
mod stored_names;
mod support;
mod triage;
