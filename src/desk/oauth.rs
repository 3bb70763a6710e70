//! Connecting a Gmail or Microsoft 365 mailbox through the provider's consent screen, the same
//! for the back office and the command line: start (the URL to open), then finish with what
//! came back to the redirect URI. A connection that fails stores nothing.

use secrecy::SecretString;

use super::mailboxes::{MailboxInput, MailboxTest, plan_servers, test_before_saving};
use super::{Desk, DeskError, DeskResult};
use crate::intake::imap::{Credential, ImapSettings};
use crate::oauth::{MailboxAuth, OAuthError, Provider, REFRESH_TOKEN_PURPOSE, flow};
use crate::store::Shop;

/// A connection under way: what checks the provider's answer, and the mailbox settings the
/// person gave (the address may be left empty: the provider's confirmation fills it).
pub struct OAuthConnection {
    pub provider: Provider,
    pub redirect_uri: String,
    pub state: String,
    pub verifier: SecretString,
    pub input: MailboxInput,
}

/// A mailbox connected (or reconnected).
#[derive(Debug)]
pub struct OAuthConnected {
    pub mailbox_id: i64,
    pub email: String,
    /// The mailbox existed and got a new authorization.
    pub reconnected: bool,
    pub test: Option<MailboxTest>,
}

impl OAuthConnected {
    /// "Connected" or "reconnected", with the address and the provider, for the CLI and pages.
    pub fn sentence(&self, provider: Provider, lang: crate::model::UiLang) -> String {
        let (email, provider) = (&self.email, provider.display_name());
        let sentence = if self.reconnected {
            crate::t!(
                lang,
                "oauth.reconnected",
                email = email,
                provider = provider
            )
        } else {
            crate::t!(lang, "oauth.connected", email = email, provider = provider)
        };
        sentence.to_string()
    }
}

impl Desk {
    /// Starts connecting a `provider` mailbox that comes back to `redirect_uri`: returns the
    /// URL to open and the connection to finish with the answer.
    pub fn start_oauth(
        &self,
        provider: Provider,
        redirect_uri: &str,
        input: MailboxInput,
    ) -> DeskResult<(String, OAuthConnection)> {
        let hint = Some(input.email.trim()).filter(|e| !e.is_empty());
        let request =
            flow::authorization_request(&self.config.oauth, provider, redirect_uri, hint)?;
        Ok((
            request.url,
            OAuthConnection {
                provider,
                redirect_uri: redirect_uri.to_string(),
                state: request.state,
                verifier: request.verifier,
                input,
            },
        ))
    }

    /// Finishes a connection with the query pairs that came back to the redirect URI: the
    /// state must be this connection's, the code is exchanged with the PKCE verifier, the
    /// mailbox is tested with the access token (unless skipped) and saved under the address
    /// the provider confirms, its refresh token sealed. An existing mailbox of that address
    /// gets the new authorization: that is how a mailbox is reconnected.
    pub async fn finish_oauth(
        &self,
        shop: &Shop,
        connection: &OAuthConnection,
        callback: &[(String, String)],
    ) -> DeskResult<OAuthConnected> {
        let code = flow::code_from_callback(
            &connection.state,
            callback.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        let grant = flow::exchange_code(
            &self.config.oauth,
            connection.provider,
            &connection.redirect_uri,
            &code,
            &connection.verifier,
        )
        .await?;
        let asked = connection.input.email.trim().to_lowercase();
        if !asked.is_empty() && asked != grant.email {
            return Err(DeskError::OAuthOtherAddress {
                asked,
                confirmed: grant.email,
            });
        }
        let input = MailboxInput {
            email: grant.email.clone(),
            provider: connection
                .input
                .provider
                .clone()
                .or_else(|| Some(connection.provider.mail_provider().to_string())),
            ..connection.input.clone()
        };
        let plan = plan_servers(&input)?;
        let username = input.username.clone().unwrap_or_else(|| plan.email.clone());
        let settings = ImapSettings {
            host: plan.imap_host.clone(),
            port: plan.imap_port,
            security: plan.imap_security,
            accept_invalid_certs: input.accept_invalid_certs,
            username: username.clone(),
            credential: Credential::AccessToken(grant.access_token.clone()),
        };
        let test = test_before_saving(&settings, &input, &plan).await?;
        let auth = MailboxAuth::OAuth(connection.provider);
        let sealed = self.key.seal(&grant.refresh_token, REFRESH_TOKEN_PURPOSE);
        let existing = self
            .store
            .mailboxes()
            .await?
            .into_iter()
            .find(|m| m.shop_id == shop.id && m.email == grant.email);
        let (mailbox_id, reconnected) = match existing {
            Some(mailbox) => {
                self.store
                    .set_mailbox_authorization(mailbox.id, auth, &sealed)
                    .await?;
                (mailbox.id, true)
            }
            None => {
                let mailbox = self
                    .new_mailbox(shop, &input, plan, username, auth, sealed)
                    .await?;
                (self.store.add_mailbox(shop.id, &mailbox).await?, false)
            }
        };
        tracing::info!(mailbox = %grant.email, provider = %connection.provider, reconnected, "mailbox connected through OAuth");
        Ok(OAuthConnected {
            mailbox_id,
            email: grant.email,
            reconnected,
            test,
        })
    }
}

impl From<OAuthError> for DeskError {
    fn from(error: OAuthError) -> Self {
        DeskError::OAuth(error)
    }
}
