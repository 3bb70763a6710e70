//! A WooCommerce store's REST API v3 on 127.0.0.1, answering as WooCommerce documents it:
//! <https://woocommerce.github.io/woocommerce-rest-api-docs/> — Authentication (consumer key
//! and secret as HTTP Basic; "Consumer key is invalid.", "Consumer secret is invalid.", "The
//! API key provided does not have read permissions."), Pagination (`per_page` up to 100,
//! `page`, `X-WP-Total`, `X-WP-TotalPages`, `Link` with `rel="next"`), Errors (`code`,
//! `message`, `data.status`; `rest_no_route`), Orders and Customers (their JSON shapes and
//! filters), Webhooks (`X-WC-Webhook-*` headers, base64 HMAC-SHA256 signature, the unsigned
//! `webhook_id=N` ping). Bodies are encoded as PHP's `wp_json_encode` writes them: slashes
//! and non-ASCII escaped.
//!
//! Knobs for the tests: the data, the key's state (revoked, wrong secret, write-only, a user
//! without the capability), throttling (429 with `Retry-After`, as a host or a security
//! plugin sends: WooCommerce core has no rate limit on v3), a hang, malformed bodies, a
//! smaller page cap to force pagination, and a log of the requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use guichet::shop::platform::WebhookDelivery;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A key as WooCommerce generates them: `ck_`/`cs_` and 40 hex digits.
pub const CONSUMER_KEY: &str = "ck_4f1e9a0c2b7d8e6f5a3c1b9d7e5f3a1c2b4d6e8f";
pub const CONSUMER_SECRET: &str = "cs_9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
pub const WEBHOOK_SECRET: &str = "Wh-s3cr3t: 5f2a&b";

/// What the key may do (WooCommerce > Settings > Advanced > REST API > Permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAccess {
    Read,
    Write,
    ReadWrite,
}

/// Bodies that are not the documented JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garbage {
    /// WordPress's fatal-error page, HTTP 500.
    CriticalErrorPage,
    /// A cache or security plugin's HTML page with HTTP 200.
    HtmlWith200,
    /// JSON cut in the middle, HTTP 200.
    Truncated,
}

#[derive(Debug, Clone)]
pub struct FakeShipment {
    /// The Shipment Tracking slug of a known carrier, or empty for a custom one.
    pub provider: String,
    pub custom_provider: String,
    pub custom_link: String,
    pub number: String,
    /// Unix seconds.
    pub date_shipped: i64,
}

#[derive(Debug, Clone)]
pub struct FakeOrder {
    pub id: u64,
    /// As customers see it; the id unless a numbering plugin says otherwise.
    pub number: String,
    pub status: String,
    pub billing_email: String,
    pub first_name: String,
    pub last_name: String,
    pub currency: String,
    pub total: String,
    /// `YYYY-MM-DDTHH:MM:SS`, GMT.
    pub created_gmt: String,
    pub modified_gmt: String,
    pub items: Vec<(String, u32)>,
    pub shipments: Vec<FakeShipment>,
}

impl FakeOrder {
    pub fn new(id: u64, email: &str, status: &str) -> FakeOrder {
        FakeOrder {
            id,
            number: id.to_string(),
            status: status.into(),
            billing_email: email.into(),
            first_name: "Marie".into(),
            last_name: "Curie".into(),
            currency: "EUR".into(),
            total: "49.90".into(),
            created_gmt: format!("2026-11-{:02}T09:30:00", 1 + id % 28),
            modified_gmt: format!("2026-11-{:02}T10:00:00", 1 + id % 28),
            items: vec![("Mug bleu".into(), 2)],
            shipments: Vec::new(),
        }
    }

    pub fn shipped_with(mut self, provider: &str, number: &str) -> FakeOrder {
        self.shipments.push(FakeShipment {
            provider: provider.into(),
            custom_provider: String::new(),
            custom_link: String::new(),
            number: number.into(),
            date_shipped: 1_795_000_000,
        });
        self
    }

