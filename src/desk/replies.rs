//! The outbox as employees see it: answers scheduled, sent, failed or uncertain, and what can
//! be done with them (cancel, send now or again, edit).

use crate::answering::send::{self, SendSummary};
use crate::model::{ReplyState, UiLang};
use crate::store::{ReplyAction, ReplyView, Shop};
#[cfg(test)]
use crate::t;

use super::{Desk, DeskError, DeskResult, not_found};

/// A reply's state in a person's words.
pub fn state_label(state: ReplyState, lang: UiLang) -> String {
    crate::i18n::text(lang, &format!("reply_state.{}", state)).to_string()
}

impl Desk {
    /// Replies, newest first, of one shop or all, in one state or any.
    pub async fn replies(
        &self,
        shop: Option<&Shop>,
        state: Option<ReplyState>,
    ) -> DeskResult<Vec<ReplyView>> {
        Ok(self.store.replies(shop.map(|s| s.id), None, state).await?)
    }

    pub async fn reply_by_id(&self, id: i64) -> DeskResult<ReplyView> {
        self.store
            .reply(id)
            .await
            .map_err(|e| not_found(e, DeskError::NoReply(id)))
    }

    /// The reply `id` of `shop`; one of another shop is as unknown as a missing one.
    pub async fn reply_of_shop(&self, shop: &Shop, id: i64) -> DeskResult<ReplyView> {
        match self.reply_by_id(id).await {
            Ok(reply) if reply.shop_id == shop.id => Ok(reply),
            Ok(_) | Err(DeskError::NoReply(_)) => Err(DeskError::NoReply(id)),
            Err(other) => Err(other),
        }
    }

    async fn act_on_reply(&self, id: i64, action: ReplyAction<'_>) -> DeskResult<()> {
        let reply = self.reply_by_id(id).await?;
        if !self.store.act_on_reply(id, action).await? {
            return Err(DeskError::ReplyNotActionable {
                id,
                state: reply.state,
            });
        }
        Ok(())
    }

    /// Cancels a scheduled (or shadow) answer.
    pub async fn cancel_reply(&self, id: i64) -> DeskResult<()> {
        self.act_on_reply(id, ReplyAction::Cancel).await
    }

    /// Replaces the text of an answer not sent yet.
    pub async fn edit_reply(&self, id: i64, body: &str) -> DeskResult<()> {
        if body.trim().is_empty() {
            return Err(DeskError::EmptyText);
        }
        self.act_on_reply(id, ReplyAction::Edit(body)).await
    }

    /// Sends a scheduled answer at once, or again one that failed or is uncertain; returns the
    /// row afterwards and what the send pass did.
    pub async fn send_reply_now(&self, id: i64) -> DeskResult<(ReplyView, SendSummary)> {
        self.act_on_reply(id, ReplyAction::SendNow).await?;
        let sent = send::send_due(&self.store, &self.key, self.lang, &self.send_options()).await?;
        Ok((self.reply_by_id(id).await?, sent))
    }
}

/// Every state has its label in every language.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_labels() {
        for state in ReplyState::ALL {
            for lang in [UiLang::Fr, UiLang::En] {
                assert_ne!(state_label(state, lang), format!("reply_state.{}", state));
            }
        }
        assert_eq!(t!(UiLang::En, "reply_state.sent"), "sent");
    }
}
