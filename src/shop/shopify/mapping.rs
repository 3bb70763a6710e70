//! Shopify's orders and customers in Guichet's model. Two shapes arrive: the GraphQL Admin API's
//! objects (<https://shopify.dev/docs/api/admin-graphql/latest/objects/Order>,
//! <https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer>) and the REST order that
//! an `orders/updated` webhook carries
//! (<https://shopify.dev/docs/api/admin-rest/latest/resources/order>). Both are reduced to the
//! same facts before one status mapping, so a webhook and a query never disagree.

use serde::Deserialize;

use crate::shop::{Customer, Money, Order, OrderItem, OrderStatus};

/// The prefix of an order's global id; webhooks name orders by the number after it.
pub const ORDER_GID: &str = "gid://shopify/Order/";

/// An order's payment state: `displayFinancialStatus` in GraphQL
/// (<https://shopify.dev/docs/api/admin-graphql/latest/enums/OrderDisplayFinancialStatus>),
/// `financial_status` in REST (the same words in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Financial {
    Pending,
    Authorized,
    PartiallyPaid,
    Paid,
    PartiallyRefunded,
    Refunded,
    Voided,
    Expired,
}

impl Financial {
    fn from_word(word: &str) -> Option<Financial> {
        Some(match word.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Financial::Pending,
            "AUTHORIZED" => Financial::Authorized,
            "PARTIALLY_PAID" => Financial::PartiallyPaid,
            "PAID" => Financial::Paid,
            "PARTIALLY_REFUNDED" => Financial::PartiallyRefunded,
            "REFUNDED" => Financial::Refunded,
            "VOIDED" => Financial::Voided,
            "EXPIRED" => Financial::Expired,
            _ => return None,
        })
    }
}

/// An order's shipping state: `displayFulfillmentStatus` in GraphQL
/// (<https://shopify.dev/docs/api/admin-graphql/latest/enums/OrderDisplayFulfillmentStatus>),
/// `fulfillment_status` in REST (`null`, `fulfilled`, `partial`, `restocked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fulfillment {
    Unfulfilled,
    PartiallyFulfilled,
    Fulfilled,
    /// Sent to a fulfillment service, scheduled, on hold or declined by the service: the shop
    /// is working on it.
    Preparing,
    Restocked,
    NotRequired,
}

impl Fulfillment {
    fn from_word(word: &str) -> Option<Fulfillment> {
        Some(match word.trim().to_ascii_uppercase().as_str() {
            "UNFULFILLED" | "OPEN" => Fulfillment::Unfulfilled,
            "PARTIALLY_FULFILLED" | "PARTIAL" => Fulfillment::PartiallyFulfilled,
            "FULFILLED" => Fulfillment::Fulfilled,
            "IN_PROGRESS"
            | "PENDING_FULFILLMENT"
            | "SCHEDULED"
            | "ON_HOLD"
            | "REQUEST_DECLINED" => Fulfillment::Preparing,
            "RESTOCKED" => Fulfillment::Restocked,
            "FULFILLMENT_NOT_REQUIRED" => Fulfillment::NotRequired,
            _ => return None,
        })
    }
}

/// How many of the order's live shipments the carrier has delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    None,
    Some,
    All,
}

/// One shipment as both APIs describe it.
struct Shipment {
    cancelled: bool,
    delivered: bool,
    created_at: Option<i64>,
    company: Option<String>,
    number: Option<String>,
    url: Option<String>,
}

/// What an order's status is decided from.
struct Facts {
    cancelled: bool,
    financial: Option<Financial>,
    fulfillment: Option<Fulfillment>,
    delivered: Delivered,
}

