//! Gmail and Microsoft 365 mailboxes through OAuth2 (issue 12): the fake authorization server
//! the tests stand on, Dovecot checking its tokens, and the flows that connect a mailbox.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use guichet::oauth::{OAuthConfig, Provider, flow};

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

/// An access token for `account`, granted to a client of its own through the code grant.
async fn access_token_for(fake: &FakeOAuth, account: &str, lifetime: Duration) -> String {
    let client = fake.register_client(&[REDIRECT_URI]);
    fake.set_access_token_lifetime(&client, lifetime);
    let back = consent(fake, &client, account, None).await;
    let (status, tokens) = exchange_code(fake, &client, &query(&back, "code").unwrap(), None).await;
    assert_eq!(status, 200, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn dovecot_checks_access_tokens_over_imap_and_submission() {
    use guichet::intake::imap::{Credential, ImapClient, ImapError, Security};
    use guichet::outbound::{Refusal, SendError, SmtpSettings};
    use secrecy::SecretString;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let shop = server.new_mailbox("oauth bearer shop");
    let customer = server.new_mailbox("oauth bearer customer");
    let token = access_token_for(fake, &shop.email, Duration::from_secs(2)).await;
    let imap = |credential: Credential| guichet::intake::imap::ImapSettings {
        credential,
        ..crate::support::plain_imap(server, &shop)
    };
    let bearer = |token: &str| Credential::AccessToken(SecretString::from(token.to_string()));
    let introspected = fake.introspections();
    let mut client = ImapClient::connect(&imap(bearer(&token)))
        .await
        .expect("Dovecot accepts the active token");
    client.select("INBOX").await.unwrap();
    assert!(
        fake.introspections() > introspected,
        "Dovecot asked the fake"
    );
    // Dovecot offers OAUTHBEARER and XOAUTH2: the standard one is used.
    let signed_in_with = |service: &str| {
        let user = format!("{service}: Info: Login: user=<{}>, method=", shop.email);
        server
            .dovecot_log()
            .lines()
            .filter_map(|line| line.split_once(&user).map(|(_, rest)| rest.to_string()))
            .map(|rest| rest.split(',').next().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert!(
        crate::support::eventually(Duration::from_secs(5), || {
            signed_in_with("imap-login") == ["OAUTHBEARER"]
        }),
        "IMAP signed in with OAUTHBEARER: {:?}",
        signed_in_with("imap-login")
    );

    let smtp = |credential: Credential| SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.submission_port,
        security: Security::Starttls,
        accept_invalid_certs: true,
        username: shop.email.clone(),
        credential,
        helo_name: None,
    };
    let raw = crate::support::sample_mail(
        &shop.email,
        &customer.email,
        "Sent with a token",
        "Bonjour",
        Some("xoauth2-sent@shop.test"),
        &[],
    );
    guichet::outbound::send(
        &smtp(bearer(&token)),
        &shop.email,
        std::slice::from_ref(&customer.email),
        &raw,
    )
    .await
    .expect("submission accepts the active token");
    assert!(
        crate::support::eventually(Duration::from_secs(20), || {
            server.maildir_messages(&customer, "INBOX").len() == 1
        }),
        "the message sent with a token arrived"
    );
    assert_eq!(
        signed_in_with("submission-login"),
        ["OAUTHBEARER"],
        "submission signed in with OAUTHBEARER"
    );

    let refused = ImapClient::connect(&imap(bearer("made-up-token"))).await;
    assert!(matches!(
        refused,
        Err(ImapError::AuthenticationFailed { .. })
    ));
    assert!(
        crate::support::eventually_async(Duration::from_secs(5), async || {
            matches!(
                ImapClient::connect(&imap(bearer(&token))).await,
                Err(ImapError::AuthenticationFailed { .. })
            )
        })
        .await,
        "an expired token is refused"
    );
    let refused = guichet::outbound::send(
        &smtp(bearer(&token)),
        &shop.email,
        std::slice::from_ref(&customer.email),
        &raw,
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(SendError::Refused {
                reason: Refusal::AuthenticationFailed { .. },
                ..
            })
        ),
        "{refused:?}"
    );
}

/// Guichet's OAuth settings with Google's endpoints pointed at the fake, for `client`.
fn google_through_fake(fake: &FakeOAuth, client: &FakeClient) -> OAuthConfig {
    OAuthConfig {
        google: guichet::oauth::ProviderSettings {
            client_id: Some(client.client_id.clone()),
            client_secret: Some(secrecy::SecretString::from(client.client_secret.clone())),
            authorize_url: fake.authorize_url(),
            token_url: fake.token_url(),
        },
        ..OAuthConfig::default()
    }
}

/// Follows an authorization URL as a person who signs in as `account` and allows access, and
/// returns the final redirect URL (what a browser would land on).
async fn allow(authorization_url: &str, account: &str) -> url::Url {
    let url = url::Url::parse(authorization_url).unwrap();
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("account".into(), account.into()));
    let answer = no_redirects()
        .post(
            format!(
                "{}://{}{}",
                url.scheme(),
                url.host_str().unwrap(),
                url.port().map(|p| format!(":{p}")).unwrap_or_default()
            ) + url.path(),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303, "the fake accepted the request");
    url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

/// Connects `account` through Guichet's code flow (PKCE, state) and returns its grant.
async fn connect_google(config: &OAuthConfig, account: &str) -> flow::Grant {
    let request =
        flow::authorization_request(config, Provider::Google, REDIRECT_URI, Some(account)).unwrap();
    let back = allow(&request.url, account).await;
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let code = flow::code_from_callback(
        &request.state,
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .unwrap();
    flow::exchange_code(
        config,
        Provider::Google,
        REDIRECT_URI,
        &code,
        &request.verifier,
    )
    .await
    .unwrap()
}

/// The `GUICHET_*` variables that point Guichet's Google application at the fake.
fn google_env(fake: &FakeOAuth, client: &FakeClient) -> Vec<(&'static str, String)> {
    vec![
        ("GUICHET_OAUTH_GOOGLE_CLIENT_ID", client.client_id.clone()),
        (
            "GUICHET_OAUTH_GOOGLE_CLIENT_SECRET",
            client.client_secret.clone(),
        ),
        ("GUICHET_OAUTH_GOOGLE_AUTHORIZE_URL", fake.authorize_url()),
        ("GUICHET_OAUTH_GOOGLE_TOKEN_URL", fake.token_url()),
    ]
}

/// A test mailbox connected through Google (the fake), watched over plain IMAP and sending
/// through Dovecot's submission.
fn oauth_mailbox(
    server: &crate::support::MailServer,
    mailbox: &crate::support::TestMailbox,
    key: &guichet::crypto::SealingKey,
    refresh_token: &secrecy::SecretString,
) -> guichet::store::NewMailbox {
    use guichet::oauth::{MailboxAuth, REFRESH_TOKEN_PURPOSE};
    guichet::store::NewMailbox {
        auth: MailboxAuth::OAuth(Provider::Google),
        password_sealed: key.seal(refresh_token, REFRESH_TOKEN_PURPOSE),
        ..relay_mailbox(server, mailbox, key)
    }
}

/// A test mailbox that signs in with its password, sending through Dovecot's submission.
fn relay_mailbox(
    server: &crate::support::MailServer,
    mailbox: &crate::support::TestMailbox,
    key: &guichet::crypto::SealingKey,
) -> guichet::store::NewMailbox {
    guichet::store::NewMailbox {
        smtp_port: server.submission_port,
        smtp_security: guichet::intake::imap::Security::Starttls,
        accept_invalid_certs: true,
        ..crate::support::watched_mailbox(mailbox, server.imap_port, false, &["INBOX"], key)
    }
}

/// The subjects of the mail in `mailbox`'s INBOX.
fn subjects(
    server: &crate::support::MailServer,
    mailbox: &crate::support::TestMailbox,
) -> Vec<String> {
    server
        .maildir_messages(mailbox, "INBOX")
        .iter()
        .filter_map(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .and_then(|m| m.subject().map(str::to_string))
        })
        .collect()
}

/// How many mails titled `subject` are in `mailbox`'s INBOX.
fn received(
    server: &crate::support::MailServer,
    mailbox: &crate::support::TestMailbox,
    subject: &str,
) -> usize {
    subjects(server, mailbox)
        .iter()
        .filter(|s| s.as_str() == subject)
        .count()
}

/// Mailbox `id` as stored now.
async fn mailbox_row(desk: &guichet::desk::Desk, id: i64) -> guichet::store::MailboxRow {
    desk.store
        .mailboxes()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == id)
        .unwrap()
}

/// Sends `subject` from mailbox `id` (the shop's `from`) to `to`, signed in as the desk's
/// sender would be.
async fn send_from(
    desk: &guichet::desk::Desk,
    id: i64,
    from: &crate::support::TestMailbox,
    to: &crate::support::TestMailbox,
    subject: &str,
    message_id: &str,
) {
    let settings = guichet::answering::send::smtp_settings(
        &desk.store,
        &mailbox_row(desk, id).await,
        &desk.key,
        &guichet::answering::send::SendOptions::from_config(&desk.config),
    )
    .await
    .unwrap();
    let raw = crate::support::sample_mail(
        &from.email,
        &to.email,
        subject,
        "Merci",
        Some(message_id),
        &[],
    );
    guichet::outbound::send(
        &settings,
        &from.email,
        std::slice::from_ref(&to.email),
        &raw,
    )
    .await
    .unwrap_or_else(|e| panic!("{subject}: {e}"));
}

/// Sends a marker mail to `to` through the shop's working mailbox and waits for it: mail sent
/// before it through the same path has had its chance to arrive.
async fn marker(
    desk: &guichet::desk::Desk,
    shop_id: i64,
    to: &crate::support::TestMailbox,
    subject: &str,
) {
    let server = crate::support::MailServer::shared();
    let message = guichet::answering::send::ShopMessage {
        shop_id,
        number: 0,
        to_email: to.email.clone(),
        to_name: None,
        subject: subject.into(),
        text: "marker\n".into(),
        attachments: Vec::new(),
    };
    guichet::answering::send::send_shop_message(
        &desk.store,
        &desk.key,
        &guichet::answering::send::SendOptions::from_config(&desk.config),
        &message,
        guichet::model::UiLang::En,
    )
    .await
    .unwrap();
    assert!(
        crate::support::eventually(Duration::from_secs(20), || {
            subjects(server, to).iter().any(|s| s == subject)
        }),
        "marker {subject} arrived: {}",
        server.postfix_log()
    );
}

/// A desk on `dialect` whose Google application is a new client of the fake (access tokens
/// living `lifetime`), with the shop `boutique`.
struct OAuthDesk {
    client: FakeClient,
    config: OAuthConfig,
    web: crate::support::web::TestWeb,
    shop: guichet::store::Shop,
}

impl OAuthDesk {
    async fn start(dialect: crate::support::Dialect, lifetime: Duration) -> OAuthDesk {
        let fake = FakeOAuth::shared();
        let client = fake.register_client(&[REDIRECT_URI]);
        fake.set_access_token_lifetime(&client, lifetime);
        let web =
            crate::support::web::TestWeb::start_with_env(dialect, &google_env(fake, &client)).await;
        let shop = web.desk.add_shop("boutique").await.unwrap();
        OAuthDesk {
            config: google_through_fake(fake, &client),
            client,
            web,
            shop,
        }
    }

    /// Connects `mailbox` through the code flow and adds it to the shop; its id.
    async fn connect(&self, mailbox: &crate::support::TestMailbox) -> i64 {
        let server = crate::support::MailServer::shared();
        let grant = connect_google(&self.config, &mailbox.email).await;
        assert_eq!(
            grant.email, mailbox.email,
            "the provider confirmed the address"
        );
        let desk = &self.web.desk;
        desk.store
            .add_mailbox(
                self.shop.id,
                &oauth_mailbox(server, mailbox, &desk.key, &grant.refresh_token),
            )
            .await
            .unwrap()
    }
}

/// Syncs and sends with an OAuth mailbox across several access-token expiries; its consent
/// withdrawn, it shows "reconnect needed", the shop's admins get ONE notice each (in their
/// language) however many rounds fail; reconnected, it resumes from its checkpoint with
/// nothing lost or doubled; broken again, the admins get one more.
async fn expiries_revocation_notice_and_reconnect(dialect: crate::support::Dialect) {
    use guichet::desk::employees::EmployeeInput;
    use guichet::model::UiLang;
    use guichet::oauth::{MailboxAuth, REFRESH_TOKEN_PURPOSE};
    use guichet::store::ReconnectNotice;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let shop_box = server.new_mailbox("oauth mailbox across expiries");
    let relay = server.new_mailbox("oauth shop's password mailbox");
    let customer = server.new_mailbox("oauth customer across expiries");
    let admin_fr = server.new_mailbox("oauth admin (fr)");
    let admin_en = server.new_mailbox("oauth admin (en)");
    let clerk = server.new_mailbox("oauth employee, not admin");
    let lifetime = Duration::from_secs(3);
    let oauth = OAuthDesk::start(dialect, lifetime).await;
    let (client, config, desk, shop) = (&oauth.client, &oauth.config, &oauth.web.desk, &oauth.shop);
    for (who, admin, lang) in [
        (&admin_fr, true, UiLang::Fr),
        (&admin_en, true, UiLang::En),
        (&clerk, false, UiLang::En),
    ] {
        desk.add_employee(
            shop,
            EmployeeInput {
                email: who.email.clone(),
                name: None,
                admin,
                lang,
                password: secrecy::SecretString::from("a long enough password".to_string()),
            },
        )
        .await
        .unwrap();
    }
    let id = oauth.connect(&shop_box).await;
    desk.store
        .add_mailbox(shop.id, &relay_mailbox(server, &relay, &desk.key))
        .await
        .unwrap();
    let row = async || mailbox_row(desk, id).await;
    assert_eq!(row().await.auth, MailboxAuth::OAuth(Provider::Google));
    let sync = async || {
        let pass = desk
            .sync_once(&guichet::intake::sync::LogProgress::default())
            .await
            .unwrap();
        pass.folders
            .into_iter()
            .find(|f| f.mailbox == shop_box.email)
            .unwrap()
    };
    for round in 1..=3u32 {
        let refreshes = fake.token_requests(client, "refresh_token");
        server.append_mail(
            &shop_box,
            &customer.email,
            &format!("Question {round}"),
            "Où est ma commande ?",
            &format!("question-{round}@client.test"),
        );
        let synced = sync().await;
        assert_eq!(synced.error, None, "round {round}");
        assert_eq!(synced.filed.new_messages, 1, "round {round}");
        let subject = format!("Re: Question {round}");
        let message_id = format!("answer-{round}@shop.test");
        send_from(desk, id, &shop_box, &customer, &subject, &message_id).await;
        assert!(
            crate::support::eventually(Duration::from_secs(20), || {
                received(server, &customer, &subject) == 1
            }),
            "answer {round} arrived"
        );
        assert_eq!(
            fake.token_requests(client, "refresh_token"),
            refreshes + 1,
            "one renewal served the sync and the answer of round {round}"
        );
        // The token of this round expires before the next one.
        tokio::time::sleep(lifetime).await;
    }
    let messages = async || crate::support::message_count(&desk.store, shop.id).await;
    assert_eq!(messages().await, 3, "every question filed once");
    assert_eq!(row().await.reconnect_notice, ReconnectNotice::None);

    let notices = |who, subject: &str| received(server, who, subject);
    let fr_subject = format!("Reconnexion nécessaire : boîte {}", shop_box.email);
    let en_subject = format!("Reconnect needed: mailbox {}", shop_box.email);
    let broken_twice = async |break_number: usize| {
        // Consent withdrawn: the sync says so and files nothing, round after round; mail
        // keeps arriving meanwhile. (The access token Guichet holds expires first.)
        fake.revoke_consent(&shop_box.email);
        tokio::time::sleep(lifetime).await;
        server.append_mail(
            &shop_box,
            &customer.email,
            &format!("During {break_number}"),
            "Toujours là ?",
            &format!("during-{break_number}@client.test"),
        );
        for _ in 0..3 {
            let refused = sync().await;
            let error = refused.error.clone().unwrap_or_default();
            assert!(error.contains("Reconnect needed"), "{error}");
        }
        let listed = row().await;
        assert!(
            listed
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("Reconnect needed")),
            "the mailbox shows it needs reconnecting"
        );
        assert_eq!(listed.reconnect_notice, ReconnectNotice::Sent);
        // Each admin got one notice in their language, the employee none: after a marker
        // sent the same way arrived, nothing more is on its way.
        let marked = format!("marker {break_number}");
        for who in [&admin_fr, &admin_en, &clerk] {
            marker(desk, shop.id, who, &marked).await;
        }
        assert_eq!(
            notices(&admin_fr, &fr_subject),
            break_number,
            "French admin"
        );
        assert_eq!(notices(&admin_fr, &en_subject), 0);
        assert_eq!(
            notices(&admin_en, &en_subject),
            break_number,
            "English admin"
        );
        assert_eq!(
            subjects(server, &clerk).len(),
            break_number,
            "the employee got only the markers"
        );

        // Reconnected (a new grant replaces the sealed refresh token): sync resumes from its
        // checkpoint, the message that came meanwhile filed once, nothing twice.
        let again = connect_google(config, &shop_box.email).await;
        desk.store
            .set_mailbox_authorization(
                id,
                MailboxAuth::OAuth(Provider::Google),
                &desk.key.seal(&again.refresh_token, REFRESH_TOKEN_PURPOSE),
            )
            .await
            .unwrap();
        let resumed = sync().await;
        assert_eq!(resumed.error, None);
        assert_eq!(resumed.filed.new_messages, 1);
        assert_eq!(row().await.reconnect_notice, ReconnectNotice::None);
    };
    broken_twice(1).await;
    assert_eq!(messages().await, 4, "nothing lost, nothing duplicated");
    // Broken again after the reconnection: one more notice each.
    broken_twice(2).await;
    assert_eq!(messages().await, 5, "nothing lost, nothing duplicated");
}

