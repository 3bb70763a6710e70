//! A local server answering as the PrestaShop Webservice does.
//!
//! Followed: the Webservice cheat sheet (<https://devdocs.prestashop-project.org/9/webservice/cheat-sheet>:
//! `display`, `filter[field]=[a|b]` / `[a,b]` / `[a]`, `sort=[field_ASC]`, `limit=offset,count`,
//! `date=1` before filtering on dates, `output_format=JSON`), the additional list parameters
//! page (<https://devdocs.prestashop-project.org/9/webservice/tutorials/advanced-use/additional-list-parameters/>),
//! and the Webservice's own code for what it sends: `classes/webservice/WebserviceRequest.php`
//! (the key as the Basic user, error codes 16-22, 26, 27, statuses 401/503, the
//! `WWW-Authenticate` realm) and `WebserviceOutputJSON.php` (`{"orders":[...]}`, one language
//! as a plain string, several as `[{"id","value"}]`, `associations`, `{"errors":[...]}`).
//! An empty JSON list is `[]` (PrestaShop issues #10172 and #22760); XML wraps every value in
//! CDATA. Ids are JSON numbers, every other value a string, as the Webservice writes them.
//! PrestaShop itself never throttles; the 429 with `Retry-After` is what the hosts and
//! firewalls in front of shops answer.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;

/// The Webservice key the fake accepts (32 characters, as PrestaShop generates them).
pub const KEY: &str = "ZQ88PRJX5VWQHCWE4EE7SQ7HPNX00RAJ";

const REALM: &str = "Basic realm=\"Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required.\"";

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: u64,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub date_add: String,
    pub is_guest: bool,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u64,
    pub reference: String,
    pub id_customer: u64,
    pub current_state: u64,
    pub valid: bool,
    pub id_currency: u64,
    pub id_carrier: u64,
    pub total_paid: String,
    pub total_paid_real: String,
    pub conversion_rate: String,
    pub date_add: String,
    pub date_upd: String,
    /// (product_name, product_quantity)
    pub rows: Vec<(String, u32)>,
}

#[derive(Debug, Clone)]
pub struct OrderCarrier {
    pub id: u64,
    pub id_order: u64,
    pub id_carrier: u64,
    pub tracking_number: String,
}

#[derive(Debug, Clone)]
pub struct Carrier {
    pub id: u64,
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct OrderState {
    pub id: u64,
    /// (language id, name)
    pub names: Vec<(u64, String)>,
    pub shipped: bool,
    pub paid: bool,
    pub logable: bool,
}

/// What the fake shop holds, and how it misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Shop {
    pub shop_name: String,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
    pub order_carriers: Vec<OrderCarrier>,
    pub carriers: Vec<Carrier>,
    /// Credit slips (refunds): (id, id_order, amount).
    pub order_slips: Vec<(u64, u64, String)>,
    pub order_states: Vec<OrderState>,
    /// (id, iso_code)
    pub currencies: Vec<(u64, String)>,
    /// (name, value)
    pub configuration: Vec<(String, String)>,
    /// The key was deactivated in the back office (PrestaShop keys do not expire; a
    /// disabled key is how one stops working).
    pub key_disabled: bool,
    /// Resources the key has no permission for.
    pub denied: HashSet<String>,
    /// The "Enable PrestaShop's webservice" switch turned off.
    pub webservice_disabled: bool,
    /// The next this-many requests are answered 429 with `Retry-After: retry_after`.
    pub throttle_next: u32,
    pub retry_after: String,
    /// Accepts requests and never answers.
    pub hang: bool,
    /// PHP notices printed before the JSON (`display_errors` on): JSON unreadable, XML fine.
    pub json_broken: bool,
    /// Every answer cut short, in both formats.
    pub truncated: bool,
    /// A PHP error while listing (HTTP 500 with the Webservice's error list).
    pub server_error: bool,
}

