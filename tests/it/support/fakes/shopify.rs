//! A local server answering as Shopify documents its Admin API, for the connector's tests.
//!
//! What it follows, page by page:
//! - GraphQL Admin API, `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`:
//!   <https://shopify.dev/docs/api/admin-graphql>. Objects as documented:
//!   `Customer` (<https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer>: `numberOfOrders`
//!   is an `UnsignedInt64`, sent as a string; `amountSpent` a `MoneyV2` whose `amount` is a
//!   `Decimal` string), `Order` (<https://shopify.dev/docs/api/admin-graphql/latest/objects/Order>),
//!   `Fulfillment.displayStatus`
//!   (<https://shopify.dev/docs/api/admin-graphql/latest/enums/FulfillmentDisplayStatus>).
//! - Cursor pagination, `nodes` and `pageInfo { hasNextPage endCursor }`:
//!   <https://shopify.dev/docs/api/usage/pagination-graphql>.
//! - Cost-based throttling: every answer carries `extensions.cost` with `throttleStatus`; a
//!   query the bucket cannot pay for gets a 200 with `errors[].extensions.code == "THROTTLED"`
//!   and `data` absent: <https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits>.
//!   HTTP 429 with `Retry-After` as the REST limits describe:
//!   <https://shopify.dev/docs/api/admin-rest/usage/rate-limits>.
//! - Errors: 401 `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong
//!   password)"}` for a bad or expired token; `ACCESS_DENIED` with `requiredAccess` for a
//!   missing scope (<https://shopify.dev/docs/api/usage/access-scopes>); without
//!   `read_all_orders`, orders older than 60 days are not returned.
//! - The client-credentials grant, `POST /admin/oauth/access_token` with a form body, answering
//!   `access_token`, `scope`, `expires_in`:
//!   <https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant>;
//!   a refusal in the OAuth 2.0 error shape (RFC 6749 §5.2).
//! - Webhooks: the REST order payload (<https://shopify.dev/docs/api/admin-rest/latest/resources/order>)
//!   signed in `X-Shopify-Hmac-Sha256` as base64 HMAC-SHA256 of the raw body:
//!   <https://shopify.dev/docs/apps/build/webhooks/verify-deliveries>.
//!
//! The server recognises the operations a client of these documents sends by their root
//! field, reads their variables (`query`, `first`, `after`, `id`) and answers every field
//! of the objects involved: a real server returns only those selected, a superset the
//! client reads the same way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

const INVALID_TOKEN: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";
/// What each query costs here; Shopify computes it from the selection.
const QUERY_COST: f64 = 50.0;

#[derive(Debug, Clone)]
pub struct FakeCustomer {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created_at: String,
    pub number_of_orders: u64,
    pub amount_spent: String,
    pub currency: String,
}