#[tokio::test]
async fn an_oauth_mailbox_across_expiries_revocation_and_reconnection_sqlite() {
    expiries_revocation_notice_and_reconnect(crate::support::Dialect::Sqlite).await;
}

#[tokio::test]
async fn an_oauth_mailbox_across_expiries_revocation_and_reconnection_postgres() {
    expiries_revocation_notice_and_reconnect(crate::support::Dialect::Postgres).await;
}

/// A provider that rotates refresh tokens (Microsoft) answers each refresh with a new one
/// and refuses the old one afterwards: the new one is sealed and saved in its place, so the
/// mailbox keeps syncing and sending, and the database never holds a token in clear.
#[tokio::test]
async fn a_rotated_refresh_token_is_sealed_and_replaces_the_old_one() {
    use guichet::oauth::REFRESH_TOKEN_PURPOSE;
    use secrecy::ExposeSecret;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let shop_box = server.new_mailbox("oauth rotated refresh tokens");
    let customer = server.new_mailbox("oauth rotation customer");
    let lifetime = Duration::from_secs(2);
    let oauth = OAuthDesk::start(crate::support::Dialect::Sqlite, lifetime).await;
    let (client, desk) = (&oauth.client, &oauth.web.desk);
    fake.rotate_refresh_tokens(client);
    let id = oauth.connect(&shop_box).await;
    for round in 1..=4u32 {
        let refreshes = fake.token_requests(client, "refresh_token");
        server.append_mail(
            &shop_box,
            &customer.email,
            &format!("Rotation {round}"),
            "Bonjour",
            &format!("rotation-{round}@client.test"),
        );
        let pass = desk
            .sync_once(&guichet::intake::sync::LogProgress::default())
            .await
            .unwrap();
        assert_eq!(pass.folders[0].error, None, "round {round}");
        assert_eq!(pass.folders[0].filed.new_messages, 1, "round {round}");
        // The answer goes out with the access token the sync got.
        let message_id = format!("rotation-answer-{round}@shop.test");
        let subject = format!("Re: Rotation {round}");
        send_from(desk, id, &shop_box, &customer, &subject, &message_id).await;
        assert_eq!(
            fake.token_requests(client, "refresh_token"),
            refreshes + 1,
            "round {round}: one refresh, answered with a new refresh token"
        );
        tokio::time::sleep(lifetime).await;
    }
    let tokens = fake.refresh_tokens_of(&shop_box.email);
    assert_eq!(tokens.len(), 5, "the first grant and four rotations");
    let live: Vec<&String> = tokens
        .iter()
        .filter(|(_, live)| *live)
        .map(|(t, _)| t)
        .collect();
    assert_eq!(live.len(), 1, "only the newest works");
    let stored = desk
        .key
        .open(
            &mailbox_row(desk, id).await.password_sealed,
            REFRESH_TOKEN_PURPOSE,
        )
        .unwrap();
    assert_eq!(
        stored.expose_secret(),
        live[0].as_str(),
        "the store holds the newest"
    );
    // No refresh token, old or new, in clear in the database files (WAL included).
    let mut database = Vec::new();
    for entry in std::fs::read_dir(&oauth.web.data_dir).unwrap().flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("guichet.db")
        {
            database.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    assert!(database.len() > 4096, "the database files were read");
    for (token, _) in &tokens {
        assert!(
            !database.windows(token.len()).any(|w| w == token.as_bytes()),
            "a refresh token in clear in the database"
        );
    }
}

/// `guichet mailbox add --oauth google` for `account` on the test servers, with the fake as
/// Google (the operator's settings from the environment, as README says).
fn oauth_add_command(
    dir: &std::path::Path,
    client: &FakeClient,
    account: &str,
) -> std::process::Command {
    let fake = FakeOAuth::shared();
    let server = crate::support::MailServer::shared();
    let (imap_port, submission_port) = (
        server.imap_port.to_string(),
        server.submission_port.to_string(),
    );
    let mut cmd = crate::support::cli::guichet(
        dir,
        &[
            "mailbox",
            "add",
            "--shop",
            "boutique",
            "--oauth",
            "google",
            "--email",
            account,
            "--imap-host",
            "127.0.0.1",
            "--imap-port",
            &imap_port,
            "--imap-security",
            "none",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &submission_port,
            "--smtp-security",
            "starttls",
            "--accept-invalid-certs",
        ],
    );
    cmd.env("GUICHET_OAUTH_GOOGLE_CLIENT_ID", &client.client_id)
        .env("GUICHET_OAUTH_GOOGLE_CLIENT_SECRET", &client.client_secret)
        .env("GUICHET_OAUTH_GOOGLE_AUTHORIZE_URL", fake.authorize_url())
        .env("GUICHET_OAUTH_GOOGLE_TOKEN_URL", fake.token_url())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Starts `cmd` and reads its output up to the authorization URL it prints.
fn started_with_url(mut cmd: std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = cmd.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the CLI printed no URL"
        );
        if line.trim_start().starts_with("http") {
            break;
        }
    }
    // The rest of the output stays readable for the end of the run.
    child.stdout = None;
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
        println!("{rest}");
    });
    (child, line.trim().to_string())
}