    /// The order as `GET orders/{id}` documents it.
    fn json(&self, tracking_meta_key: &str) -> Value {
        let tracking: Vec<Value> = self
            .shipments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({
                    "tracking_provider": s.provider,
                    "custom_tracking_provider": s.custom_provider,
                    "custom_tracking_link": s.custom_link,
                    "tracking_number": s.number,
                    // The extension stores the time as a string of Unix seconds.
                    "date_shipped": s.date_shipped.to_string(),
                    "tracking_id": format!("{:x}", 0xa1b2c3u64 + i as u64),
                })
            })
            .collect();
        let mut meta =
            vec![json!({"id": self.id * 10, "key": "_new_order_email_sent", "value": "true"})];
        if !tracking.is_empty() {
            meta.push(json!({"id": self.id * 10 + 1, "key": tracking_meta_key, "value": tracking}));
        }
        let line_items: Vec<Value> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, (name, quantity))| {
                json!({
                    "id": self.id * 100 + i as u64, "name": name, "product_id": 90 + i,
                    "variation_id": 0, "quantity": quantity, "tax_class": "",
                    "subtotal": "20.00", "subtotal_tax": "0.00", "total": "20.00",
                    "total_tax": "0.00", "taxes": [], "meta_data": [], "sku": "", "price": 10
                })
            })
            .collect();
        let address = json!({
            "first_name": self.first_name, "last_name": self.last_name, "company": "",
            "address_1": "12 rue des Lilas", "address_2": "", "city": "Lyon", "state": "",
            "postcode": "69003", "country": "FR"
        });
        let mut billing = address.clone();
        billing["email"] = json!(self.billing_email);
        billing["phone"] = json!("04 72 00 00 00");
        let mut order = json!({
            "id": self.id, "parent_id": 0, "number": self.number,
            "order_key": format!("wc_order_{:x}", self.id * 7919),
            "created_via": "checkout", "version": "9.4.2", "status": self.status,
            "currency": self.currency,
            // Site time is Paris: an hour ahead of GMT in November.
            "date_created": self.created_gmt.replace("T09", "T10"),
            "date_created_gmt": self.created_gmt,
            "date_modified": self.modified_gmt.replace("T10", "T11"),
            "date_modified_gmt": self.modified_gmt,
            "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "4.90",
            "shipping_tax": "0.00", "cart_tax": "0.00", "total": self.total, "total_tax": "0.00",
        });
        // Two halves: one `json!` this long exceeds the macro's recursion limit.
        let rest = json!({
            "prices_include_tax": true, "customer_id": 0, "customer_ip_address": "",
            "customer_user_agent": "", "customer_note": "",
            "billing": billing, "shipping": address,
            "payment_method": "stripe", "payment_method_title": "Carte bancaire",
            "transaction_id": "", "date_paid": null, "date_paid_gmt": null,
            "date_completed": null, "date_completed_gmt": null, "cart_hash": "",
            "meta_data": meta, "line_items": line_items, "tax_lines": [],
            "shipping_lines": [], "fee_lines": [], "coupon_lines": [], "refunds": [],
            "_links": {"self": [{"href": format!("/wp-json/wc/v3/orders/{}", self.id)}]}
        });
        if let (Some(order), Value::Object(rest)) = (order.as_object_mut(), rest) {
            order.extend(rest);
        }
        order
    }

    fn matches_search(&self, term: &str) -> bool {
        // WooCommerce searches the address indexes, the billing e-mail and item names with
        // LIKE '%term%', and the id (and a numbering plugin's number) exactly.
        let term = term.to_lowercase();
        let haystacks = [
            self.billing_email.to_lowercase(),
            format!("{} {}", self.first_name, self.last_name).to_lowercase(),
        ];
        haystacks.iter().any(|h| h.contains(&term))
            || self
                .items
                .iter()
                .any(|(name, _)| name.to_lowercase().contains(&term))
            || self.id.to_string() == term
            || self.number == term
    }
}

#[derive(Debug, Clone)]
pub struct FakeCustomer {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub created_gmt: String,
}

