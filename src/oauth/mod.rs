//! Mailboxes that sign in with OAuth2: Gmail / Google Workspace and Microsoft 365, where a
//! password alone no longer opens IMAP and SMTP.
//!
//! The operator registers their own application with each provider (a self-hosted desk has no
//! shared one) and gives its client id and secret in the configuration (`[oauth.google]`,
//! `[oauth.microsoft]`). A mailbox is connected by the authorization code grant with PKCE
//! (RFC 6749 §4.1, RFC 7636) and a `state` check; the provider's refresh token is sealed at rest
//! like a password, and short-lived access tokens are asked for when needed, kept in memory
//! only, and never logged.

pub mod flow;
pub mod loopback;
pub mod sasl;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{CryptoError, SealingKey};
use crate::intake::imap::Credential;
use crate::model::UiLang;
use crate::store::{MailboxRow, Store};

/// Purpose the refresh token is sealed under (a password is sealed under another one).
pub const REFRESH_TOKEN_PURPOSE: &str = "mailbox-oauth-refresh-token";

/// The identity providers Guichet connects mailboxes of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Microsoft,
}

crate::serde_names!(Provider);

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Google, Provider::Microsoft];

    /// What the mailbox connection asks for: full IMAP and SMTP access, a refresh token, and
    /// the signed-in address (OpenID Connect `openid email`).
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Provider::Google => &["https://mail.google.com/", "openid", "email"],
            Provider::Microsoft => &[
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
                "offline_access",
                "openid",
                "email",
            ],
        }
    }

    /// Extra authorization parameters: Google gives a refresh token only with
    /// `access_type=offline`, and again for an account that consented before only with
    /// `prompt=consent`. Microsoft gives one for the `offline_access` scope.
    pub fn extra_authorization_parameters(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Provider::Google => &[("access_type", "offline"), ("prompt", "consent")],
            Provider::Microsoft => &[],
        }
    }

    /// The entry of the mail provider table (`intake::providers`) that gives its servers.
    pub fn mail_provider(self) -> &'static str {
        match self {
            Provider::Google => "gmail",
            Provider::Microsoft => "outlook",
        }
    }

    /// The provider's name for people ("Google", "Microsoft").
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
        }
    }
}

/// How a mailbox signs in to its servers; stored as `password`, `google` or `microsoft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MailboxAuth {
    /// The sealed secret is the mailbox password.
    #[default]
    Password,
    /// The sealed secret is the provider's refresh token.
    OAuth(Provider),
}

impl std::fmt::Display for MailboxAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailboxAuth::Password => f.write_str("password"),
            MailboxAuth::OAuth(provider) => provider.fmt(f),
        }
    }
}

impl std::str::FromStr for MailboxAuth {
    type Err = crate::model::UnknownName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "password" => Ok(MailboxAuth::Password),
            other => other.parse().map(MailboxAuth::OAuth),
        }
    }
}

/// One provider's application, as the operator registered it (`[oauth.google]`...).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// None: the provider is not set up, its button and CLI flag say so.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub authorize_url: String,
    pub token_url: String,
}

impl ProviderSettings {
    /// The public endpoints; `tenant` is Microsoft's directory (`common`, `organizations`, a
    /// tenant id or domain).
    pub fn defaults(provider: Provider, tenant: &str) -> ProviderSettings {
        let (authorize_url, token_url) = match provider {
            Provider::Google => (
                "https://accounts.google.com/o/oauth2/v2/auth".to_string(),
                "https://oauth2.googleapis.com/token".to_string(),
            ),
            Provider::Microsoft => (
                format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
                format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            ),
        };
        ProviderSettings {
            client_id: None,
            client_secret: None,
            authorize_url,
            token_url,
        }
    }
}

/// Both providers' applications (`[oauth]`).
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub google: ProviderSettings,
    pub microsoft: ProviderSettings,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            google: ProviderSettings::defaults(Provider::Google, "common"),
            microsoft: ProviderSettings::defaults(Provider::Microsoft, "common"),
        }
    }
}

impl OAuthConfig {
    pub fn provider(&self, provider: Provider) -> &ProviderSettings {
        match provider {
            Provider::Google => &self.google,
            Provider::Microsoft => &self.microsoft,
        }
    }

