//! Guichet: a customer-service email desk for online shops.
//!
//! The module layout follows the pipeline: `intake → threading → (triage → replies → outbound)`,
//! around the `store`, with the `cli` at the edge.

pub mod answering;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod intake;
pub mod model;
pub mod outbound;
pub mod replies;
pub mod shop;
pub mod store;
pub mod threading;
pub mod triage;
pub mod worker;
