//! Triage of a customer message: its language, its intent with a confidence and the reason for
//! it, and the facts it contains. Pure: the model and the shop's settings come in as values.

pub mod classifier;
pub mod corpus;
pub mod eval;
pub mod facts;
pub mod lang;

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::model::UiLang;
use classifier::Model;
pub use facts::Facts;

/// A built-in intent: its stable identifier; its label is in the catalogue
/// (`[triage_intent]`, one key per identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinIntent {
    pub id: &'static str,
}

impl BuiltinIntent {
    /// The label in `lang`; the identifier itself if a catalogue file lacks it (the test below
    /// keeps that from shipping).
    pub fn label(self, lang: UiLang) -> &'static str {
        crate::i18n::lookup(lang, &format!("triage_intent.{}", self.id)).unwrap_or(self.id)
    }
}

/// What every shop starts with. Identifiers are a stable interface (JSON, templates, rules).
pub const BUILTIN_INTENTS: [BuiltinIntent; 12] = [
    BuiltinIntent { id: "order_status" },
    BuiltinIntent { id: "refund" },
    BuiltinIntent {
        id: "return_exchange",
    },
    BuiltinIntent { id: "cancel_order" },
    BuiltinIntent { id: "change_order" },
    BuiltinIntent {
        id: "damaged_or_wrong_item",
    },
    BuiltinIntent { id: "invoice" },
    BuiltinIntent {
        id: "payment_issue",
    },
    BuiltinIntent {
        id: "product_question",
    },
    BuiltinIntent { id: "account" },
    BuiltinIntent { id: "complaint" },
    BuiltinIntent { id: "other" },
];

/// The intent messages fall back to; it cannot be disabled.
pub const OTHER: &str = "other";

pub fn builtin_intent(id: &str) -> Option<&'static BuiltinIntent> {
    BUILTIN_INTENTS.iter().find(|intent| intent.id == id)
}

/// Label of a built-in intent in the interface language; custom intents carry their own.
pub fn builtin_label(id: &str, lang: UiLang) -> Option<&'static str> {
    builtin_intent(id).map(|intent| intent.label(lang))
}

/// Why triage chose an intent, shown to employees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Reason {
    /// The model; `features` are the words that weighed most for the intent.
    Model { features: Vec<String> },
    /// A keyword rule of the shop matched.
    Rule { rule_id: i64, keyword: String },
    /// An employee set the intent.
    Correction { by: String },
}

/// What triage says of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    /// ISO 639-1 code of the customer's new words; None when there are none.
    pub lang: Option<String>,
    pub intent: String,
    /// Probability of the intent, 0 to 1 (1 for a rule or a correction).
    pub confidence: f32,
    pub facts: Facts,
    pub reason: Reason,
}

/// A shop's rule: any of `keywords` in a message gives it `intent`, whatever the model says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeywordRule {
    pub id: i64,
    pub intent: String,
    pub keywords: Vec<String>,
}

/// The shipped model, trained from `corpus/intents` at build time.
pub fn shipped_model() -> Arc<Model> {
    static MODEL: LazyLock<Arc<Model>> = LazyLock::new(|| {
        Arc::new(
            Model::from_bytes(include_bytes!(concat!(env!("OUT_DIR"), "/base_model.bin")))
                .expect("the build script wrote a valid model"),
        )
    });
    MODEL.clone()
}

/// How many features an explanation lists.
const EXPLAINED_FEATURES: usize = 5;

/// Triage with a shop's model and settings.
#[derive(Debug, Clone)]
pub struct Triager {
    model: Arc<Model>,
    disabled: HashSet<String>,
    /// Rules with their keywords normalised, in the order they are tried.
    rules: Vec<(KeywordRule, Vec<String>)>,
}

impl Default for Triager {
    /// The shipped model, every intent enabled, no rule.
    fn default() -> Self {
        Triager::new(shipped_model(), HashSet::new(), Vec::new())
    }
}

impl Triager {
    pub fn new(model: Arc<Model>, disabled: HashSet<String>, rules: Vec<KeywordRule>) -> Self {
        let rules = rules
            .into_iter()
            .map(|rule| {
                let normalized = rule
                    .keywords
                    .iter()
                    .map(|k| normalize(k))
                    .filter(|k| !k.is_empty())
                    .collect();
                (rule, normalized)
            })
            .collect();
        Triager {
            model,
            disabled,
            rules,
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Triage of a message from its subject and new text (quotes and signature removed).
    pub fn triage(&self, subject: &str, new_text: &str) -> Triage {
        let facts = facts::extract_facts(subject, new_text);
        let lang = lang::detect(new_text)
            .or_else(|| lang::detect(subject))
            .map(str::to_string);
        let text = classifier::message_text(subject, new_text);
        let (intent, confidence, reason) = match self.matching_rule(&text) {
            Some((rule, keyword)) => (
                rule.intent.clone(),
                1.0,
                Reason::Rule {
                    rule_id: rule.id,
                    keyword: keyword.to_string(),
                },
            ),
            None => self.classify(&text),
        };
        Triage {
            lang,
            intent,
            confidence,
            facts,
            reason,
        }
    }

    fn matching_rule(&self, text: &str) -> Option<(&KeywordRule, &str)> {
        if self.rules.is_empty() {
            return None;
        }
        let padded = format!(" {} ", normalize(text));
        self.rules.iter().find_map(|(rule, keywords)| {
            keywords
                .iter()
                .find(|k| padded.contains(&format!(" {k} ")))
                .map(|k| (rule, k.as_str()))
        })
    }

    fn classify(&self, text: &str) -> (String, f32, Reason) {
        let features = self.model.vectorize(text);
        let mut probabilities = self.model.predict_features(&features).probabilities;
        let labels = self.model.labels();
        // A disabled intent's share goes to "other": the message then reaches an employee
        // instead of being forced into the next-best intent with inflated confidence.
        if let Some(other) = labels.iter().position(|l| l == OTHER) {
            for (i, label) in labels.iter().enumerate() {
                if i != other && self.disabled.contains(label) {
                    probabilities[other] += probabilities[i];
                    probabilities[i] = 0.0;
                }
            }
        }
        let (best, confidence) = probabilities
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, p)| if p > b.1 { (i, p) } else { b });
        let features = self
            .model
            .explain(&features, best, EXPLAINED_FEATURES)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        (labels[best].clone(), confidence, Reason::Model { features })
    }
}

