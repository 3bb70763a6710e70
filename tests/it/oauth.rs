//! Gmail and Microsoft 365 mailboxes through OAuth2 (issue 12): the fake authorization server
//! the tests stand on, Dovecot checking its tokens, and the flows that connect a mailbox.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::fakes::oauth::{FakeClient, FakeOAuth};

const REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Consents on the fake's page as `account` would, and returns where it redirects.
async fn consent(
    fake: &FakeOAuth,
    client: &FakeClient,
    account: &str,
    challenge: Option<&str>,
) -> url::Url {
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid email https://mail.google.com/"),
        ("state", "state-123"),
        ("account", account),
    ];
    if let Some(challenge) = challenge {
        form.extend([
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
    }
    let answer = no_redirects()
        .post(fake.authorize_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303, "consent redirects");
    url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn exchange(fake: &FakeOAuth, client: &FakeClient, form: &[(&str, &str)]) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(fake.token_url())
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .form(form)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn exchange_code(
    fake: &FakeOAuth,
    client: &FakeClient,
    code: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    form.extend(verifier.map(|v| ("code_verifier", v)));
    exchange(fake, client, &form).await
}

async fn introspect(fake: &FakeOAuth, token: &str) -> Value {
    reqwest::Client::new()
        .post(fake.introspection_url())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn fake_authorization_server_follows_the_code_grant_pkce_and_introspection() {
    let fake = FakeOAuth::shared();
    let client = fake.register_client(&[REDIRECT_URI]);
    fake.set_access_token_lifetime(&client, Duration::from_secs(2));
    let account = "fake-selftest@shop.test";
    let verifier = "v".repeat(43) + "-._~0123456789";
    let back = consent(fake, &client, account, Some(&challenge_of(&verifier))).await;
    assert_eq!(query(&back, "state").as_deref(), Some("state-123"));
    let code = query(&back, "code").expect("a code");
    let (status, error) = exchange_code(fake, &client, &code, None).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let wrong = "w".repeat(43);
    let (status, error) = exchange_code(fake, &client, &code, Some(&wrong)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, tokens) = exchange_code(fake, &client, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(
                tokens["id_token"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .nth(1)
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["email"], account);
    assert_eq!(claims["aud"], client.client_id.as_str());

    let active = introspect(fake, &access).await;
    assert_eq!(
        (active["active"].as_bool(), active["username"].as_str()),
        (Some(true), Some(account))
    );
    assert_eq!(introspect(fake, "made-up").await["active"], false);

    // A code works once; its replay is refused and revokes what it issued (RFC 6749 §4.1.2).
    let (status, error) = exchange_code(fake, &client, &code, Some(&verifier)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(introspect(fake, &access).await["active"], false);
    assert_eq!(fake.live_refresh_tokens(account), 0);

    // A fresh grant, then expiry and refresh.
    let back = consent(fake, &client, account, None).await;
    let code = query(&back, "code").unwrap();
    let (status, tokens) = exchange_code(fake, &client, &code, None).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh, refresh_token);
    assert!(
        crate::support::eventually_async(Duration::from_secs(5), async || {
            introspect(fake, &access).await["active"] == false
        })
        .await,
        "the access token expires"
    );
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let (status, renewed) = exchange(fake, &client, &refresh_form).await;
    assert_eq!(status, 200, "{renewed}");
    let renewed_access = renewed["access_token"].as_str().unwrap().to_string();
    assert_eq!(introspect(fake, &renewed_access).await["active"], true);

    fake.revoke_consent(account);
    assert_eq!(introspect(fake, &renewed_access).await["active"], false);
    let (status, error) = exchange(fake, &client, &refresh_form).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn fake_authorization_server_never_redirects_to_an_unregistered_uri() {
    let fake = FakeOAuth::shared();
    let client = fake.register_client(&[REDIRECT_URI]);
    let answer = no_redirects()
        .get(fake.authorize_url())
        .query(&[
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", "http://evil.test/steal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = no_redirects()
        .get(fake.authorize_url())
        .query(&[
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", "http://127.0.0.1:4711/oauth/callback"),
            ("code_challenge", "abc"),
            ("code_challenge_method", "plain"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        query(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query(&location, "state").as_deref(), Some("s"));
}
