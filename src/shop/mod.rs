//! The shop's side of customer service: its orders and the customers who placed them (known by
//! their e-mail address), the carriers that deliver them, and where orders come from.
//!
//! Answers read orders through [`OrderSource`]: [`live::LiveShop`] answers from the store (CSV
//! imports, and what the platforms said recently) and asks the shop platforms' APIs (Shopify,
//! PrestaShop, WooCommerce, each a [`platform::ShopPlatform`]) when that is stale.

pub mod carriers;
pub mod connector;
pub mod http;
mod import;
pub mod live;
pub mod platform;
pub mod prestashop;
pub mod shopify;
pub mod woocommerce;

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::model::UiLang;
use carriers::{Carrier, carrier_of};

pub use import::{
    CsvError, CustomerFile, ImportError, ImportReport, OrderFile, RejectedRow, RowProblem,
    import_orders_csv, read_customers_csv, read_orders_csv,
};

/// Where an order stands, the same words for every platform; the platform's own status is
/// kept beside it ([`Order::raw_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Processing,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ];

    /// The identifier templates branch on and the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Processing => "processing",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The status in the customer's language (catalogue `[shop_status]`).
    pub fn label(self, lang: UiLang) -> &'static str {
        crate::i18n::lookup(lang, &format!("shop_status.{}", self.as_str()))
            .unwrap_or(self.as_str())
    }

    /// Counted as a validated order (paid for and not undone), as PrestaShop counts them.
    pub fn is_validated(self) -> bool {
        matches!(
            self,
            OrderStatus::Paid
                | OrderStatus::Processing
                | OrderStatus::Shipped
                | OrderStatus::Delivered
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in the currency's minor unit (cents), so totals add up exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
}

impl Money {
    /// Digits after the decimal point in this currency (ISO 4217 minor units).
    pub fn exponent(currency: &str) -> u32 {
        match currency {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// An amount as platforms write it: `"49.90"`, `"49,90"`, `49.9`, `"1 234.50"`. Digits
    /// beyond the currency's precision are rounded half away from zero.
    pub fn parse(text: &str, currency: &str) -> Option<Money> {
        let currency = currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .map(|c| if c == ',' { '.' } else { c })
            .collect();
        let (negative, digits) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let exponent = Money::exponent(&currency) as usize;
        let mut minor: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        for _ in 0..exponent {
            minor = minor.checked_mul(10)?;
        }
        let kept: String = fraction.chars().take(exponent).collect();
        let kept = format!("{kept:0<exponent$}");
        if !kept.is_empty() {
            minor = minor.checked_add(kept.parse::<i64>().ok()?)?;
        }
        if fraction
            .as_bytes()
            .get(exponent)
            .is_some_and(|d| *d >= b'5')
        {
            minor = minor.checked_add(1)?;
        }
        Some(Money {
            minor: if negative { -minor } else { minor },
            currency,
        })
    }

    /// The amounts added up, when there is at least one, each is known and all share a
    /// currency.
    pub fn sum<'a>(amounts: impl IntoIterator<Item = Option<&'a Money>>) -> Option<Money> {
        let mut total: Option<Money> = None;
        for amount in amounts {
            let amount = amount?;
            total = Some(match total {
                None => amount.clone(),
                Some(sum) if sum.currency == amount.currency => Money {
                    minor: sum.minor.checked_add(amount.minor)?,
                    currency: sum.currency,
                },
                Some(_) => return None,
            });
        }
        total
    }

    /// The amount as a decimal string, `"49.90"`: what JSON and templates carry.
    pub fn decimal(&self) -> String {
        let exponent = Money::exponent(&self.currency);
        if exponent == 0 {
            return self.minor.to_string();
        }
        let scale = 10i64.pow(exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / scale as u64,
            abs % scale as u64,
            width = exponent as usize
        )
    }
}

/// An order as the shop knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub reference: String,
    /// Lower case.
    pub customer_email: String,
    pub status: OrderStatus,
    /// The platform's own word for the status (`FULFILLED`, `wc-completed`, a PrestaShop
    /// state's name), shown to employees beside ours.
    pub raw_status: Option<String>,
    /// Some items shipped, not all.
    pub partially_shipped: bool,
    /// Some of the amount refunded, not all.
    pub partially_refunded: bool,
    pub ordered_at: Option<i64>,
    pub total: Option<Money>,
    pub items: Vec<OrderItem>,
    /// As the shop wrote it.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The platform's own tracking link, preferred to one built from the carrier.
    pub tracking_link: Option<String>,
    /// The platform's id of the order (webhooks name orders by it).
    pub platform_id: Option<String>,
    /// When the platform last changed it (Unix ms).
    pub updated_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub name: String,
    pub quantity: i64,
}

/// A customer as the shop knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Lower case.
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// When the account was created (Unix ms).
    pub customer_since: Option<i64>,
    /// Validated orders as the platform counts them; `None`: counted from the orders.
    pub orders_count: Option<u32>,
    /// As the platform sums it; `None`: summed from the orders.
    pub total_spent: Option<Money>,
    /// The platform's id of the customer.
    pub platform_id: Option<String>,
}

