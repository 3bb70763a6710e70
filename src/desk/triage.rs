//! Triage as a service: classify messages, measure the classifier on a labelled dataset, and
//! manage a shop's intents (disable, its own, keyword rules, corrections, retraining).

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::intake::parse::parse_message;
use crate::intake::reply_text::extract_new_text;
use crate::store::{IntentSetting, Shop, ShopModelInfo, StoreError};
use crate::triage::classifier::{Example, Model, message_text};
use crate::triage::corpus::{self, Record};
use crate::triage::eval::{self, ExtractionScore, Outcome, Report};
use crate::triage::{self, Facts, KeywordRule, Triage, Triager};
use crate::worker::{self, Trained};

use super::{Desk, DeskError, DeskResult, input};
use crate::model::UiLang;
use crate::t;

/// Fewest examples that teach a shop's own intent.
pub const MIN_EXAMPLES: usize = 5;

/// One answer of `triage --jsonl`: a stable interface.
#[derive(Debug, Serialize)]
pub struct LineTriage {
    pub lang: Option<String>,
    pub intent: String,
    pub confidence: f32,
    pub facts: Facts,
}

#[derive(Debug, Deserialize)]
struct LineInput {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
}

/// A triaged .eml file.
#[derive(Debug, Serialize)]
pub struct MessageTriage {
    pub subject: String,
    #[serde(flatten)]
    pub triage: Triage,
}

/// Triages one raw message (its new text, without quotes and signature).
pub fn triage_raw(triager: &Triager, raw: &[u8]) -> MessageTriage {
    let parsed = parse_message(raw);
    let triage = triager.triage(&parsed.subject, &parsed.new_text);
    MessageTriage {
        subject: parsed.subject,
        triage,
    }
}

/// Triages one JSON line `{"subject", "text"}`; the error is serde's reason.
pub fn triage_line(triager: &Triager, line: &str) -> Result<LineTriage, serde_json::Error> {
    let input: LineInput = serde_json::from_str(line)?;
    let triage = triager.triage(&input.subject, &extract_new_text(&input.text));
    Ok(LineTriage {
        lang: triage.lang,
        intent: triage.intent,
        confidence: triage.confidence,
        facts: triage.facts,
    })
}

/// One triaged file, as `triage --json` prints it.
#[derive(Debug, Serialize)]
pub struct FileTriage {
    pub file: String,
    #[serde(flatten)]
    pub triage: MessageTriage,
}

/// Triages each raw message file, in order.
pub fn triage_files(triager: &Triager, files: &[PathBuf]) -> DeskResult<Vec<FileTriage>> {
    files
        .iter()
        .map(|file| {
            Ok(FileTriage {
                file: file.display().to_string(),
                triage: triage_raw(triager, &input::read_bytes(file)?),
            })
        })
        .collect()
}

/// Streams JSON lines: one answer per input line, in order. A bad line gets an error line in
/// its place, so answers stay aligned with inputs; returns whether every line was triaged.
pub fn triage_stream(
    triager: &Triager,
    input: impl BufRead,
    mut output: impl Write,
    lang: UiLang,
) -> DeskResult<bool> {
    let written = |e: std::io::Error| DeskError::CannotWrite {
        path: "-".into(),
        source: e,
    };
    let mut all_triaged = true;
    // Bytes, not `lines()`: a line that is not UTF-8 gets its own error answer instead of
    // stopping the whole stream.
    for (index, line) in input.split(b'\n').enumerate() {
        let line = line.map_err(input::InputError::Stdin)?;
        let line = String::from_utf8_lossy(&line);
        if line.trim().is_empty() {
            continue;
        }
        let answer = match triage_line(triager, &line) {
            Ok(answer) => serde_json::to_value(answer),
            Err(error) => {
                all_triaged = false;
                let message = t!(lang, "triage.bad_line", line = index + 1, reason = error);
                Ok(serde_json::json!({ "error": message }))
            }
        };
        let answer = answer.map_err(|e| written(e.into()))?;
        serde_json::to_writer(&mut output, &answer).map_err(|e| written(e.into()))?;
        writeln!(output).map_err(written)?;
    }
    output.flush().map_err(written)?;
    Ok(all_triaged)
}

