//! The French/English catalogue of everything a person reads: one TOML file per language
//! (`fr.toml`, `en.toml`), flat `key = "text"` entries with `{name}` placeholders. Adding a
//! language means adding its file and its [`UiLang`] variant; a test fails when a key or a
//! placeholder is missing in one language.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::LazyLock;

use crate::model::UiLang;

/// Each language's file, embedded in the binary.
const SOURCES: [(UiLang, &str); UiLang::ALL.len()] = [
    (UiLang::Fr, include_str!("fr.toml")),
    (UiLang::En, include_str!("en.toml")),
];

type Texts = HashMap<String, String>;

static CATALOGUE: LazyLock<Vec<(UiLang, Texts)>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, source)| {
            // The files are part of the build and checked by the tests below: a broken one is a
            // build defect, not an input error.
            let table: toml::Table =
                toml::from_str(source).expect("i18n catalogue file is valid TOML");
            let mut texts = Texts::new();
            flatten("", &table, &mut texts);
            (*lang, texts)
        })
        .collect()
});

/// `[error] no_ticket = "..."` becomes the key `error.no_ticket`.
fn flatten(prefix: &str, table: &toml::Table, into: &mut Texts) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, into),
            toml::Value::String(text) => {
                into.insert(key, text.clone());
            }
            other => panic!("catalogue entry {key} is not text: {other}"),
        }
    }
}

fn texts(lang: UiLang) -> &'static Texts {
    &CATALOGUE
        .iter()
        .find(|(l, _)| *l == lang)
        .expect("every UiLang has a catalogue file")
        .1
}

/// The text of `key`; the key itself when it is missing (the tests keep that from shipping).
pub fn text(lang: UiLang, key: &str) -> &'static str {
    match texts(lang).get(key) {
        Some(text) => text,
        None => {
            tracing::error!(key, lang = lang.code(), "missing catalogue text");
            // Leaking a missing key's name once per call is harmless: it never happens in a
            // tested build.
            Box::leak(key.to_string().into_boxed_str())
        }
    }
}

/// The text of `key` with each `{name}` replaced by its value, in one pass: a value that
/// itself contains `{name}` (a customer's name, say) is never substituted again.
pub fn format(lang: UiLang, key: &str, args: &[(&str, &dyn Display)]) -> String {
    let text = text(lang, key);
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('}').and_then(|end| {
            let name = &after[..end];
            args.iter()
                .find(|(arg, _)| *arg == name)
                .map(|(_, value)| (end, value))
        });
        match value {
            Some((end, value)) => {
                out.push_str(&value.to_string());
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The keys of a language's file.
pub fn keys(lang: UiLang) -> impl Iterator<Item = &'static str> {
    texts(lang).keys().map(String::as_str)
}

/// The text of a key computed at run time (a shipped template per intent), None when the
/// language has none.
pub fn lookup(lang: UiLang, key: &str) -> Option<&'static str> {
    texts(lang).get(key).map(String::as_str)
}

/// `t!(lang, KEY)` is the text of the literal KEY; `t!(lang, KEY, name = value, ...)` fills its
/// placeholders.
#[macro_export]
macro_rules! t {
    ($lang:expr, $key:literal) => {
        $crate::i18n::text($lang, $key)
    };
    ($lang:expr, $key:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::format($lang, $key, &[$((stringify!($name), &$value as &dyn std::fmt::Display)),+])
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            found.insert(rest[start + 1..start + end].to_string());
            rest = &rest[start + end + 1..];
        }
        found
    }

    #[test]
    fn every_key_exists_in_every_language_with_the_same_placeholders() {
        let (_, reference) = &CATALOGUE[0];
        for (lang, texts) in CATALOGUE.iter() {
            for key in reference.keys() {
                let text = texts
                    .get(key)
                    .unwrap_or_else(|| panic!("{key} has no {} text", lang.code()));
                // Shipped reply templates are minijinja sources, not `{name}` texts: their
                // rendering is tested in `replies`.
                if key.starts_with("shipped.") {
                    continue;
                }
                assert_eq!(
                    placeholders(text),
                    placeholders(&reference[key]),
                    "placeholders of {key} differ in {}",
                    lang.code()
                );
                assert!(!text.trim().is_empty(), "{key} is empty in {}", lang.code());
            }
            assert_eq!(
                texts.len(),
                reference.len(),
                "{} has extra keys",
                lang.code()
            );
        }
    }

    /// Every key the code asks for with `t!` or `text`/`format` exists: a typo fails here, not
    /// in front of a user.
    #[test]
    fn every_key_used_in_the_code_exists() {
        let pattern = regex::Regex::new(
            r#"(?:\bt!\(\s*[^,]+,\s*|i18n::(?:text|format)\([^,]+,\s*|\bt\(\s*)"([a-z0-9_.]+)""#,
        )
        .expect("static regex");
        let mut missing = Vec::new();
        let mut used = 0;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut dirs = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
                    let source = std::fs::read_to_string(&path).expect("source is UTF-8");
                    for capture in pattern.captures_iter(&source) {
                        used += 1;
                        let key = &capture[1];
                        if !CATALOGUE[0].1.contains_key(key) {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            used > 50,
            "the scan found only {used} uses: is the pattern right?"
        );
        assert!(
            missing.is_empty(),
            "keys missing from the catalogue: {missing:#?}"
        );
    }

    #[test]
    fn values_are_not_substituted_twice() {
        let text = format(
            UiLang::En,
            "html.wrote_on",
            &[("moment", &"{from}"), ("from", &"Eve {moment}")],
        );
        assert_eq!(text, "On {from}, Eve {moment} wrote:");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            t!(UiLang::En, "error.no_ticket", number = 1042),
            "no ticket 1042 (guichet tickets list)"
        );
        assert!(t!(UiLang::Fr, "error.no_ticket", number = 1042).contains("1042"));
    }
}