/// The status, and the partial-shipment and partial-refund flags.
fn status_of(facts: &Facts) -> (OrderStatus, bool, bool) {
    let partially_refunded = facts.financial == Some(Financial::PartiallyRefunded);
    let partially_shipped = facts.fulfillment == Some(Fulfillment::PartiallyFulfilled);
    let status = if facts.cancelled || facts.financial == Some(Financial::Voided) {
        OrderStatus::Cancelled
    } else if facts.financial == Some(Financial::Refunded) {
        OrderStatus::Refunded
    } else {
        match facts.fulfillment {
            Some(Fulfillment::Fulfilled) if facts.delivered == Delivered::All => {
                OrderStatus::Delivered
            }
            Some(Fulfillment::Fulfilled | Fulfillment::PartiallyFulfilled) => OrderStatus::Shipped,
            Some(Fulfillment::Preparing) => OrderStatus::Processing,
            _ => match facts.financial {
                Some(Financial::Paid | Financial::PartiallyRefunded) => OrderStatus::Paid,
                // Authorised, partly paid, pending, an authorisation expired: not paid yet,
                // and nothing says the shop gave up on it.
                _ => OrderStatus::Pending,
            },
        }
    };
    (status, partially_shipped, partially_refunded)
}

fn delivered_of(shipments: &[Shipment]) -> Delivered {
    let live: Vec<&Shipment> = shipments.iter().filter(|s| !s.cancelled).collect();
    match live.iter().filter(|s| s.delivered).count() {
        0 => Delivered::None,
        n if n == live.len() => Delivered::All,
        _ => Delivered::Some,
    }
}

/// The newest live shipment that carries tracking.
fn tracking_of(shipments: Vec<Shipment>) -> Option<Shipment> {
    shipments
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.cancelled && (s.number.is_some() || s.url.is_some()))
        .max_by_key(|(position, s)| (s.created_at, *position))
        .map(|(_, s)| s)
}

/// The parts common to both shapes, assembled into an [`Order`].
struct Parts {
    reference: String,
    email: String,
    platform_id: Option<String>,
    financial_word: Option<String>,
    fulfillment_word: Option<String>,
    cancelled: bool,
    ordered_at: Option<i64>,
    updated_at: Option<i64>,
    total: Option<Money>,
    items: Vec<OrderItem>,
    shipments: Vec<Shipment>,
}