fn mailbox_count(dir: &std::path::Path) -> usize {
    let listed = crate::support::cli::ok(crate::support::cli::guichet(
        dir,
        &["mailbox", "list", "--json"],
    ));
    crate::support::cli::json(&listed).as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_connects_through_the_loopback_redirect_or_a_pasted_url_and_refuses_a_wrong_state() {
    use crate::support::cli::{guichet, ok};
    use std::io::Write;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let client = fake.register_client(&["http://127.0.0.1/oauth/callback"]);
    let dir = tempfile::tempdir().unwrap();
    ok(guichet(dir.path(), &["shop", "add", "boutique"]));

    // 1. The browser comes back to the loopback port.
    let first = server.new_mailbox("oauth cli loopback");
    let (child, url) = started_with_url(oauth_add_command(dir.path(), &client, &first.email));
    assert!(url.contains("code_challenge="), "{url}");
    let back = allow(&url, &first.email).await;
    assert_eq!(back.host_str(), Some("127.0.0.1"));
    let page = reqwest::get(back.as_str()).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("terminal"));
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mailbox_count(dir.path()), 1);

    // 2. On a machine without a browser, the final address is pasted.
    let second = server.new_mailbox("oauth cli pasted");
    let (mut child, url) = started_with_url(oauth_add_command(dir.path(), &client, &second.email));
    let back = allow(&url, &second.email).await;
    writeln!(child.stdin.as_mut().unwrap(), "{back}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mailbox_count(dir.path()), 2);

    // The connected mailboxes work with their refreshed tokens: `mailbox test` signs in.
    let mut test = guichet(dir.path(), &["mailbox", "test"]);
    test.env("GUICHET_OAUTH_GOOGLE_CLIENT_ID", &client.client_id)
        .env("GUICHET_OAUTH_GOOGLE_CLIENT_SECRET", &client.client_secret)
        .env("GUICHET_OAUTH_GOOGLE_TOKEN_URL", fake.token_url());
    let tested = ok(test);
    assert_eq!(
        tested.matches("IMAP connection works").count(),
        2,
        "{tested}"
    );

    // Consent withdrawn for the first: `mailbox test` says it needs reconnecting, in French
    // too; the same command connects it again.
    fake.revoke_consent(&first.email);
    let test_in = |lang: &str| {
        let mut test = guichet(
            dir.path(),
            &["--lang", lang, "mailbox", "test", "--email", &first.email],
        );
        test.env("GUICHET_OAUTH_GOOGLE_CLIENT_ID", &client.client_id)
            .env("GUICHET_OAUTH_GOOGLE_CLIENT_SECRET", &client.client_secret)
            .env("GUICHET_OAUTH_GOOGLE_TOKEN_URL", fake.token_url());
        crate::support::cli::run(test)
    };
    let en = test_in("en");
    assert!(!en.status.success());
    assert!(
        String::from_utf8_lossy(&en.stdout).contains("Reconnect needed"),
        "{en:?}"
    );
    let fr = test_in("fr");
    assert!(
        String::from_utf8_lossy(&fr.stdout).contains("Reconnexion nécessaire"),
        "{fr:?}"
    );
    let (child, url) = started_with_url(oauth_add_command(dir.path(), &client, &first.email));
    let back = allow(&url, &first.email).await;
    reqwest::get(back.as_str()).await.unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mailbox_count(dir.path()), 2, "reconnected, not added twice");
    assert!(
        test_in("en").status.success(),
        "the reconnected mailbox works"
    );

    // 3. An answer carrying another state is refused, and nothing is stored.
    let third = server.new_mailbox("oauth cli wrong state");
    let (mut child, url) = started_with_url(oauth_add_command(dir.path(), &client, &third.email));
    let back = allow(&url, &third.email).await;
    let forged: Vec<(String, String)> = back
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".to_string()
            } else {
                v
            };
            (k, v)
        })
        .collect();
    let mut forged_url = back.clone();
    forged_url.query_pairs_mut().clear().extend_pairs(&forged);
    writeln!(child.stdin.as_mut().unwrap(), "{forged_url}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("nothing was saved"), "{error}");
    assert_eq!(mailbox_count(dir.path()), 2);
}

