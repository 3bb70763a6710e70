//! PrestaShop, through its Webservice: `{store}/api/{resource}`, the key as the HTTP Basic
//! user with an empty password (<https://devdocs.prestashop-project.org/9/webservice/>).
//!
//! A customer lookup costs four requests once the shop's settings are cached (the customer,
//! their orders, then together the orders' carriers and credit slips); the settings
//! themselves (the `PS_OS_*` states, the time zone, the order states, carriers and
//! currencies) are read once per
//! [`SHOP_SETTINGS_TTL`]. Order states are resolved through the shop's own `PS_OS_*`
//! configuration, never through PrestaShop's default numbering, which shops renumber.
//!
//! Dates: PrestaShop stores and sends its shop's local time without a zone; they are read in
//! the shop's `PS_TIMEZONE` (UTC when the key may not read the configuration), and the
//! `date_upd` filter of [`ShopPlatform::changed_since`] is written in that zone too.
//!
//! PrestaShop has no webhooks: shops are polled by `date_upd`.

mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::connector::{ConnectorSecrets, PrestaShopSettings};
use super::http::{Answer, PlatformHttp};
use super::platform::{
    ConnectionReport, Platform, ShopError, ShopFuture, ShopPlatform, ShopWarning, WebhookDelivery,
    WebhookEvent, WebhookRefusal,
};
use super::{Customer, CustomerRecord, Money, Order, OrderItem, OrderStatus};
use wire::{Format, Record};

/// How long the shop's settings (states, carriers, currencies, time zone) are trusted: they
/// change when a merchant edits them, rarely.
pub const SHOP_SETTINGS_TTL: Duration = Duration::from_secs(5 * 60);
/// Entities asked for per request (`limit=offset,count`).
pub const PAGE_SIZE: usize = 50;
/// Ids per `filter[id]=[1|2|...]`, so the URL stays short.
const IDS_PER_FILTER: usize = 50;
/// A list longer than this is not followed further (a server ignoring `limit`).
const MAX_PAGES: usize = 200;

/// The configuration keys naming the states an order goes through, with what each means.
/// The first key naming a state wins (PS_OS_OUTOFSTOCK and PS_OS_OUTOFSTOCK_PAID are often
/// the same state).
const STATE_KEYS: [(&str, OrderStatus); 14] = [
    ("PS_OS_DELIVERED", OrderStatus::Delivered),
    ("PS_OS_SHIPPING", OrderStatus::Shipped),
    ("PS_OS_REFUND", OrderStatus::Refunded),
    ("PS_OS_CANCELED", OrderStatus::Cancelled),
    ("PS_OS_ERROR", OrderStatus::Cancelled),
    ("PS_OS_PREPARATION", OrderStatus::Processing),
    ("PS_OS_OUTOFSTOCK_PAID", OrderStatus::Processing),
    ("PS_OS_OUTOFSTOCK", OrderStatus::Processing),
    ("PS_OS_PAYMENT", OrderStatus::Paid),
    ("PS_OS_WS_PAYMENT", OrderStatus::Paid),
    ("PS_OS_CHEQUE", OrderStatus::Pending),
    ("PS_OS_BANKWIRE", OrderStatus::Pending),
    ("PS_OS_COD_VALIDATION", OrderStatus::Pending),
    ("PS_OS_OUTOFSTOCK_UNPAID", OrderStatus::Pending),
];
const TIMEZONE_KEY: &str = "PS_TIMEZONE";
const LANGUAGE_KEY: &str = "PS_LANG_DEFAULT";
const CURRENCY_KEY: &str = "PS_CURRENCY_DEFAULT";

/// Resources a lookup needs; without them nothing is found.
const REQUIRED_RESOURCES: [&str; 2] = ["customers", "orders"];
/// Resources that complete an order; without them it lacks its status name, carrier,
/// tracking, currency or partial refunds.
const OPTIONAL_RESOURCES: [&str; 6] = [
    "configurations",
    "order_slip",
    "order_states",
    "order_carriers",
    "carriers",
    "currencies",
];

/// A Webservice resource: its path, and the names its lists and entities have in answers.
#[derive(Debug, Clone, Copy)]
struct Resource {
    path: &'static str,
    plural: &'static str,
    singular: &'static str,
}

const fn resource(path: &'static str, plural: &'static str, singular: &'static str) -> Resource {
    Resource {
        path,
        plural,
        singular,
    }
}

