//! A shop's reply templates per intent and language: shipped or edited, each checked against
//! sample tickets before it is saved.

use serde::Serialize;

use crate::answering::ShopAnswering;
use crate::model::UiLang;
use crate::replies::templates::{
    Need, ReplyTemplate, TemplateError, WhenComplete, check_template, find_template,
};
use crate::store::{Shop, StoredTemplate};

use super::{Desk, DeskError, DeskResult};

/// A template as `templates list --json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    pub intent: String,
    pub lang: UiLang,
    pub needs: Vec<&'static str>,
    pub when_complete: WhenComplete,
    pub edited: bool,
    pub body: String,
}

/// A template to save.
#[derive(Debug, Clone)]
pub struct TemplateInput {
    pub intent: String,
    pub lang: UiLang,
    pub body: String,
    /// Need identifiers: order_ref, photo, new_address, product_name.
    pub needs: Vec<String>,
    pub when_complete: WhenComplete,
}

/// Why a template was not saved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateRefusal {
    #[error("unknown need {0}")]
    UnknownNeed(String),
    #[error("template refused: {0}")]
    Invalid(TemplateError),
}

impl Desk {
    pub async fn templates(&self, shop: &Shop) -> DeskResult<Vec<TemplateView>> {
        let answering = ShopAnswering::load(&self.store, shop.id, self.lang).await?;
        let edited = self.store.shop_templates(shop.id).await?;
        Ok(answering
            .templates
            .iter()
            .map(|t| TemplateView {
                intent: t.intent.clone(),
                lang: t.lang,
                needs: t.needs.iter().map(|n| n.id()).collect(),
                when_complete: t.when_complete,
                edited: edited
                    .iter()
                    .any(|e| e.intent == t.intent && e.lang == t.lang),
                body: t.body.clone(),
            })
            .collect())
    }

    pub async fn template(&self, shop: &Shop, intent: &str, lang: UiLang) -> DeskResult<String> {
        let answering = ShopAnswering::load(&self.store, shop.id, self.lang).await?;
        find_template(&answering.templates, intent, lang)
            .map(|t| t.body.clone())
            .ok_or_else(|| DeskError::NoTemplate {
                intent: intent.to_string(),
                lang,
            })
    }

    /// Saves a template once it renders on every sample ticket; nothing is saved otherwise.
    pub async fn save_template(&self, shop: &Shop, input: TemplateInput) -> DeskResult<()> {
        if crate::triage::builtin_intent(&input.intent).is_none() {
            return Err(DeskError::UnknownIntent(input.intent));
        }
        let needs = input
            .needs
            .iter()
            .map(|n| Need::from_id(n).ok_or_else(|| TemplateRefusal::UnknownNeed(n.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let template = ReplyTemplate {
            intent: input.intent.clone(),
            lang: input.lang,
            needs,
            when_complete: input.when_complete,
            needs_order_data: false,
            body: input.body.clone(),
        };
        check_template(&template).map_err(TemplateRefusal::Invalid)?;
        let when_complete = match input.when_complete {
            WhenComplete::Answer => "answer",
            WhenComplete::HandOver => "hand_over",
        };
        self.store
            .save_template(
                shop.id,
                &StoredTemplate {
                    intent: input.intent,
                    lang: input.lang,
                    body: input.body,
                    needs: input.needs,
                    when_complete: when_complete.into(),
                },
            )
            .await?;
        Ok(())
    }

    /// Back to the shipped template; false when it was not edited.
    pub async fn reset_template(
        &self,
        shop: &Shop,
        intent: &str,
        lang: UiLang,
    ) -> DeskResult<bool> {
        Ok(self
            .store
            .reset_template(shop.id, intent, lang.code())
            .await?)
    }
}