#[tokio::test]
async fn back_office_connects_a_mailbox_with_google_in_the_browser() {
    use crate::support::browser::Browser;
    use crate::support::web::TestWeb;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let shop = server.new_mailbox("oauth browser flow");
    let client = fake.register_client(&["http://127.0.0.1/oauth/callback"]);
    let web = TestWeb::start_with_env(
        crate::support::Dialect::Sqlite,
        &[
            ("GUICHET_OAUTH_GOOGLE_CLIENT_ID", client.client_id.clone()),
            (
                "GUICHET_OAUTH_GOOGLE_CLIENT_SECRET",
                client.client_secret.clone(),
            ),
            ("GUICHET_OAUTH_GOOGLE_AUTHORIZE_URL", fake.authorize_url()),
            ("GUICHET_OAUTH_GOOGLE_TOKEN_URL", fake.token_url()),
        ],
    )
    .await;
    let admin = web.employee("boutique", "admin@boutique.test", true).await;
    let browser = Browser::start().await;
    browser
        .sign_in(&web.base, &admin.employee.email, &admin.password)
        .await;
    browser.goto(&web.url("/settings/mailboxes")).await;
    browser.wait_for("#connect-google").await;
    // The address is left out: the provider's confirmation gives it.
    browser
        .script(&format!(
            "const f = document.querySelector('form.settings-form');\
             f.imap_host.value = '127.0.0.1'; f.imap_port.value = '{}'; f.imap_security.value = 'none';\
             f.smtp_host.value = '127.0.0.1'; f.smtp_port.value = '{}'; f.smtp_security.value = 'starttls';\
             f.accept_invalid_certs.checked = true;\
             document.getElementById('connect-google').click(); return true;",
            server.imap_port, server.submission_port
        ))
        .await;
    // The provider's consent page: sign in as the mailbox and allow.
    browser.wait_for("#allow").await;
    browser
        .script(&format!(
            "document.getElementById('account').value = '{}';\
             document.getElementById('allow').click(); return true;",
            shop.email
        ))
        .await;
    let connected = format!("Mailbox {} connected through Google", shop.email);
    assert!(
        crate::support::eventually_async(Duration::from_secs(30), async || {
            let text = browser
                .script("return document.body ? document.body.innerText : '';")
                .await;
            let url = browser.script("return location.pathname;").await;
            url == "/settings/mailboxes" && text.as_str().is_some_and(|t| t.contains(&connected))
        })
        .await,
        "back on the settings page with the connection confirmed"
    );
    let mailboxes = web.desk.mailboxes().await.unwrap();
    assert_eq!(mailboxes.len(), 1);
    assert_eq!(mailboxes[0].email, shop.email);
    assert_eq!(
        mailboxes[0].auth,
        guichet::oauth::MailboxAuth::OAuth(Provider::Google)
    );
    // The sealed secret is the refresh token, never in clear in the database.
    assert!(
        !String::from_utf8_lossy(&mailboxes[0].password_sealed).contains("refresh-"),
        "the refresh token is sealed"
    );

    // Consent withdrawn: after a sync the page says "reconnect needed", and its one-click
    // reconnect goes through the provider again and keeps the mailbox.
    fake.revoke_consent(&shop.email);
    web.desk
        .sync_once(&guichet::intake::sync::LogProgress::default())
        .await
        .unwrap();
    browser.goto(&web.url("/settings/mailboxes")).await;
    let page = browser.text("main").await;
    assert!(page.contains("Reconnect needed"), "{page}");
    browser
        .script("document.querySelector('button.reconnect').click(); return true;")
        .await;
    browser.wait_for("#allow").await;
    browser
        .script("document.getElementById('allow').click(); return true;")
        .await;
    let reconnected = format!("Mailbox {} reconnected through Google", shop.email);
    assert!(
        crate::support::eventually_async(Duration::from_secs(30), async || {
            let text = browser
                .script("return document.body ? document.body.innerText : '';")
                .await;
            text.as_str().is_some_and(|t| t.contains(&reconnected))
        })
        .await,
        "reconnected from the settings page"
    );
    let mailboxes = web.desk.mailboxes().await.unwrap();
    assert_eq!(mailboxes.len(), 1);
    assert_eq!(mailboxes[0].last_error, None);
}

