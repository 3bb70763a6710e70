//! Labelled datasets as JSON lines, and the corpus shipped with Guichet.

use serde::Deserialize;

/// One line of a dataset: `{"text", "intent", "lang", "subject"?}`, plus the facts an
/// evaluation set may list to measure their extraction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Record {
    pub text: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub order_refs: Option<Vec<String>>,
    #[serde(default)]
    pub tracking_numbers: Option<Vec<String>>,
}

impl Record {
    pub fn subject(&self) -> &str {
        self.subject.as_deref().unwrap_or("")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DatasetError {
    pub line: usize,
    pub message: String,
}

/// Parses JSON lines; blank lines are skipped, a bad line is an error naming it.
pub fn parse_jsonl(content: &str) -> Result<Vec<Record>, DatasetError> {
    content
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|e| DatasetError {
                line: index + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// The corpus the shipped model was trained on (`corpus/intents/*.jsonl`, bundled at build).
pub fn shipped() -> Vec<Record> {
    parse_jsonl(SHIPPED_CORPUS).expect("the build script checked every line")
}

const SHIPPED_CORPUS: &str = include_str!(concat!(env!("OUT_DIR"), "/corpus.jsonl"));

/// A stable pseudo-random split: true for about `percent` % of texts, the same on every run.
pub fn in_holdout(text: &str, percent: u64) -> bool {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    hash % 100 < percent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_named() {
        let error = parse_jsonl("{\"text\": \"a\"}\n\nnot json\n").unwrap_err();
        assert_eq!(error.line, 3);
    }

    #[test]
    fn the_shipped_corpus_is_labelled() {
        let corpus = shipped();
        assert!(corpus.len() > 100);
        assert!(
            corpus
                .iter()
                .all(|r| r.intent.is_some() && r.lang.is_some())
        );
    }
}