const CUSTOMERS: Resource = resource("customers", "customers", "customer");
const ORDERS: Resource = resource("orders", "orders", "order");
const ORDER_CARRIERS: Resource = resource("order_carriers", "order_carriers", "order_carrier");
const ORDER_SLIPS: Resource = resource("order_slip", "order_slips", "order_slip");
const ORDER_STATES: Resource = resource("order_states", "order_states", "order_state");
const CARRIERS: Resource = resource("carriers", "carriers", "carrier");
const CURRENCIES: Resource = resource("currencies", "currencies", "currency");
const CONFIGURATIONS: Resource = resource("configurations", "configurations", "configuration");

pub struct PrestaShop {
    http: PlatformHttp,
    /// `{store}/api`.
    api: reqwest::Url,
    key: SecretString,
    /// Set once the shop sent unreadable JSON: XML is asked for from then on.
    json_broken: AtomicBool,
    settings: Mutex<Option<(Instant, Arc<ShopSettings>)>>,
}

/// What the shop's configuration says about its orders.
#[derive(Debug)]
struct ShopSettings {
    zone: TimeZone,
    default_currency: Option<String>,
    /// By state id: what `PS_OS_*` says, else guessed from the state's flags.
    states: HashMap<u64, State>,
    carriers: HashMap<u64, Carrier>,
    /// ISO codes by currency id.
    currencies: HashMap<u64, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    status: OrderStatus,
    name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Carrier {
    name: Option<String>,
    /// The tracking page, `@` standing for the number.
    url: Option<String>,
}

/// A carrier's parcel for an order (`order_carriers`).
#[derive(Debug, Clone)]
struct Shipment {
    id: u64,
    carrier: Option<u64>,
    tracking_number: Option<String>,
}

impl PrestaShop {
    pub fn new(
        settings: &PrestaShopSettings,
        secrets: &ConnectorSecrets,
        http: PlatformHttp,
    ) -> Result<Self, ShopError> {
        let base = http.base_url(&settings.store_url)?;
        let key = secrets
            .api_key
            .clone()
            .filter(|k| !k.expose_secret().trim().is_empty())
            .ok_or_else(|| ShopError::Unauthorized {
                platform: Platform::PrestaShop,
                detail: "no Webservice key is configured".into(),
            })?;
        let mut api = base;
        let path = format!("{}/api", api.path().trim_end_matches('/'));
        api.set_path(&path);
        Ok(PrestaShop {
            http,
            api,
            key,
            json_broken: AtomicBool::new(false),
            settings: Mutex::new(None),
        })
    }

    fn url(&self, resource: &str) -> reqwest::Url {
        let mut url = self.api.clone();
        let path = format!("{}/{resource}", url.path());
        url.set_path(&path);
        url
    }

    async fn get(
        &self,
        resource: &str,
        query: &[(&str, String)],
        format: Format,
    ) -> Result<Answer, ShopError> {
        let mut request = self
            .http
            .client()
            .get(self.url(resource))
            .basic_auth(self.key.expose_secret(), Some(""))
            .query(query);
        if format == Format::Json {
            request = request.query(&[("output_format", "JSON")]);
        }
        let answer = self.http.send(request).await?;
        if answer.is_success() {
            Ok(answer)
        } else {
            Err(self.refusal(resource, &answer))
        }
    }

    /// One page of a list, in JSON unless the shop's JSON proved broken; an unreadable JSON
    /// answer is asked again in XML once.
    async fn page(
        &self,
        resource: Resource,
        query: &[(&str, String)],
    ) -> Result<Vec<Record>, ShopError> {
        let asked = if self.json_broken.load(Ordering::Relaxed) {
            Format::Xml
        } else {
            Format::Json
        };
        let answer = self.get(resource.path, query, asked).await?;
        let format = Format::of(answer.header("content-type"), &answer.body);
        match wire::records(format, &answer.body, resource.plural, resource.singular) {
            Ok(records) => Ok(records),
            Err(detail) if format == Format::Json => {
                tracing::warn!(platform = "prestashop", resource = resource.path, %detail, "unreadable JSON: asking for XML");
                let answer = self.get(resource.path, query, Format::Xml).await?;
                let format = Format::of(answer.header("content-type"), &answer.body);
                let records =
                    wire::records(format, &answer.body, resource.plural, resource.singular)
                        .map_err(|detail| self.malformed(resource.path, detail))?;
                self.json_broken.store(true, Ordering::Relaxed);
                Ok(records)
            }
            Err(detail) => Err(self.malformed(resource.path, detail)),
        }
    }