/// What `triage eval` is asked to measure: JSON-lines files, as given on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct EvalRequest<'a> {
    pub dataset: Option<&'a Path>,
    /// Train a fresh model on this file instead of using the current one.
    pub train: Option<&'a Path>,
    /// Train on the shipped corpus minus this share, evaluated on it (or on `dataset`).
    pub holdout: Option<u64>,
    /// The shop whose model and settings to measure (with a desk).
    pub shop: Option<&'a str>,
}

fn read_dataset(path: &Path) -> DeskResult<Vec<Record>> {
    let content = input::read_text(path)?;
    corpus::parse_jsonl(&content).map_err(|source| DeskError::Dataset {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the request's files and evaluates the model it names.
pub async fn evaluate_request(
    desk: Option<&Desk>,
    request: EvalRequest<'_>,
) -> DeskResult<EvalReport> {
    let dataset = request.dataset.map(read_dataset).transpose()?;
    let model = match (request.train, request.holdout) {
        (Some(train), _) => EvalModel::TrainedOn {
            name: train.display().to_string(),
            records: read_dataset(train)?,
        },
        (None, Some(percent)) => EvalModel::Holdout { percent },
        (None, None) => EvalModel::Current {
            shop: match (desk, request.shop) {
                (Some(desk), Some(name)) => Some(desk.choose_shop(Some(name)).await?),
                _ => None,
            },
        },
    };
    if matches!(model, EvalModel::TrainedOn { .. }) && dataset.is_none() {
        return Err(DeskError::TrainNeedsDataset);
    }
    evaluate(desk, model, dataset).await
}

/// Which model an evaluation measures.
#[derive(Debug)]
pub enum EvalModel {
    /// The shipped model, or a shop's.
    Current { shop: Option<Shop> },
    /// A fresh model trained on these records.
    TrainedOn { name: String, records: Vec<Record> },
    /// Trained on the shipped corpus minus a fixed share of it, evaluated on that share unless
    /// a dataset is given.
    Holdout { percent: u64 },
}

/// The figures `triage eval` prints, also as JSON.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_seconds: Option<f64>,
    /// Absent when the dataset has languages only.
    #[serde(flatten)]
    pub intents: Option<Report>,
    /// Share of messages whose language is right, among those labelled with one.
    pub language_accuracy: Option<f64>,
    /// The same among messages of 20 words or more.
    pub language_accuracy_20_words: Option<f64>,
    pub order_refs: Option<ExtractionScore>,
    pub tracking_numbers: Option<ExtractionScore>,
    pub messages_per_second: f64,
}

/// Why an evaluation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("no labelled line")]
    NothingLabelled,
    #[error("training failed: {0}")]
    Training(String),
}

fn train_on(records: &[Record]) -> Result<Model, EvalError> {
    let texts: Vec<(String, &str)> = records
        .iter()
        .filter_map(|r| {
            r.intent
                .as_deref()
                .map(|intent| (message_text(r.subject(), &r.text), intent))
        })
        .collect();
    tracing::info!(examples = texts.len(), "training an evaluation model");
    let examples: Vec<Example> = texts
        .iter()
        .map(|(text, intent)| Example {
            text,
            label: intent,
            weight: 1.0,
        })
        .collect();
    Model::train(&examples, &Default::default()).map_err(|e| EvalError::Training(e.to_string()))
}

fn plain_triager(model: Model) -> Triager {
    Triager::new(Arc::new(model), HashSet::new(), Vec::new())
}

/// Scores triage on labelled records. Pure apart from the clock that measures speed.
pub fn score(
    triager: &Triager,
    model: String,
    training_seconds: Option<f64>,
    records: &[Record],
) -> Result<EvalReport, EvalError> {
    let labelled: Vec<&Record> = records
        .iter()
        .filter(|r| r.intent.is_some() || r.lang.is_some())
        .collect();
    if labelled.is_empty() {
        return Err(EvalError::NothingLabelled);
    }
    let started = Instant::now();
    let triages: Vec<Triage> = labelled
        .iter()
        .map(|r| triager.triage(r.subject(), &extract_new_text(&r.text)))
        .collect();
    let messages_per_second = labelled.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let outcomes: Vec<Outcome> = labelled
        .iter()
        .zip(&triages)
        .filter_map(|(record, triage)| {
            Some(Outcome {
                expected: record.intent.clone()?,
                predicted: triage.intent.clone(),
                confidence: triage.confidence,
            })
        })
        .collect();
    let language = |min_words: usize| {
        let judged: Vec<bool> = labelled
            .iter()
            .zip(&triages)
            .filter(|(r, _)| r.lang.is_some() && r.text.split_whitespace().count() >= min_words)
            .map(|(r, t)| r.lang == t.lang)
            .collect();
        (!judged.is_empty())
            .then(|| judged.iter().filter(|ok| **ok).count() as f64 / judged.len() as f64)
    };
    let extraction = |expected: fn(&Record) -> Option<&Vec<String>>,
                      found: fn(&Facts) -> &Vec<String>| {
        let pairs: Vec<(&[String], &[String])> = labelled
            .iter()
            .zip(&triages)
            .filter_map(|(r, t)| expected(r).map(|e| (e.as_slice(), found(&t.facts).as_slice())))
            .collect();
        (!pairs.is_empty()).then(|| eval::score_extraction(pairs))
    };
    Ok(EvalReport {
        model,
        training_seconds,
        intents: (!outcomes.is_empty()).then(|| eval::evaluate(&outcomes)),
        language_accuracy: language(0),
        language_accuracy_20_words: language(20),
        order_refs: extraction(|r| r.order_refs.as_ref(), |f| &f.order_refs),
        tracking_numbers: extraction(|r| r.tracking_numbers.as_ref(), |f| &f.tracking_numbers),
        messages_per_second,
    })
}

/// Evaluates `model` on `dataset` (required except for a holdout, which has its own).
pub async fn evaluate(
    desk: Option<&Desk>,
    model: EvalModel,
    dataset: Option<Vec<Record>>,
) -> DeskResult<EvalReport> {
    let started = Instant::now();
    let (triager, name, trained, records) = match model {
        EvalModel::TrainedOn { name, records } => {
            let model = train_on(&records)?;
            let dataset = dataset.ok_or(DeskError::DatasetNeeded)?;
            (
                plain_triager(model),
                format!("trained on {name}"),
                true,
                dataset,
            )
        }
        EvalModel::Holdout { percent } => {
            let (held_out, training): (Vec<Record>, Vec<Record>) = corpus::shipped()
                .into_iter()
                .partition(|r| corpus::in_holdout(&r.text, percent));
            let model = train_on(&training)?;
            (
                plain_triager(model),
                format!("shipped corpus minus {percent} % held out"),
                true,
                dataset.unwrap_or(held_out),
            )
        }
        EvalModel::Current { shop } => {
            let dataset = dataset.ok_or(DeskError::DatasetNeeded)?;
            match (desk, shop) {
                (Some(desk), Some(shop)) => (
                    desk.store.shop_triager(shop.id).await?,
                    format!("shop {}", shop.name),
                    false,
                    dataset,
                ),
                _ => (Triager::default(), "shipped".to_string(), false, dataset),
            }
        }
    };
    let training_seconds = trained.then(|| started.elapsed().as_secs_f64());
    Ok(score(&triager, name, training_seconds, &records)?)
}

/// A shop's intents with the state of its retrained model.
#[derive(Debug)]
pub struct IntentsView {
    pub intents: Vec<IntentSetting>,
    pub model: Option<ShopModelInfo>,
}

/// A shop's own intent to add.
#[derive(Debug, Clone)]
pub struct CustomIntent {
    pub id: String,
    pub label_fr: String,
    pub label_en: String,
    /// One example message per line; blank lines are ignored.
    pub examples: String,
}

fn unknown_intent(error: StoreError, intent: &str) -> DeskError {
    match error {
        StoreError::NotFound(_) => DeskError::UnknownIntent(intent.to_string()),
        other => other.into(),
    }
}

impl Desk {
    /// The shop's triager, or the shipped one.
    pub async fn triager(&self, shop: Option<&Shop>) -> DeskResult<Triager> {
        Ok(match shop {
            Some(shop) => self.store.shop_triager(shop.id).await?,
            None => Triager::default(),
        })
    }

    pub async fn intents(&self, shop: &Shop) -> DeskResult<IntentsView> {
        Ok(IntentsView {
            intents: self.store.shop_intents(shop.id, self.lang).await?,
            model: self.store.shop_model_info(shop.id).await?,
        })
    }

    /// Turns an intent on or off; `other`, where people take over, stays on.
    pub async fn set_intent_enabled(
        &self,
        shop: &Shop,
        intent: &str,
        enabled: bool,
    ) -> DeskResult<()> {
        if intent == triage::OTHER {
            return Err(DeskError::OtherStaysOn);
        }
        self.store
            .set_intent_enabled(shop.id, intent, enabled)
            .await
            .map_err(|e| unknown_intent(e, intent))
    }

    /// Adds the shop's own intent; returns how many examples teach it.
    pub async fn add_custom_intent(&self, shop: &Shop, intent: &CustomIntent) -> DeskResult<usize> {
        let valid_id = !intent.id.is_empty()
            && intent
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_id {
            return Err(DeskError::BadIntentId);
        }
        let lines: Vec<String> = intent
            .examples
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if lines.len() < MIN_EXAMPLES {
            return Err(DeskError::TooFewExamples(lines.len()));
        }
        self.store
            .add_custom_intent(
                shop.id,
                &intent.id,
                &intent.label_fr,
                &intent.label_en,
                &lines,
            )
            .await?;
        Ok(lines.len())
    }

    pub async fn add_intent_rule(
        &self,
        shop: &Shop,
        intent: &str,
        keywords: &[String],
    ) -> DeskResult<i64> {
        self.store
            .add_intent_rule(shop.id, intent, keywords)
            .await
            .map_err(|e| unknown_intent(e, intent))
    }

    pub async fn intent_rules(&self, shop: &Shop) -> DeskResult<Vec<KeywordRule>> {
        Ok(self.store.intent_rules(shop.id).await?)
    }

    pub async fn delete_intent_rule(&self, shop: &Shop, id: i64) -> DeskResult<()> {
        self.store
            .delete_intent_rule(shop.id, id)
            .await
            .map_err(|e| super::not_found(e, DeskError::NoRule(id)))
    }

    /// Sets a customer message's intent; the shop's model learns from it when retrained.
    pub async fn correct_intent(
        &self,
        shop: &Shop,
        message_id: i64,
        intent: &str,
        by: &str,
    ) -> DeskResult<()> {
        self.store
            .correct_intent(shop.id, message_id, intent, by)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(what) if what.starts_with("message") => {
                    DeskError::NoShopMessage(message_id)
                }
                other => unknown_intent(other, intent),
            })
    }

    pub async fn retrain(&self, shop: &Shop) -> DeskResult<Trained> {
        Ok(worker::retrain_shop_model(&self.store, shop.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_triaged_and_a_bad_one_says_why() {
        let triager = Triager::default();
        let answer = triage_line(
            &triager,
            r#"{"subject":"Remboursement","text":"Je veux être remboursée de ma commande 1042"}"#,
        )
        .unwrap();
        assert_eq!(answer.lang.as_deref(), Some("fr"));
        assert!(triage_line(&triager, "{not json").is_err());
    }

    #[test]
    fn an_evaluation_needs_labels() {
        let records = vec![Record {
            text: "bonjour".into(),
            subject: None,
            intent: None,
            lang: None,
            order_refs: None,
            tracking_numbers: None,
        }];
        assert!(matches!(
            score(&Triager::default(), "shipped".into(), None, &records),
            Err(EvalError::NothingLabelled)
        ));
    }
}
