//! Local HTTP servers answering as the shop platforms document their APIs.

pub mod oauth;
pub mod prestashop;
pub mod shopify;
pub mod woocommerce;
