//! Guichet: a customer-service email desk for online shops.
//!
//! The module layout follows the pipeline: `intake → triage → threading → replies → answering →
//! outbound`, around the `store`, with `desk` (the use-cases every edge shares) at the centre and
//! the command line, `runtime` and (next) the web at the edges.

pub mod answering;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod desk;
pub mod i18n;
pub mod intake;
pub mod model;
pub mod oauth;
pub mod outbound;
pub mod render;
pub mod replies;
pub mod runtime;
pub mod shop;
pub mod store;
pub mod threading;
pub mod triage;
pub mod views;
pub mod web;
pub mod worker;