    /// Every entity of a list, page after page.
    async fn list(
        &self,
        resource: Resource,
        query: &[(&str, String)],
    ) -> Result<Vec<Record>, ShopError> {
        let mut all = Vec::new();
        for page in 0..MAX_PAGES {
            let mut paged = query.to_vec();
            paged.push(("limit", format!("{},{PAGE_SIZE}", page * PAGE_SIZE)));
            let records = self.page(resource, &paged).await?;
            let count = records.len();
            all.extend(records);
            // Fewer than asked is the last page; more means `limit` was ignored and the
            // whole list came at once.
            if count != PAGE_SIZE {
                break;
            }
        }
        Ok(all)
    }

    /// Entities by id, a few dozen ids per request.
    async fn by_ids(
        &self,
        resource: Resource,
        field: &str,
        ids: &[u64],
        display: &str,
    ) -> Result<Vec<Record>, ShopError> {
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let filter = format!("filter[{field}]");
        let mut all = Vec::new();
        for chunk in unique.chunks(IDS_PER_FILTER) {
            let query = [
                (filter.as_str(), one_of(chunk.iter().map(u64::to_string))),
                ("display", display.to_string()),
            ];
            all.extend(self.list(resource, &query).await?);
        }
        Ok(all)
    }

    fn malformed(&self, resource: &str, detail: String) -> ShopError {
        ShopError::Malformed {
            platform: Platform::PrestaShop,
            detail: self.scrub(format!("{resource}: {detail}")),
        }
    }

    /// A key never shows in a message, even if a shop echoes it.
    fn scrub(&self, text: String) -> String {
        let key = self.key.expose_secret().trim();
        if key.is_empty() {
            text
        } else {
            text.replace(key, "[key]")
        }
    }

