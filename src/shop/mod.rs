//! The shop's side of customer service: its orders and the customers who placed them (known by
//! their e-mail address), the carriers that deliver them, and where orders come from.
//!
//! Answers read orders through [`OrderSource`]: orders imported from CSV files into the store
//! today ([`ImportedOrders`]), the shop platforms' APIs (Shopify, PrestaShop, WooCommerce) next,
//! each one more implementation of the same two questions.

pub mod carriers;
mod import;

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::model::UiLang;
use crate::store::{Store, StoreError};
use carriers::{Carrier, carrier_of};

pub use import::{
    CsvError, ImportError, ImportReport, OrderFile, RejectedRow, RowProblem, import_orders_csv,
    read_orders_csv,
};

/// An order as the shop knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub reference: String,
    /// Lower case.
    pub customer_email: String,
    /// One of [`ORDER_STATUSES`] for imported orders; templates branch on it.
    pub status: String,
    pub ordered_at: Option<i64>,
    pub items: Vec<OrderItem>,
    /// As the shop wrote it.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub name: String,
    pub quantity: i64,
}

impl Order {
    /// The carrier's name for the customer: as the order gives it, else guessed from the
    /// tracking number.
    pub fn carrier_name(&self) -> Option<String> {
        self.carrier.clone().or_else(|| {
            self.tracking_number
                .as_deref()
                .and_then(carrier_of)
                .map(|carrier| carrier.name().to_string())
        })
    }

    /// Where the customer follows the parcel. The carrier the order names wins over a guess
    /// from the number's format (12 digits can be FedEx or Mondial Relay); a carrier named but
    /// unknown gets no link rather than another carrier's.
    pub fn tracking_url(&self) -> Option<String> {
        let number = self.tracking_number.as_deref()?;
        let carrier = match self.carrier.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(name) => Carrier::from_name(name)?,
            None => carrier_of(number)?,
        };
        Some(carrier.tracking_url(number))
    }
}

/// The order statuses Guichet knows; what a customer reads of each is in the catalogue
/// (`[shop_status]`, one key per status).
pub const ORDER_STATUSES: [&str; 7] = [
    "pending",
    "paid",
    "processing",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
];

/// A status in the customer's language; an unknown one as it is.
pub fn status_label(status: &str, lang: UiLang) -> &str {
    if ORDER_STATUSES.contains(&status) {
        crate::i18n::lookup(lang, &format!("shop_status.{status}")).unwrap_or(status)
    } else {
        status
    }
}

/// Where a shop's orders come from.
pub trait OrderSource {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The customer's orders, newest first.
    fn orders_for(
        &self,
        customer_email: &str,
    ) -> impl Future<Output = Result<Vec<Order>, Self::Error>> + Send;

    /// The order with this reference, written as a customer would (`#1042` or `1042`),
    /// whoever placed it.
    fn order(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<Order>, Self::Error>> + Send;
}

/// The order a customer's message is about: the first reference they give that is one of
/// their own orders, else their latest order. A reference alone never shows someone else's
/// order: anyone can type a number.
pub async fn find_order<S: OrderSource>(
    source: &S,
    customer_email: &str,
    references: &[String],
) -> Result<Option<Order>, S::Error> {
    for reference in references {
        if let Some(order) = source.order(reference).await?
            && order.customer_email.eq_ignore_ascii_case(customer_email)
        {
            return Ok(Some(order));
        }
    }
    Ok(source.orders_for(customer_email).await?.into_iter().next())
}

/// A shop's orders imported from CSV files (`guichet orders import`), kept in the store.
#[derive(Debug, Clone, Copy)]
pub struct ImportedOrders<'a> {
    store: &'a Store,
    shop_id: i64,
}

impl<'a> ImportedOrders<'a> {
    pub fn new(store: &'a Store, shop_id: i64) -> Self {
        ImportedOrders { store, shop_id }
    }
}