impl FakeCustomer {
    pub fn new(id: u64, email: &str, first_name: &str, last_name: &str) -> FakeCustomer {
        FakeCustomer {
            id,
            email: email.into(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            created_at: "2024-01-05T12:00:00Z".into(),
            number_of_orders: 0,
            amount_spent: "0.00".into(),
            currency: "EUR".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FakeShipment {
    /// `FulfillmentDisplayStatus`: `IN_TRANSIT`, `DELIVERED`, `CANCELED`...
    pub display_status: String,
    pub created_at: String,
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub id: u64,
    /// As the shop names it: `#1042`.
    pub name: String,
    pub email: String,
    pub customer_id: Option<u64>,
    pub created_at: String,
    pub updated_at: String,
    pub cancelled_at: Option<String>,
    /// `OrderDisplayFinancialStatus`: `PAID`, `PENDING`, `PARTIALLY_REFUNDED`...
    pub financial: String,
    /// `OrderDisplayFulfillmentStatus`: `UNFULFILLED`, `FULFILLED`, `PARTIALLY_FULFILLED`...
    pub fulfillment: String,
    pub total: String,
    pub currency: String,
    pub items: Vec<(String, i64)>,
    pub shipments: Vec<FakeShipment>,
}

impl FakeOrder {
    /// A paid order on its way with Colissimo, placed a few days ago.
    pub fn shipped(id: u64, name: &str, customer: &FakeCustomer, tracking: &str) -> FakeOrder {
        let placed = days_ago(3);
        FakeOrder {
            id,
            name: name.into(),
            email: customer.email.clone(),
            customer_id: Some(customer.id),
            created_at: placed.clone(),
            updated_at: days_ago(1),
            cancelled_at: None,
            financial: "PAID".into(),
            fulfillment: "FULFILLED".into(),
            total: "49.90".into(),
            currency: "EUR".into(),
            items: vec![("Mug bleu".into(), 2)],
            shipments: vec![FakeShipment {
                display_status: "IN_TRANSIT".into(),
                created_at: days_ago(1),
                company: Some("Colissimo".into()),
                number: Some(tracking.into()),
                url: Some(format!(
                    "https://www.laposte.fr/outils/suivre-vos-envois?code={tracking}"
                )),
            }],
        }
    }

    /// A paid order nothing of which has shipped.
    pub fn paid(id: u64, name: &str, customer: &FakeCustomer, created_at: &str) -> FakeOrder {
        FakeOrder {
            created_at: created_at.into(),
            updated_at: created_at.into(),
            fulfillment: "UNFULFILLED".into(),
            shipments: Vec::new(),
            ..FakeOrder::shipped(id, name, customer, "")
        }
    }

    pub fn gid(&self) -> String {
        format!("gid://shopify/Order/{}", self.id)
    }

    /// The order as the GraphQL Admin API's `Order` object.
    fn graphql(&self) -> Value {
        json!({
            "id": self.gid(),
            "legacyResourceId": self.id.to_string(),
            "name": self.name,
            "email": self.email,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "cancelledAt": self.cancelled_at,
            "displayFinancialStatus": self.financial,
            "displayFulfillmentStatus": self.fulfillment,
            "totalPriceSet": {
                "shopMoney": { "amount": self.total, "currencyCode": self.currency },
                "presentmentMoney": { "amount": self.total, "currencyCode": self.currency },
            },
            "customer": self.customer_id.map(|id| json!({
                "id": format!("gid://shopify/Customer/{id}"),
                "defaultEmailAddress": { "emailAddress": self.email },
            })),
            "lineItems": {
                "nodes": self.items.iter().map(|(name, quantity)| json!({
                    "name": name, "quantity": quantity,
                })).collect::<Vec<_>>(),
                "pageInfo": { "hasNextPage": false, "endCursor": null },
            },
            "fulfillments": self.shipments.iter().map(|s| json!({
                "displayStatus": s.display_status,
                "createdAt": s.created_at,
                "trackingInfo": if s.number.is_some() || s.url.is_some() {
                    vec![json!({ "company": s.company, "number": s.number, "url": s.url })]
                } else {
                    Vec::new()
                },
            })).collect::<Vec<_>>(),
        })
    }

    /// The order as the REST `Order` resource, the payload of an `orders/updated` webhook.
    pub fn rest_json(&self) -> String {
        let fulfillment_status = match self.fulfillment.as_str() {
            "FULFILLED" => json!("fulfilled"),
            "PARTIALLY_FULFILLED" => json!("partial"),
            "RESTOCKED" => json!("restocked"),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "admin_graphql_api_id": self.gid(),
            "name": self.name,
            "order_number": self.name.trim_start_matches('#').parse::<u64>().ok(),
            "email": self.email,
            "contact_email": self.email,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "cancelled_at": self.cancelled_at,
            "financial_status": self.financial.to_ascii_lowercase(),
            "fulfillment_status": fulfillment_status,
            "currency": self.currency,
            "total_price": self.total,
            "customer": self.customer_id.map(|id| json!({ "id": id, "email": self.email })),
            "line_items": self.items.iter().map(|(name, quantity)| json!({
                "title": name, "name": name, "quantity": quantity,
            })).collect::<Vec<_>>(),
            "fulfillments": self.shipments.iter().map(|s| json!({
                "status": if s.display_status == "CANCELED" { "cancelled" } else { "success" },
                "shipment_status": s.display_status.to_ascii_lowercase(),
                "created_at": s.created_at,
                "tracking_company": s.company,
                "tracking_number": s.number,
                "tracking_url": s.url,
            })).collect::<Vec<_>>(),
        })
        .to_string()
    }
}

/// An ISO 8601 date-time this many days before now.
pub fn days_ago(days: i64) -> String {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `X-Shopify-Hmac-Sha256` for this body under this secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(guichet::crypto::hmac_sha256(secret.as_bytes(), body))
}

/// The headers Shopify sends with a webhook delivery, names in lower case.
pub fn webhook_headers(
    topic: &str,
    delivery_id: &str,
    signature: Option<&str>,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("x-shopify-topic".to_string(), topic.to_string()),
        ("x-shopify-webhook-id".to_string(), delivery_id.to_string()),
        (
            "x-shopify-shop-domain".to_string(),
            "boutique.myshopify.com".to_string(),
        ),
        ("x-shopify-api-version".to_string(), "2025-10".to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    if let Some(signature) = signature {
        headers.push(("x-shopify-hmac-sha256".to_string(), signature.to_string()));
    }
    headers
}

/// The cost bucket of one app on one store.
struct Bucket {
    maximum: f64,
    available: f64,
    restore_rate: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self) {
        let now = Instant::now();
        self.available = (self.available
            + now.duration_since(self.at).as_secs_f64() * self.restore_rate)
            .min(self.maximum);
        self.at = now;
    }

    fn status(&self) -> Value {
        json!({
            "maximumAvailable": self.maximum,
            "currentlyAvailable": self.available.floor(),
            "restoreRate": self.restore_rate,
        })
    }
}

struct Grant {
    client_id: String,
    client_secret: String,
    lifetime_secs: u64,
    issued: Vec<(String, Instant)>,
}

struct Shop {
    customers: Vec<FakeCustomer>,
    orders: Vec<FakeOrder>,
    static_tokens: Vec<String>,
    grant: Option<Grant>,
    scopes: Vec<String>,
    bucket: Bucket,
    http_429: u32,
    retry_after: String,
    hang: bool,
    malformed: Option<String>,
    page_size: usize,
}

#[derive(Default)]
struct Counters {
    graphql: AtomicUsize,
    tokens: AtomicUsize,
    throttled: AtomicUsize,
    unauthorized: AtomicUsize,
}

#[derive(Clone)]
struct Fake {
    shop: Arc<Mutex<Shop>>,
    counters: Arc<Counters>,
}

/// The running server and its knobs.
pub struct FakeShopify {
    pub url: String,
    fake: Fake,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeShopify {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeShopify {
    /// A store that knows no one, accepts no token yet and grants every scope.
    pub async fn start() -> FakeShopify {
        let fake = Fake {
            shop: Arc::new(Mutex::new(Shop {
                customers: Vec::new(),
                orders: Vec::new(),
                static_tokens: Vec::new(),
                grant: None,
                scopes: ["read_orders", "read_customers", "read_all_orders"]
                    .map(String::from)
                    .to_vec(),
                bucket: Bucket {
                    maximum: 2000.0,
                    available: 2000.0,
                    restore_rate: 100.0,
                    at: Instant::now(),
                },
                http_429: 0,
                retry_after: "2.0".into(),
                hang: false,
                malformed: None,
                page_size: 250,
            })),
            counters: Arc::default(),
        };
        let app = Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .route("/admin/oauth/access_token", post(access_token))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeShopify { url, fake, server }
    }

    fn shop(&self) -> std::sync::MutexGuard<'_, Shop> {
        self.fake.shop.lock().unwrap()
    }

    pub fn add_customer(&self, customer: FakeCustomer) {
        self.shop().customers.push(customer);
    }

    pub fn add_order(&self, order: FakeOrder) {
        self.shop().orders.push(order);
    }

    /// Replaces the order with the same id (as the merchant's edits do).
    pub fn update_order(&self, order: FakeOrder) {
        let mut shop = self.shop();
        shop.orders.retain(|o| o.id != order.id);
        shop.orders.push(order);
    }

    /// A custom app's Admin API access token.
    pub fn accept_token(&self, token: &str) {
        self.shop().static_tokens.push(token.into());
    }

    /// An app that gets its tokens by the client-credentials grant.
    pub fn install_app(&self, client_id: &str, client_secret: &str) {
        self.shop().grant = Some(Grant {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            lifetime_secs: 86_399,
            issued: Vec::new(),
        });
    }

    pub fn set_token_lifetime(&self, seconds: u64) {
        if let Some(grant) = self.shop().grant.as_mut() {
            grant.lifetime_secs = seconds;
        }
    }

    /// Every token granted so far stops working, as after a day.
    pub fn expire_granted_tokens(&self) {
        if let Some(grant) = self.shop().grant.as_mut() {
            let past = Instant::now() - Duration::from_secs(1);
            for (_, expiry) in &mut grant.issued {
                *expiry = past;
            }
        }
    }

    pub fn set_scopes(&self, scopes: &[&str]) {
        self.shop().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// Empties the cost bucket, refilling at this rate (points per second).
    pub fn drain_bucket(&self, restore_rate: f64) {
        let mut shop = self.shop();
        shop.bucket.available = 0.0;
        shop.bucket.restore_rate = restore_rate;
        shop.bucket.at = Instant::now();
    }

    /// The next `times` requests get HTTP 429 with this `Retry-After`.
    pub fn throttle_http(&self, times: u32, retry_after: &str) {
        let mut shop = self.shop();
        shop.http_429 = times;
        shop.retry_after = retry_after.into();
    }

    /// Accepts requests and never answers them.
    pub fn hang(&self) {
        self.shop().hang = true;
    }

    /// Answers this body, with a 200, to every GraphQL request.
    pub fn answer_malformed(&self, body: &str) {
        self.shop().malformed = Some(body.into());
    }

    /// The most nodes a connection returns, whatever `first` asks.
    pub fn set_page_size(&self, nodes: usize) {
        self.shop().page_size = nodes;
    }

    pub fn graphql_requests(&self) -> usize {
        self.fake.counters.graphql.load(Ordering::SeqCst)
    }

    pub fn token_requests(&self) -> usize {
        self.fake.counters.tokens.load(Ordering::SeqCst)
    }

    pub fn throttled_answers(&self) -> usize {
        self.fake.counters.throttled.load(Ordering::SeqCst)
    }

    pub fn unauthorized_answers(&self) -> usize {
        self.fake.counters.unauthorized.load(Ordering::SeqCst)
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn access_token(State(fake): State<Fake>, body: Bytes) -> Response {
    fake.counters.tokens.fetch_add(1, Ordering::SeqCst);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let mut shop = fake.shop.lock().unwrap();
    let scope = shop.scopes.join(",");
    let Some(grant) = shop.grant.as_mut() else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_client", "error_description": "Client authentication failed." }),
        );
    };
    if field("grant_type") != "client_credentials" {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "unsupported_grant_type", "error_description": "The grant type is not supported." }),
        );
    }
    if field("client_id") != grant.client_id || field("client_secret") != grant.client_secret {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_client", "error_description": "Client authentication failed." }),
        );
    }
    let token = format!("shpat_{:032x}", rand::random::<u128>());
    let lifetime = grant.lifetime_secs;
    grant.issued.push((
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    ));
    json_response(
        StatusCode::OK,
        json!({ "access_token": token, "scope": scope, "expires_in": lifetime }),
    )
}

/// What the query asks, by its root field.
enum Operation {
    Check,
    Customers,
    CustomerOrders,
    OrdersByName,
    OrderById,
}

impl Operation {
    fn of(query: &str) -> Option<Operation> {
        let compact: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
        if compact.contains("currentAppInstallation") {
            Some(Operation::Check)
        } else if compact.contains("customers(") {
            Some(Operation::Customers)
        } else if compact.contains("customer(id:") {
            Some(Operation::CustomerOrders)
        } else if compact.contains("{ orders(") {
            Some(Operation::OrdersByName)
        } else if compact.contains("order(id:") {
            Some(Operation::OrderById)
        } else {
            None
        }
    }
}

fn access_denied(field: &str, scope: &str, cost: Value) -> Response {
    json_response(
        StatusCode::OK,
        json!({
            "data": null,
            "errors": [{
                "message": format!("Access denied for {field} field. Required access: `{scope}` access scope."),
                "locations": [{ "line": 2, "column": 3 }],
                "path": [field],
                "extensions": {
                    "code": "ACCESS_DENIED",
                    "documentation": "https://shopify.dev/api/usage/access-scopes",
                    "requiredAccess": format!("`{scope}` access scope."),
                },
            }],
            "extensions": { "cost": cost },
        }),
    )
}

/// The value a search query gives a field: `email:"a@b"` or `name:#1042`.
fn search_value(query: &str, field: &str) -> Option<String> {
    let rest = query.trim().strip_prefix(&format!("{field}:"))?;
    Some(rest.trim().trim_matches(['"', '\'']).to_string())
}

fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({ "offset": offset }).to_string())
}

