//! What the PrestaShop Webservice sends, read the same way in its two output formats.
//!
//! JSON (`output_format=JSON`) is asked for first; XML (the Webservice's native format, values
//! in CDATA) is read whenever a shop sends it, and asked for when a shop's JSON is broken.
//! Format reference: <https://devdocs.prestashop-project.org/9/webservice/cheat-sheet> and the
//! Webservice's JSON writer (`classes/webservice/WebserviceOutputJSON.php`): lists come as
//! `{"orders":[{...}]}`, an empty list as `[]` or `{"orders":[]}`, one entity as
//! `{"order":{...}}`, values as strings or numbers, a multilingual value as a plain string
//! (one language) or `[{"id":"1","value":"..."}]`, associations under `associations`, and
//! errors as `{"errors":[{"code":20,"message":"..."}]}`.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;

/// Which format an answer is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Xml,
}

impl Format {
    /// By its content type, else by its first character: a shop behind a proxy may send
    /// either without saying. JSON preceded by a PHP notice stays JSON (broken, asked again
    /// in XML).
    pub(super) fn of(content_type: Option<&str>, body: &[u8]) -> Format {
        match content_type {
            Some(c) if c.contains("json") => return Format::Json,
            Some(c) if c.contains("xml") => return Format::Xml,
            _ => {}
        }
        let text = String::from_utf8_lossy(body);
        if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<')
        {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

/// One value of an entity.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Text(String),
    /// A multilingual value: (language id, text).
    Languages(Vec<(String, String)>),
}

/// One entity (an order, a customer, an order row) as the Webservice gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Record {
    fields: HashMap<String, Field>,
    associations: HashMap<String, Vec<Record>>,
}

impl Record {
    /// A value, trimmed, `None` when empty; a multilingual value gives its first language.
    pub(super) fn text(&self, name: &str) -> Option<&str> {
        let text = match self.fields.get(name)? {
            Field::Text(text) => text.as_str(),
            Field::Languages(values) => values.first().map(|(_, t)| t.as_str())?,
        };
        Some(text.trim()).filter(|t| !t.is_empty())
    }

    /// A multilingual value in this language, else its first one.
    pub(super) fn text_in(&self, name: &str, language: Option<&str>) -> Option<&str> {
        if let (Some(Field::Languages(values)), Some(language)) = (self.fields.get(name), language)
            && let Some((_, text)) = values.iter().find(|(id, _)| id == language)
            && !text.trim().is_empty()
        {
            return Some(text.trim());
        }
        self.text(name)
    }

    /// An id: numbers arrive as numbers or as strings; `0` means none in PrestaShop.
    pub(super) fn id(&self, name: &str) -> Option<u64> {
        self.text(name)?.parse().ok().filter(|id| *id != 0)
    }

    /// A flag (`"1"`, `1`, `true`).
    pub(super) fn flag(&self, name: &str) -> bool {
        matches!(self.text(name), Some("1" | "true"))
    }