impl Shop {
    /// A French shop whose states are not PrestaShop's default numbering, with two
    /// languages (French first), euros and Swiss francs, in Paris time.
    pub fn sample() -> Shop {
        let state = |id, fr: &str, en: &str, shipped, paid, logable| OrderState {
            id,
            names: vec![(1, fr.to_string()), (2, en.to_string())],
            shipped,
            paid,
            logable,
        };
        let config = [
            ("PS_OS_CHEQUE", "10"),
            ("PS_OS_BANKWIRE", "11"),
            ("PS_OS_PAYMENT", "12"),
            ("PS_OS_PREPARATION", "13"),
            ("PS_OS_SHIPPING", "14"),
            ("PS_OS_DELIVERED", "15"),
            ("PS_OS_CANCELED", "16"),
            ("PS_OS_REFUND", "17"),
            ("PS_OS_ERROR", "18"),
            ("PS_OS_OUTOFSTOCK", "19"),
            ("PS_TIMEZONE", "Europe/Paris"),
            ("PS_LANG_DEFAULT", "1"),
            ("PS_CURRENCY_DEFAULT", "1"),
        ];
        Shop {
            shop_name: "Boutique Marie".into(),
            customers: vec![
                customer(
                    1,
                    "marie@client.example",
                    "Marie",
                    "Dupont",
                    "2024-01-15 10:00:00",
                ),
                customer(
                    2,
                    "paul@client.example",
                    "Paul",
                    "Martin",
                    "2025-06-01 08:30:00",
                ),
            ],
            orders: vec![
                Order {
                    rows: vec![("Mug bleu".into(), 2), ("Théière en fonte".into(), 1)],
                    ..order(1042, "XKBKNABJK", 1, 14, "49.900000", "2026-03-12 14:05:00")
                },
                Order {
                    id_currency: 2,
                    total_paid_real: "30.000000".into(),
                    conversion_rate: "1.070000".into(),
                    ..order(1043, "QWERTYUIO", 1, 15, "30.000000", "2026-02-01 09:00:00")
                },
                Order {
                    valid: false,
                    total_paid_real: "0.000000".into(),
                    ..order(1044, "ZXCVBNMAS", 1, 16, "15.000000", "2026-01-05 18:00:00")
                },
                // A state this shop numbered 4 (a fresh shop's "Shipped").
                order(1050, "PLMOKNIJB", 2, 4, "12.500000", "2026-03-01 11:00:00"),
            ],
            order_carriers: vec![
                OrderCarrier {
                    id: 1,
                    id_order: 1042,
                    id_carrier: 3,
                    tracking_number: "6A12345678901".into(),
                },
                OrderCarrier {
                    id: 2,
                    id_order: 1043,
                    id_carrier: 3,
                    tracking_number: "6A10987654321".into(),
                },
            ],
            // 5 CHF of the delivered order given back.
            order_slips: vec![(1, 1043, "5.000000".into())],
            carriers: vec![
                Carrier {
                    id: 3,
                    name: "Colissimo".into(),
                    url: "https://www.laposte.fr/outils/suivre-vos-envois?code=@".into(),
                },
                Carrier {
                    id: 5,
                    name: "Retrait en boutique".into(),
                    url: String::new(),
                },
            ],
            order_states: vec![
                state(4, "Colis préparé", "Parcel packed", false, true, true),
                state(
                    10,
                    "En attente du paiement par chèque",
                    "Awaiting check payment",
                    false,
                    false,
                    false,
                ),
                state(
                    11,
                    "En attente de virement bancaire",
                    "Awaiting bank wire payment",
                    false,
                    false,
                    false,
                ),
                state(
                    12,
                    "Paiement accepté",
                    "Payment accepted",
                    false,
                    true,
                    true,
                ),
                state(
                    13,
                    "En cours de préparation",
                    "Processing in progress",
                    false,
                    true,
                    true,
                ),
                state(14, "Expédié", "Shipped", true, true, true),
                state(15, "Livré", "Delivered", true, true, true),
                state(16, "Annulé", "Canceled", false, false, false),
                state(17, "Remboursé", "Refunded", false, true, false),
                state(
                    18,
                    "Erreur de paiement",
                    "Payment error",
                    false,
                    false,
                    false,
                ),
                state(
                    19,
                    "En attente de réapprovisionnement (payé)",
                    "On backorder (paid)",
                    false,
                    true,
                    true,
                ),
            ],
            currencies: vec![(1, "EUR".into()), (2, "CHF".into())],
            configuration: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            retry_after: "1".into(),
            ..Shop::default()
        }
    }
}

