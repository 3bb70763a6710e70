//! Shopify through its Admin GraphQL API
//! (<https://shopify.dev/docs/api/admin-graphql>): `POST {store}/admin/api/{version}/graphql.json`
//! with the `X-Shopify-Access-Token` header. The token is either a custom app's static one or
//! one issued by the client-credentials grant
//! (<https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant>),
//! which expires after about a day and is renewed here before it does.
//!
//! Throttling comes two ways: HTTP 429 with `Retry-After` (waited out by [`PlatformHttp`]) and
//! the cost-based limit, a `THROTTLED` error in a 200 answer whose `extensions.cost` says how
//! full the bucket is (<https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits>).

mod mapping;

use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::connector::{ConnectorSecrets, SHOPIFY_API_VERSION, ShopifySettings};
use super::http::{Answer, PlatformHttp};
use super::platform::{
    ConnectionReport, Platform, ShopError, ShopFuture, ShopPlatform, ShopWarning, WebhookDelivery,
    WebhookEvent, WebhookRefusal,
};
use super::{CustomerRecord, Order};
use mapping::{Connection, GqlCustomer, GqlOrder, ORDER_GID, RestFulfillmentEvent, RestOrder};

/// Orders asked for per page; a customer's first page comes with the customer.
const ORDERS_PAGE: u32 = 25;
/// The most orders read for one customer: answers use the latest few.
const ORDERS_LIMIT: usize = 100;
/// Throttled answers retried within one question (the wait is bounded by `max_wait` too).
const THROTTLE_RETRIES: u32 = 5;
/// A granted token is renewed this long before it expires (or at 90 % of a shorter life).
const RENEW_MARGIN: Duration = Duration::from_secs(300);
/// The scopes Guichet reads with (<https://shopify.dev/docs/api/usage/access-scopes>).
const READ_ORDERS: &str = "read_orders";
const READ_CUSTOMERS: &str = "read_customers";
const READ_ALL_ORDERS: &str = "read_all_orders";

/// The fields of an order every query reads. Not its `customer`: that needs `read_customers`,
/// and an order looked up by its reference must not depend on it.
const ORDER_FIELDS: &str = "fragment OrderFields on Order {
  id name email createdAt updatedAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  lineItems(first: 50) { nodes { name quantity } }
  fulfillments(first: 10) {
    displayStatus createdAt
    trackingInfo(first: 1) { company number url }
  }
}";

