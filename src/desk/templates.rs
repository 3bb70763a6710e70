//! A shop's reply templates per intent and language: shipped or edited, each checked against
//! sample tickets before it is saved.

use serde::Serialize;

use crate::answering::ShopAnswering;
use crate::answering::plan::order_summary;
use crate::model::UiLang;
use crate::replies::templates::{
    Need, ReplyContext, ReplyTemplate, TemplateError, WhenComplete, check_template, find_template,
    render,
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

    /// Renders `body` as the `intent` template in `lang` would answer ticket `number` of the
    /// shop: its customer, their order and the shop's signature, through the answering's own
    /// engine. Nothing is saved or sent.
    pub async fn preview_template(
        &self,
        shop: &Shop,
        number: i64,
        intent: &str,
        lang: UiLang,
        body: &str,
    ) -> DeskResult<String> {
        let answering = ShopAnswering::load(&self.store, shop.id, self.lang).await?;
        let shipped = find_template(&answering.templates, intent, lang).ok_or_else(|| {
            DeskError::NoTemplate {
                intent: intent.to_string(),
                lang,
            }
        })?;
        let template = ReplyTemplate {
            body: body.to_string(),
            ..shipped.clone()
        };
        let detail = self.ticket(shop, number).await?;
        let customer = detail.messages.iter().rev().find(|m| m.direction == "in");
        let references = customer
            .and_then(|m| m.triage.as_ref())
            .map(|t| t.facts.order_refs.clone())
            .unwrap_or_default();
        let customer_email = customer
            .map(|m| m.from.clone())
            .unwrap_or_else(|| detail.ticket.customer_email.clone());
        let live = self.live_shop(shop.id).await?;
        let (order, known) = live.find_order(&customer_email, &references).await?;
        let context = ReplyContext {
            customer_name: customer
                .and_then(|m| m.from_name.clone())
                .or_else(|| detail.ticket.customer_name.clone())
                .unwrap_or_default(),
            ticket_number: number,
            shop_name: answering.shop_name.clone(),
            signature: answering.settings.signature.clone(),
            order: order
                .as_ref()
                .map(|o| order_summary(o, lang, &answering.settings.time_zone)),
            order_reference: order
                .map(|o| o.reference)
                .or_else(|| references.first().cloned())
                .unwrap_or_default(),
            missing: Vec::new(),
            customer: crate::answering::plan::customer_summary(
                &known,
                lang,
                &answering.settings.time_zone,
            ),
        };
        render(&template, &context).map_err(|e| TemplateRefusal::Invalid(e).into())
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