fn offset_of(cursor: Option<&str>) -> usize {
    cursor
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .and_then(|v| v["offset"].as_u64())
        .unwrap_or(0) as usize
}

/// One page of a connection.
fn page(items: Vec<Value>, first: usize, after: Option<&str>, page_size: usize) -> Value {
    let start = offset_of(after).min(items.len());
    let take = first.min(page_size).max(1);
    let end = (start + take).min(items.len());
    json!({
        "nodes": items[start..end].to_vec(),
        "pageInfo": {
            "hasNextPage": end < items.len(),
            "hasPreviousPage": start > 0,
            "startCursor": (end > start).then(|| cursor(start + 1)),
            "endCursor": (end > start).then(|| cursor(end)),
        },
    })
}

impl Shop {
    /// Orders the token may see: without `read_all_orders`, the last 60 days only.
    fn visible_orders(&self) -> Vec<&FakeOrder> {
        let all = self.scopes.iter().any(|s| s == "read_all_orders");
        let horizon = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 60);
        let mut orders: Vec<&FakeOrder> = self
            .orders
            .iter()
            .filter(|o| {
                all || o
                    .created_at
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|at| at >= horizon)
            })
            .collect();
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        orders
    }

    fn customer_orders(&self, customer_id: u64, first: usize, after: Option<&str>) -> Value {
        let orders = self
            .visible_orders()
            .into_iter()
            .filter(|o| o.customer_id == Some(customer_id))
            .map(FakeOrder::graphql)
            .collect();
        page(orders, first, after, self.page_size)
    }

    fn customer_node(&self, customer: &FakeCustomer, first: usize) -> Value {
        json!({
            "id": format!("gid://shopify/Customer/{}", customer.id),
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "displayName": format!("{} {}", customer.first_name, customer.last_name),
            "defaultEmailAddress": { "emailAddress": customer.email },
            "createdAt": customer.created_at,
            "numberOfOrders": customer.number_of_orders.to_string(),
            "amountSpent": { "amount": customer.amount_spent, "currencyCode": customer.currency },
            "orders": self.customer_orders(customer.id, first, None),
        })
    }
}