pub fn customer(id: u64, email: &str, firstname: &str, lastname: &str, date_add: &str) -> Customer {
    Customer {
        id,
        email: email.into(),
        firstname: firstname.into(),
        lastname: lastname.into(),
        date_add: date_add.into(),
        is_guest: false,
    }
}

/// A valid order in euros, placed and last changed at `date`, shipped by carrier 3.
pub fn order(
    id: u64,
    reference: &str,
    customer: u64,
    state: u64,
    total: &str,
    date: &str,
) -> Order {
    Order {
        id,
        reference: reference.into(),
        id_customer: customer,
        current_state: state,
        valid: true,
        id_currency: 1,
        id_carrier: 3,
        total_paid: total.into(),
        total_paid_real: total.into(),
        conversion_rate: "1.000000".into(),
        date_add: date.into(),
        date_upd: date.into(),
        rows: Vec::new(),
    }
}

/// The running fake.
pub struct FakePrestaShop {
    pub url: String,
    shop: Arc<Mutex<Shop>>,
    requests: Arc<Mutex<Vec<String>>>,
    count: Arc<AtomicUsize>,
}

impl FakePrestaShop {
    pub async fn start(shop: Shop) -> FakePrestaShop {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakePrestaShop {
            url,
            shop: Arc::new(Mutex::new(shop)),
            requests: Arc::default(),
            count: Arc::default(),
        };
        let (shop, requests, count) =
            (fake.shop.clone(), fake.requests.clone(), fake.count.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let (shop, requests, count) = (shop.clone(), requests.clone(), count.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                requests.lock().unwrap().push(decoded(&uri));
                let hang = shop.lock().unwrap().hang;
                if hang {
                    std::future::pending::<()>().await;
                }
                let mut shop = shop.lock().unwrap();
                answer(&mut shop, &uri, &headers)
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        fake
    }

    /// Changes the shop while it runs.
    pub fn with<T>(&self, change: impl FnOnce(&mut Shop) -> T) -> T {
        change(&mut self.shop.lock().unwrap())
    }

    /// Requests received so far.
    pub fn request_count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Each request's path and query, percent-decoded.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn decoded(uri: &Uri) -> String {
    let query = uri.query().unwrap_or_default();
    let query: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

/// One value of an entity as the Webservice writes it.
enum Value {
    Id(u64),
    Text(String),
    Languages(Vec<(u64, String)>),
}

/// An associated entity's values (an order row's).
type Row = Vec<(&'static str, String)>;

struct Entity {
    fields: Vec<(&'static str, Value)>,
    /// (association, row entity name, rows)
    associations: Vec<(&'static str, &'static str, Vec<Row>)>,
}

impl Entity {
    fn get(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| match v {
                Value::Id(id) => id.to_string(),
                Value::Text(text) => text.clone(),
                Value::Languages(values) => {
                    values.first().map(|(_, t)| t.clone()).unwrap_or_default()
                }
            })
    }
}

fn text(value: impl ToString) -> Value {
    Value::Text(value.to_string())
}

fn flag(value: bool) -> Value {
    text(if value { "1" } else { "0" })
}

/// (path, list name, entity name) of the resources the fake serves; credit slips are the
/// one whose path is not its list's name.
const RESOURCES: [(&str, &str, &str); 9] = [
    ("customers", "customers", "customer"),
    ("orders", "orders", "order"),
    ("order_carriers", "order_carriers", "order_carrier"),
    ("order_slip", "order_slips", "order_slip"),
    ("carriers", "carriers", "carrier"),
    ("order_states", "order_states", "order_state"),
    ("currencies", "currencies", "currency"),
    ("configurations", "configurations", "configuration"),
    ("order_histories", "order_histories", "order_history"),
];

fn entities(shop: &Shop, resource: &str) -> Vec<Entity> {
    let plain = |fields| Entity {
        fields,
        associations: Vec::new(),
    };
    match resource {
        "customers" => shop
            .customers
            .iter()
            .map(|c| {
                plain(vec![
                    ("id", Value::Id(c.id)),
                    ("email", text(&c.email)),
                    ("firstname", text(&c.firstname)),
                    ("lastname", text(&c.lastname)),
                    ("is_guest", flag(c.is_guest)),
                    ("active", flag(true)),
                    ("date_add", text(&c.date_add)),
                    ("date_upd", text(&c.date_add)),
                ])
            })
            .collect(),
        "orders" => shop
            .orders
            .iter()
            .map(|o| Entity {
                fields: vec![
                    ("id", Value::Id(o.id)),
                    ("id_customer", text(o.id_customer)),
                    ("id_carrier", text(o.id_carrier)),
                    ("id_currency", text(o.id_currency)),
                    ("id_lang", text(1)),
                    ("current_state", text(o.current_state)),
                    ("module", text("ps_wirepayment")),
                    ("valid", flag(o.valid)),
                    ("date_add", text(&o.date_add)),
                    ("date_upd", text(&o.date_upd)),
                    ("shipping_number", text("")),
                    ("payment", text("Virement bancaire")),
                    ("total_paid", text(&o.total_paid)),
                    ("total_paid_tax_incl", text(&o.total_paid)),
                    ("total_paid_real", text(&o.total_paid_real)),
                    ("conversion_rate", text(&o.conversion_rate)),
                    ("reference", text(&o.reference)),
                ],
                associations: vec![(
                    "order_rows",
                    "order_row",
                    o.rows
                        .iter()
                        .enumerate()
                        .map(|(i, (name, quantity))| {
                            vec![
                                ("id", (o.id * 100 + i as u64).to_string()),
                                ("product_id", (i + 1).to_string()),
                                ("product_quantity", quantity.to_string()),
                                ("product_name", name.clone()),
                            ]
                        })
                        .collect(),
                )],
            })
            .collect(),
        "order_carriers" => shop
            .order_carriers
            .iter()
            .map(|c| {
                plain(vec![
                    ("id", Value::Id(c.id)),
                    ("id_order", text(c.id_order)),
                    ("id_carrier", text(c.id_carrier)),
                    ("id_order_invoice", text(0)),
                    ("weight", text("0.500000")),
                    ("tracking_number", text(&c.tracking_number)),
                    ("date_add", text("2026-03-12 14:05:00")),
                ])
            })
            .collect(),
        "order_slip" => shop
            .order_slips
            .iter()
            .map(|(id, order, amount)| {
                plain(vec![
                    ("id", Value::Id(*id)),
                    ("id_order", text(order)),
                    ("amount", text(amount)),
                    ("partial", flag(true)),
                    ("date_add", text("2026-02-10 10:00:00")),
                ])
            })
            .collect(),
        "carriers" => shop
            .carriers
            .iter()
            .map(|c| {
                plain(vec![
                    ("id", Value::Id(c.id)),
                    ("deleted", flag(false)),
                    ("name", text(&c.name)),
                    ("url", text(&c.url)),
                    ("active", flag(true)),
                ])
            })
            .collect(),
        "order_states" => shop
            .order_states
            .iter()
            .map(|s| {
                plain(vec![
                    ("id", Value::Id(s.id)),
                    ("logable", flag(s.logable)),
                    ("shipped", flag(s.shipped)),
                    ("paid", flag(s.paid)),
                    ("deleted", flag(false)),
                    ("name", Value::Languages(s.names.clone())),
                ])
            })
            .collect(),
        "currencies" => shop
            .currencies
            .iter()
            .map(|(id, iso)| plain(vec![("id", Value::Id(*id)), ("iso_code", text(iso))]))
            .collect(),
        "configurations" => shop
            .configuration
            .iter()
            .enumerate()
            .map(|(i, (name, value))| {
                plain(vec![
                    ("id", Value::Id(i as u64 + 1)),
                    ("value", text(value)),
                    ("name", text(name)),
                    ("id_shop_group", text("")),
                    ("id_shop", text("")),
                ])
            })
            .collect(),
        _ => Vec::new(),
    }
}

struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self, headers: &HeaderMap) -> bool {
        self.get("output_format")
            .or_else(|| headers.get("output-format").and_then(|v| v.to_str().ok()))
            .is_some_and(|f| f.eq_ignore_ascii_case("JSON"))
    }
}

fn respond(status: u16, json: bool, body: String) -> Response {
    let content_type = if json {
        "application/json"
    } else {
        "text/xml;charset=utf-8"
    };
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header("PSWS-Version", "8.2.0")
        .body(Body::from(body))
        .unwrap()
}

fn errors(status: u16, json: bool, errors: &[(u32, String)]) -> Response {
    let body = if json {
        serde_json::json!({
            "errors": errors.iter().map(|(code, message)| serde_json::json!({"code": code, "message": message})).collect::<Vec<_>>()
        })
        .to_string()
    } else {
        let list: String = errors
            .iter()
            .map(|(code, message)| {
                format!("<error>\n<code><![CDATA[{code}]]></code>\n<message><![CDATA[{message}]]></message>\n</error>\n")
            })
            .collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n<errors>\n{list}</errors>\n</prestashop>\n"
        )
    };
    respond(status, json, body)
}

fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    Some(
        decoded
            .split_once(':')
            .map_or(decoded.clone(), |(user, _)| user.to_string()),
    )
}