/// `serve`'s watcher meets a revoked refresh token: it tells the admins once, however many
/// of its backoff rounds fail, and a restarted `serve` (the notice's state is stored) does
/// not tell them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_tells_the_admins_once_and_a_restart_does_not_again() {
    use guichet::desk::employees::EmployeeInput;
    use guichet::store::ReconnectNotice;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let shop_box = server.new_mailbox("oauth watched, consent withdrawn");
    let relay = server.new_mailbox("oauth watched shop's password mailbox");
    let admin = server.new_mailbox("oauth watched shop's admin");
    let oauth = OAuthDesk::start(crate::support::Dialect::Sqlite, Duration::from_secs(60)).await;
    let desk = &oauth.web.desk;
    desk.add_employee(
        &oauth.shop,
        EmployeeInput {
            email: admin.email.clone(),
            name: None,
            admin: true,
            lang: guichet::model::UiLang::En,
            password: secrecy::SecretString::from("a long enough password".to_string()),
        },
    )
    .await
    .unwrap();
    let id = oauth.connect(&shop_box).await;
    desk.store
        .add_mailbox(oauth.shop.id, &relay_mailbox(server, &relay, &desk.key))
        .await
        .unwrap();
    fake.revoke_consent(&shop_box.email);
    let subject = format!("Reconnect needed: mailbox {}", shop_box.email);
    let refused = || fake.token_requests(&oauth.client, "refresh_token");

    // Until the watcher's third refused refresh (backoff 5 s, then 10 s).
    let serve_until = async |refreshes: usize| {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = desk.serve(false, async {
            let _ = stopped.await;
        });
        let watched = async {
            assert!(
                crate::support::eventually_async(Duration::from_secs(40), async || {
                    refused() >= refreshes
                })
                .await,
                "the watcher kept trying"
            );
            let _ = stop.send(());
        };
        tokio::join!(serving, watched);
    };
    let before = refused();
    serve_until(before + 3).await;
    assert_eq!(
        mailbox_row(desk, id).await.reconnect_notice,
        ReconnectNotice::Sent
    );
    marker(desk, oauth.shop.id, &admin, "marker after serve").await;
    assert_eq!(received(server, &admin, &subject), 1, "one notice");

    // Restarted: it fails again, and says nothing more.
    serve_until(refused() + 1).await;
    marker(desk, oauth.shop.id, &admin, "marker after the restart").await;
    assert_eq!(received(server, &admin, &subject), 1, "still one notice");
}