impl FakeCustomer {
    pub fn new(id: u64, email: &str, first_name: &str, last_name: &str) -> FakeCustomer {
        FakeCustomer {
            id,
            email: email.into(),
            first_name: first_name.into(),
            last_name: last_name.into(),
            role: "customer".into(),
            created_gmt: "2024-03-21T19:11:14".into(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id, "date_created": self.created_gmt, "date_created_gmt": self.created_gmt,
            "date_modified": self.created_gmt, "date_modified_gmt": self.created_gmt,
            "email": self.email, "first_name": self.first_name, "last_name": self.last_name,
            "role": self.role, "username": self.email.split('@').next().unwrap_or_default(),
            "billing": {"first_name": self.first_name, "last_name": self.last_name,
                        "company": "", "address_1": "", "address_2": "", "city": "",
                        "state": "", "postcode": "", "country": "FR", "email": self.email,
                        "phone": ""},
            "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "",
                         "address_2": "", "city": "", "state": "", "postcode": "",
                         "country": ""},
            "is_paying_customer": true,
            "avatar_url": "https://secure.gravatar.com/avatar/0?s=96&d=mm&r=g",
            "meta_data": [],
            "_links": {"self": [{"href": format!("/wp-json/wc/v3/customers/{}", self.id)}]}
        })
    }
}

struct Shop {
    name: String,
    woocommerce_active: bool,
    key_exists: bool,
    secret: String,
    access: KeyAccess,
    /// The key's user has `read_private_shop_orders` (a shop manager's capability).
    user_reads_orders: bool,
    /// The key's user has `list_users`.
    user_lists_users: bool,
    tracking_meta_key: String,
    customers: Vec<FakeCustomer>,
    orders: Vec<FakeOrder>,
    throttled: u32,
    retry_after: String,
    hang: bool,
    garbage: Option<Garbage>,
    page_cap: usize,
    log: Vec<String>,
}

