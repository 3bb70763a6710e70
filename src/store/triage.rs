//! Triage results of messages, and what a shop changes of triage: its own intents, disabled
//! intents, keyword rules, employees' corrections and the model retrained from them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::Row;

use super::jobs::schedule_unique_job_in;
use super::{Result, Store, StoreError, now_ms};
use crate::model::UiLang;
use crate::triage::classifier::Model;
use crate::triage::{self, KeywordRule, Reason, ShopExample, Triage, Triager};

/// Retrains a shop's intent model from the shipped corpus, its examples and corrections.
pub const RETRAIN_INTENTS: &str = "retrain_intents";

/// An intent as a shop sees it (`views::IntentJson` is its JSON shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentSetting {
    pub id: String,
    pub label: String,
    pub custom: bool,
    pub enabled: bool,
    /// Examples the shop gave (custom intents) and corrections employees made towards it.
    pub examples: i64,
    pub corrections: i64,
}

/// The state of a shop's model (`intents model --json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopModelInfo {
    pub examples: i64,
    pub corrections: i64,
    pub trained_at: i64,
}

fn is_known_intent(intent: &str, custom: &[String]) -> bool {
    triage::builtin_intent(intent).is_some() || custom.iter().any(|c| c == intent)
}

/// Decoded triagers by shop id. A retrained model is about 4 MB to read and decode, and sync
/// asks for the shop's triager on every pass of every mailbox, so the store keeps them: it is the one place
/// every caller (sync, CLI, workers) already shares, cloned as one `Arc`, and the one that can
/// tell freshness, by reading the markers of migration 0006 before each use. A change made by
/// any node moves a marker, so every node sees it at its next load.
#[derive(Debug, Clone, Default)]
pub(super) struct TriagerCache(Arc<Mutex<HashMap<i64, CachedTriager>>>);

#[derive(Debug)]
struct CachedTriager {
    versions: TriagerVersions,
    model: Arc<Model>,
    triager: Triager,
}

/// The shop's intent settings version and its saved model's version (None: the shipped model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TriagerVersions {
    settings: i64,
    model: Option<i64>,
}

impl TriagerCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CachedTriager>> {
        // Entries are whole values replaced in one insert: a panic elsewhere cannot leave
        // one half-written, so a poisoned lock is still sound.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks a change of what a shop's triager reads besides its model, in the change's
/// transaction.
async fn touch_intent_settings(conn: &mut sqlx::AnyConnection, shop_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE shops SET intent_settings_version = intent_settings_version + 1 WHERE id = $1",
    )
    .bind(shop_id)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// The triager a shop's messages go through: its retrained model (else the shipped one),
    /// without its disabled intents, with its keyword rules. Cached until one of them changes.
    pub async fn shop_triager(&self, shop_id: i64) -> Result<Triager> {
        // Markers first, data after: a change in between makes the next load read again.
        let versions = match sqlx::query(
            "SELECT s.intent_settings_version AS settings, m.version AS model FROM shops s \
             LEFT JOIN shop_models m ON m.shop_id = s.id WHERE s.id = $1",
        )
        .bind(shop_id)
        .fetch_optional(&self.pool)
        .await?
        {
            Some(row) => TriagerVersions {
                settings: row.try_get("settings")?,
                model: row.try_get("model")?,
            },
            None => TriagerVersions {
                settings: 0,
                model: None,
            },
        };
        let cached_model = match self.triagers.lock().get(&shop_id) {
            Some(cached) if cached.versions == versions => return Ok(cached.triager.clone()),
            Some(cached) if cached.versions.model == versions.model => Some(cached.model.clone()),
            _ => None,
        };
        let model = match cached_model {
            Some(model) => model,
            None => self.shop_model(shop_id).await?,
        };
        let disabled: HashSet<String> =
            sqlx::query("SELECT intent FROM shop_intents WHERE shop_id = $1 AND enabled = 0")
                .bind(shop_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| row.try_get("intent"))
                .collect::<std::result::Result<_, _>>()?;
        let triager = Triager::new(model.clone(), disabled, self.intent_rules(shop_id).await?);
        self.triagers.lock().insert(
            shop_id,
            CachedTriager {
                versions,
                model,
                triager: triager.clone(),
            },
        );
        Ok(triager)
    }

