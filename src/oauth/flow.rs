//! The authorization code grant with PKCE, as RFC 6749 §4.1 and RFC 7636 describe it, and the
//! refresh grant (§6): building the authorization URL, checking what comes back to the
//! redirect URI, and talking to the token endpoint.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{OAuthConfig, OAuthError, Provider};

/// A connection started here: the URL to send the person to, and what checks the answer.
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    /// The PKCE code verifier (RFC 7636 §4.1), sent only to the token endpoint.
    pub verifier: SecretString,
}

fn random_url_safe() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// BASE64URL(SHA256(verifier)), the `S256` challenge (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization URL for `provider`, coming back to `redirect_uri`; `login_hint` fills in
/// the address on the provider's sign-in page.
pub fn authorization_request(
    config: &OAuthConfig,
    provider: Provider,
    redirect_uri: &str,
    login_hint: Option<&str>,
) -> Result<AuthorizationRequest, OAuthError> {
    let client_id = config.client_id(provider)?;
    let settings = config.provider(provider);
    let state = random_url_safe();
    // 32 random bytes give the 43 characters RFC 7636 §4.1 recommends.
    let verifier = random_url_safe();
    let mut url = url::Url::parse(&settings.authorize_url)
        .map_err(|e| OAuthError::Malformed(format!("authorize_url: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &provider.scopes().join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        for (name, value) in provider.extra_authorization_parameters() {
            query.append_pair(name, value);
        }
        if let Some(hint) = login_hint {
            query.append_pair("login_hint", hint);
        }
    }
    Ok(AuthorizationRequest {
        url: url.to_string(),
        state,
        verifier: SecretString::from(verifier),
    })
}

/// The code in what came back to the redirect URI (its query pairs), once the state is the
/// one this connection sent (RFC 6749 §10.12); the provider's refusal as an error.
pub fn code_from_callback<'a>(
    expected_state: &str,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<String, OAuthError> {
    let (mut code, mut state, mut error) = (None, None, None);
    for (name, value) in pairs {
        match name {
            "code" => code = Some(value),
            "state" => state = Some(value),
            "error" => error = Some(value),
            _ => {}
        }
    }
    let state_matches = state.is_some_and(|s| {
        s.len() == expected_state.len()
            && s.bytes()
                .zip(expected_state.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    });
    if !state_matches {
        return Err(OAuthError::WrongState);
    }
    if let Some(error) = error {
        return Err(OAuthError::Denied(error.to_string()));
    }
    code.filter(|c| !c.is_empty())
        .map(str::to_string)
        .ok_or(OAuthError::MissingCode)
}

/// What a successful code exchange gives.
pub struct Grant {
    /// The address the provider confirms (the ID token's `email`, or Microsoft's
    /// `preferred_username`).
    pub email: String,
    pub refresh_token: SecretString,
    pub access_token: SecretString,
    pub expires_in: Duration,
}

/// A renewed access token.
pub struct Refreshed {
    pub access_token: SecretString,
    pub expires_in: Duration,
    /// A new refresh token, when the provider rotates them (Microsoft does): it replaces
    /// the one used, which may stop working.
    pub refresh_token: Option<SecretString>,
}

/// The token endpoint's answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

/// An error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    email: Option<String>,
    preferred_username: Option<String>,
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a TLS client with the built-in roots")
    })
}

/// POSTs a token request with the client's credentials in the body (`client_secret_post`,
/// which both Google and Microsoft accept).
async fn token_request(
    config: &OAuthConfig,
    provider: Provider,
    form: &[(&str, &str)],
) -> Result<TokenAnswer, OAuthError> {
    let settings = config.provider(provider);
    let client_id = config.client_id(provider)?;
    let mut body: Vec<(&str, &str)> = form.to_vec();
    body.push(("client_id", client_id));
    if let Some(secret) = &settings.client_secret {
        body.push(("client_secret", secret.expose_secret()));
    }
    let answer = http()
        .post(&settings.token_url)
        .form(&body)
        .send()
        .await
        .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
    let status = answer.status();
    let text = answer
        .text()
        .await
        .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_str(&text)
            .map_err(|e| OAuthError::Malformed(format!("token answer: {e}")));
    }
    match serde_json::from_str::<ErrorAnswer>(&text) {
        Ok(error) if error.error == "invalid_grant" => Err(OAuthError::ReconnectNeeded(
            error.error_description.unwrap_or(error.error),
        )),
        Ok(error) => Err(OAuthError::Refused {
            error: error.error,
            description: error.error_description.unwrap_or_default(),
        }),
        Err(_) => Err(OAuthError::Malformed(format!("HTTP {status}"))),
    }
}

/// The address in an ID token. Its signature is not checked: the token comes straight from
/// the token endpoint over TLS, which OpenID Connect Core §3.1.3.7 accepts instead.
pub fn confirmed_address(id_token: &str) -> Result<String, OAuthError> {
    let claims = id_token
        .split('.')
        .nth(1)
        .and_then(|part| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok())
        .and_then(|raw| serde_json::from_slice::<IdClaims>(&raw).ok())
        .ok_or_else(|| OAuthError::Malformed("id_token".into()))?;
    claims
        .email
        .or(claims.preferred_username)
        .map(|address| address.trim().to_lowercase())
        .filter(|address| address.contains('@'))
        .ok_or(OAuthError::NoConfirmedAddress)
}