impl OrderSource for ImportedOrders<'_> {
    type Error = StoreError;

    async fn orders_for(&self, customer_email: &str) -> Result<Vec<Order>, StoreError> {
        self.store
            .customer_orders(self.shop_id, customer_email)
            .await
    }

    async fn order(&self, reference: &str) -> Result<Option<Order>, StoreError> {
        self.store.order_by_reference(self.shop_id, reference).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(carrier: Option<&str>, tracking: Option<&str>) -> Order {
        Order {
            reference: "1042".into(),
            customer_email: "marie@client.example".into(),
            status: "shipped".into(),
            ordered_at: None,
            items: Vec::new(),
            carrier: carrier.map(str::to_string),
            tracking_number: tracking.map(str::to_string),
        }
    }

    #[test]
    fn the_carrier_the_order_names_gives_the_link() {
        // Twelve digits look like FedEx; the shop says Mondial Relay.
        let named = order(Some("Mondial Relay"), Some("123456789012"));
        assert_eq!(
            named.tracking_url().as_deref(),
            Some("https://www.mondialrelay.fr/suivi-de-colis/?NumeroExpedition=123456789012")
        );
        assert_eq!(named.carrier_name().as_deref(), Some("Mondial Relay"));
        let guessed = order(None, Some("6A12345678901"));
        assert_eq!(guessed.carrier_name().as_deref(), Some("Colissimo"));
        assert!(guessed.tracking_url().unwrap().contains("laposte.fr"));
        let unknown = order(Some("Transporteur maison"), Some("6A12345678901"));
        assert_eq!(unknown.tracking_url(), None, "no link to another carrier");
        assert_eq!(order(Some("Colissimo"), None).tracking_url(), None);
    }

    #[test]
    fn statuses_have_both_languages() {
        assert_eq!(status_label("shipped", UiLang::Fr), "expédiée");
        assert_eq!(status_label("shipped", UiLang::En), "shipped");
        assert_eq!(status_label("on_hold", UiLang::En), "on_hold");
        for status in ORDER_STATUSES {
            for &lang in UiLang::ALL {
                let key = format!("shop_status.{status}");
                assert!(crate::i18n::lookup(lang, &key).is_some(), "{key}");
            }
        }
    }

    /// Orders in memory, to check the rule of [`find_order`] alone.
    struct Listed(Vec<Order>);

    impl OrderSource for Listed {
        type Error = std::convert::Infallible;

        async fn orders_for(&self, email: &str) -> Result<Vec<Order>, Self::Error> {
            Ok(self
                .0
                .iter()
                .filter(|o| o.customer_email.eq_ignore_ascii_case(email))
                .cloned()
                .collect())
        }

        async fn order(&self, reference: &str) -> Result<Option<Order>, Self::Error> {
            let bare = reference.trim_start_matches('#');
            Ok(self.0.iter().find(|o| o.reference == bare).cloned())
        }
    }

    #[tokio::test]
    async fn a_reference_finds_only_the_customers_own_order() {
        let mine = |reference: &str| Order {
            reference: reference.into(),
            ..order(None, None)
        };
        let theirs = Order {
            reference: "2001".into(),
            customer_email: "paul@client.example".into(),
            ..order(None, None)
        };
        let source = Listed(vec![mine("1050"), mine("1042"), theirs]);
        let found = |refs: &[&str]| {
            let refs: Vec<String> = refs.iter().map(|r| r.to_string()).collect();
            let source = &source;
            async move {
                find_order(source, "Marie@Client.example", &refs)
                    .await
                    .unwrap()
                    .map(|o| o.reference)
            }
        };
        assert_eq!(found(&["#1042"]).await.as_deref(), Some("1042"));
        assert_eq!(found(&["9999", "1042"]).await.as_deref(), Some("1042"));
        assert_eq!(found(&[]).await.as_deref(), Some("1050"), "the latest");
        assert_eq!(
            found(&["2001"]).await.as_deref(),
            Some("1050"),
            "someone else's order is never shown"
        );
    }
}
