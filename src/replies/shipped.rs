//! The reply templates every shop starts with: what each is (needs, what happens next) here,
//! its text in each language's catalogue file (`[shipped]` section of `src/i18n/*.toml`), so a
//! new language brings its templates with its file. `product_question`, `complaint` and `other`
//! have none on purpose: they need a person.
//!
//! Each template handles every context it can meet: with or without the customer's name, with
//! or without order data, with or without missing information.

use super::templates::{Need, ReplyTemplate, WhenComplete};
use crate::i18n;
use crate::model::UiLang;

/// The shipped templates: one per intent of [`SHIPPED`] and language, their bodies from the
/// catalogue's `[shipped]` section (a language's file brings its own).
pub fn shipped_templates() -> Vec<ReplyTemplate> {
    UiLang::ALL
        .iter()
        .flat_map(|&lang| {
            SHIPPED.iter().filter_map(move |shipped| {
                let body = i18n::lookup(lang, &format!("shipped.{}", shipped.intent))?;
                Some(ReplyTemplate {
                    intent: shipped.intent.to_string(),
                    lang,
                    needs: shipped.needs.to_vec(),
                    when_complete: shipped.when_complete,
                    needs_order_data: shipped.needs_order_data,
                    body: body.to_string(),
                })
            })
        })
        .collect()
}

/// What a shipped template is, whatever its language.
struct Shipped {
    intent: &'static str,
    needs: &'static [Need],
    when_complete: WhenComplete,
    needs_order_data: bool,
}

const ORDER: &[Need] = &[Need::OrderRef];
const ORDER_AND_ADDRESS: &[Need] = &[Need::OrderRef, Need::NewAddress];
const ORDER_AND_PHOTO: &[Need] = &[Need::OrderRef, Need::Photo];

const SHIPPED: &[Shipped] = &[
    Shipped {
        intent: "order_status",
        needs: ORDER,
        when_complete: WhenComplete::Answer,
        needs_order_data: true,
    },
    Shipped {
        intent: "return_exchange",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
    Shipped {
        intent: "refund",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
    Shipped {
        intent: "cancel_order",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
    Shipped {
        intent: "change_order",
        needs: ORDER_AND_ADDRESS,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
    Shipped {
        intent: "damaged_or_wrong_item",
        needs: ORDER_AND_PHOTO,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
    Shipped {
        intent: "invoice",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
    Shipped {
        intent: "account",
        needs: &[],
        when_complete: WhenComplete::Answer,
        needs_order_data: false,
    },
    Shipped {
        intent: "payment_issue",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A language file lacking a template another has, or carrying one for an intent that is
    /// not shipped, fails here (the catalogue test also checks every key is in every file).
    #[test]
    fn every_language_has_exactly_the_shipped_templates() {
        let intents: Vec<&str> = SHIPPED.iter().map(|s| s.intent).collect();
        for &lang in UiLang::ALL {
            let mut found: Vec<&str> = i18n::keys(lang)
                .filter_map(|key| key.strip_prefix("shipped."))
                .collect();
            found.sort_unstable();
            let mut expected = intents.clone();
            expected.sort_unstable();
            assert_eq!(found, expected, "shipped templates of {}", lang.code());
        }
        assert_eq!(shipped_templates().len(), SHIPPED.len() * UiLang::ALL.len());
    }
}