async fn graphql(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    fake.counters.graphql.fetch_add(1, Ordering::SeqCst);
    if fake.shop.lock().unwrap().hang {
        std::future::pending::<()>().await;
    }
    let mut shop = fake.shop.lock().unwrap();
    if shop.http_429 > 0 {
        shop.http_429 -= 1;
        fake.counters.throttled.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("content-type", "application/json".to_string()),
                ("retry-after", shop.retry_after.clone()),
            ],
            json!({ "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service." })
                .to_string(),
        )
            .into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = Instant::now();
    let granted = shop.grant.as_ref().is_some_and(|g| {
        g.issued
            .iter()
            .any(|(t, expiry)| t == token && now < *expiry)
    });
    if !granted && !shop.static_tokens.iter().any(|t| t == token) {
        fake.counters.unauthorized.fetch_add(1, Ordering::SeqCst);
        return json_response(StatusCode::UNAUTHORIZED, json!({ "errors": INVALID_TOKEN }));
    }
    if let Some(body) = shop.malformed.clone() {
        return (StatusCode::OK, [("content-type", "application/json")], body).into_response();
    }

    shop.bucket.refill();
    if shop.bucket.available < QUERY_COST {
        fake.counters.throttled.fetch_add(1, Ordering::SeqCst);
        return json_response(
            StatusCode::OK,
            json!({
                "errors": [{
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }],
                "extensions": { "cost": {
                    "requestedQueryCost": QUERY_COST,
                    "actualQueryCost": null,
                    "throttleStatus": shop.bucket.status(),
                }},
            }),
        );
    }
    shop.bucket.available -= QUERY_COST;
    let cost = json!({
        "requestedQueryCost": QUERY_COST,
        "actualQueryCost": QUERY_COST,
        "throttleStatus": shop.bucket.status(),
    });

    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({ "errors": { "query": "Required parameter missing or invalid" } }),
        );
    };
    let query = request["query"].as_str().unwrap_or_default();
    let variables = &request["variables"];
    let first = variables["first"].as_u64().unwrap_or(10) as usize;
    let after = variables["after"].as_str();
    let has = |scope: &str| shop.scopes.iter().any(|s| s == scope);

    let data = match Operation::of(query) {
        Some(Operation::Check) => json!({
            "shop": { "name": "Boutique Marie", "myshopifyDomain": "boutique.myshopify.com" },
            "currentAppInstallation": {
                "accessScopes": shop.scopes.iter().map(|s| json!({ "handle": s })).collect::<Vec<_>>(),
            },
        }),
        Some(Operation::Customers) => {
            if !has("read_customers") {
                return access_denied("customers", "read_customers", cost);
            }
            if !has("read_orders") {
                return access_denied("orders", "read_orders", cost);
            }
            let wanted = search_value(variables["query"].as_str().unwrap_or_default(), "email")
                .unwrap_or_default();
            let nodes: Vec<Value> = shop
                .customers
                .iter()
                .filter(|c| c.email.eq_ignore_ascii_case(&wanted))
                .map(|c| shop.customer_node(c, first))
                .collect();
            json!({ "customers": {
                "nodes": nodes,
                "pageInfo": { "hasNextPage": false, "endCursor": null },
            }})
        }
        Some(Operation::CustomerOrders) => {
            if !has("read_customers") {
                return access_denied("customer", "read_customers", cost);
            }
            if !has("read_orders") {
                return access_denied("orders", "read_orders", cost);
            }
            let id = variables["id"]
                .as_str()
                .and_then(|id| id.strip_prefix("gid://shopify/Customer/"))
                .and_then(|n| n.parse::<u64>().ok());
            let customer = id.and_then(|id| shop.customers.iter().find(|c| c.id == id));
            json!({ "customer": customer.map(|c| json!({
                "id": format!("gid://shopify/Customer/{}", c.id),
                "orders": shop.customer_orders(c.id, first, after),
            }))})
        }
        Some(Operation::OrdersByName) => {
            if !has("read_orders") {
                return access_denied("orders", "read_orders", cost);
            }
            let wanted = search_value(variables["query"].as_str().unwrap_or_default(), "name")
                .unwrap_or_default();
            let bare = wanted.trim_start_matches('#').to_ascii_lowercase();
            let orders = shop
                .visible_orders()
                .into_iter()
                .filter(|o| o.name.trim_start_matches('#').to_ascii_lowercase() == bare)
                .map(FakeOrder::graphql)
                .collect();
            json!({ "orders": page(orders, first, after, shop.page_size) })
        }
        Some(Operation::OrderById) => {
            if !has("read_orders") {
                return access_denied("order", "read_orders", cost);
            }
            let id = variables["id"].as_str().unwrap_or_default();
            let order = shop
                .visible_orders()
                .into_iter()
                .find(|o| o.gid() == id)
                .map(FakeOrder::graphql);
            json!({ "order": order })
        }
        None => {
            return json_response(
                StatusCode::OK,
                json!({
                    "errors": [{
                        "message": "Field does not exist on type 'QueryRoot'",
                        "extensions": { "code": "undefinedField", "typeName": "QueryRoot" },
                    }],
                }),
            );
        }
    };
    json_response(
        StatusCode::OK,
        json!({ "data": data, "extensions": { "cost": cost } }),
    )
}