/// A customer by address with their latest orders, in one request.
const CUSTOMER_QUERY: &str = "query CustomerWithOrders($query: String!, $first: Int!) {
  customers(first: 1, query: $query) {
    nodes {
      id firstName lastName createdAt numberOfOrders
      defaultEmailAddress { emailAddress }
      amountSpent { amount currencyCode }
      orders(first: $first, sortKey: CREATED_AT, reverse: true) {
        nodes { ...OrderFields }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}";

/// The next page of a customer's orders.
const CUSTOMER_ORDERS_QUERY: &str = "query CustomerOrders($id: ID!, $first: Int!, $after: String) {
  customer(id: $id) {
    orders(first: $first, after: $after, sortKey: CREATED_AT, reverse: true) {
      nodes { ...OrderFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}";

/// Orders by name (<https://shopify.dev/docs/api/usage/search-syntax>).
const ORDERS_BY_NAME_QUERY: &str = "query OrdersByName($query: String!) {
  orders(first: 5, query: $query) { nodes { ...OrderFields } }
}";

const ORDER_BY_ID_QUERY: &str = "query OrderById($id: ID!) {
  order(id: $id) { ...OrderFields }
}";

const CHECK_QUERY: &str = "query Check {
  shop { name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
}";

/// How the client proves who it is.
enum Credentials {
    /// An older custom app's Admin API access token.
    Static(SecretString),
    /// A current app's client credentials, exchanged for a token that expires.
    Grant {
        client_id: String,
        client_secret: SecretString,
        issued: Mutex<Option<IssuedToken>>,
    },
}

struct IssuedToken {
    token: SecretString,
    renew_at: Instant,
}

pub struct Shopify {
    http: PlatformHttp,
    graphql_url: reqwest::Url,
    token_url: reqwest::Url,
    credentials: Credentials,
    /// The key webhooks are signed with: the webhook secret, else the app's client secret.
    webhook_key: Option<SecretString>,
    /// Every secret held, scrubbed from the platform's words before they reach an error.
    secrets: Vec<SecretString>,
}

impl Shopify {
    pub fn new(
        settings: &ShopifySettings,
        secrets: &ConnectorSecrets,
        http: PlatformHttp,
    ) -> Result<Self, ShopError> {
        let base = http.base_url(&settings.store_url)?;
        let version = match settings.api_version.trim() {
            "" => SHOPIFY_API_VERSION,
            v => v,
        };
        if !is_api_version(version) {
            return Err(ShopError::BadUrl {
                platform: Platform::Shopify,
                url: settings.store_url.clone(),
                reason: format!("\"{version}\" is not an Admin API version (YYYY-MM)"),
            });
        }
        let root = base.as_str().trim_end_matches('/').to_string();
        let join = |path: &str| {
            reqwest::Url::parse(&format!("{root}{path}")).map_err(|e| ShopError::BadUrl {
                platform: Platform::Shopify,
                url: settings.store_url.clone(),
                reason: e.to_string(),
            })
        };
        let graphql_url = join(&format!("/admin/api/{version}/graphql.json"))?;
        let token_url = join("/admin/oauth/access_token")?;
        let filled =
            |s: &Option<SecretString>| s.clone().filter(|s| !s.expose_secret().trim().is_empty());
        let client_id = settings
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let credentials = match (client_id, filled(&secrets.client_secret)) {
            (Some(client_id), Some(client_secret)) => Credentials::Grant {
                client_id: client_id.to_string(),
                client_secret,
                issued: Mutex::new(None),
            },
            (Some(_), None) => {
                return Err(ShopError::Unauthorized {
                    platform: Platform::Shopify,
                    detail: "a client id is set without its client secret".into(),
                });
            }
            (None, _) => match filled(&secrets.access_token) {
                Some(token) => Credentials::Static(token),
                None => {
                    return Err(ShopError::Unauthorized {
                        platform: Platform::Shopify,
                        detail: "neither an Admin API access token nor a client id and secret \
                                 is set"
                            .into(),
                    });
                }
            },
        };
        let webhook_key =
            filled(&secrets.webhook_secret).or_else(|| filled(&secrets.client_secret));
        let held = [
            &secrets.access_token,
            &secrets.client_secret,
            &secrets.webhook_secret,
        ]
        .into_iter()
        .filter_map(filled)
        .collect();
        Ok(Shopify {
            http,
            graphql_url,
            token_url,
            credentials,
            webhook_key,
            secrets: held,
        })
    }

    /// Text from the platform (or a transport error) with every secret this client knows, and
    /// any token it was issued, replaced.
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        // Held only while a token is being granted: the old one is then on its way out.
        let issued = match &self.credentials {
            Credentials::Grant { issued, .. } => issued
                .try_lock()
                .ok()
                .and_then(|slot| slot.as_ref().map(|i| i.token.clone())),
            Credentials::Static(_) => None,
        };
        for secret in self.secrets.iter().chain(issued.as_ref()) {
            let secret = secret.expose_secret();
            if secret.len() >= 4 {
                text = text.replace(secret, "[secret]");
            }
        }
        text
    }

    /// What a refusal says: Shopify's `errors` (a string or a list of messages), else the body.
    fn refusal_detail(&self, answer: &Answer) -> String {
        let said = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| {
                let errors = v.get("errors").or_else(|| v.get("error_description"))?;
                Some(match errors {
                    Value::String(s) => s.clone(),
                    other => messages(other),
                })
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| answer.excerpt());
        self.scrub(&said)
    }

    /// The token to send, asking for a new one when there is none or it is about to expire.
    async fn token(&self) -> Result<SecretString, ShopError> {
        match &self.credentials {
            Credentials::Static(token) => Ok(token.clone()),
            Credentials::Grant {
                client_id,
                client_secret,
                issued,
            } => {
                let mut slot = issued.lock().await;
                if let Some(current) = slot.as_ref().filter(|i| Instant::now() < i.renew_at) {
                    return Ok(current.token.clone());
                }
                let fresh = self.grant(client_id, client_secret).await?;
                let token = fresh.token.clone();
                *slot = Some(fresh);
                Ok(token)
            }
        }
    }

    /// Forgets a granted token the platform refused, unless another request already replaced
    /// it. Whether there is anything to renew.
    async fn forget(&self, refused: &SecretString) -> bool {
        let Credentials::Grant { issued, .. } = &self.credentials else {
            return false;
        };
        let mut slot = issued.lock().await;
        if slot
            .as_ref()
            .is_some_and(|i| i.token.expose_secret() == refused.expose_secret())
        {
            *slot = None;
        }
        true
    }

    /// The client-credentials grant: the app's id and secret for a token.
    async fn grant(
        &self,
        client_id: &str,
        client_secret: &SecretString,
    ) -> Result<IssuedToken, ShopError> {
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: Option<u64>,
        }
        let request = self.http.client().post(self.token_url.clone()).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
        ]);
        let answer = self.http.send(request).await?;
        match answer.status {
            200..=299 => {}
            400 | 401 | 403 => {
                return Err(ShopError::Unauthorized {
                    platform: Platform::Shopify,
                    detail: self.refusal_detail(&answer),
                });
            }
            status => {
                return Err(ShopError::Refused {
                    platform: Platform::Shopify,
                    status,
                    detail: self.refusal_detail(&answer),
                });
            }
        }
        let granted: Granted = answer.json(Platform::Shopify)?;
        if granted.access_token.trim().is_empty() {
            return Err(ShopError::Malformed {
                platform: Platform::Shopify,
                detail: "the access token granted is empty".into(),
            });
        }
        let life = Duration::from_secs(granted.expires_in.unwrap_or(86_399));
        let margin = RENEW_MARGIN.min(life / 10);
        tracing::info!(
            expires_in_s = life.as_secs(),
            "Shopify granted an access token"
        );
        Ok(IssuedToken {
            token: SecretString::from(granted.access_token),
            renew_at: Instant::now() + life - margin,
        })
    }

    /// One GraphQL question (with [`ORDER_FIELDS`] available), throttling waited out, a granted
    /// token renewed once if refused. `scope` is the one named when Shopify denies access
    /// without saying which.
    async fn graphql<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        scope: &str,
    ) -> Result<T, ShopError> {
        let document = if query.contains("...OrderFields") {
            format!("{query}\n{ORDER_FIELDS}")
        } else {
            query.to_string()
        };
        let body = json!({ "query": document, "variables": variables });
        let mut waited = Duration::ZERO;
        let mut throttled = 0;
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let request = self
                .http
                .client()
                .post(self.graphql_url.clone())
                .header("X-Shopify-Access-Token", token.expose_secret())
                .json(&body);
            let answer = self.http.send(request).await?;
            match answer.status {
                200..=299 => {}
                401 => {
                    if !renewed && self.forget(&token).await {
                        renewed = true;
                        tracing::info!("Shopify refused the granted token: asking for a new one");
                        continue;
                    }
                    return Err(ShopError::Unauthorized {
                        platform: Platform::Shopify,
                        detail: self.refusal_detail(&answer),
                    });
                }
                403 => {
                    let detail = self.refusal_detail(&answer);
                    return Err(match scope_named(&detail) {
                        Some(scope) => ShopError::MissingScope {
                            platform: Platform::Shopify,
                            scope,
                        },
                        None => ShopError::Refused {
                            platform: Platform::Shopify,
                            status: 403,
                            detail,
                        },
                    });
                }
                status => {
                    return Err(ShopError::Refused {
                        platform: Platform::Shopify,
                        status,
                        detail: self.refusal_detail(&answer),
                    });
                }
            }
            let envelope: Envelope = answer.json(Platform::Shopify)?;
            match envelope.problem() {
                None => {}
                Some(Problem::Throttled) => {
                    let wait = envelope.throttle_wait();
                    throttled += 1;
                    if throttled > THROTTLE_RETRIES || waited + wait > self.http.max_wait() {
                        return Err(ShopError::Throttled {
                            platform: Platform::Shopify,
                            retry_after_secs: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
                        });
                    }
                    tracing::info!(
                        wait_ms = wait.as_millis() as u64,
                        "Shopify throttled the query: waiting for its cost bucket to refill"
                    );
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    continue;
                }
                Some(Problem::AccessDenied(named)) => {
                    return Err(ShopError::MissingScope {
                        platform: Platform::Shopify,
                        scope: named.unwrap_or_else(|| scope.to_string()),
                    });
                }
                Some(Problem::Other(said)) => {
                    return Err(ShopError::Refused {
                        platform: Platform::Shopify,
                        status: 200,
                        detail: self.scrub(&said),
                    });
                }
            }
            let data = envelope.data.ok_or_else(|| ShopError::Malformed {
                platform: Platform::Shopify,
                detail: "a GraphQL answer without data".into(),
            })?;
            return serde_json::from_value(data).map_err(|e| ShopError::Malformed {
                platform: Platform::Shopify,
                detail: format!("GraphQL data: {e}"),
            });
        }
    }

    async fn find_customer(&self, email: &str) -> Result<CustomerRecord, ShopError> {
        #[derive(Deserialize)]
        struct Data {
            customers: Connection<GqlCustomer>,
        }
        let email = email.trim().to_lowercase();
        if email.is_empty() || email.contains(['"', '\\']) || email.chars().any(char::is_whitespace)
        {
            return Ok(CustomerRecord::default());
        }
        let data: Data = self
            .graphql(
                CUSTOMER_QUERY,
                json!({ "query": format!("email:\"{email}\""), "first": ORDERS_PAGE }),
                READ_CUSTOMERS,
            )
            .await?;
        // Shopify's search is a search: keep only the address asked for.
        let Some(found) = data
            .customers
            .nodes
            .into_iter()
            .find(|c| c.email().as_deref() == Some(email.as_str()))
        else {
            return Ok(CustomerRecord::default());
        };
        let customer = found.to_customer();
        let mut cursor = found.orders.next_cursor();
        let mut orders: Vec<Order> = found
            .orders
            .nodes
            .into_iter()
            .map(GqlOrder::into_order)
            .collect();
        while let Some(after) = cursor.take() {
            if orders.len() >= ORDERS_LIMIT {
                break;
            }
            #[derive(Deserialize)]
            struct Page {
                customer: Option<Orders>,
            }
            #[derive(Deserialize)]
            struct Orders {
                orders: Connection<GqlOrder>,
            }
            let page: Page = self
                .graphql(
                    CUSTOMER_ORDERS_QUERY,
                    json!({ "id": customer.platform_id, "first": ORDERS_PAGE, "after": after }),
                    READ_ORDERS,
                )
                .await?;
            let Some(page) = page.customer else { break };
            cursor = page.orders.next_cursor();
            orders.extend(page.orders.nodes.into_iter().map(GqlOrder::into_order));
        }
        orders.truncate(ORDERS_LIMIT);
        for order in &mut orders {
            if order.customer_email.is_empty() {
                order.customer_email = email.clone();
            }
        }
        Ok(CustomerRecord {
            customer: Some(customer),
            orders,
        })
    }

    async fn find_order(&self, reference: &str) -> Result<Option<Order>, ShopError> {
        #[derive(Deserialize)]
        struct Data {
            orders: Connection<GqlOrder>,
        }
        let written = reference.trim();
        let bare = written.trim_start_matches('#');
        if bare.is_empty() || bare.contains(['"', '\\']) || bare.chars().any(char::is_whitespace) {
            return Ok(None);
        }
        // A customer writes 1042 for the order the shop names #1042.
        let name = if bare.bytes().all(|b| b.is_ascii_digit()) {
            format!("#{bare}")
        } else {
            written.to_string()
        };
        let data: Data = self
            .graphql(
                ORDERS_BY_NAME_QUERY,
                json!({ "query": format!("name:\"{name}\"") }),
                READ_ORDERS,
            )
            .await?;
        Ok(data
            .orders
            .nodes
            .into_iter()
            .find(|o| o.name().trim_start_matches('#').eq_ignore_ascii_case(bare))
            .map(GqlOrder::into_order))
    }

    async fn find_order_by_id(&self, platform_id: &str) -> Result<Option<Order>, ShopError> {
        #[derive(Deserialize)]
        struct Data {
            order: Option<GqlOrder>,
        }
        let id = platform_id.trim();
        let number = id.strip_prefix(ORDER_GID).unwrap_or(id);
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let data: Data = self
            .graphql(
                ORDER_BY_ID_QUERY,
                json!({ "id": format!("{ORDER_GID}{number}") }),
                READ_ORDERS,
            )
            .await?;
        Ok(data.order.map(GqlOrder::into_order))
    }

    async fn check_connection(&self) -> Result<ConnectionReport, ShopError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            shop: Shop,
            current_app_installation: Installation,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Shop {
            name: Option<String>,
            myshopify_domain: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Installation {
            access_scopes: Vec<Scope>,
        }
        #[derive(Deserialize)]
        struct Scope {
            handle: String,
        }
        let data: Data = self.graphql(CHECK_QUERY, json!({}), READ_ORDERS).await?;
        let granted: Vec<String> = data
            .current_app_installation
            .access_scopes
            .into_iter()
            .map(|s| s.handle)
            .collect();
        Ok(ConnectionReport {
            platform: Platform::Shopify,
            shop_name: data.shop.name.or(data.shop.myshopify_domain),
            warnings: scope_warnings(&granted),
        })
    }

    fn read_webhook(&self, delivery: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal> {
        let key = self.webhook_key.as_ref().ok_or(WebhookRefusal::NoSecret)?;
        let signature = delivery
            .header("x-shopify-hmac-sha256")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(WebhookRefusal::Unsigned)?;
        let given = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| WebhookRefusal::BadSignature)?;
        let expected = crate::crypto::hmac_sha256(key.expose_secret().as_bytes(), &delivery.body);
        if !crate::crypto::constant_time_eq(&given, &expected) {
            return Err(WebhookRefusal::BadSignature);
        }
        let header = |name: &str| {
            delivery
                .header(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| WebhookRefusal::Malformed(format!("no {name} header")))
        };
        let delivery_id = header("X-Shopify-Webhook-Id")?;
        let topic = header("X-Shopify-Topic")?;
        let malformed = |e: serde_json::Error| WebhookRefusal::Malformed(e.to_string());
        match topic.as_str() {
            "orders/updated" => {
                let order: RestOrder = serde_json::from_slice(&delivery.body).map_err(malformed)?;
                Ok(WebhookEvent::Order {
                    delivery_id,
                    order: Box::new(order.into_order()),
                })
            }
            "fulfillments/create" => {
                let event: RestFulfillmentEvent =
                    serde_json::from_slice(&delivery.body).map_err(malformed)?;
                Ok(WebhookEvent::FetchOrder {
                    delivery_id,
                    platform_id: format!("{ORDER_GID}{}", event.order_id),
                })
            }
            _ => Ok(WebhookEvent::Ignored { delivery_id, topic }),
        }
    }
}