/// A text a shop's model learns from beyond the shipped corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopExample {
    pub text: String,
    pub intent: String,
    /// An employee's correction of a real message, which weighs more than a written example.
    pub correction: bool,
}

/// How much a correction weighs against one example of the shipped corpus: a shop's own
/// mail is what its model must get right.
const CORRECTION_WEIGHT: f32 = 4.0;

/// Trains a shop's model: the shipped corpus plus the shop's examples and corrections.
/// Returns it with the number of examples it learnt from.
pub fn train_shop_model(
    shop_examples: &[ShopExample],
) -> Result<(Model, usize), classifier::ModelError> {
    let shipped: Vec<(String, String)> = corpus::shipped()
        .into_iter()
        .filter_map(|r| {
            let text = classifier::message_text(r.subject(), &r.text);
            r.intent.map(|intent| (text, intent))
        })
        .collect();
    let examples: Vec<classifier::Example<'_>> = shipped
        .iter()
        .map(|(text, intent)| classifier::Example {
            text,
            label: intent,
            weight: 1.0,
        })
        .chain(shop_examples.iter().map(|e| classifier::Example {
            text: &e.text,
            label: &e.intent,
            weight: if e.correction { CORRECTION_WEIGHT } else { 1.0 },
        }))
        .collect();
    Model::train(&examples, &classifier::TrainOptions::default()).map(|m| (m, examples.len()))
}

/// Lowercase words without accents, single-spaced: how rules and texts are compared.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    classifier::normalize_words(text, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_intent_has_a_label_in_every_language() {
        for intent in BUILTIN_INTENTS {
            for &lang in UiLang::ALL {
                assert!(
                    crate::i18n::lookup(lang, &format!("triage_intent.{}", intent.id)).is_some(),
                    "{} has no {} label",
                    intent.id,
                    lang.code()
                );
            }
        }
        assert_eq!(builtin_label("refund", UiLang::Fr), Some("Remboursement"));
        assert_eq!(builtin_label("refund", UiLang::En), Some("Refund"));
    }

    #[test]
    fn every_builtin_intent_is_in_the_shipped_model() {
        let model = shipped_model();
        for intent in BUILTIN_INTENTS {
            assert!(
                model.labels().iter().any(|l| l == intent.id),
                "{} has no training examples",
                intent.id
            );
        }
    }

    #[test]
    fn a_rule_wins_over_the_model_and_says_so() {
        let rule = KeywordRule {
            id: 7,
            intent: "invoice".into(),
            keywords: vec!["note de frais".into()],
        };
        let triager = Triager::new(shipped_model(), HashSet::new(), vec![rule]);
        let triage = triager.triage("", "Il me faut une NOTE DE FRAIS pour ma commande");
        assert_eq!(triage.intent, "invoice");
        assert_eq!(triage.confidence, 1.0);
        assert_eq!(
            triage.reason,
            Reason::Rule {
                rule_id: 7,
                keyword: "note de frais".into()
            }
        );
        // A keyword matches whole words only.
        let triage = triager.triage("", "Annotations de fraisier");
        assert!(matches!(triage.reason, Reason::Model { .. }));
    }

    #[test]
    fn a_disabled_intent_falls_to_other() {
        let text = "Bonjour, pourriez-vous m'envoyer la facture de ma commande 1042 ?";
        let enabled = Triager::default().triage("Facture", text);
        assert_eq!(enabled.intent, "invoice");
        let disabled = Triager::new(
            shipped_model(),
            HashSet::from(["invoice".to_string()]),
            Vec::new(),
        )
        .triage("Facture", text);
        assert_eq!(disabled.intent, OTHER);
    }

    #[test]
    fn the_model_explains_itself_with_words_of_the_message() {
        let triage = Triager::default().triage("", "Je voudrais être remboursée de ma commande");
        let Reason::Model { features } = &triage.reason else {
            panic!("expected the model's reason");
        };
        assert!(!features.is_empty());
        assert_eq!(triage.lang.as_deref(), Some("fr"));
    }
}