    /// The shop's retrained model, decoded, else the shipped one.
    async fn shop_model(&self, shop_id: i64) -> Result<Arc<Model>> {
        let Some(row) = sqlx::query("SELECT model FROM shop_models WHERE shop_id = $1")
            .bind(shop_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(triage::shipped_model());
        };
        let bytes: Vec<u8> = row.try_get("model")?;
        Ok(match Model::from_bytes(&bytes) {
            Ok(model) => Arc::new(model),
            Err(error) => {
                // An unreadable model must not stop intake: the shipped one still works.
                tracing::error!(shop_id, %error, "shop model unreadable, using the shipped model");
                triage::shipped_model()
            }
        })
    }

    /// Every intent of the shop: the built-in ones then its own, with labels in `lang`.
    pub async fn shop_intents(&self, shop_id: i64, lang: UiLang) -> Result<Vec<IntentSetting>> {
        let rows = sqlx::query(
            "SELECT si.intent, si.label_fr, si.label_en, si.custom, si.enabled, \
             (SELECT COUNT(*) FROM intent_examples e WHERE e.shop_id = si.shop_id AND e.intent = si.intent) AS examples \
             FROM shop_intents si WHERE si.shop_id = $1 ORDER BY si.created_at, si.intent",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?;
        let corrections = sqlx::query(
            "SELECT intent, COUNT(*) AS n FROM intent_corrections WHERE shop_id = $1 GROUP BY intent",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String, _>("intent")?, r.try_get::<i64, _>("n")?)))
        .collect::<Result<Vec<_>>>()?;
        let corrections_of = |id: &str| {
            corrections
                .iter()
                .find(|(intent, _)| intent == id)
                .map_or(0, |(_, n)| *n)
        };
        let mut settings: Vec<IntentSetting> = triage::BUILTIN_INTENTS
            .iter()
            .map(|intent| IntentSetting {
                id: intent.id.to_string(),
                label: intent.label(lang).to_string(),
                custom: false,
                enabled: true,
                examples: 0,
                corrections: corrections_of(intent.id),
            })
            .collect();
        for row in rows {
            let id: String = row.try_get("intent")?;
            let enabled = row.try_get::<i64, _>("enabled")? != 0;
            if let Some(builtin) = settings.iter_mut().find(|s| s.id == id && !s.custom) {
                builtin.enabled = enabled;
                continue;
            }
            // A shop's own intent is named by the shop, one column per language: a new
            // language fails to compile here until it has its column.
            let label = match lang {
                UiLang::Fr => row.try_get("label_fr")?,
                UiLang::En => row.try_get("label_en")?,
            };
            settings.push(IntentSetting {
                label,
                custom: row.try_get::<i64, _>("custom")? != 0,
                enabled,
                examples: row.try_get("examples")?,
                corrections: corrections_of(&id),
                id,
            });
        }
        Ok(settings)
    }

    async fn custom_intents(&self, shop_id: i64) -> Result<Vec<String>> {
        sqlx::query("SELECT intent FROM shop_intents WHERE shop_id = $1 AND custom = 1")
            .bind(shop_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok(row.try_get("intent")?))
            .collect()
    }

    async fn check_intent(&self, shop_id: i64, intent: &str) -> Result<()> {
        if is_known_intent(intent, &self.custom_intents(shop_id).await?) {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("intent {intent}")))
        }
    }

    /// Enables or disables an intent; `other` is always enabled.
    pub async fn set_intent_enabled(
        &self,
        shop_id: i64,
        intent: &str,
        enabled: bool,
    ) -> Result<()> {
        self.check_intent(shop_id, intent).await?;
        if intent == triage::OTHER && !enabled {
            return Err(StoreError::Invalid(
                "the intent \"other\" cannot be disabled".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO shop_intents (shop_id, intent, enabled, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (shop_id, intent) DO UPDATE SET enabled = excluded.enabled",
        )
        .bind(shop_id)
        .bind(intent)
        .bind(enabled as i64)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        touch_intent_settings(&mut tx, shop_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a shop's own intent with its examples, and schedules the retraining that teaches
    /// it to the model, in one transaction.
    pub async fn add_custom_intent(
        &self,
        shop_id: i64,
        id: &str,
        label_fr: &str,
        label_en: &str,
        examples: &[String],
    ) -> Result<()> {
        if triage::builtin_intent(id).is_some()
            || self.custom_intents(shop_id).await?.iter().any(|c| c == id)
        {
            return Err(StoreError::AlreadyExists(format!("intent {id}")));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO shop_intents (shop_id, intent, label_fr, label_en, custom, enabled, created_at) \
             VALUES ($1, $2, $3, $4, 1, 1, $5)",
        )
        .bind(shop_id)
        .bind(id)
        .bind(label_fr)
        .bind(label_en)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for example in examples {
            sqlx::query(
                "INSERT INTO intent_examples (shop_id, intent, text, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(shop_id)
            .bind(id)
            .bind(example)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        schedule_unique_job_in(&mut tx, RETRAIN_INTENTS, shop_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_intent_rule(
        &self,
        shop_id: i64,
        intent: &str,
        keywords: &[String],
    ) -> Result<i64> {
        self.check_intent(shop_id, intent).await?;
        let keywords: Vec<&str> = keywords
            .iter()
            .map(|k| k.trim())
            .filter(|k| !k.is_empty())
            .collect();
        if keywords.is_empty() {
            return Err(StoreError::Invalid(
                "a rule needs at least one keyword".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO intent_rules (shop_id, intent, keywords, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(shop_id)
        .bind(intent)
        .bind(keywords.join("\n"))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        touch_intent_settings(&mut tx, shop_id).await?;
        tx.commit().await?;
        Ok(row.try_get("id")?)
    }

    pub async fn delete_intent_rule(&self, shop_id: i64, rule_id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM intent_rules WHERE shop_id = $1 AND id = $2")
            .bind(shop_id)
            .bind(rule_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("rule {rule_id}")));
        }
        touch_intent_settings(&mut tx, shop_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The shop's keyword rules, oldest first (the first that matches wins).
    pub async fn intent_rules(&self, shop_id: i64) -> Result<Vec<KeywordRule>> {
        sqlx::query("SELECT id, intent, keywords FROM intent_rules WHERE shop_id = $1 ORDER BY id")
            .bind(shop_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(KeywordRule {
                    id: row.try_get("id")?,
                    intent: row.try_get("intent")?,
                    keywords: row
                        .try_get::<String, _>("keywords")?
                        .lines()
                        .map(str::to_string)
                        .collect(),
                })
            })
            .collect()
    }

    /// An employee sets a message's intent: the message and its ticket take it at once, the
    /// correction is kept for training, and the shop's model is retrained by a job scheduled in
    /// the same transaction.
    pub async fn correct_intent(
        &self,
        shop_id: i64,
        message_row_id: i64,
        intent: &str,
        corrected_by: &str,
    ) -> Result<()> {
        self.check_intent(shop_id, intent).await?;
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT ticket_id, triage FROM messages WHERE id = $1 AND shop_id = $2 AND direction = 'in'")
            .bind(message_row_id)
            .bind(shop_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("message {message_row_id}")))?;
        let ticket_id: i64 = row.try_get("ticket_id")?;
        let previous: Option<String> = row.try_get("triage")?;
        let mut corrected: Triage =
            super::decode_optional_json("messages", message_row_id, "triage", previous)?
                .unwrap_or_else(|| Triage {
                    lang: None,
                    intent: String::new(),
                    confidence: 0.0,
                    facts: Default::default(),
                    reason: Reason::Model {
                        features: Vec::new(),
                    },
                });
        corrected.intent = intent.to_string();
        corrected.confidence = 1.0;
        corrected.reason = Reason::Correction {
            by: corrected_by.to_string(),
        };
        sqlx::query(
            "UPDATE messages SET intent = $1, intent_confidence = 1.0, triage = $2 WHERE id = $3",
        )
        .bind(intent)
        .bind(serde_json::to_string(&corrected).unwrap_or_default())
        .bind(message_row_id)
        .execute(&mut *tx)
        .await?;
        // The ticket follows its latest customer message, so only that one moves it.
        sqlx::query(
            "UPDATE tickets SET intent = $1, updated_at = $2 WHERE id = $3 AND $4 = \
             (SELECT id FROM messages WHERE ticket_id = $3 AND direction = 'in' ORDER BY received_at DESC, id DESC LIMIT 1)",
        )
        .bind(intent)
        .bind(now)
        .bind(ticket_id)
        .bind(message_row_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO intent_corrections (message_row_id, shop_id, intent, corrected_by, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (message_row_id) DO UPDATE SET intent = excluded.intent, corrected_by = excluded.corrected_by, created_at = excluded.created_at",
        )
        .bind(message_row_id)
        .bind(shop_id)
        .bind(intent)
        .bind(corrected_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        schedule_unique_job_in(&mut tx, RETRAIN_INTENTS, shop_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What a shop's model learns beyond the shipped corpus: custom intents' examples and
    /// corrections (on the message's subject and new text, as triage saw it).
    pub async fn shop_examples(&self, shop_id: i64) -> Result<Vec<ShopExample>> {
        let mut examples: Vec<ShopExample> = sqlx::query(
            "SELECT e.intent, e.text FROM intent_examples e WHERE e.shop_id = $1 ORDER BY e.id",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ShopExample {
                intent: row.try_get("intent")?,
                text: row.try_get("text")?,
                correction: false,
            })
        })
        .collect::<Result<_>>()?;
        for row in sqlx::query(
            "SELECT c.intent, m.subject, m.new_text FROM intent_corrections c JOIN messages m ON m.id = c.message_row_id \
             WHERE c.shop_id = $1 ORDER BY c.message_row_id",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?
        {
            examples.push(ShopExample {
                intent: row.try_get("intent")?,
                text: triage::classifier::message_text(
                    &row.try_get::<String, _>("subject")?,
                    &row.try_get::<String, _>("new_text")?,
                ),
                correction: true,
            });
        }
        Ok(examples)
    }

    /// Latest correction or example time, to tell whether a model is stale.
    pub async fn shop_training_changed_at(&self, shop_id: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT (SELECT MAX(created_at) FROM intent_corrections WHERE shop_id = $1) AS c, \
             (SELECT MAX(created_at) FROM intent_examples WHERE shop_id = $1) AS e",
        )
        .bind(shop_id)
        .fetch_one(&self.pool)
        .await?;
        let c: Option<i64> = row.try_get("c")?;
        let e: Option<i64> = row.try_get("e")?;
        Ok(c.unwrap_or(0).max(e.unwrap_or(0)))
    }

    pub async fn save_shop_model(
        &self,
        shop_id: i64,
        model: &[u8],
        examples: i64,
        corrections: i64,
        trained_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO shop_models (shop_id, model, examples, corrections, trained_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (shop_id) DO UPDATE SET model = excluded.model, examples = excluded.examples, \
             corrections = excluded.corrections, trained_at = excluded.trained_at, version = shop_models.version + 1",
        )
        .bind(shop_id)
        .bind(model.to_vec())
        .bind(examples)
        .bind(corrections)
        .bind(trained_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn shop_model_info(&self, shop_id: i64) -> Result<Option<ShopModelInfo>> {
        sqlx::query("SELECT examples, corrections, trained_at FROM shop_models WHERE shop_id = $1")
            .bind(shop_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                Ok(ShopModelInfo {
                    examples: row.try_get("examples")?,
                    corrections: row.try_get("corrections")?,
                    trained_at: row.try_get("trained_at")?,
                })
            })
            .transpose()
    }
}