    /// A refusal in PrestaShop's words (its error list, with codes from
    /// `classes/webservice/WebserviceRequest.php`).
    fn refusal(&self, resource: &str, answer: &Answer) -> ShopError {
        let errors = wire::errors(&answer.body);
        let detail = if errors.is_empty() {
            answer.excerpt()
        } else {
            errors
                .iter()
                .map(|e| match e.code {
                    Some(code) => format!("{} (code {code})", e.message),
                    None => e.message.clone(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let detail = self.scrub(detail);
        // 26: `Resource of type "x" is not allowed with this authentication key` (sent as
        // 401); 25: the method is not allowed for the resource with this key (405).
        let resource_denied = errors.iter().any(|e| matches!(e.code, Some(25 | 26)));
        let platform = Platform::PrestaShop;
        let scope = if resource.is_empty() { "api" } else { resource }.to_string();
        match answer.status {
            401 if resource_denied => ShopError::MissingScope { platform, scope },
            401 => ShopError::Unauthorized { platform, detail },
            403 | 405 => ShopError::MissingScope { platform, scope },
            status => ShopError::Refused {
                platform,
                status,
                detail,
            },
        }
    }

    async fn settings(&self) -> Result<Arc<ShopSettings>, ShopError> {
        let mut cached = self.settings.lock().await;
        if let Some((at, settings)) = cached.as_ref()
            && at.elapsed() < SHOP_SETTINGS_TTL
        {
            return Ok(settings.clone());
        }
        let settings = Arc::new(self.read_settings().await?);
        *cached = Some((Instant::now(), settings.clone()));
        Ok(settings)
    }

    async fn read_settings(&self) -> Result<ShopSettings, ShopError> {
        let names = STATE_KEYS.iter().map(|(key, _)| *key).chain([
            TIMEZONE_KEY,
            LANGUAGE_KEY,
            CURRENCY_KEY,
        ]);
        let configuration = optional(
            self.list(
                CONFIGURATIONS,
                &[
                    ("display", "[id,name,value,id_shop]".into()),
                    ("filter[name]", one_of(names.map(str::to_string))),
                ],
            )
            .await,
        )?;
        let mut values: HashMap<&str, &str> = HashMap::new();
        for record in &configuration {
            if let (Some(name), Some(value)) = (record.text("name"), record.text("value")) {
                // The shop-wide row first; a multistore's per-shop rows do not override it.
                values.entry(name).or_insert(value);
            }
        }
        let zone = values
            .get(TIMEZONE_KEY)
            .and_then(|name| {
                TimeZone::get(name)
                    .inspect_err(|e| tracing::warn!(platform = "prestashop", zone = name, %e, "unknown shop time zone: UTC"))
                    .ok()
            })
            .unwrap_or(TimeZone::UTC);
        let language = values.get(LANGUAGE_KEY).map(|v| v.to_string());
        let mut by_key: HashMap<u64, OrderStatus> = HashMap::new();
        for (key, status) in STATE_KEYS {
            if let Some(id) = values.get(key).and_then(|v| v.parse::<u64>().ok()) {
                by_key.entry(id).or_insert(status);
            }
        }
        let order_states = optional(self.list(ORDER_STATES, &[("display", "full".into())]).await)?;
        let mut states: HashMap<u64, State> = by_key
            .iter()
            .map(|(id, status)| {
                (
                    *id,
                    State {
                        status: *status,
                        name: None,
                    },
                )
            })
            .collect();
        for record in &order_states {
            let Some(id) = record.id("id") else { continue };
            let status = by_key
                .get(&id)
                .copied()
                .unwrap_or_else(|| status_from_flags(record));
            let name = record
                .text_in("name", language.as_deref())
                .map(str::to_string);
            states.insert(id, State { status, name });
        }
        let carriers = optional(
            self.list(CARRIERS, &[("display", "[id,name,url]".into())])
                .await,
        )?
        .iter()
        .filter_map(|r| {
            // A carrier named "0" is shown under the shop's name: nothing to tell.
            let name = r.text("name").filter(|n| *n != "0").map(str::to_string);
            let url = r.text("url").map(str::to_string);
            Some((r.id("id")?, Carrier { name, url }))
        })
        .collect();
        let currencies: HashMap<u64, String> = optional(
            self.list(CURRENCIES, &[("display", "[id,iso_code]".into())])
                .await,
        )?
        .iter()
        .filter_map(|r| Some((r.id("id")?, r.text("iso_code")?.to_ascii_uppercase())))
        .collect();
        let default_currency = values
            .get(CURRENCY_KEY)
            .and_then(|v| v.parse::<u64>().ok())
            .and_then(|id| currencies.get(&id).cloned());
        Ok(ShopSettings {
            zone,
            default_currency,
            states,
            carriers,
            currencies,
        })
    }

    /// The shipments of these orders, by order id, latest first.
    async fn shipments(&self, order_ids: &[u64]) -> Result<HashMap<u64, Vec<Shipment>>, ShopError> {
        let records = optional(
            self.by_ids(ORDER_CARRIERS, "id_order", order_ids, "full")
                .await,
        )?;
        let mut shipments: HashMap<u64, Vec<Shipment>> = HashMap::new();
        for record in &records {
            let (Some(id), Some(order)) = (record.id("id"), record.id("id_order")) else {
                continue;
            };
            shipments.entry(order).or_default().push(Shipment {
                id,
                carrier: record.id("id_carrier"),
                tracking_number: record.text("tracking_number").map(str::to_string),
            });
        }
        for list in shipments.values_mut() {
            list.sort_by_key(|s| std::cmp::Reverse(s.id));
        }
        Ok(shipments)
    }

    /// The orders among these with a credit slip (`order_slip`): PrestaShop's record of a
    /// refund, whole or partial.
    async fn credited(&self, order_ids: &[u64]) -> Result<HashSet<u64>, ShopError> {
        let slips = optional(
            self.by_ids(ORDER_SLIPS, "id_order", order_ids, "[id,id_order]")
                .await,
        )?;
        Ok(slips.iter().filter_map(|r| r.id("id_order")).collect())
    }

    /// Orders with their tracking and refunds, each with its customer's address.
    async fn complete(
        &self,
        records: &[Record],
        emails: &HashMap<u64, String>,
    ) -> Result<Vec<Order>, ShopError> {
        let settings = self.settings().await?;
        let ids: Vec<u64> = records.iter().filter_map(|r| r.id("id")).collect();
        let (shipments, credited) = tokio::try_join!(self.shipments(&ids), self.credited(&ids))?;
        Ok(records
            .iter()
            .filter_map(|record| {
                let email = emails.get(&record.id("id_customer")?)?;
                let id = record.id("id");
                let shipments = id
                    .and_then(|id| shipments.get(&id))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let credited = id.is_some_and(|id| credited.contains(&id));
                Some(order_of(record, email, &settings, shipments, credited))
            })
            .collect())
    }

    /// The addresses of these customers.
    async fn emails(&self, customer_ids: &[u64]) -> Result<HashMap<u64, String>, ShopError> {
        Ok(self
            .by_ids(CUSTOMERS, "id", customer_ids, "[id,email]")
            .await?
            .iter()
            .filter_map(|r| Some((r.id("id")?, r.text("email")?.to_lowercase())))
            .collect())
    }

    /// Orders (full) with their customers' addresses looked up.
    async fn orders_with_owners(&self, records: Vec<Record>) -> Result<Vec<Order>, ShopError> {
        let customers: Vec<u64> = records.iter().filter_map(|r| r.id("id_customer")).collect();
        let emails = self.emails(&customers).await?;
        self.complete(&records, &emails).await
    }

    async fn find_customer(&self, email: &str) -> Result<CustomerRecord, ShopError> {
        let email = email.trim().to_lowercase();
        if email.is_empty() || !filter_safe(&email) {
            tracing::debug!(
                platform = "prestashop",
                "an address the Webservice filter cannot express: no lookup"
            );
            return Ok(CustomerRecord::default());
        }
        let customers = self
            .list(
                CUSTOMERS,
                &[
                    ("filter[email]", format!("[{email}]")),
                    ("display", "full".into()),
                ],
            )
            .await?;
        let ids: Vec<u64> = customers.iter().filter_map(|r| r.id("id")).collect();
        if ids.is_empty() {
            return Ok(CustomerRecord::default());
        }
        let records = self
            .list(
                ORDERS,
                &[
                    (
                        "filter[id_customer]",
                        one_of(ids.iter().map(u64::to_string)),
                    ),
                    ("display", "full".into()),
                    ("sort", "[id_DESC]".into()),
                ],
            )
            .await?;
        let emails: HashMap<u64, String> = ids.iter().map(|id| (*id, email.clone())).collect();
        let mut orders = self.complete(&records, &emails).await?;
        flag_split_shipments(&mut orders);
        let settings = self.settings().await?;
        // A guest checkout leaves a guest record beside a later account: the account speaks.
        let person = customers
            .iter()
            .find(|r| !r.flag("is_guest"))
            .or(customers.first());
        let customer = person.map(|record| {
            let (orders_count, total_spent) = validated_totals(&records, &settings);
            Customer {
                email: email.clone(),
                first_name: record.text("firstname").map(str::to_string),
                last_name: record.text("lastname").map(str::to_string),
                customer_since: record
                    .text("date_add")
                    .and_then(|d| wire::local_to_ms(d, &settings.zone)),
                orders_count: Some(orders_count),
                total_spent,
                platform_id: record.id("id").map(|id| id.to_string()),
            }
        });
        Ok(CustomerRecord { customer, orders })
    }

    async fn find_order(&self, reference: &str) -> Result<Option<Order>, ShopError> {
        let reference = reference.trim().trim_start_matches('#').trim();
        if reference.is_empty() || !reference.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let by_reference = self
            .list(
                ORDERS,
                &[
                    (
                        "filter[reference]",
                        format!("[{}]", reference.to_ascii_uppercase()),
                    ),
                    ("display", "full".into()),
                    ("sort", "[id_ASC]".into()),
                ],
            )
            .await?;
        if !by_reference.is_empty() {
            return self.first_order(by_reference).await;
        }
        if reference.chars().all(|c| c.is_ascii_digit()) {
            return self.order_by_id(reference).await;
        }
        Ok(None)
    }

    async fn order_by_id(&self, id: &str) -> Result<Option<Order>, ShopError> {
        let Ok(id) = id.trim().parse::<u64>() else {
            return Ok(None);
        };
        let records = self.by_ids(ORDERS, "id", &[id], "full").await?;
        self.first_order(records).await
    }

    /// An order split between carriers is several orders under one reference: the first
    /// one speaks for them, flagged when only some of them left.
    async fn first_order(&self, records: Vec<Record>) -> Result<Option<Order>, ShopError> {
        let mut orders = self.orders_with_owners(records).await?;
        flag_split_shipments(&mut orders);
        Ok(orders.into_iter().next())
    }

    async fn changed(&self, since_ms: i64) -> Result<Vec<Order>, ShopError> {
        let settings = self.settings().await?;
        let from = wire::ms_to_local(since_ms, &settings.zone).ok_or_else(|| {
            self.malformed("orders", format!("checkpoint {since_ms} is not a date"))
        })?;
        // The interval filter is inclusive: orders changed in the checkpoint's second come
        // again, which an update applies harmlessly, rather than being missed.
        let records = self
            .list(
                ORDERS,
                &[
                    ("filter[date_upd]", format!("[{from},9999-12-31 23:59:59]")),
                    ("date", "1".into()),
                    ("display", "full".into()),
                    ("sort", "[date_upd_ASC,id_ASC]".into()),
                ],
            )
            .await?;
        self.orders_with_owners(records).await
    }

    async fn connection(&self) -> Result<ConnectionReport, ShopError> {
        // The root lists what the key may read, in XML (its JSON form is not a list).
        let answer = self.get("", &[], Format::Xml).await?;
        let root = wire::api_root(&answer.body).map_err(|detail| self.malformed("api", detail))?;
        let can_read = |resource: &str| root.readable.iter().any(|r| r == resource);
        if let Some(missing) = REQUIRED_RESOURCES.iter().find(|r| !can_read(r)) {
            return Err(ShopError::MissingScope {
                platform: Platform::PrestaShop,
                scope: missing.to_string(),
            });
        }
        let warnings = OPTIONAL_RESOURCES
            .iter()
            .filter(|r| !can_read(r))
            .map(|r| ShopWarning::MissingScope {
                scope: r.to_string(),
            })
            .collect();
        // Reads the states and carriers now, so a broken configuration shows here first.
        *self.settings.lock().await = None;
        self.settings().await?;
        Ok(ConnectionReport {
            platform: Platform::PrestaShop,
            shop_name: root.shop_name,
            warnings,
        })
    }
}

/// A resource the key may not read leaves its part of an order empty instead of failing
/// the whole lookup.
fn optional(result: Result<Vec<Record>, ShopError>) -> Result<Vec<Record>, ShopError> {
    match result {
        Err(ShopError::MissingScope { scope, .. }) => {
            tracing::warn!(platform = "prestashop", resource = %scope, "the Webservice key may not read this: orders lack it");
            Ok(Vec::new())
        }
        other => other,
    }
}

/// A state the `PS_OS_*` keys do not name (a module's, a merchant's): read from what the
/// state does to the order.
fn status_from_flags(state: &Record) -> OrderStatus {
    if state.flag("shipped") {
        OrderStatus::Shipped
    } else if state.flag("paid") || state.flag("logable") {
        OrderStatus::Paid
    } else {
        OrderStatus::Pending
    }
}

/// Validated orders and what they add up to, as PrestaShop's customer page computes them
/// (`Customer::getStats`: orders with `valid`, `total_paid_real / conversion_rate` in the
/// shop's default currency).
fn validated_totals(orders: &[Record], settings: &ShopSettings) -> (u32, Option<Money>) {
    let valid: Vec<&Record> = orders.iter().filter(|o| o.flag("valid")).collect();
    let total = settings.default_currency.as_deref().and_then(|currency| {
        let sum: f64 = valid
            .iter()
            .map(|o| {
                let paid = number(o.text("total_paid_real"));
                let rate = number(o.text("conversion_rate"));
                if rate > 0.0 { paid / rate } else { paid }
            })
            .sum();
        let exponent = Money::exponent(currency) as usize;
        Money::parse(&format!("{sum:.exponent$}"), currency)
    });
    (valid.len() as u32, total)
}

fn number(text: Option<&str>) -> f64 {
    text.and_then(|t| t.parse::<f64>().ok())
        .filter(|n| n.is_finite())
        .unwrap_or(0.0)
}

/// PrestaShop splits an order whose products leave from different carriers or warehouses
/// into orders sharing one reference: when some of them left and others not yet, each is
/// flagged partly shipped.
fn flag_split_shipments(orders: &mut [Order]) {
    let left = |o: &Order| matches!(o.status, OrderStatus::Shipped | OrderStatus::Delivered);
    let waiting = |o: &Order| {
        matches!(
            o.status,
            OrderStatus::Pending | OrderStatus::Paid | OrderStatus::Processing
        )
    };
    let mut split: HashMap<&str, (bool, bool)> = HashMap::new();
    for order in orders.iter() {
        let entry = split.entry(order.reference.as_str()).or_default();
        entry.0 |= left(order);
        entry.1 |= waiting(order);
    }
    let partly: HashSet<String> = split
        .into_iter()
        .filter(|(_, (some_left, some_waiting))| *some_left && *some_waiting)
        .map(|(reference, _)| reference.to_string())
        .collect();
    for order in orders.iter_mut() {
        order.partially_shipped |= partly.contains(&order.reference);
    }
}

/// `credited`: the order has a credit slip; unless its state says refunded, part of it was.
fn order_of(
    record: &Record,
    email: &str,
    settings: &ShopSettings,
    shipments: &[Shipment],
    credited: bool,
) -> Order {
    let id = record.id("id");
    let reference = record
        .text("reference")
        .map(str::to_string)
        .or(id.map(|id| id.to_string()))
        .unwrap_or_default();
    let state = record
        .id("current_state")
        .and_then(|s| settings.states.get(&s));
    let status = match state {
        Some(state) => state.status,
        // A state the shop no longer lists: PrestaShop's own flag says whether it was paid.
        None if record.flag("valid") => OrderStatus::Paid,
        None => OrderStatus::Pending,
    };
    let raw_status = state
        .and_then(|s| s.name.clone())
        .or_else(|| record.text("current_state").map(|s| format!("state {s}")));
    let currency = record
        .id("id_currency")
        .and_then(|c| settings.currencies.get(&c))
        .or(settings.default_currency.as_ref());
    let total = currency.and_then(|c| Money::parse(record.text("total_paid")?, c));
    let items = record
        .rows("order_rows")
        .iter()
        .filter_map(|row| {
            Some(OrderItem {
                name: row.text("product_name")?.to_string(),
                quantity: row
                    .text("product_quantity")
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1),
            })
        })
        .collect();
    let shipment = shipments
        .iter()
        .find(|s| s.tracking_number.is_some())
        .or(shipments.first());
    // Shops from before order_carriers kept the number on the order.
    let tracking_number = shipment
        .and_then(|s| s.tracking_number.clone())
        .or_else(|| record.text("shipping_number").map(str::to_string));
    let carrier = shipment
        .and_then(|s| s.carrier)
        .or(record.id("id_carrier"))
        .and_then(|c| settings.carriers.get(&c));
    let tracking_link = match (carrier.and_then(|c| c.url.as_deref()), &tracking_number) {
        (Some(url), Some(number)) if url.contains('@') => Some(url.replace('@', number)),
        _ => None,
    };
    let date = |field: &str| {
        record
            .text(field)
            .and_then(|d| wire::local_to_ms(d, &settings.zone))
    };
    Order {
        raw_status,
        ordered_at: date("date_add"),
        updated_at: date("date_upd"),
        total,
        items,
        carrier: carrier.and_then(|c| c.name.clone()),
        tracking_number,
        tracking_link,
        platform_id: id.map(|id| id.to_string()),
        partially_refunded: credited && status != OrderStatus::Refunded,
        ..Order::new(&reference, email, status)
    }
}

/// `[a|b|c]`: the Webservice's "one of" filter.
fn one_of(values: impl Iterator<Item = String>) -> String {
    format!("[{}]", values.collect::<Vec<_>>().join("|"))
}

/// Characters that would change a filter's meaning (`[a|b]` is "a or b", `[a,b]` an interval).
fn filter_safe(value: &str) -> bool {
    !value.contains(['[', ']', '|', ','])
}

impl ShopPlatform for PrestaShop {
    fn platform(&self) -> Platform {
        Platform::PrestaShop
    }
    fn customer<'a>(&'a self, email: &'a str) -> ShopFuture<'a, CustomerRecord> {
        Box::pin(self.find_customer(email))
    }
    fn order<'a>(&'a self, reference: &'a str) -> ShopFuture<'a, Option<Order>> {
        Box::pin(self.find_order(reference))
    }
    fn order_by_platform_id<'a>(&'a self, id: &'a str) -> ShopFuture<'a, Option<Order>> {
        Box::pin(self.order_by_id(id))
    }
    fn check(&self) -> ShopFuture<'_, ConnectionReport> {
        Box::pin(self.connection())
    }
    fn changed_since(&self, since_ms: i64) -> ShopFuture<'_, Vec<Order>> {
        Box::pin(self.changed(since_ms))
    }
    /// PrestaShop's core sends no webhooks; a delivery claiming to come from it is refused.
    fn webhook(&self, _delivery: &WebhookDelivery) -> Result<WebhookEvent, WebhookRefusal> {
        Err(WebhookRefusal::NoSecret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str, plural: &str, singular: &str) -> Vec<Record> {
        wire::records(Format::Json, body.as_bytes(), plural, singular).unwrap()
    }

    fn settings() -> ShopSettings {
        ShopSettings {
            zone: TimeZone::get("Europe/Paris").unwrap(),
            default_currency: Some("EUR".into()),
            states: HashMap::from([
                (
                    14,
                    State {
                        status: OrderStatus::Shipped,
                        name: Some("Expédiée".into()),
                    },
                ),
                (
                    4,
                    State {
                        status: OrderStatus::Paid,
                        name: Some("Colis préparé".into()),
                    },
                ),
            ]),
            carriers: HashMap::from([(
                3,
                Carrier {
                    name: Some("Colissimo".into()),
                    url: Some("https://www.laposte.fr/outils/suivre-vos-envois?code=@".into()),
                },
            )]),
            currencies: HashMap::from([(1, "EUR".into()), (2, "CHF".into())]),
        }
    }

    #[test]
    fn an_order_with_its_state_carrier_and_tracking_link() {
        let record = &json(
            r#"{"orders":[{"id":1042,"reference":"XKBKNABJK","id_customer":"1","current_state":"14",
            "id_currency":"1","id_carrier":"3","total_paid":"49.900000","date_add":"2026-03-10 09:00:00",
            "date_upd":"2026-03-12 14:05:00","associations":{"order_rows":[{"product_name":"Mug bleu","product_quantity":"2"}]}}]}"#,
            "orders",
            "order",
        )[0];
        let shipments = [Shipment {
            id: 7,
            carrier: Some(3),
            tracking_number: Some("6A12345678901".into()),
        }];
        let order = order_of(
            record,
            "marie@client.example",
            &settings(),
            &shipments,
            false,
        );
        assert_eq!(order.reference, "XKBKNABJK");
        assert_eq!(order.platform_id.as_deref(), Some("1042"));
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.raw_status.as_deref(), Some("Expédiée"));
        assert_eq!(order.total, Money::parse("49.90", "EUR"));
        assert_eq!(
            order.items,
            [OrderItem {
                name: "Mug bleu".into(),
                quantity: 2
            }]
        );
        assert_eq!(order.carrier.as_deref(), Some("Colissimo"));
        assert_eq!(
            order.tracking_url().as_deref(),
            Some("https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901")
        );
        assert_eq!(order.updated_at, Some(1_773_320_700_000));
    }

    #[test]
    fn a_state_is_what_the_shop_says_not_the_default_numbering() {
        // State 4 is "Shipped" in a fresh PrestaShop; this shop renumbered it.
        let record = &json(
            r#"{"orders":[{"id":"1","current_state":"4","valid":"1"}]}"#,
            "orders",
            "order",
        )[0];
        let order = order_of(record, "a@b.example", &settings(), &[], true);
        assert_eq!(order.status, OrderStatus::Paid);
        assert!(
            order.partially_refunded,
            "a credit slip on an order not refunded"
        );
        assert_eq!(order.reference, "1", "no reference: the id stands in");
        assert_eq!(order.tracking_number, None);
        let unknown = &json(
            r#"{"order":{"id":"2","current_state":"99","valid":"0"}}"#,
            "orders",
            "order",
        )[0];
        let order = order_of(unknown, "a@b.example", &settings(), &[], false);
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.raw_status.as_deref(), Some("state 99"));
    }

    #[test]
    fn states_outside_the_configuration_are_read_from_their_flags() {
        let states = json(
            r#"{"order_states":[{"id":1,"shipped":"1","paid":"1"},{"id":2,"logable":"1"},{"id":3,"paid":"0"}]}"#,
            "order_states",
            "order_state",
        );
        let statuses: Vec<OrderStatus> = states.iter().map(status_from_flags).collect();
        assert_eq!(
            statuses,
            [
                OrderStatus::Shipped,
                OrderStatus::Paid,
                OrderStatus::Pending
            ]
        );
    }

    #[test]
    fn a_split_order_partly_gone_is_flagged() {
        let mut orders = vec![
            Order::new("XKBKNABJK", "m@c.example", OrderStatus::Shipped),
            Order::new("XKBKNABJK", "m@c.example", OrderStatus::Processing),
            Order::new("QWERTYUIO", "m@c.example", OrderStatus::Shipped),
            Order::new("ZXCVBNMAS", "m@c.example", OrderStatus::Delivered),
            Order::new("ZXCVBNMAS", "m@c.example", OrderStatus::Cancelled),
        ];
        flag_split_shipments(&mut orders);
        let flags: Vec<bool> = orders.iter().map(|o| o.partially_shipped).collect();
        assert_eq!(flags, [true, true, false, false, false]);
    }

    #[test]
    fn validated_orders_as_prestashop_counts_them() {
        let orders = json(
            r#"{"orders":[{"id":1,"valid":"1","total_paid_real":"49.90","conversion_rate":"1.000000"},
            {"id":2,"valid":1,"total_paid_real":"30.00","conversion_rate":"1.07"},
            {"id":3,"valid":"0","total_paid_real":"15.00","conversion_rate":"1"}]}"#,
            "orders",
            "order",
        );
        let (count, total) = validated_totals(&orders, &settings());
        assert_eq!(count, 2);
        assert_eq!(total, Money::parse("77.94", "EUR"));
    }

    #[test]
    fn filter_values_that_would_change_the_filter_are_not_sent() {
        assert!(filter_safe("marie+shop@client.example"));
        assert!(!filter_safe("a|b@client.example"));
        assert!(!filter_safe("a]@client.example"));
        assert_eq!(one_of(["1", "2"].map(String::from).into_iter()), "[1|2]");
    }
}