fn answer(shop: &mut Shop, uri: &Uri, headers: &HeaderMap) -> Response {
    if shop.throttle_next > 0 {
        shop.throttle_next -= 1;
        return Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(header::RETRY_AFTER, shop.retry_after.as_str())
            .body(Body::from("Too Many Requests"))
            .unwrap();
    }
    let query = Query {
        pairs: url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
    };
    let json = query.json(headers);
    let Some(rest) = uri.path().strip_prefix("/api") else {
        return respond(
            404,
            false,
            "<html><body>Page not found</body></html>".into(),
        );
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if shop.webservice_disabled {
        return errors(503, json, &[(22, "The PrestaShop webservice is disabled. Please activate it in the PrestaShop Back Office".into())]);
    }
    let refused = |errors_list: &[(u32, String)]| {
        let mut response = errors(401, json, errors_list);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, REALM.parse().unwrap());
        response
    };
    let key = basic_user(headers).or_else(|| query.get("ws_key").map(str::to_string));
    match key.as_deref().map(str::trim) {
        None => {
            return refused(&[(
                16,
                "Please enter the authentication key as the login. No password required".into(),
            )]);
        }
        Some("") => return refused(&[(17, "Authentication key is empty".into())]),
        Some(key) if key.len() != 32 => {
            return refused(&[(18, "Invalid authentication key format".into())]);
        }
        Some(key) if key != KEY || shop.key_disabled => {
            return refused(&[
                (20, "Authentification key is not active".into()),
                (21, "No permission for this authentication key".into()),
            ]);
        }
        Some(_) => {}
    }
    let Some(&resource) = segments.first() else {
        return root(shop);
    };
    let Some(&(path, plural, singular)) = RESOURCES.iter().find(|(p, _, _)| *p == resource) else {
        return errors(
            400,
            json,
            &[(
                27,
                format!(
                    "Resource of type \"{resource}\" does not exists. Did you mean: \"orders\"?"
                ),
            )],
        );
    };
    if shop.denied.contains(path) {
        return errors(
            401,
            json,
            &[(
                26,
                format!("Resource of type \"{path}\" is not allowed with this authentication key"),
            )],
        );
    }
    if shop.server_error {
        return errors(500, json, &[(15, "[PHP Unknown error #1] Allowed memory size exhausted (classes/webservice/WebserviceRequest.php, line 1520)".into())]);
    }
    let mut list = entities(shop, path);
    if let Some(id) = segments.get(1) {
        let Some(one) = list
            .into_iter()
            .find(|e| e.get("id").as_deref() == Some(*id))
        else {
            return errors(404, json, &[(87, format!("Id(s) not exists: {id}"))]);
        };
        return render(
            json,
            plural,
            singular,
            &[one],
            None,
            true,
            shop.json_broken,
            shop.truncated,
        );
    }
    let dates_allowed = query.get("date") == Some("1");
    for (key, value) in &query.pairs {
        let Some(field) = key
            .strip_prefix("filter[")
            .and_then(|k| k.strip_suffix(']'))
        else {
            continue;
        };
        if (field == "date_add" || field == "date_upd") && !dates_allowed {
            return errors(
                400,
                json,
                &[(
                    32,
                    format!(
                        "This filter does not exist. Did you mean: \"{field}\"? Add date=1 to filter on dates"
                    ),
                )],
            );
        }
        list.retain(|e| e.get(field).is_some_and(|v| matches(value, &v)));
    }
    if let Some(sort) = query.get("sort") {
        let keys: Vec<(String, bool)> = sort
            .trim_matches(['[', ']'])
            .split(',')
            .filter_map(|k| {
                let (field, order) = k.rsplit_once('_')?;
                Some((field.to_string(), order.eq_ignore_ascii_case("DESC")))
            })
            .collect();
        list.sort_by(|a, b| {
            for (field, descending) in &keys {
                let ordering = compare(
                    &a.get(field).unwrap_or_default(),
                    &b.get(field).unwrap_or_default(),
                );
                let ordering = if *descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if let Some(limit) = query.get("limit") {
        let (offset, count) = match limit.split_once(',') {
            Some((o, c)) => (o.trim().parse().unwrap_or(0), c.trim().parse().unwrap_or(0)),
            None => (0, limit.trim().parse().unwrap_or(0)),
        };
        list = list.into_iter().skip(offset).take(count).collect();
    }
    let display = query.get("display");
    let fields: Option<Vec<String>> = match display {
        Some("full") => None,
        Some(list) => Some(
            list.trim_matches(['[', ']'])
                .split(',')
                .map(|f| f.trim().to_string())
                .collect(),
        ),
        None => Some(vec!["id".into()]),
    };
    render(
        json,
        plural,
        singular,
        &list,
        fields.as_deref(),
        display.is_some(),
        shop.json_broken,
        shop.truncated,
    )
}

/// PrestaShop's filter values: `[a|b]` one of, `[a,b]` between, `[a]` equal (case aside).
fn matches(filter: &str, value: &str) -> bool {
    let inner = filter.trim().trim_start_matches('[').trim_end_matches(']');
    if let Some((low, high)) = inner.split_once(',') {
        return compare(value, low).is_ge() && compare(value, high).is_le();
    }
    inner.split('|').any(|v| v.eq_ignore_ascii_case(value))
}

fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.total_cmp(&b),
        _ => a.cmp(b),
    }
}

fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

#[allow(clippy::too_many_arguments)]
fn render(
    json: bool,
    plural: &str,
    singular: &str,
    list: &[Entity],
    fields: Option<&[String]>,
    as_list: bool,
    json_broken: bool,
    truncated: bool,
) -> Response {
    let shown = |name: &str| fields.is_none_or(|f| f.iter().any(|x| x == name));
    let mut body = if json {
        let entity_json = |e: &Entity| {
            let mut object = serde_json::Map::new();
            for (name, value) in e.fields.iter().filter(|(n, _)| shown(n)) {
                let value = match value {
                    Value::Id(id) => serde_json::json!(id),
                    Value::Text(text) => serde_json::json!(text),
                    Value::Languages(values) if values.len() == 1 => serde_json::json!(values[0].1),
                    Value::Languages(values) => serde_json::json!(values
                        .iter()
                        .map(|(id, text)| serde_json::json!({"id": id.to_string(), "value": text}))
                        .collect::<Vec<_>>()),
                };
                object.insert(name.to_string(), value);
            }
            if fields.is_none() {
                let mut associations = serde_json::Map::new();
                for (name, _, rows) in e.associations.iter().filter(|(_, _, r)| !r.is_empty()) {
                    let rows: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|row| {
                            row.iter()
                                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                                .collect()
                        })
                        .collect();
                    associations.insert(name.to_string(), serde_json::Value::Array(rows));
                }
                if !associations.is_empty() {
                    object.insert(
                        "associations".into(),
                        serde_json::Value::Object(associations),
                    );
                }
            }
            serde_json::Value::Object(object)
        };
        if as_list && list.is_empty() {
            "[]".to_string()
        } else if as_list {
            serde_json::json!({ plural: list.iter().map(entity_json).collect::<Vec<_>>() })
                .to_string()
        } else {
            serde_json::json!({ singular: entity_json(&list[0]) }).to_string()
        }
    } else {
        let entity_xml = |e: &Entity| {
            let mut xml = format!("<{singular}>\n");
            for (name, value) in e.fields.iter().filter(|(n, _)| shown(n)) {
                match value {
                    Value::Id(id) => {
                        xml += &format!("<{name}>{}</{name}>\n", cdata(&id.to_string()))
                    }
                    Value::Text(text) => xml += &format!("<{name}>{}</{name}>\n", cdata(text)),
                    Value::Languages(values) => {
                        xml += &format!("<{name}>");
                        for (id, text) in values {
                            xml += &format!(
                                "<language id=\"{id}\" xlink:href=\"http://127.0.0.1/api/languages/{id}\">{}</language>",
                                cdata(text)
                            );
                        }
                        xml += &format!("</{name}>\n");
                    }
                }
            }
            if fields.is_none() {
                xml += "<associations>\n";
                for (name, row_name, rows) in &e.associations {
                    xml += &format!("<{name} nodeType=\"{row_name}\" virtualEntity=\"true\">\n");
                    for row in rows {
                        xml += &format!("<{row_name}>");
                        for (k, v) in row {
                            xml += &format!("<{k}>{}</{k}>", cdata(v));
                        }
                        xml += &format!("</{row_name}>\n");
                    }
                    xml += &format!("</{name}>\n");
                }
                xml += "</associations>\n";
            }
            xml + &format!("</{singular}>\n")
        };
        let inner: String = if as_list {
            format!(
                "<{plural}>\n{}</{plural}>\n",
                list.iter().map(entity_xml).collect::<String>()
            )
        } else {
            entity_xml(&list[0])
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n{inner}</prestashop>\n"
        )
    };
    if json && json_broken {
        body = format!(
            "<br />\n<b>Notice</b>:  Undefined index: id_order in <b>/var/www/classes/webservice/WebserviceOutputJSON.php</b> on line <b>124</b><br />\n{body}"
        );
    }
    if truncated {
        body.truncate(body.len() / 2);
    }
    respond(200, json, body)
}

/// `GET /api/`: the shop's name and what the key may do with each resource (XML only: the
/// Webservice's JSON root is not a usable list).
fn root(shop: &Shop) -> Response {
    // Only the resources the key has a permission for are listed.
    let resources: String = RESOURCES
        .iter()
        .filter(|(path, _, _)| !shop.denied.contains(*path))
        .map(|(path, _, _)| {
            format!("<{path} xlink:href=\"http://127.0.0.1/api/{path}\" get=\"true\" put=\"false\" post=\"false\" patch=\"false\" delete=\"false\" head=\"true\">\n<description xlink:href=\"http://127.0.0.1/api/{path}\" get=\"true\">The {path}</description>\n</{path}>\n")
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n<api shopName=\"{}\">\n{resources}</api>\n</prestashop>\n",
        shop.shop_name
    );
    respond(200, false, body)
}