/// The fake store; stops when dropped.
pub struct FakeWooCommerce {
    /// The store URL to configure (`http://127.0.0.1:PORT`, loopback being allowed).
    pub url: String,
    shop: Arc<Mutex<Shop>>,
    deliveries: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWooCommerce {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Shop>>;

impl FakeWooCommerce {
    pub async fn start() -> FakeWooCommerce {
        let shop = Arc::new(Mutex::new(Shop {
            name: "La Boutique &amp; Cie".into(),
            woocommerce_active: true,
            key_exists: true,
            secret: CONSUMER_SECRET.into(),
            access: KeyAccess::Read,
            user_reads_orders: true,
            user_lists_users: true,
            tracking_meta_key: "_wc_shipment_tracking_items".into(),
            customers: Vec::new(),
            orders: Vec::new(),
            throttled: 0,
            retry_after: "1".into(),
            hang: false,
            garbage: None,
            page_cap: 100,
            log: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(answer).with_state(shop.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeWooCommerce {
            url,
            shop,
            deliveries: AtomicU64::new(0),
            task,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Shop) -> T) -> T {
        f(&mut self.shop.lock().unwrap())
    }

    pub fn add_order(&self, order: FakeOrder) {
        self.with(|s| s.orders.push(order));
    }

    pub fn add_customer(&self, customer: FakeCustomer) {
        self.with(|s| s.customers.push(customer));
    }

    /// Changes an order as the shop's admin would.
    pub fn update_order(&self, id: u64, change: impl FnOnce(&mut FakeOrder)) {
        self.with(|s| {
            let order = s
                .orders
                .iter_mut()
                .find(|o| o.id == id)
                .expect("no such order");
            change(order);
        });
    }

    /// The admin clicked "Revoke key".
    pub fn revoke_key(&self) {
        self.with(|s| s.key_exists = false);
    }

    /// The key was regenerated: the secret Guichet holds is no longer it.
    pub fn change_secret(&self) {
        self.with(|s| s.secret = "cs_0000000000000000000000000000000000000000".into());
    }

    pub fn set_access(&self, access: KeyAccess) {
        self.with(|s| s.access = access);
    }

    /// The key belongs to a user without the shop manager's capabilities.
    pub fn user_cannot_read_orders(&self) {
        self.with(|s| s.user_reads_orders = false);
    }

    pub fn user_cannot_list_users(&self) {
        self.with(|s| s.user_lists_users = false);
    }

    pub fn deactivate_woocommerce(&self) {
        self.with(|s| s.woocommerce_active = false);
    }

    pub fn set_tracking_meta_key(&self, key: &str) {
        self.with(|s| s.tracking_meta_key = key.into());
    }

    /// The next `requests` API requests get HTTP 429 with this `Retry-After`.
    pub fn throttle(&self, requests: u32, retry_after: &str) {
        self.with(|s| {
            s.throttled = requests;
            s.retry_after = retry_after.into();
        });
    }

    /// From now on, requests are accepted and never answered.
    pub fn hang(&self) {
        self.with(|s| s.hang = true);
    }

    pub fn send_garbage(&self, garbage: Option<Garbage>) {
        self.with(|s| s.garbage = garbage);
    }

    /// Pages hold at most this many items whatever `per_page` asks (as when the site's
    /// filters cap it).
    pub fn cap_page_size(&self, size: usize) {
        self.with(|s| s.page_cap = size.max(1));
    }

    /// Requests received, as `GET /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.with(|s| s.log.clone())
    }

    pub fn request_count(&self) -> usize {
        self.with(|s| s.log.len())
    }

    /// What WooCommerce posts to a webhook's delivery URL for this order and topic, signed
    /// with `secret` (base64 of HMAC-SHA256 over the body as sent).
    pub fn delivery(&self, order_id: u64, topic: &str, secret: &str) -> WebhookDelivery {
        let body = self.with(|s| {
            let order = s
                .orders
                .iter()
                .find(|o| o.id == order_id)
                .expect("no such order");
            php_json(&order.json(&s.tracking_meta_key))
        });
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = BASE64.encode(mac.finalize().into_bytes());
        let serial = self.deliveries.fetch_add(1, Ordering::SeqCst);
        // `wp_hash(webhook id . time)`: 32 hex digits.
        let delivery_id = hex::encode(&Sha256::digest(format!("7{serial}"))[..16]);
        let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
        WebhookDelivery {
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (
                    "user-agent".into(),
                    "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)".into(),
                ),
                ("x-wc-webhook-source".into(), format!("{}/", self.url)),
                ("x-wc-webhook-topic".into(), topic.into()),
                ("x-wc-webhook-resource".into(), resource.into()),
                ("x-wc-webhook-event".into(), event.into()),
                ("x-wc-webhook-signature".into(), signature),
                ("x-wc-webhook-id".into(), "7".into()),
                ("x-wc-webhook-delivery-id".into(), delivery_id),
            ],
            body: body.into_bytes(),
        }
    }

    /// The test WooCommerce posts when a webhook is saved: a form body, no signature.
    pub fn ping(&self) -> WebhookDelivery {
        WebhookDelivery {
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                (
                    "user-agent".into(),
                    "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)".into(),
                ),
            ],
            body: b"webhook_id=7".to_vec(),
        }
    }
}

/// JSON as PHP's `json_encode` writes it by default: `\/` and `\uXXXX` escapes.
pub fn php_json(value: &Value) -> String {
    let plain = serde_json::to_string(value).unwrap();
    let mut out = String::with_capacity(plain.len() + 16);
    for c in plain.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

fn json_response(status: StatusCode, body: &Value, headers: &[(&str, String)]) -> Response {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=UTF-8")
        .header("x-robots-tag", "noindex")
        .header("x-content-type-options", "nosniff");
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response.body(Body::from(php_json(body))).unwrap()
}

fn wp_error(status: u16, code: &str, message: &str) -> Response {
    json_response(
        StatusCode::from_u16(status).unwrap(),
        &json!({"code": code, "message": message, "data": {"status": status}}),
        &[],
    )
}

fn garbage(kind: Garbage) -> Response {
    let html = |status: StatusCode, page: &str| {
        Response::builder()
            .status(status)
            .header("content-type", "text/html; charset=UTF-8")
            .body(Body::from(page.to_string()))
            .unwrap()
    };
    match kind {
        Garbage::CriticalErrorPage => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            "<!DOCTYPE html>\n<html lang=\"fr-FR\">\n<head><meta charset=\"UTF-8\" />\
             <title>Erreur WordPress</title></head>\n<body id=\"error-page\">\
             <div class=\"wp-die-message\"><p>Il y a eu une erreur critique sur ce site.</p>\
             </div></body>\n</html>",
        ),
        Garbage::HtmlWith200 => html(
            StatusCode::OK,
            "<!DOCTYPE html><html><head><title>Just a moment...</title></head>\
             <body>Checking your browser before accessing the site.</body></html>",
        ),
        Garbage::Truncated => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json; charset=UTF-8")
            .body(Body::from(
                r#"[{"id":1042,"parent_id":0,"number":"1042","status":"proc"#,
            ))
            .unwrap(),
    }
}

/// Every request goes through here, in the order WordPress handles one: the server's own
/// limits first, then routing, then WooCommerce's authentication, then the endpoint.
async fn answer(
    State(shop): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_string();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let hang = {
        let mut s = shop.lock().unwrap();
        s.log.push(format!(
            "{method} {path}{}",
            uri.query().map(|q| format!("?{q}")).unwrap_or_default()
        ));
        s.hang
    };
    if hang {
        std::future::pending::<()>().await;
    }
    let mut s = shop.lock().unwrap();
    if s.throttled > 0 {
        s.throttled -= 1;
        return Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(
                "retry-after",
                HeaderValue::from_str(&s.retry_after).unwrap(),
            )
            .header("content-type", "text/html")
            .body(Body::from(
                "<html><body><h1>429 Too Many Requests</h1></body></html>",
            ))
            .unwrap();
    }
    if let Some(kind) = s.garbage {
        return garbage(kind);
    }
    if method != Method::GET {
        return wp_error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        );
    }
    let Some(route) = path.strip_prefix("/wp-json") else {
        return Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "text/html; charset=UTF-8")
            .body(Body::from(
                "<!DOCTYPE html><html><body>Page non trouvée</body></html>",
            ))
            .unwrap();
    };
    if route == "/" || route.is_empty() {
        return site_index(&s, &host);
    }
    let Some(endpoint) = route
        .strip_prefix("/wc/v3/")
        .filter(|_| s.woocommerce_active)
    else {
        return wp_error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        );
    };
    if let Some(refusal) = key_refusal(&s, &headers) {
        return refusal;
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (per_page, page) = match (
        param("per_page").map(|v| v.parse::<usize>()),
        param("page").map(|v| v.parse::<usize>()),
    ) {
        (Some(Ok(1..=100)) | None, Some(Ok(1..)) | None) => (
            param("per_page").and_then(|v| v.parse().ok()).unwrap_or(10),
            param("page").and_then(|v| v.parse().ok()).unwrap_or(1),
        ),
        _ => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"code": "rest_invalid_param",
                        "message": "Paramètre(s) non valide(s) : per_page",
                        "data": {"status": 400, "params": {
                            "per_page": "per_page doit être compris entre 1 (inclus) et 100 (inclus)"}}}),
                &[],
            );
        }
    };
    let per_page = per_page.clamp(1, s.page_cap);
    match endpoint {
        "orders" => {
            if !s.user_reads_orders {
                return wp_error(
                    403,
                    "woocommerce_rest_cannot_view",
                    "Sorry, you cannot list resources.",
                );
            }
            let mut matching: Vec<&FakeOrder> = s
                .orders
                .iter()
                .filter(|o| param("search").is_none_or(|term| o.matches_search(&term)))
                .collect();
            // Newest first: `orderby=date`, `order=desc`.
            matching.sort_by(|a, b| b.created_gmt.cmp(&a.created_gmt).then(b.id.cmp(&a.id)));
            let items: Vec<Value> = matching
                .iter()
                .map(|o| o.json(&s.tracking_meta_key))
                .collect();
            paged(&items, per_page, page, &host, &path, &query)
        }
        "customers" => {
            if !s.user_lists_users {
                return wp_error(
                    403,
                    "woocommerce_rest_cannot_view",
                    "Sorry, you cannot list resources.",
                );
            }
            let role = param("role").unwrap_or_else(|| "customer".into());
            let items: Vec<Value> = s
                .customers
                .iter()
                .filter(|c| role == "all" || c.role == role)
                .filter(|c| param("email").is_none_or(|e| c.email.eq_ignore_ascii_case(&e)))
                .map(FakeCustomer::json)
                .collect();
            paged(&items, per_page, page, &host, &path, &query)
        }
        single => match single.strip_prefix("orders/").map(|id| id.parse::<u64>()) {
            Some(Ok(id)) => {
                if !s.user_reads_orders {
                    return wp_error(
                        403,
                        "woocommerce_rest_cannot_view",
                        "Sorry, you cannot view this resource.",
                    );
                }
                match s.orders.iter().find(|o| o.id == id) {
                    Some(order) => {
                        json_response(StatusCode::OK, &order.json(&s.tracking_meta_key), &[])
                    }
                    None => wp_error(
                        404,
                        "woocommerce_rest_shop_order_invalid_id",
                        "ID non valide.",
                    ),
                }
            }
            _ => wp_error(
                404,
                "rest_no_route",
                "No route was found matching the URL and request method.",
            ),
        },
    }
}