/// What a platform knows of one address: the customer record when there is one, and their
/// orders newest first (a guest checkout has orders and no record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerRecord {
    pub customer: Option<Customer>,
    pub orders: Vec<Order>,
}

impl Order {
    /// An order with only what every source has; the rest empty.
    pub fn new(reference: &str, customer_email: &str, status: OrderStatus) -> Order {
        Order {
            reference: reference.to_string(),
            customer_email: customer_email.trim().to_lowercase(),
            status,
            raw_status: None,
            partially_shipped: false,
            partially_refunded: false,
            ordered_at: None,
            total: None,
            items: Vec::new(),
            carrier: None,
            tracking_number: None,
            tracking_link: None,
            platform_id: None,
            updated_at: None,
        }
    }

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
        if let Some(link) = self
            .tracking_link
            .as_deref()
            .filter(|l| l.starts_with("https://"))
        {
            return Some(link.to_string());
        }
        let number = self.tracking_number.as_deref()?;
        let carrier = match self.carrier.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(name) => Carrier::from_name(name)?,
            None => carrier_of(number)?,
        };
        Some(carrier.tracking_url(number))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn order(carrier: Option<&str>, tracking: Option<&str>) -> Order {
        Order {
            carrier: carrier.map(str::to_string),
            tracking_number: tracking.map(str::to_string),
            ..Order::new("1042", "marie@client.example", OrderStatus::Shipped)
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
    fn the_platforms_own_link_wins() {
        let linked = Order {
            tracking_link: Some("https://suivi.boutique.example/6A1".into()),
            ..order(Some("Colissimo"), Some("6A12345678901"))
        };
        assert_eq!(
            linked.tracking_url().as_deref(),
            Some("https://suivi.boutique.example/6A1")
        );
        let unsafe_link = Order {
            tracking_link: Some("javascript:alert(1)".into()),
            ..order(None, Some("6A12345678901"))
        };
        assert!(unsafe_link.tracking_url().unwrap().contains("laposte.fr"));
    }

    #[test]
    fn statuses_have_both_languages() {
        assert_eq!(OrderStatus::Shipped.label(UiLang::Fr), "expédiée");
        assert_eq!(OrderStatus::Shipped.label(UiLang::En), "shipped");
        assert_eq!(OrderStatus::parse(" Shipped "), Some(OrderStatus::Shipped));
        assert_eq!(OrderStatus::parse("on_hold"), None);
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
            for &lang in UiLang::ALL {
                let key = format!("shop_status.{status}");
                assert!(crate::i18n::lookup(lang, &key).is_some(), "{key}");
            }
        }
    }

    #[test]
    fn money_in_minor_units() {
        let eur = |t: &str| Money::parse(t, "eur").map(|m| m.minor);
        assert_eq!(eur("49.90"), Some(4990));
        assert_eq!(eur("49,9"), Some(4990));
        assert_eq!(eur("1 234.505"), Some(123451), "rounded half up");
        assert_eq!(eur("-3.20"), Some(-320));
        assert_eq!(eur(".5"), Some(50));
        assert_eq!(eur("abc"), None);
        assert_eq!(eur(""), None);
        assert_eq!(eur("99999999999999999999"), None, "overflow is refused");
        assert_eq!(Money::parse("1500", "JPY").unwrap().decimal(), "1500");
        assert_eq!(Money::parse("2.5", "KWD").unwrap().decimal(), "2.500");
        assert_eq!(Money::parse("-0.05", "EUR").unwrap().decimal(), "-0.05");
        assert_eq!(Money::parse("10", "EURO"), None);
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