/// Guichet's own end of the flow, without a browser: an answer carrying another state, a code
/// already exchanged once (replayed), and a code exchanged with another PKCE verifier than the
/// one its challenge came from are each refused, and no mailbox is saved; the same steps done
/// right then save one.
#[tokio::test]
async fn a_wrong_state_a_replayed_code_or_another_verifier_saves_nothing() {
    use crate::support::web::TestWeb;
    use guichet::desk::mailboxes::MailboxInput;
    use guichet::intake::imap::Security;

    let server = crate::support::MailServer::shared();
    let fake = FakeOAuth::shared();
    let mailbox = server.new_mailbox("oauth refusals");
    let client = fake.register_client(&[REDIRECT_URI]);
    let web =
        TestWeb::start_with_env(crate::support::Dialect::Sqlite, &google_env(fake, &client)).await;
    let admin = web.employee("boutique", "admin@boutique.test", true).await;
    let input = MailboxInput {
        email: mailbox.email.clone(),
        imap_host: Some("127.0.0.1".into()),
        imap_port: Some(server.imap_port),
        imap_security: Some(Security::None),
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(server.submission_port),
        smtp_security: Some(Security::Starttls),
        accept_invalid_certs: true,
        ..Default::default()
    };
    let started = || {
        web.desk
            .start_oauth(Provider::Google, REDIRECT_URI, input.clone())
            .unwrap()
    };
    let answer_to = async |url: &str| -> Vec<(String, String)> {
        allow(url, &mailbox.email)
            .await
            .query_pairs()
            .into_owned()
            .collect()
    };
    let saved = async || web.desk.mailboxes().await.unwrap().len();

    // Another state: refused before the code is used.
    let (url, connection) = started();
    let mut forged = answer_to(&url).await;
    for (name, value) in forged.iter_mut() {
        if name == "state" {
            *value = "forged".into();
        }
    }
    let refused = web
        .desk
        .finish_oauth(&admin.shop, &connection, &forged)
        .await;
    assert!(refused.is_err(), "another state is refused");
    assert_eq!(saved().await, 0);

    // A code someone exchanged already: the provider refuses its replay (RFC 6749 §4.1.2).
    let (url, connection) = started();
    let answer = answer_to(&url).await;
    let code = answer.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let (status, _) = exchange_code(
        fake,
        &client,
        &code,
        Some(secrecy::ExposeSecret::expose_secret(&connection.verifier)),
    )
    .await;
    assert_eq!(status, 200, "the first exchange of the code works");
    let refused = web
        .desk
        .finish_oauth(&admin.shop, &connection, &answer)
        .await;
    assert!(refused.is_err(), "a replayed code is refused");
    assert_eq!(saved().await, 0);

    // The code of one connection finished with another connection's verifier: the challenge
    // does not match (RFC 7636 §4.6).
    let (url, connection) = started();
    let (_, other) = started();
    let answer = answer_to(&url).await;
    let swapped = guichet::desk::oauth::OAuthConnection {
        verifier: other.verifier,
        ..connection
    };
    let refused = web.desk.finish_oauth(&admin.shop, &swapped, &answer).await;
    assert!(refused.is_err(), "another verifier is refused");
    assert_eq!(saved().await, 0);

    // Done right, the same steps save the mailbox under the address the provider confirms.
    let (url, connection) = started();
    let answer = answer_to(&url).await;
    let connected = web
        .desk
        .finish_oauth(&admin.shop, &connection, &answer)
        .await
        .unwrap();
    assert_eq!(connected.email, mailbox.email);
    assert_eq!(saved().await, 1);
}