impl Parts {
    fn into_order(self) -> Order {
        let financial = self
            .financial_word
            .as_deref()
            .and_then(Financial::from_word);
        let fulfillment = self
            .fulfillment_word
            .as_deref()
            .and_then(Fulfillment::from_word);
        let facts = Facts {
            cancelled: self.cancelled,
            financial,
            fulfillment,
            delivered: delivered_of(&self.shipments),
        };
        let (status, partially_shipped, partially_refunded) = status_of(&facts);
        let raw_status = [
            self.cancelled.then(|| "CANCELLED".to_string()),
            self.financial_word.map(|w| w.to_ascii_uppercase()),
            self.fulfillment_word.map(|w| w.to_ascii_uppercase()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
        let tracking = tracking_of(self.shipments);
        Order {
            raw_status: (!raw_status.is_empty()).then_some(raw_status),
            partially_shipped,
            partially_refunded,
            ordered_at: self.ordered_at,
            total: self.total,
            items: self.items,
            carrier: tracking.as_ref().and_then(|t| t.company.clone()),
            tracking_number: tracking.as_ref().and_then(|t| t.number.clone()),
            tracking_link: tracking.and_then(|t| t.url),
            platform_id: self.platform_id,
            updated_at: self.updated_at,
            ..Order::new(&self.reference, &self.email, status)
        }
    }
}

/// A date-time as Shopify writes them (ISO 8601 with an offset), in Unix ms.
fn millis(text: Option<&str>) -> Option<i64> {
    text?
        .trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// A text field that may be left empty.
fn present(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// GraphQL's `Decimal` and `UnsignedInt64` scalars are JSON strings; tolerate numbers too.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(t) => t.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GraphQL Admin API

/// A connection's `pageInfo` (<https://shopify.dev/docs/api/usage/pagination-graphql>).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A connection read through its `nodes`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    pub nodes: Vec<T>,
    pub page_info: Option<PageInfo>,
}

impl<T> Connection<T> {
    /// The cursor of the next page, when there is one.
    pub fn next_cursor(&self) -> Option<String> {
        self.page_info
            .as_ref()
            .filter(|p| p.has_next_page)
            .and_then(|p| p.end_cursor.clone())
    }
}

/// `MoneyV2`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GqlMoney {
    amount: Scalar,
    currency_code: String,
}

impl GqlMoney {
    fn money(&self) -> Option<Money> {
        Money::parse(&self.amount.text(), &self.currency_code)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlMoneyBag {
    shop_money: GqlMoney,
}

#[derive(Debug, Deserialize)]
struct GqlLineItem {
    name: String,
    quantity: i64,
}

#[derive(Debug, Deserialize)]
struct GqlTracking {
    company: Option<String>,
    number: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlFulfillment {
    display_status: Option<String>,
    created_at: Option<String>,
    #[serde(default)]
    tracking_info: Vec<GqlTracking>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlEmailAddress {
    email_address: Option<String>,
}

/// An `Order` as [`super::ORDER_FIELDS`] selects it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GqlOrder {
    id: String,
    name: String,
    email: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    cancelled_at: Option<String>,
    display_financial_status: Option<String>,
    display_fulfillment_status: Option<String>,
    total_price_set: Option<GqlMoneyBag>,
    line_items: Option<Connection<GqlLineItem>>,
    #[serde(default)]
    fulfillments: Vec<GqlFulfillment>,
}

impl GqlOrder {
    /// The order's name as the shop shows it (`#1042`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn into_order(self) -> Order {
        let email = present(self.email).unwrap_or_default();
        let shipments = self
            .fulfillments
            .into_iter()
            .map(|f| {
                let status = f.display_status.unwrap_or_default();
                let tracking = f.tracking_info.into_iter().next();
                Shipment {
                    cancelled: status.eq_ignore_ascii_case("CANCELED"),
                    delivered: status.eq_ignore_ascii_case("DELIVERED"),
                    created_at: millis(f.created_at.as_deref()),
                    company: tracking.as_ref().and_then(|t| present(t.company.clone())),
                    number: tracking.as_ref().and_then(|t| present(t.number.clone())),
                    url: tracking.and_then(|t| present(t.url)),
                }
            })
            .collect();
        Parts {
            reference: self.name.trim().to_string(),
            email,
            platform_id: Some(self.id),
            financial_word: present(self.display_financial_status),
            fulfillment_word: present(self.display_fulfillment_status),
            cancelled: self.cancelled_at.is_some(),
            ordered_at: millis(self.created_at.as_deref()),
            updated_at: millis(self.updated_at.as_deref()),
            total: self.total_price_set.and_then(|t| t.shop_money.money()),
            items: self
                .line_items
                .map(|c| c.nodes)
                .unwrap_or_default()
                .into_iter()
                .map(|i| OrderItem {
                    name: i.name,
                    quantity: i.quantity,
                })
                .collect(),
            shipments,
        }
        .into_order()
    }
}

/// A `Customer` as [`super::CUSTOMER_QUERY`] selects it, with the first page of their orders.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GqlCustomer {
    pub id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    default_email_address: Option<GqlEmailAddress>,
    created_at: Option<String>,
    number_of_orders: Option<Scalar>,
    amount_spent: Option<GqlMoney>,
    pub orders: Connection<GqlOrder>,
}

impl GqlCustomer {
    pub fn email(&self) -> Option<String> {
        self.default_email_address
            .as_ref()
            .and_then(|e| present(e.email_address.clone()))
            .map(|e| e.to_lowercase())
    }

    /// The customer, without their orders (read apart, page by page).
    pub fn to_customer(&self) -> Customer {
        Customer {
            email: self.email().unwrap_or_default(),
            first_name: present(self.first_name.clone()),
            last_name: present(self.last_name.clone()),
            customer_since: millis(self.created_at.as_deref()),
            orders_count: self
                .number_of_orders
                .as_ref()
                .and_then(|n| n.text().parse().ok()),
            total_spent: self.amount_spent.as_ref().and_then(GqlMoney::money),
            platform_id: Some(self.id.clone()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// REST order, as webhooks deliver it

#[derive(Debug, Deserialize)]
struct RestLineItem {
    name: Option<String>,
    title: Option<String>,
    quantity: i64,
}

#[derive(Debug, Deserialize)]
struct RestFulfillment {
    status: Option<String>,
    shipment_status: Option<String>,
    created_at: Option<String>,
    tracking_company: Option<String>,
    tracking_number: Option<String>,
    tracking_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RestCustomer {
    email: Option<String>,
}

/// The REST `Order` resource, the payload of `orders/*` webhooks.
#[derive(Debug, Deserialize)]
pub struct RestOrder {
    id: u64,
    admin_graphql_api_id: Option<String>,
    name: String,
    email: Option<String>,
    contact_email: Option<String>,
    customer: Option<RestCustomer>,
    created_at: Option<String>,
    updated_at: Option<String>,
    cancelled_at: Option<String>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    total_price: Option<Scalar>,
    currency: Option<String>,
    #[serde(default)]
    line_items: Vec<RestLineItem>,
    #[serde(default)]
    fulfillments: Vec<RestFulfillment>,
}

impl RestOrder {
    pub fn into_order(self) -> Order {
        let email = present(self.email)
            .or_else(|| present(self.contact_email))
            .or_else(|| self.customer.and_then(|c| present(c.email)))
            .unwrap_or_default();
        let total = match (&self.total_price, &self.currency) {
            (Some(amount), Some(currency)) => Money::parse(&amount.text(), currency),
            _ => None,
        };
        let shipments = self
            .fulfillments
            .into_iter()
            .map(|f| {
                let status = f.status.unwrap_or_default().to_ascii_lowercase();
                Shipment {
                    cancelled: matches!(status.as_str(), "cancelled" | "error" | "failure"),
                    delivered: f
                        .shipment_status
                        .is_some_and(|s| s.eq_ignore_ascii_case("delivered")),
                    created_at: millis(f.created_at.as_deref()),
                    company: present(f.tracking_company),
                    number: present(f.tracking_number),
                    url: present(f.tracking_url),
                }
            })
            .collect();
        Parts {
            reference: self.name.trim().to_string(),
            email,
            platform_id: Some(
                present(self.admin_graphql_api_id)
                    .unwrap_or_else(|| format!("{ORDER_GID}{}", self.id)),
            ),
            financial_word: present(self.financial_status),
            // REST writes `null` for an order nothing of which has shipped.
            fulfillment_word: Some(
                present(self.fulfillment_status).unwrap_or_else(|| "unfulfilled".into()),
            ),
            cancelled: self.cancelled_at.is_some(),
            ordered_at: millis(self.created_at.as_deref()),
            updated_at: millis(self.updated_at.as_deref()),
            total,
            items: self
                .line_items
                .into_iter()
                .map(|i| OrderItem {
                    name: present(i.name).or(present(i.title)).unwrap_or_default(),
                    quantity: i.quantity,
                })
                .collect(),
            shipments,
        }
        .into_order()
    }
}

/// The part of a `fulfillments/create` payload Guichet uses: which order it belongs to.
#[derive(Debug, Deserialize)]
pub struct RestFulfillmentEvent {
    pub order_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gql_order(financial: &str, fulfillment: &str, fulfillments: &str) -> Order {
        let json = format!(
            r##"{{"id":"gid://shopify/Order/5001","name":"#1042","email":"Marie@Client.example",
            "createdAt":"2026-03-12T09:30:00Z","updatedAt":"2026-03-13T10:00:00+01:00",
            "cancelledAt":null,"displayFinancialStatus":"{financial}",
            "displayFulfillmentStatus":"{fulfillment}",
            "totalPriceSet":{{"shopMoney":{{"amount":"49.9","currencyCode":"EUR"}}}},
            "lineItems":{{"nodes":[{{"name":"Mug bleu","quantity":2}}]}},
            "fulfillments":{fulfillments}}}"##
        );
        serde_json::from_str::<GqlOrder>(&json)
            .unwrap()
            .into_order()
    }

    const SHIPPED: &str = r#"[{"displayStatus":"IN_TRANSIT","createdAt":"2026-03-13T08:00:00Z",
        "trackingInfo":[{"company":"Colissimo","number":"6A12345678901",
        "url":"https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901"}]}]"#;

    #[test]
    fn a_graphql_order_becomes_ours_with_shopifys_words_kept() {
        let order = gql_order("PAID", "FULFILLED", SHIPPED);
        assert_eq!(order.reference, "#1042");
        assert_eq!(order.customer_email, "marie@client.example");
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.raw_status.as_deref(), Some("PAID / FULFILLED"));
        assert_eq!(order.carrier.as_deref(), Some("Colissimo"));
        assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
        assert!(
            order
                .tracking_link
                .unwrap()
                .starts_with("https://www.laposte.fr/")
        );
        assert_eq!(order.total.unwrap().minor, 4990);
        assert_eq!(order.items[0].quantity, 2);
        assert_eq!(order.ordered_at, Some(1_773_307_800_000));
        assert_eq!(
            order.updated_at,
            Some(1_773_392_400_000),
            "offsets honoured"
        );
        assert_eq!(
            order.platform_id.as_deref(),
            Some("gid://shopify/Order/5001")
        );
    }

    #[test]
    fn statuses_follow_payment_shipping_and_delivery() {
        let status = |f: &str, s: &str, shipments: &str| {
            let o = gql_order(f, s, shipments);
            (o.status, o.partially_shipped, o.partially_refunded)
        };
        use OrderStatus::*;
        assert_eq!(
            status("PENDING", "UNFULFILLED", "[]"),
            (Pending, false, false)
        );
        assert_eq!(
            status("AUTHORIZED", "UNFULFILLED", "[]"),
            (Pending, false, false)
        );
        assert_eq!(status("PAID", "UNFULFILLED", "[]"), (Paid, false, false));
        assert_eq!(
            status("PAID", "IN_PROGRESS", "[]"),
            (Processing, false, false)
        );
        assert_eq!(status("PAID", "ON_HOLD", "[]"), (Processing, false, false));
        assert_eq!(
            status("PAID", "PARTIALLY_FULFILLED", SHIPPED),
            (Shipped, true, false)
        );
        assert_eq!(
            status("PARTIALLY_REFUNDED", "FULFILLED", SHIPPED),
            (Shipped, false, true)
        );
        assert_eq!(
            status("REFUNDED", "FULFILLED", SHIPPED),
            (Refunded, false, false)
        );
        assert_eq!(
            status("VOIDED", "UNFULFILLED", "[]"),
            (Cancelled, false, false)
        );
        let delivered = SHIPPED.replace("IN_TRANSIT", "DELIVERED");
        assert_eq!(
            status("PAID", "FULFILLED", &delivered),
            (Delivered, false, false)
        );
        assert_eq!(
            status("PAID", "PARTIALLY_FULFILLED", &delivered),
            (Shipped, true, false),
            "delivered only when everything is"
        );
        let one_of_two = format!(
            "[{}, {}]",
            &delivered[1..delivered.len() - 1],
            &SHIPPED[1..SHIPPED.len() - 1]
        );
        assert_eq!(
            status("PAID", "FULFILLED", &one_of_two),
            (Shipped, false, false)
        );
        assert_eq!(
            status("SOMETHING_NEW", "SOMETHING_ELSE", "[]"),
            (Pending, false, false)
        );
    }

    #[test]
    fn a_cancelled_order_is_cancelled_whatever_else_it_says() {
        let json = r##"{"id":"gid://shopify/Order/7","name":"#1050","email":null,
            "cancelledAt":"2026-03-14T10:00:00Z","displayFinancialStatus":"REFUNDED",
            "displayFulfillmentStatus":"RESTOCKED","totalPriceSet":null,"fulfillments":[]}"##;
        let order = serde_json::from_str::<GqlOrder>(json).unwrap().into_order();
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(order.customer_email, "", "no address: no one's order");
        assert_eq!(
            order.raw_status.as_deref(),
            Some("CANCELLED / REFUNDED / RESTOCKED")
        );
    }

    #[test]
    fn the_newest_live_shipment_gives_the_tracking() {
        let shipments = r#"[
            {"displayStatus":"DELIVERED","createdAt":"2026-03-10T08:00:00Z",
             "trackingInfo":[{"company":"DHL","number":"111","url":null}]},
            {"displayStatus":"CANCELED","createdAt":"2026-03-15T08:00:00Z",
             "trackingInfo":[{"company":"UPS","number":"999","url":null}]},
            {"displayStatus":"IN_TRANSIT","createdAt":"2026-03-12T08:00:00Z",
             "trackingInfo":[{"company":"Colissimo","number":"6A12345678901","url":""}]}]"#;
        let order = gql_order("PAID", "FULFILLED", shipments);
        assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
        assert_eq!(order.tracking_link, None, "an empty link is no link");
        assert_eq!(
            order.status,
            OrderStatus::Shipped,
            "one of two still on its way"
        );
    }

    #[test]
    fn a_webhook_order_maps_like_a_query() {
        let json = r##"{"id":820982911946154508,
            "admin_graphql_api_id":"gid://shopify/Order/820982911946154508",
            "name":"#1042","email":"","contact_email":"Marie@Client.example",
            "created_at":"2026-03-12T10:30:00+01:00","updated_at":"2026-03-13T10:00:00+01:00",
            "cancelled_at":null,"financial_status":"paid","fulfillment_status":"fulfilled",
            "total_price":"49.90","currency":"EUR",
            "line_items":[{"title":"Mug","name":"Mug - bleu","quantity":2}],
            "fulfillments":[{"status":"success","shipment_status":"delivered",
              "created_at":"2026-03-13T08:00:00Z","tracking_company":"Colissimo",
              "tracking_number":"6A12345678901","tracking_url":null}]}"##;
        let order = serde_json::from_str::<RestOrder>(json)
            .unwrap()
            .into_order();
        assert_eq!(order.reference, "#1042");
        assert_eq!(order.customer_email, "marie@client.example");
        assert_eq!(order.status, OrderStatus::Delivered);
        assert_eq!(order.raw_status.as_deref(), Some("PAID / FULFILLED"));
        assert_eq!(order.items[0].name, "Mug - bleu");
        assert_eq!(order.total.unwrap().minor, 4990);
        assert_eq!(order.ordered_at, Some(1_773_307_800_000));
        assert_eq!(order.tracking_number.as_deref(), Some("6A12345678901"));
        assert_eq!(
            order.platform_id.as_deref(),
            Some("gid://shopify/Order/820982911946154508")
        );

        let unshipped = json
            .replace(
                r#""fulfillment_status":"fulfilled""#,
                r#""fulfillment_status":null"#,
            )
            .replace(r#""success""#, r#""cancelled""#);
        let order = serde_json::from_str::<RestOrder>(&unshipped)
            .unwrap()
            .into_order();
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(
            order.tracking_number, None,
            "a cancelled shipment tracks nothing"
        );
    }

    #[test]
    fn a_customer_with_shopifys_scalars() {
        let json = r#"{"id":"gid://shopify/Customer/1","firstName":"Marie","lastName":" ",
            "defaultEmailAddress":{"emailAddress":"Marie@Client.example"},
            "createdAt":"2024-01-05T12:00:00Z","numberOfOrders":"3",
            "amountSpent":{"amount":"149.70","currencyCode":"EUR"},
            "orders":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}"#;
        let customer = serde_json::from_str::<GqlCustomer>(json).unwrap();
        let record = customer.to_customer();
        assert_eq!(record.email, "marie@client.example");
        assert_eq!(record.last_name, None);
        assert_eq!(record.orders_count, Some(3));
        assert_eq!(record.total_spent.unwrap().minor, 14970);
        assert_eq!(customer.orders.next_cursor(), None);
    }
}