    /// The provider's client id, or why it cannot be used.
    pub fn client_id(&self, provider: Provider) -> Result<&str, OAuthError> {
        self.provider(provider)
            .client_id
            .as_deref()
            .ok_or(OAuthError::NotConfigured { provider })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("no OAuth application is configured for {provider} (oauth.{provider}.client_id)")]
    NotConfigured { provider: Provider },
    #[error("the authorization server cannot be reached: {0}")]
    Unreachable(String),
    /// The refresh token no longer works: consent withdrawn, password changed, expired.
    #[error("the provider no longer accepts this mailbox's authorization ({0})")]
    ReconnectNeeded(String),
    #[error("the authorization server refused: {error} {description}")]
    Refused { error: String, description: String },
    #[error("the authorization server answered something unexpected: {0}")]
    Malformed(String),
    #[error("the provider did not confirm the mailbox address")]
    NoConfirmedAddress,
    #[error("the answer does not belong to a connection started here (state mismatch)")]
    WrongState,
    #[error("the provider's answer carries no authorization code")]
    MissingCode,
    #[error("the connection was not authorized ({0})")]
    Denied(String),
    #[error("mailbox secret: {0}")]
    Sealed(String),
    #[error("the mailbox's authorization could not be read or saved: {0}")]
    Store(String),
}

impl From<CryptoError> for OAuthError {
    fn from(error: CryptoError) -> Self {
        OAuthError::Sealed(error.to_string())
    }
}

impl OAuthError {
    /// What the shop reads, in its language.
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            OAuthError::NotConfigured { provider } => crate::t!(
                lang,
                "oauth.not_configured",
                provider = provider.display_name(),
                key = provider.to_string()
            )
            .to_string(),
            OAuthError::ReconnectNeeded(_) => crate::t!(lang, "oauth.reconnect_needed").to_string(),
            OAuthError::WrongState | OAuthError::MissingCode => {
                crate::t!(lang, "oauth.wrong_answer").to_string()
            }
            OAuthError::Denied(error) => crate::t!(lang, "oauth.denied", error = error).to_string(),
            other => crate::t!(lang, "oauth.failed", reason = other.to_string()).to_string(),
        }
    }
}

/// An access token and when to stop using it.
struct CachedToken {
    token: SecretString,
    renew_at: Instant,
}

/// Access tokens of this process, keyed by a hash of the refresh token they came from, so two
/// databases (or two mailboxes) never share one. Memory only: a restart asks again.
fn cache() -> &'static Mutex<HashMap<[u8; 32], CachedToken>> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], CachedToken>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// Forgets an access token the server refused (consent withdrawn, token revoked before its
/// time): the next sign-in asks the provider, which then says whether to reconnect.
pub fn forget_access_token(token: &SecretString) {
    cache()
        .lock()
        .unwrap()
        .retain(|_, cached| cached.token.expose_secret() != token.expose_secret());
}

/// When to ask for a new access token: a minute before it expires, or halfway through a
/// lifetime shorter than two minutes, so a token is never sent in its last moments.
pub fn renewal_delay(lifetime: Duration) -> Duration {
    let margin = Duration::from_secs(60).min(lifetime / 2);
    lifetime - margin
}

/// One lock per mailbox around the refresh grant: with rotation, two refreshes of one token
/// at once (the watcher's and the sender's) would see the second refused.
fn refresh_lock(mailbox_id: i64) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Mutex::default).lock().unwrap();
    Arc::clone(locks.entry(mailbox_id).or_default())
}

fn token_id(refresh_token: &SecretString) -> [u8; 32] {
    Sha256::digest(refresh_token.expose_secret().as_bytes()).into()
}