fn site_index(s: &Shop, host: &str) -> Response {
    let mut namespaces = vec!["oembed/1.0", "wp/v2", "wp-site-health/v1"];
    if s.woocommerce_active {
        namespaces.extend(["wc/v1", "wc/v2", "wc/v3", "wc/store/v1", "wc-analytics"]);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "name": s.name, "description": "Thés et tasses", "url": format!("http://{host}"),
            "home": format!("http://{host}"), "gmt_offset": "1", "timezone_string": "Europe/Paris",
            "namespaces": namespaces, "authentication": {}, "routes": {}
        }),
        &[],
    )
}

/// WooCommerce's key check (`WC_REST_Authentication`): the refusal, if any. A 401 with the
/// code `woocommerce_rest_authentication_error`, or `woocommerce_rest_cannot_view` when no
/// credentials arrived at all.
fn key_refusal(s: &Shop, headers: &HeaderMap) -> Option<Response> {
    let credentials = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| BASE64.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some(credentials) = credentials else {
        return Some(wp_error(
            401,
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ));
    };
    let (key, secret) = credentials.split_once(':').unwrap_or((&credentials, ""));
    let message = if !s.key_exists || key != CONSUMER_KEY {
        "Consumer key is invalid."
    } else if secret != s.secret {
        "Consumer secret is invalid."
    } else if s.access == KeyAccess::Write {
        "The API key provided does not have read permissions."
    } else {
        return None;
    };
    Some(wp_error(
        401,
        "woocommerce_rest_authentication_error",
        message,
    ))
}

/// One page of a collection with WordPress's pagination headers.
fn paged(
    items: &[Value],
    per_page: usize,
    page: usize,
    host: &str,
    path: &str,
    query: &[(String, String)],
) -> Response {
    let total = items.len();
    let total_pages = total.div_ceil(per_page);
    let slice: Vec<Value> = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let link_to = |target: usize| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query.iter().filter(|(k, _)| k != "page") {
            serializer.append_pair(k, v);
        }
        serializer.append_pair("page", &target.to_string());
        format!("<http://{host}{path}?{}>", serializer.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < total_pages {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
    }
    let mut headers = vec![
        ("x-wp-total", total.to_string()),
        ("x-wp-totalpages", total_pages.to_string()),
    ];
    if !links.is_empty() {
        headers.push(("link", links.join(", ")));
    }
    json_response(StatusCode::OK, &Value::Array(slice), &headers)
}