impl ShopPlatform for Shopify {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    fn customer<'a>(&'a self, email: &'a str) -> ShopFuture<'a, CustomerRecord> {
        Box::pin(self.find_customer(email))
    }

    fn order<'a>(&'a self, reference: &'a str) -> ShopFuture<'a, Option<Order>> {
        Box::pin(self.find_order(reference))
    }

    fn order_by_platform_id<'a>(&'a self, platform_id: &'a str) -> ShopFuture<'a, Option<Order>> {
        Box::pin(self.find_order_by_id(platform_id))
    }

    fn check(&self) -> ShopFuture<'_, ConnectionReport> {
        Box::pin(self.check_connection())
    }

    /// Shopify pushes changes by webhook; nothing to poll.
    fn changed_since(&self, _since_ms: i64) -> ShopFuture<'_, Vec<Order>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn webhook(&self, delivery: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal> {
        self.read_webhook(delivery)
    }
}

/// `2025-10`, or `unstable`.
fn is_api_version(version: &str) -> bool {
    version == "unstable"
        || version.len() == 7
            && version.as_bytes()[4] == b'-'
            && version
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit())
}

/// A GraphQL answer's envelope (<https://shopify.dev/docs/api/admin-graphql#status_and_error_codes>).
#[derive(Debug, Deserialize)]
struct Envelope {
    data: Option<Value>,
    errors: Option<Value>,
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct Extensions {
    cost: Option<Cost>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: Option<f64>,
    throttle_status: Option<ThrottleStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottleStatus {
    currently_available: f64,
    restore_rate: f64,
}

/// What went wrong in a 200 answer.
#[derive(Debug, PartialEq, Eq)]
enum Problem {
    Throttled,
    /// A field needs a scope the token lacks; the scope when Shopify names it.
    AccessDenied(Option<String>),
    Other(String),
}

impl Envelope {
    fn problem(&self) -> Option<Problem> {
        let errors = self.errors.as_ref()?;
        let list = match errors {
            Value::Array(list) if list.is_empty() => return None,
            Value::Array(list) => list.as_slice(),
            Value::Null => return None,
            other => return Some(Problem::Other(messages(other))),
        };
        let code = |e: &Value| {
            e.pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        if list.iter().any(|e| code(e) == "THROTTLED") {
            return Some(Problem::Throttled);
        }
        if let Some(denied) = list.iter().find(|e| code(e) == "ACCESS_DENIED") {
            let said = [
                denied.pointer("/extensions/requiredAccess"),
                denied.get("message"),
            ]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(scope_named);
            return Some(Problem::AccessDenied(said));
        }
        Some(Problem::Other(messages(errors)))
    }

    /// How long until the bucket holds what the query asked for.
    fn throttle_wait(&self) -> Duration {
        let cost = self.extensions.as_ref().and_then(|e| e.cost.as_ref());
        let Some((requested, status)) =
            cost.and_then(|c| c.requested_query_cost.zip(c.throttle_status.as_ref()))
        else {
            return Duration::from_secs(1);
        };
        if !(status.restore_rate.is_finite() && status.restore_rate > 0.0) {
            return Duration::from_secs(1);
        }
        let missing = (requested - status.currently_available).max(1.0);
        Duration::from_secs_f64((missing / status.restore_rate).clamp(0.05, 60.0))
    }
}

/// The messages of a GraphQL `errors` value, joined.
fn messages(errors: &Value) -> String {
    match errors {
        Value::String(s) => s.clone(),
        Value::Array(list) => list
            .iter()
            .map(|e| match e.get("message").and_then(Value::as_str) {
                Some(m) => m.to_string(),
                None => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The access scope a refusal names (`read_orders`, `read_all_orders`, ...).
fn scope_named(text: &str) -> Option<String> {
    let start = text.find("read_").or_else(|| text.find("write_"))?;
    let scope: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
        .collect();
    (scope.len() > "read_".len()).then_some(scope)
}

/// What the granted scopes leave out of what Guichet reads.
fn scope_warnings(granted: &[String]) -> Vec<ShopWarning> {
    let has = |scope: &str| granted.iter().any(|g| g == scope);
    let mut warnings: Vec<ShopWarning> = [READ_ORDERS, READ_CUSTOMERS]
        .into_iter()
        .filter(|s| !has(s))
        .map(|s| ShopWarning::MissingScope { scope: s.into() })
        .collect();
    if !has(READ_ALL_ORDERS) {
        warnings.push(ShopWarning::OldOrdersHidden);
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(json: &str) -> Envelope {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_throttled_answer_says_how_long_to_wait() {
        // The shape Shopify documents for a throttled query.
        let throttled = envelope(
            r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED",
            "documentation":"https://shopify.dev/api/usage/rate-limits"}}],
            "extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,
            "throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":652,
            "restoreRate":50.0}}}}"#,
        );
        assert_eq!(throttled.problem(), Some(Problem::Throttled));
        assert_eq!(throttled.throttle_wait(), Duration::from_secs(2));
        let blind =
            envelope(r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}"#);
        assert_eq!(blind.throttle_wait(), Duration::from_secs(1));
    }

    #[test]
    fn access_denied_names_the_scope() {
        let denied = envelope(
            r#"{"data":null,"errors":[{"message":"Access denied for customers field. Required access: `read_customers` access scope.",
            "extensions":{"code":"ACCESS_DENIED","documentation":"https://shopify.dev/api/usage/access-scopes",
            "requiredAccess":"`read_customers` access scope."}}]}"#,
        );
        assert_eq!(
            denied.problem(),
            Some(Problem::AccessDenied(Some("read_customers".into())))
        );
        let unnamed = envelope(
            r#"{"errors":[{"message":"Access denied","extensions":{"code":"ACCESS_DENIED"}}]}"#,
        );
        assert_eq!(unnamed.problem(), Some(Problem::AccessDenied(None)));
        let fine = envelope(r#"{"data":{"shop":{"name":"x"}},"extensions":{}}"#);
        assert_eq!(fine.problem(), None);
        assert_eq!(
            scope_named("[API] This action requires merchant approval for read_orders scope."),
            Some("read_orders".into())
        );
        assert_eq!(scope_named("no scope here"), None);
    }

    #[test]
    fn without_read_all_orders_old_orders_are_hidden() {
        let scopes =
            |s: &[&str]| scope_warnings(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            scopes(&["read_orders", "read_customers", "read_all_orders"]),
            vec![]
        );
        assert_eq!(
            scopes(&["read_orders", "read_customers"]),
            vec![ShopWarning::OldOrdersHidden]
        );
        assert_eq!(
            scopes(&["read_customers", "read_all_orders"]),
            vec![ShopWarning::MissingScope {
                scope: "read_orders".into()
            }]
        );
    }

    #[test]
    fn api_versions() {
        assert!(is_api_version("2025-10"));
        assert!(is_api_version("unstable"));
        assert!(!is_api_version("2025-1"));
        assert!(!is_api_version("../x/y"));
    }
}