/// What signs the mailbox in: its password, or an access token obtained with its refresh
/// token (from memory while it is fresh, else from the provider's token endpoint). The
/// refresh token is read from the store, not from `mailbox` (it may have been rotated since
/// the row was read); a rotated one is sealed and saved in its place.
pub async fn mailbox_credential(
    store: &Store,
    mailbox: &MailboxRow,
    key: &SealingKey,
    config: &OAuthConfig,
) -> Result<Credential, OAuthError> {
    let store_error = |e: crate::store::StoreError| OAuthError::Store(e.to_string());
    let current = async || {
        Ok::<_, OAuthError>(
            store
                .mailbox_secret(mailbox.id)
                .await
                .map_err(store_error)?
                .unwrap_or_else(|| (mailbox.auth, mailbox.password_sealed.clone())),
        )
    };
    let provider = match mailbox.auth {
        MailboxAuth::Password => {
            return Ok(Credential::Password(key.open(
                &mailbox.password_sealed,
                crate::intake::sync::PASSWORD_PURPOSE,
            )?));
        }
        MailboxAuth::OAuth(provider) => provider,
    };
    let lock = refresh_lock(mailbox.id);
    let _refreshing = lock.lock().await;
    let (_, mut sealed) = current().await?;
    let mut retried = false;
    loop {
        let refresh_token = key.open(&sealed, REFRESH_TOKEN_PURPOSE)?;
        if let Some(cached) = cache().lock().unwrap().get(&token_id(&refresh_token))
            && cached.renew_at > Instant::now()
        {
            return Ok(Credential::AccessToken(cached.token.clone()));
        }
        let fresh = match flow::refresh(config, provider, &refresh_token).await {
            Ok(fresh) => fresh,
            // Another node may have rotated the token meanwhile: try the newer one once.
            Err(OAuthError::ReconnectNeeded(why)) => {
                let (_, now) = current().await?;
                if retried || now == sealed {
                    return Err(OAuthError::ReconnectNeeded(why));
                }
                (sealed, retried) = (now, true);
                continue;
            }
            Err(other) => return Err(other),
        };
        tracing::debug!(%provider, lifetime_s = fresh.expires_in.as_secs(), rotated = fresh.refresh_token.is_some(), "access token renewed");
        let kept = match &fresh.refresh_token {
            Some(rotated) => {
                let new = key.seal(rotated, REFRESH_TOKEN_PURPOSE);
                if !store
                    .rotate_mailbox_secret(mailbox.id, &sealed, &new)
                    .await
                    .map_err(store_error)?
                {
                    tracing::warn!(mailbox = %mailbox.email, "rotated refresh token not saved: the mailbox was reconnected meanwhile");
                }
                rotated
            }
            None => &refresh_token,
        };
        cache().lock().unwrap().insert(
            token_id(kept),
            CachedToken {
                token: fresh.access_token.clone(),
                renew_at: Instant::now() + renewal_delay(fresh.expires_in),
            },
        );
        return Ok(Credential::AccessToken(fresh.access_token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_kinds_round_trip_through_their_stored_names() {
        for auth in [
            MailboxAuth::Password,
            MailboxAuth::OAuth(Provider::Google),
            MailboxAuth::OAuth(Provider::Microsoft),
        ] {
            assert_eq!(auth.to_string().parse::<MailboxAuth>(), Ok(auth));
        }
        assert!("yahoo".parse::<MailboxAuth>().is_err());
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        assert_eq!(
            renewal_delay(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            renewal_delay(Duration::from_secs(4)),
            Duration::from_secs(2)
        );
        assert_eq!(renewal_delay(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_refused_access_token_is_forgotten() {
        let refused = SecretString::from("access-refused".to_string());
        let kept = SecretString::from("access-kept".to_string());
        let renew_at = Instant::now() + Duration::from_secs(60);
        for (id, token) in [([1u8; 32], &refused), ([2u8; 32], &kept)] {
            cache().lock().unwrap().insert(
                id,
                CachedToken {
                    token: token.clone(),
                    renew_at,
                },
            );
        }
        forget_access_token(&refused);
        let cache = cache().lock().unwrap();
        assert!(!cache.contains_key(&[1u8; 32]));
        assert!(cache.contains_key(&[2u8; 32]));
    }

    #[test]
    fn microsoft_endpoints_name_the_tenant() {
        let settings = ProviderSettings::defaults(Provider::Microsoft, "contoso.onmicrosoft.com");
        assert_eq!(
            settings.token_url,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(Provider::Microsoft.scopes().contains(&"offline_access"));
        for provider in Provider::ALL {
            assert!(crate::intake::providers::by_name(provider.mail_provider()).is_some());
        }
    }
}