/// Exchanges the code for tokens (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5).
pub async fn exchange_code(
    config: &OAuthConfig,
    provider: Provider,
    redirect_uri: &str,
    code: &str,
    verifier: &SecretString,
) -> Result<Grant, OAuthError> {
    let answer = token_request(
        config,
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose_secret()),
        ],
    )
    .await?;
    let email = confirmed_address(answer.id_token.as_deref().unwrap_or_default())?;
    let refresh_token = answer.refresh_token.ok_or_else(|| {
        OAuthError::Malformed("no refresh_token: offline access was not granted".into())
    })?;
    Ok(Grant {
        email,
        refresh_token: SecretString::from(refresh_token),
        access_token: SecretString::from(answer.access_token),
        expires_in: Duration::from_secs(answer.expires_in.unwrap_or(3600)),
    })
}

/// A new access token from the refresh token (RFC 6749 §6).
pub async fn refresh(
    config: &OAuthConfig,
    provider: Provider,
    refresh_token: &SecretString,
) -> Result<Refreshed, OAuthError> {
    let answer = token_request(
        config,
        provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ],
    )
    .await?;
    Ok(Refreshed {
        access_token: SecretString::from(answer.access_token),
        expires_in: Duration::from_secs(answer.expires_in.unwrap_or(3600)),
        refresh_token: answer
            .refresh_token
            .filter(|rotated| !rotated.is_empty() && rotated != refresh_token.expose_secret())
            .map(SecretString::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ProviderSettings;

    fn configured() -> OAuthConfig {
        let mut config = OAuthConfig::default();
        config.google.client_id = Some("app.apps.googleusercontent.com".into());
        config.microsoft = ProviderSettings {
            client_id: Some("ms-app".into()),
            ..ProviderSettings::defaults(Provider::Microsoft, "organizations")
        };
        config
    }

    #[test]
    fn the_pkce_challenge_is_the_rfc_example() {
        // RFC 7636 Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorization_url_asks_for_offline_mail_access_with_pkce() {
        let request = authorization_request(
            &configured(),
            Provider::Google,
            "http://127.0.0.1:8080/oauth/callback",
            Some("sav@boutique.example"),
        )
        .unwrap();
        let url = url::Url::parse(&request.url).unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.host_str(), Some("accounts.google.com"));
        assert_eq!(pairs["scope"], "https://mail.google.com/ openid email");
        assert_eq!(pairs["access_type"], "offline");
        assert_eq!(pairs["state"], request.state);
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(
            pairs["code_challenge"],
            pkce_challenge(request.verifier.expose_secret())
        );
        assert_eq!(request.verifier.expose_secret().len(), 43);
        assert!(!request.url.contains(request.verifier.expose_secret()));
        assert_eq!(pairs["login_hint"], "sav@boutique.example");
        let microsoft =
            authorization_request(&configured(), Provider::Microsoft, "http://x/cb", None).unwrap();
        assert!(
            microsoft
                .url
                .starts_with("https://login.microsoftonline.com/organizations/")
        );
        assert!(matches!(
            authorization_request(&OAuthConfig::default(), Provider::Google, "http://x", None),
            Err(OAuthError::NotConfigured {
                provider: Provider::Google
            })
        ));
    }

    #[test]
    fn the_callback_gives_its_code_only_with_the_right_state() {
        assert_eq!(
            code_from_callback("s1", [("code", "c1"), ("state", "s1")]),
            Ok("c1".to_string())
        );
        assert_eq!(
            code_from_callback("s1", [("code", "c1"), ("state", "s2")]),
            Err(OAuthError::WrongState)
        );
        assert_eq!(
            code_from_callback("s1", [("code", "c1")]),
            Err(OAuthError::WrongState)
        );
        assert_eq!(
            code_from_callback("s1", [("error", "access_denied"), ("state", "s1")]),
            Err(OAuthError::Denied("access_denied".into()))
        );
        assert_eq!(
            code_from_callback("s1", [("state", "s1")]),
            Err(OAuthError::MissingCode)
        );
    }

    #[test]
    fn the_confirmed_address_comes_from_the_id_token() {
        let token = |claims: &str| format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
        assert_eq!(
            confirmed_address(&token(r#"{"email":"SAV@Boutique.example"}"#)),
            Ok("sav@boutique.example".into())
        );
        assert_eq!(
            confirmed_address(&token(r#"{"preferred_username":"sav@contoso.example"}"#)),
            Ok("sav@contoso.example".into())
        );
        assert_eq!(
            confirmed_address(&token(r#"{"sub":"1"}"#)),
            Err(OAuthError::NoConfirmedAddress)
        );
        assert!(matches!(
            confirmed_address("garbage"),
            Err(OAuthError::Malformed(_))
        ));
    }
}