    pub(super) fn rows(&self, association: &str) -> &[Record] {
        self.associations
            .get(association)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// A list answer (`plural`, e.g. `orders`), or one entity (`singular`), as records.
pub(super) fn records(
    format: Format,
    body: &[u8],
    plural: &str,
    singular: &str,
) -> Result<Vec<Record>, String> {
    match format {
        Format::Json => json_records(body, plural, singular),
        Format::Xml => xml_records(body, plural, singular),
    }
}

fn json_records(body: &[u8], plural: &str, singular: &str) -> Result<Vec<Record>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("JSON: {e}"))?;
    match value {
        // PrestaShop's empty list, whatever was asked for.
        Value::Array(items) if items.is_empty() => Ok(Vec::new()),
        Value::Object(mut object) => {
            if let Some(list) = object.remove(plural) {
                return match list {
                    Value::Array(items) => items.iter().map(json_record).collect(),
                    Value::Object(map) if map.is_empty() => Ok(Vec::new()),
                    other => Err(format!("`{plural}` is {}, not a list", kind(&other))),
                };
            }
            if let Some(one) = object.remove(singular) {
                return Ok(vec![json_record(&one)?]);
            }
            if let Some(errors) = object.get("errors") {
                return Err(format!("errors in a success: {errors}"));
            }
            if object.is_empty() {
                return Ok(Vec::new());
            }
            Err(format!("no `{plural}` in the answer"))
        }
        other => Err(format!("the answer is {}, not an object", kind(&other))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn json_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(if *flag { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

fn json_record(value: &Value) -> Result<Record, String> {
    let Value::Object(object) = value else {
        return Err(format!("an entity is {}, not an object", kind(value)));
    };
    let mut record = Record::default();
    for (name, value) in object {
        if name == "associations" {
            let Value::Object(associations) = value else {
                continue;
            };
            for (association, rows) in associations {
                let rows = match rows {
                    Value::Array(rows) => rows.iter().map(json_record).collect::<Result<_, _>>()?,
                    Value::Object(_) => vec![json_record(rows)?],
                    _ => continue,
                };
                record.associations.insert(association.clone(), rows);
            }
            continue;
        }
        let field = match value {
            Value::Array(values) if !values.is_empty() => Field::Languages(
                values
                    .iter()
                    .filter_map(|v| {
                        Some((json_scalar(v.get("id")?)?, json_scalar(v.get("value")?)?))
                    })
                    .collect(),
            ),
            other => match json_scalar(other) {
                Some(text) => Field::Text(text),
                None => continue,
            },
        };
        record.fields.insert(name.clone(), field);
    }
    Ok(record)
}

fn xml_document(body: &[u8]) -> Result<roxmltree::Document<'_>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("XML: {e}"))?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    roxmltree::Document::parse(text).map_err(|e| format!("XML: {e}"))
}

fn xml_text(node: roxmltree::Node) -> String {
    node.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

fn xml_records(body: &[u8], plural: &str, singular: &str) -> Result<Vec<Record>, String> {
    let document = xml_document(body)?;
    let root = document.root_element();
    if root.tag_name().name() != "prestashop" {
        return Err(format!("XML root <{}>", root.tag_name().name()));
    }
    for child in root.children().filter(|c| c.is_element()) {
        let name = child.tag_name().name();
        if name == plural {
            return Ok(child
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == singular)
                .map(xml_record)
                .collect());
        }
        if name == singular {
            return Ok(vec![xml_record(child)]);
        }
    }
    Err(format!("no <{plural}> in the answer"))
}

fn xml_record(node: roxmltree::Node) -> Record {
    let mut record = Record::default();
    for child in node.children().filter(|c| c.is_element()) {
        let name = child.tag_name().name();
        if name == "associations" {
            for association in child.children().filter(|c| c.is_element()) {
                let rows = association
                    .children()
                    .filter(|c| c.is_element())
                    .map(xml_record)
                    .collect();
                record
                    .associations
                    .insert(association.tag_name().name().to_string(), rows);
            }
            continue;
        }
        let languages: Vec<(String, String)> = child
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "language")
            .map(|l| {
                (
                    l.attribute("id").unwrap_or_default().to_string(),
                    xml_text(l),
                )
            })
            .collect();
        let field = if languages.is_empty() {
            Field::Text(xml_text(child))
        } else {
            Field::Languages(languages)
        };
        record.fields.insert(name.to_string(), field);
    }
    record
}

/// One error of the Webservice's error list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WebserviceError {
    pub code: Option<u32>,
    pub message: String,
}

/// The error list of a refusal, in either format; empty when the body has none (a proxy's
/// page, a bare `401 Unauthorized`).
pub(super) fn errors(body: &[u8]) -> Vec<WebserviceError> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return value
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| {
                        Some(WebserviceError {
                            code: e.get("code").and_then(json_scalar)?.trim().parse().ok(),
                            message: e.get("message").and_then(json_scalar)?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    let Ok(document) = xml_document(body) else {
        return Vec::new();
    };
    document
        .descendants()
        .filter(|n| n.has_tag_name("error"))
        .map(|error| {
            let part = |name: &str| {
                error
                    .children()
                    .find(|c| c.has_tag_name(name))
                    .map(|c| xml_text(c).trim().to_string())
            };
            WebserviceError {
                code: part("code").and_then(|c| c.parse().ok()),
                message: part("message").unwrap_or_default(),
            }
        })
        .collect()
}

/// The Webservice's root (`GET /api/`, XML): the shop's name and the resources the key may
/// read (`<api shopName="..."><customers get="true" .../>...</api>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApiRoot {
    pub shop_name: Option<String>,
    pub readable: Vec<String>,
}

pub(super) fn api_root(body: &[u8]) -> Result<ApiRoot, String> {
    let document = xml_document(body)?;
    let api = document
        .descendants()
        .find(|n| n.has_tag_name("api"))
        .ok_or("no <api> in the answer")?;
    Ok(ApiRoot {
        shop_name: api
            .attribute("shopName")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        readable: api
            .children()
            .filter(|c| c.is_element() && c.attribute("get") != Some("false"))
            .map(|c| c.tag_name().name().to_string())
            .collect(),
    })
}

/// PrestaShop writes dates in the shop's time zone (`PS_TIMEZONE`) without saying so:
/// `2026-03-12 14:05:00`. The zero date means none. A time a clock change skips or repeats is
/// read as jiff's "compatible" choice (the later offset for a gap, the earlier for a fold).
pub(super) fn local_to_ms(text: &str, zone: &TimeZone) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("0000-00-00") {
        return None;
    }
    let civil = DateTime::strptime("%Y-%m-%d %H:%M:%S", text)
        .or_else(|_| DateTime::strptime("%Y-%m-%d", text))
        .ok()?;
    let zoned = zone.to_ambiguous_zoned(civil).compatible().ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// The inverse, for a date filter.
pub(super) fn ms_to_local(ms: i64, zone: &TimeZone) -> Option<String> {
    let at = Timestamp::from_millisecond(ms).ok()?;
    Some(
        at.to_zoned(zone.clone())
            .datetime()
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_empty_list_forms_and_numbers_as_strings() {
        for empty in ["[]", r#"{"orders":[]}"#, "{}"] {
            assert_eq!(
                records(Format::Json, empty.as_bytes(), "orders", "order").unwrap(),
                vec![],
                "{empty}"
            );
        }
        let body = br#"{"orders":[{"id":5,"id_customer":"2","valid":"1","total_paid":"49.900000",
            "associations":{"order_rows":[{"id":"9","product_name":"Mug bleu","product_quantity":2}]}}]}"#;
        let orders = records(Format::Json, body, "orders", "order").unwrap();
        assert_eq!(orders[0].id("id"), Some(5));
        assert_eq!(orders[0].id("id_customer"), Some(2));
        assert!(orders[0].flag("valid"));
        assert_eq!(
            orders[0].rows("order_rows")[0].text("product_name"),
            Some("Mug bleu")
        );
        assert_eq!(
            orders[0].rows("order_rows")[0].text("product_quantity"),
            Some("2")
        );
        let one = records(Format::Json, br#"{"order":{"id":"7"}}"#, "orders", "order").unwrap();
        assert_eq!(one[0].id("id"), Some(7));
    }

    #[test]
    fn unreadable_json_is_an_error_not_a_panic() {
        for body in [
            &b"<br />\n<b>Notice</b>: Undefined index"[..],
            b"{\"orders\":\"none\"}",
            b"{\"orders\":[1,2]}",
            b"42",
            b"{\"products\":[]}",
            b"",
        ] {
            assert!(records(Format::Json, body, "orders", "order").is_err());
        }
    }

    #[test]
    fn xml_with_cdata_and_languages() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">
<order_states>
  <order_state id="4" xlink:href="https://shop.example/api/order_states/4">
    <id><![CDATA[4]]></id>
    <shipped><![CDATA[1]]></shipped>
    <name>
      <language id="1" xlink:href="https://shop.example/api/languages/1"><![CDATA[Expédié]]></language>
      <language id="2" xlink:href="https://shop.example/api/languages/2"><![CDATA[Shipped]]></language>
    </name>
  </order_state>
</order_states>
</prestashop>"#;
        let states = records(Format::Xml, body.as_bytes(), "order_states", "order_state").unwrap();
        assert_eq!(states[0].id("id"), Some(4));
        assert!(states[0].flag("shipped"));
        assert_eq!(states[0].text_in("name", Some("2")), Some("Shipped"));
        assert_eq!(states[0].text_in("name", Some("9")), Some("Expédié"));
        let empty = br#"<prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><orders></orders></prestashop>"#;
        assert!(
            records(Format::Xml, empty, "orders", "order")
                .unwrap()
                .is_empty()
        );
        assert!(
            records(
                Format::Xml,
                b"<html><body>Maintenance</body></html>",
                "orders",
                "order"
            )
            .is_err()
        );
        assert!(records(Format::Xml, b"<prestashop><orders>", "orders", "order").is_err());
    }

    #[test]
    fn json_languages_and_associations_in_xml() {
        let body = r#"{"order_states":[{"id":2,"name":[{"id":"1","value":"Paiement accepté"},{"id":"2","value":"Payment accepted"}]}]}"#;
        let states = records(Format::Json, body.as_bytes(), "order_states", "order_state").unwrap();
        assert_eq!(
            states[0].text_in("name", Some("2")),
            Some("Payment accepted")
        );
        let body = r#"<prestashop><order><id><![CDATA[3]]></id><associations><order_rows nodeType="order_row" virtualEntity="true">
            <order_row><id><![CDATA[1]]></id><product_name><![CDATA[Théière <fonte>]]></product_name></order_row>
            </order_rows></associations></order></prestashop>"#;
        let order = records(Format::Xml, body.as_bytes(), "orders", "order").unwrap();
        assert_eq!(
            order[0].rows("order_rows")[0].text("product_name"),
            Some("Théière <fonte>")
        );
    }

    #[test]
    fn error_lists_in_both_formats() {
        let json = br#"{"errors":[{"code":26,"message":"Resource of type \"orders\" is not allowed with this authentication key"}]}"#;
        assert_eq!(errors(json)[0].code, Some(26));
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><errors><error><code><![CDATA[20]]></code>
<message><![CDATA[Authentification key is not active]]></message></error></errors></prestashop>"#;
        assert_eq!(
            errors(xml),
            vec![WebserviceError {
                code: Some(20),
                message: "Authentification key is not active".into()
            }]
        );
        assert!(errors(b"401 Unauthorized").is_empty());
    }

    #[test]
    fn the_api_root_names_the_readable_resources() {
        let body = br#"<prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><api shopName="Boutique Marie">
            <customers xlink:href="https://s/api/customers" get="true" put="false" post="false" delete="false" head="true"><description>The e-shop's customers</description></customers>
            <orders xlink:href="https://s/api/orders" get="true" put="false" post="false" delete="false" head="true"/>
            <carriers xlink:href="https://s/api/carriers" get="false" put="true"/>
            </api></prestashop>"#;
        let root = api_root(body).unwrap();
        assert_eq!(root.shop_name.as_deref(), Some("Boutique Marie"));
        assert_eq!(root.readable, ["customers", "orders"]);
    }

    #[test]
    fn dates_are_the_shops_local_time() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // 14:05 in Paris in March (UTC+1) is 13:05 UTC.
        let ms = local_to_ms("2026-03-12 14:05:00", &paris).unwrap();
        assert_eq!(ms, 1_773_320_700_000);
        assert_eq!(ms_to_local(ms, &paris).unwrap(), "2026-03-12 14:05:00");
        assert_eq!(local_to_ms("0000-00-00 00:00:00", &paris), None);
        assert_eq!(local_to_ms("hier", &paris), None);
        // 02:30 does not exist on 29 March 2026 in Paris: read, not refused.
        assert!(local_to_ms("2026-03-29 02:30:00", &paris).is_some());
    }
}
