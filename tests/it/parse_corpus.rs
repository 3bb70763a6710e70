//! Corpus tests in the style of mail-parser: every `.eml` beside its expected parse.

use std::path::{Path, PathBuf};

use guichet::intake::parse::parse_message;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(emls(&path));
        } else if path.extension().is_some_and(|e| e == "eml") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The root part's header `name` in mail-parser's JSON form.
fn expected_header<'a>(
    expected: &'a serde_json::Value,
    name: &str,
) -> Option<&'a serde_json::Value> {
    expected["parts"][0]["headers"]
        .as_array()?
        .iter()
        .find(|h| h["name"] == name)
        .map(|h| &h["value"])
}

#[test]
fn stalwart_corpus_parses_as_expected() {
    let files = emls(&data("mime/stalwart"));
    assert!(files.len() >= 90, "corpus present: {}", files.len());
    let mut compared = 0;
    for eml in &files {
        let raw = std::fs::read(eml).unwrap();
        let parsed = parse_message(&raw);
        let Ok(json) = std::fs::read_to_string(eml.with_extension("json")) else {
            continue;
        };
        let expected: serde_json::Value = serde_json::from_str(&json).unwrap();
        if let Some(subject) =
            expected_header(&expected, "subject").and_then(|v| v["Text"].as_str())
        {
            assert_eq!(parsed.subject, subject.trim(), "{}", eml.display());
            compared += 1;
        }
        let from = expected_header(&expected, "from")
            .and_then(|v| v["Address"]["List"][0]["address"].as_str());
        if let Some(from) = from {
            assert_eq!(
                parsed.from_email.as_deref(),
                Some(from.trim().to_lowercase().as_str()),
                "{}",
                eml.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 100, "compared {compared} fields");
}

#[test]
fn awkward_messages_keep_what_can_be_read() {
    let read = |name: &str| parse_message(&std::fs::read(data("mime/awkward").join(name)).unwrap());
    assert!(read("01-8bit-no-charset.eml").text.contains("écrasé"));
    let latin1 = read("02-latin1.eml");
    assert_eq!(latin1.subject, "Problème de livraison");
    assert_eq!(latin1.from_name.as_deref(), Some("André"));
    assert!(latin1.text.contains("endommagé"));
    let japanese = read("03-iso-2022-jp.eml");
    assert_eq!(japanese.subject, "こんにちは");
    assert!(japanese.text.contains("こんにちは"));
    assert!(
        read("04-broken-multipart.eml")
            .text
            .contains("My parcel is late")
            || read("04-broken-multipart.eml").parse_error.is_some()
    );
    let no_id = read("05-no-message-id.eml");
    assert!(no_id.message_id.is_none() && no_id.from_email.as_deref() == Some("nomid@client.test"));
    let html = read("06-html-only.eml");
    assert!(
        html.text.contains("order #1001") && !html.text.contains("alert(1)"),
        "{}",
        html.text
    );
    assert_eq!(
        guichet::threading::tracking_tags(&read("07-encoded-tag.eml").subject),
        vec![1527]
    );
    assert!(read("08-unknown-charset.eml").text.contains("renvers"));
    let no_body = read("09-no-body.eml");
    assert_eq!(no_body.subject, "headers only, no body, no from");
    let nul = read("10-nul-and-invalid-utf8.eml");
    assert!(
        !nul.text.contains('\0') && !nul.subject.contains('\0'),
        "NUL bytes would break PostgreSQL text"
    );
}
