//! Employees and how they sign in: the store on both dialects, the desk's rules (Argon2id,
//! one refusal for unknown address and wrong password, throttling, session expiry, tokens kept
//! only as hashes), and `guichet user add/list/token`.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use guichet::config::{Config, Overrides};
use guichet::desk::employees::{EmployeeInput, FAILURES_PER_ACCOUNT, FAILURES_PER_IP};
use guichet::desk::{Desk, DeskError};
use guichet::model::{Role, UiLang};
use guichet::store::{NewEmployee, Store, StoreError, now_ms, sha256_hex};
use secrecy::{ExposeSecret, SecretString};

use crate::support::cli::{empty_shop, guichet, json, ok, with_stdin};
use crate::support::store_tests;

const HOUR: i64 = 3_600_000;

fn new_employee<'a>(shop_id: i64, email: &'a str, role: Role) -> NewEmployee<'a> {
    NewEmployee {
        shop_id,
        email,
        name: "Ana",
        role,
        lang: UiLang::Fr,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        created_at: 1_000,
    }
}

async fn employees_sessions_tokens_and_failures(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let other = store.add_shop("autre").await.unwrap();
    let ana = store
        .add_employee(&new_employee(shop.id, "ana@boutique.test", Role::Admin))
        .await
        .unwrap();
    let mut bob = new_employee(shop.id, "bob@boutique.test", Role::Employee);
    bob.name = "Bob";
    let bob = store.add_employee(&bob).await.unwrap();
    // The address is unique across the install, not only in its shop.
    let twin = store
        .add_employee(&new_employee(other.id, "ana@boutique.test", Role::Employee))
        .await;
    assert!(
        matches!(twin, Err(StoreError::AlreadyExists(_))),
        "{twin:?}"
    );

    let listed = store.employees_of_shop(shop.id).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Ana", "Bob"]);
    assert!(store.employees_of_shop(other.id).await.unwrap().is_empty());
    assert_eq!(store.all_employees().await.unwrap().len(), 2);
    let found = store.employee_by_id(ana.id).await.unwrap().unwrap();
    assert_eq!(
        (found.role, found.lang, found.shop_id, found.created_at),
        (Role::Admin, UiLang::Fr, shop.id, 1_000)
    );
    assert!(store.employee_by_id(bob.id + 100).await.unwrap().is_none());
    let (by_email, hash) = store
        .employee_credentials("bob@boutique.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((by_email.id, by_email.role), (bob.id, Role::Employee));
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        store
            .employee_by_email("nobody@boutique.test")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.shop_of_employee(&bob).await.unwrap().id, shop.id);
    store.set_employee_lang(bob.id, UiLang::En).await.unwrap();
    let bob = store.employee_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(bob.lang, UiLang::En);

    // Sessions: found by hash, touched, deleted one by one or when expired.
    store
        .insert_web_session("hash-a", ana.id, "csrf-a", 10 * HOUR)
        .await
        .unwrap();
    store
        .insert_web_session("hash-b", bob.id, "csrf-b", 20 * HOUR)
        .await
        .unwrap();
    let a = store.web_session("hash-a").await.unwrap().unwrap();
    assert_eq!(
        (
            a.employee.id,
            a.csrf_token.as_str(),
            a.created_at,
            a.last_seen_at
        ),
        (ana.id, "csrf-a", 10 * HOUR, 10 * HOUR)
    );
    store.touch_web_session("hash-a", 11 * HOUR).await.unwrap();
    assert_eq!(
        store
            .web_session("hash-a")
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        11 * HOUR
    );
    assert!(store.web_session("hash-c").await.unwrap().is_none());
    // Idle since before 15 h: a goes, b stays; then b is too old.
    assert_eq!(
        store
            .delete_expired_web_sessions(15 * HOUR, 0)
            .await
            .unwrap(),
        1
    );
    assert!(store.web_session("hash-a").await.unwrap().is_none());
    assert_eq!(
        store
            .delete_expired_web_sessions(0, 21 * HOUR)
            .await
            .unwrap(),
        1
    );
    store
        .insert_web_session("hash-d", bob.id, "csrf-d", 30 * HOUR)
        .await
        .unwrap();
    store.delete_web_session("hash-d").await.unwrap();
    assert!(store.web_session("hash-d").await.unwrap().is_none());
    // A new password closes the employee's sessions.
    store
        .insert_web_session("hash-e", bob.id, "csrf-e", 30 * HOUR)
        .await
        .unwrap();
    store
        .set_employee_password(bob.id, "$argon2id$new")
        .await
        .unwrap();
    assert!(store.web_session("hash-e").await.unwrap().is_none());

    // API tokens.
    let id = store
        .insert_api_token(ana.id, "token-hash", "sync", 5)
        .await
        .unwrap();
    let token = store.api_token("token-hash").await.unwrap().unwrap();
    assert_eq!(
        (token.id, token.employee.id, token.last_used_at),
        (id, ana.id, None)
    );
    store.touch_api_token(id, 99).await.unwrap();
    assert_eq!(
        store
            .api_token("token-hash")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(99)
    );
    assert!(store.api_token("other").await.unwrap().is_none());

    // Failed sign-ins: counted per subject since a time, the old ones forgotten.
    for at in [100, 200, 300] {
        store
            .record_sign_in_failure("ip:192.0.2.1", at, 0)
            .await
            .unwrap();
    }
    store
        .record_sign_in_failure("account:ana@boutique.test", 150, 0)
        .await
        .unwrap();
    assert_eq!(
        store
            .sign_in_failures_since("ip:192.0.2.1", 150)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .sign_in_failure_at("ip:192.0.2.1", 150, 1)
            .await
            .unwrap(),
        Some(300)
    );
    assert_eq!(
        store
            .sign_in_failure_at("ip:192.0.2.1", 150, 2)
            .await
            .unwrap(),
        None
    );
    store
        .record_sign_in_failure("ip:192.0.2.1", 400, 250)
        .await
        .unwrap();
    assert_eq!(
        store
            .sign_in_failures_since("ip:192.0.2.1", 0)
            .await
            .unwrap(),
        2,
        "failures before 250 forgotten"
    );
    store.clear_sign_in_failures("ip:192.0.2.1").await.unwrap();
    assert_eq!(
        store
            .sign_in_failures_since("ip:192.0.2.1", 0)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .sign_in_failures_since("account:ana@boutique.test", 0)
            .await
            .unwrap(),
        1
    );
}

store_tests!(
    employees_sessions_tokens_and_failures =>
    employees_store_sqlite,
    employees_store_postgres
);

/// A desk on the database at `url`, its data dir beside `blobs`.
async fn desk_at(url: &str, blobs: &Path) -> Desk {
    let overrides = Overrides {
        data_dir: Some(blobs.parent().unwrap().to_path_buf()),
        database_url: Some(url.to_string()),
    };
    let config = Config::load(None, |_| None, &overrides).unwrap();
    Desk::open(config, UiLang::En).await.unwrap()
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

fn input(email: &str, password: &str, admin: bool) -> EmployeeInput {
    EmployeeInput {
        email: email.into(),
        name: None,
        admin,
        lang: UiLang::Fr,
        password: secret(password),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Every text value of every row of `table`, for looking for a secret in it.
async fn table_text(url: &str, table: &str) -> String {
    use sqlx::Row;
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let columns = match table {
        "web_sessions" => "token_hash, csrf_token",
        "api_tokens" => "token_hash, label",
        _ => "email, name, password_hash",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {columns} FROM {table}"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let width = columns.split(',').count();
    rows.iter()
        .flat_map(|row| (0..width).map(move |i| row.get::<String, _>(i)))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn passwords_are_argon2id_and_checked(url: &str, blobs: &Path) {
    let desk = desk_at(url, blobs).await;
    let shop = desk.add_shop("boutique").await.unwrap();
    let other = desk.add_shop("autre").await.unwrap();
    let ana = desk
        .add_employee(&shop, input(" Ana@Boutique.TEST ", "un mot de passe", true))
        .await
        .unwrap();
    assert_eq!(
        (ana.email.as_str(), ana.name.as_str(), ana.role, ana.lang),
        ("ana@boutique.test", "ana", Role::Admin, UiLang::Fr)
    );
    let stored = table_text(url, "employees").await;
    assert!(stored.contains("$argon2id$v=19$"), "{stored}");
    assert!(!stored.contains("un mot de passe"));

    let refused = desk
        .add_employee(&shop, input("bob@boutique.test", "123456789", false))
        .await;
    assert!(
        matches!(refused, Err(DeskError::PasswordTooShort { min: 10 })),
        "{refused:?}"
    );
    let refused = desk
        .add_employee(&shop, input("bob", "assez long oui", false))
        .await;
    assert!(matches!(refused, Err(DeskError::NotAnAddress(_))));
    let twin = desk
        .add_employee(&other, input("ana@boutique.test", "assez long oui", false))
        .await;
    assert!(matches!(twin, Err(DeskError::AlreadyExists(_))), "{twin:?}");
    let mut named = input("bob@boutique.test", "assez long oui", false);
    named.name = Some("  Bob Martin ".into());
    let bob = desk.add_employee(&shop, named).await.unwrap();
    assert_eq!(
        (bob.name.as_str(), bob.role),
        ("Bob Martin", Role::Employee)
    );

    assert_eq!(desk.employees(&shop).await.unwrap().len(), 2);
    assert_eq!(desk.employee(&shop, bob.id).await.unwrap().email, bob.email);
    // Another shop's employee is as unknown as a missing one.
    assert!(matches!(
        desk.employee(&other, bob.id).await,
        Err(DeskError::NoEmployee(id)) if id == bob.id
    ));
    assert_eq!(desk.shop_of(&bob).await.unwrap().id, shop.id);

    let client = ip("192.0.2.10");
    let signed = desk
        .sign_in("ANA@boutique.test", &secret("un mot de passe"), client)
        .await
        .unwrap();
    assert_eq!(signed.session.employee.id, ana.id);
    let wrong = desk
        .sign_in("ana@boutique.test", &secret("un mot de passf"), client)
        .await;
    assert!(matches!(wrong, Err(DeskError::SignInRefused)), "{wrong:?}");
    let unknown = desk
        .sign_in("zoe@boutique.test", &secret("un mot de passe"), client)
        .await;
    assert!(
        matches!(unknown, Err(DeskError::SignInRefused)),
        "{unknown:?}"
    );
    // One text for both, in either language: it tells nothing about the address.
    for lang in [UiLang::Fr, UiLang::En] {
        assert_eq!(
            wrong.as_ref().unwrap_err().localized(lang),
            unknown.as_ref().unwrap_err().localized(lang)
        );
    }

    // A reset password works at once and closes the open sessions.
    let token = signed.session_token.expose_secret().to_string();
    assert!(desk.session(&token).await.unwrap().is_some());
    desk.reset_password(&shop, ana.id, &secret("un autre mot de passe"))
        .await
        .unwrap();
    assert!(desk.session(&token).await.unwrap().is_none());
    assert!(
        desk.sign_in("ana@boutique.test", &secret("un mot de passe"), client)
            .await
            .is_err()
    );
    desk.sign_in(
        "ana@boutique.test",
        &secret("un autre mot de passe"),
        client,
    )
    .await
    .unwrap();
    assert!(matches!(
        desk.reset_password(&other, ana.id, &secret("un autre mot de passe"))
            .await,
        Err(DeskError::NoEmployee(_))
    ));
    desk.store.close().await;
}

store_tests!(
    url passwords_are_argon2id_and_checked =>
    employee_passwords_sqlite,
    employee_passwords_postgres
);

async fn failed_sign_ins_are_throttled(url: &str, blobs: &Path) {
    let desk = desk_at(url, blobs).await;
    let shop = desk.add_shop("boutique").await.unwrap();
    desk.add_employee(&shop, input("ana@boutique.test", "un mot de passe", false))
        .await
        .unwrap();
    let right = secret("un mot de passe");
    let wrong = secret("pas le bon mot");

    // Per address: the sixth try from an address that failed five times waits, even with
    // the right password, and is told how long.
    let attacker = ip("198.51.100.7");
    for _ in 0..FAILURES_PER_IP {
        let refused = desk.sign_in("ana@boutique.test", &wrong, attacker).await;
        assert!(
            matches!(refused, Err(DeskError::SignInRefused)),
            "{refused:?}"
        );
    }
    let throttled = desk.sign_in("ana@boutique.test", &right, attacker).await;
    let Err(DeskError::SignInThrottled { retry_after_secs }) = throttled else {
        panic!("not throttled: {:?}", throttled.err());
    };
    assert!(
        (1..=15 * 60).contains(&retry_after_secs),
        "{retry_after_secs}"
    );
    let said = DeskError::SignInThrottled { retry_after_secs }.localized(UiLang::En);
    assert!(said.contains("min"), "{said}");
    // Another address of the same IPv6 /64 is the same client.
    let v6 = ip("2001:db8:7:7::1");
    for _ in 0..FAILURES_PER_IP {
        let _ = desk.sign_in("zoe@boutique.test", &wrong, v6).await;
    }
    assert!(matches!(
        desk.sign_in("ana@boutique.test", &right, ip("2001:db8:7:7:abcd::2"))
            .await,
        Err(DeskError::SignInThrottled { .. })
    ));

    // The account is not locked by one address: the employee signs in from elsewhere, and
    // that clears the account's failures.
    desk.sign_in("ana@boutique.test", &right, ip("192.0.2.1"))
        .await
        .unwrap();

    // Per account: ten failures from ten addresses lock the account for everyone.
    for n in 0..FAILURES_PER_ACCOUNT {
        let from = ip(&format!("203.0.113.{}", n + 1));
        let refused = desk.sign_in("ana@boutique.test", &wrong, from).await;
        assert!(
            matches!(refused, Err(DeskError::SignInRefused)),
            "{refused:?}"
        );
    }
    let throttled = desk
        .sign_in("ana@boutique.test", &right, ip("192.0.2.2"))
        .await;
    assert!(
        matches!(throttled, Err(DeskError::SignInThrottled { .. })),
        "{:?}",
        throttled.err()
    );
    // Another account from a clean address is not affected.
    desk.add_employee(&shop, input("bob@boutique.test", "un mot de passe", false))
        .await
        .unwrap();
    desk.sign_in("bob@boutique.test", &right, ip("192.0.2.2"))
        .await
        .unwrap();
    desk.store.close().await;
}

store_tests!(
    url failed_sign_ins_are_throttled =>
    sign_in_throttling_sqlite,
    sign_in_throttling_postgres
);

async fn sessions_expire_and_tokens_are_only_hashes(url: &str, blobs: &Path) {
    let mut desk = desk_at(url, blobs).await;
    // The defaults, said here because the steps below count on them.
    assert_eq!(desk.config.session_idle, Duration::from_secs(12 * 3600));
    assert_eq!(
        desk.config.session_lifetime,
        Duration::from_secs(7 * 86_400)
    );
    let shop = desk.add_shop("boutique").await.unwrap();
    let ana = desk
        .add_employee(&shop, input("ana@boutique.test", "un mot de passe", false))
        .await
        .unwrap();
    let password = secret("un mot de passe");
    let client = ip("192.0.2.1");

    // A fresh token each sign-in; only its SHA-256 is stored.
    let first = desk
        .sign_in("ana@boutique.test", &password, client)
        .await
        .unwrap();
    let second = desk
        .sign_in("ana@boutique.test", &password, client)
        .await
        .unwrap();
    let (one, two) = (
        first.session_token.expose_secret().to_string(),
        second.session_token.expose_secret().to_string(),
    );
    assert_ne!(one, two);
    assert_ne!(first.session.csrf_token, second.session.csrf_token);
    assert!(one.len() >= 64, "32 random bytes: {one}");
    let stored = table_text(url, "web_sessions").await;
    assert!(!stored.contains(&one) && !stored.contains(&two), "{stored}");
    assert!(stored.contains(&sha256_hex(one.as_bytes())));

    // Idle expiry: used at 11 h, still open at 11 h + 12 h - 1 min, closed 12 h after the
    // last use, and deleted.
    let t0 = now_ms();
    let at = |ms: i64| desk.session_at(&one, t0 + ms);
    let session = at(11 * HOUR).await.unwrap().unwrap();
    assert_eq!(session.employee.id, ana.id);
    assert_eq!(session.csrf_token, first.session.csrf_token);
    assert!(at(23 * HOUR - 60_000).await.unwrap().is_some());
    assert!(at(35 * HOUR).await.unwrap().is_none());
    assert!(
        at(23 * HOUR).await.unwrap().is_none(),
        "an expired session is gone for good"
    );

    // Absolute lifetime: used every 6 h, the session still ends 7 days after sign-in.
    let mut hours = 6;
    while hours < 7 * 24 {
        assert!(
            desk.session_at(&two, t0 + hours * HOUR)
                .await
                .unwrap()
                .is_some(),
            "open at {hours} h"
        );
        hours += 6;
    }
    assert!(
        desk.session_at(&two, t0 + 7 * 24 * HOUR)
            .await
            .unwrap()
            .is_none()
    );

    // A shorter configured idle time applies to the sessions already open.
    desk.config.session_idle = Duration::from_secs(60);
    let third = desk
        .sign_in("ana@boutique.test", &password, client)
        .await
        .unwrap();
    let three = third.session_token.expose_secret().to_string();
    assert!(desk.session(&three).await.unwrap().is_some());
    assert!(
        desk.session_at(&three, now_ms() + 61_000)
            .await
            .unwrap()
            .is_none()
    );

    // Sign-out deletes the session row.
    let fourth = desk
        .sign_in("ana@boutique.test", &password, client)
        .await
        .unwrap();
    let four = fourth.session_token.expose_secret().to_string();
    assert!(desk.session(&four).await.unwrap().is_some());
    desk.sign_out(&four).await.unwrap();
    assert!(desk.session(&four).await.unwrap().is_none());
    let stored = table_text(url, "web_sessions").await;
    assert!(!stored.contains(&sha256_hex(four.as_bytes())), "{stored}");
    // Signing out an unknown token is no error.
    desk.sign_out("nothing").await.unwrap();
    assert!(desk.session("nothing").await.unwrap().is_none());

    // API tokens: prefixed, shown once, stored as a hash, found back.
    let token = desk.create_api_token(&ana, " sync ").await.unwrap();
    let token = token.expose_secret().to_string();
    assert!(token.starts_with("gch_") && token.len() >= 68, "{token}");
    let stored = table_text(url, "api_tokens").await;
    assert!(!stored.contains(&token), "{stored}");
    assert!(stored.contains(&sha256_hex(token.as_bytes())));
    assert!(stored.contains("sync"));
    let found = desk.api_token_employee(&token).await.unwrap().unwrap();
    assert_eq!(found.id, ana.id);
    let last_used = desk
        .store
        .api_token(&sha256_hex(token.as_bytes()))
        .await
        .unwrap()
        .unwrap()
        .last_used_at;
    assert!(last_used.is_some());
    assert!(
        desk.api_token_employee(&format!("{token}x"))
            .await
            .unwrap()
            .is_none()
    );
    // A session token is no API token, and the reverse.
    assert!(desk.api_token_employee(&one).await.unwrap().is_none());
    assert!(desk.session(&token).await.unwrap().is_none());
    assert!(matches!(
        desk.create_api_token(&ana, "  ").await,
        Err(DeskError::TokenNeedsLabel)
    ));

    // Listed by label and dates, revoked by their owner only.
    let listed = desk.api_tokens(&ana).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].label, "sync");
    assert!(listed[0].last_used_at.is_some());
    let bob = desk
        .add_employee(&shop, input("bob@boutique.test", "un mot de passe", false))
        .await
        .unwrap();
    assert!(desk.api_tokens(&bob).await.unwrap().is_empty());
    assert!(matches!(
        desk.revoke_api_token(&bob, listed[0].id).await,
        Err(DeskError::NoApiToken(_))
    ));
    assert!(desk.api_token_employee(&token).await.unwrap().is_some());
    desk.revoke_api_token(&ana, listed[0].id).await.unwrap();
    assert!(desk.api_token_employee(&token).await.unwrap().is_none());
    desk.store.close().await;
}

store_tests!(
    url sessions_expire_and_tokens_are_only_hashes =>
    sessions_and_tokens_sqlite,
    sessions_and_tokens_postgres
);

#[test]
fn user_add_list_and_token_from_the_command_line() {
    let dir = empty_shop();
    let add = |args: &[&str], password: &str| {
        let mut all = vec!["user", "add", "--shop", "boutique", "--password-stdin"];
        all.extend(args);
        with_stdin(guichet(dir.path(), &all), password.as_bytes())
    };
    let added = add(
        &["--email", "Ana@Boutique.test", "--admin", "--lang", "fr"],
        "un mot de passe\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let said = String::from_utf8_lossy(&added.stdout);
    // `--lang` is the new employee's language, and that of what the command says.
    assert!(
        said.contains("ana@boutique.test") && said.contains("administrateur"),
        "{said}"
    );
    let added = add(
        &["--email", "bob@boutique.test", "--name", "Bob Martin"],
        "un autre mot de passe\n",
    );
    assert!(added.status.success());

    let refused = add(&["--email", "carl@boutique.test"], "court\n");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("at least 10 characters"), "{said}");
    assert!(
        !said.contains("court"),
        "the password is never repeated: {said}"
    );
    let twice = add(&["--email", "ana@boutique.test"], "un mot de passe\n");
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already exists"));

    let listed = json(&ok(guichet(
        dir.path(),
        &["user", "list", "--shop", "boutique", "--json"],
    )));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let ana = &listed[0];
    for key in [
        "id",
        "shop_id",
        "email",
        "name",
        "role",
        "lang",
        "created_at",
    ] {
        assert!(ana.get(key).is_some(), "{key} in {ana}");
    }
    assert_eq!(ana["email"], "ana@boutique.test");
    assert_eq!(ana["name"], "ana");
    assert_eq!(ana["role"], "admin");
    assert_eq!(ana["lang"], "fr");
    assert_eq!(listed[1]["name"], "Bob Martin");
    assert_eq!(listed[1]["role"], "employee");
    assert!(!listed.iter().any(|e| e.to_string().contains("argon2")));
    let text = ok(guichet(dir.path(), &["user", "list"]));
    assert!(
        text.contains("Bob Martin <bob@boutique.test> employee en"),
        "{text}"
    );

    let printed = ok(guichet(
        dir.path(),
        &[
            "user",
            "token",
            "--email",
            "bob@boutique.test",
            "--label",
            "sync",
        ],
    ));
    let token = printed
        .lines()
        .find(|line| line.starts_with("gch_"))
        .unwrap_or_else(|| panic!("{printed}"));
    let mut db = Vec::new();
    for file in ["guichet.db", "guichet.db-wal"] {
        db.extend(std::fs::read(dir.path().join(file)).unwrap_or_default());
    }
    assert!(!db.is_empty());
    for secret in [token, "un mot de passe", "un autre mot de passe"] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear in the database"
        );
    }
    let unknown = guichet(
        dir.path(),
        &[
            "user",
            "token",
            "--email",
            "zoe@boutique.test",
            "--label",
            "x",
        ],
    );
    let unknown = crate::support::cli::run(unknown);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("No employee"));
}

/// The line after the one announcing a generated password.
fn generated_in(printed: &str) -> String {
    let mut lines = printed.lines();
    lines
        .find(|line| line.starts_with("Generated password"))
        .unwrap_or_else(|| panic!("no generated password in {printed}"));
    lines.next().unwrap().trim().to_string()
}

#[test]
fn user_reset_password_set_role_and_remove_from_the_command_line() {
    let dir = empty_shop();
    let run = |args: &[&str]| crate::support::cli::run(guichet(dir.path(), args));
    let added = with_stdin(
        guichet(
            dir.path(),
            &[
                "user",
                "add",
                "--shop",
                "boutique",
                "--email",
                "ana@boutique.test",
                "--admin",
                "--password-stdin",
            ],
        ),
        b"un mot de passe\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let printed = ok(guichet(
        dir.path(),
        &[
            "user",
            "add",
            "--shop",
            "boutique",
            "--email",
            "bob@boutique.test",
            "--generate-password",
        ],
    ));
    let first = generated_in(&printed);
    assert!(first.chars().count() >= 10, "{first}");
    let neither = run(&[
        "user",
        "add",
        "--shop",
        "boutique",
        "--email",
        "carl@boutique.test",
    ]);
    assert!(!neither.status.success(), "a password is read or generated");

    let printed = ok(guichet(
        dir.path(),
        &[
            "user",
            "reset-password",
            "--email",
            "bob@boutique.test",
            "--generate-password",
        ],
    ));
    let second = generated_in(&printed);
    assert_ne!(first, second);
    let typed = with_stdin(
        guichet(
            dir.path(),
            &[
                "user",
                "reset-password",
                "--email",
                "ana@boutique.test",
                "--password-stdin",
            ],
        ),
        b"un autre mot de passe\n",
    );
    assert!(
        typed.status.success(),
        "{}",
        String::from_utf8_lossy(&typed.stderr)
    );
    assert!(String::from_utf8_lossy(&typed.stdout).contains("ana@boutique.test"));

    let said = ok(guichet(
        dir.path(),
        &[
            "user",
            "set-role",
            "--email",
            "bob@boutique.test",
            "--role",
            "admin",
        ],
    ));
    assert!(said.contains("administrator"), "{said}");
    let bad = run(&[
        "user",
        "set-role",
        "--email",
        "bob@boutique.test",
        "--role",
        "boss",
    ]);
    assert!(!bad.status.success());
    ok(guichet(
        dir.path(),
        &[
            "user",
            "set-role",
            "--email",
            "ana@boutique.test",
            "--role",
            "employee",
        ],
    ));
    let last = run(&[
        "user",
        "set-role",
        "--email",
        "bob@boutique.test",
        "--role",
        "employee",
    ]);
    assert!(!last.status.success());
    assert!(String::from_utf8_lossy(&last.stderr).contains("must keep an administrator"));
    let last = run(&["user", "remove", "--email", "bob@boutique.test"]);
    assert!(!last.status.success(), "the last administrator stays");
    let said = ok(guichet(
        dir.path(),
        &["user", "remove", "--email", "ana@boutique.test"],
    ));
    assert!(said.contains("ana@boutique.test"), "{said}");
    let listed = json(&ok(guichet(dir.path(), &["user", "list", "--json"])));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["email"].as_str(), listed[0]["role"].as_str()),
        (Some("bob@boutique.test"), Some("admin"))
    );

    // The passwords printed work (the last one only), and none is in the database in clear.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = dir.path().join("guichet.db");
        let desk = desk_at(
            &format!("sqlite://{}", db.display()),
            &dir.path().join("blobs"),
        )
        .await;
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            desk.sign_in("bob@boutique.test", &secret(&second), ip)
                .await
                .is_ok()
        );
        assert!(
            desk.sign_in("bob@boutique.test", &secret(&first), ip)
                .await
                .is_err()
        );
        desk.store.close().await;
    });
    let mut db = Vec::new();
    for file in ["guichet.db", "guichet.db-wal"] {
        db.extend(std::fs::read(dir.path().join(file)).unwrap_or_default());
    }
    for secret in [first.as_str(), second.as_str()] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear"
        );
    }
}

/// Two administrators demoting, or removing, each other at the same moment: one wins, the
/// other is refused, and the shop is never left without an administrator.
async fn the_last_administrator_survives_a_race(url: &str, blobs: &Path) {
    let desk = desk_at(url, blobs).await;
    let shop = desk.add_shop("boutique").await.unwrap();
    let mut admins = Vec::new();
    for email in ["ana@boutique.test", "bob@boutique.test"] {
        let added = desk
            .add_employee(&shop, input(email, "un mot de passe", true))
            .await
            .unwrap();
        admins.push(added.id);
    }
    let (ana, bob) = (admins[0], admins[1]);
    let admins_left = |employees: Vec<guichet::store::Employee>| {
        employees.iter().filter(|e| e.role == Role::Admin).count()
    };
    for round in 0..5 {
        let (first, second) = tokio::join!(
            desk.set_role(&shop, ana, Role::Employee, Some(bob)),
            desk.set_role(&shop, bob, Role::Employee, Some(ana)),
        );
        let refused = [&first, &second]
            .iter()
            .filter(|r| matches!(r, Err(DeskError::LastAdmin)))
            .count();
        assert_eq!(refused, 1, "round {round}: {first:?} {second:?}");
        assert_eq!(admins_left(desk.employees(&shop).await.unwrap()), 1);
        for id in [ana, bob] {
            desk.set_role(&shop, id, Role::Admin, None).await.unwrap();
        }
    }
    let (first, second) = tokio::join!(
        desk.remove_employee(&shop, ana, Some(bob)),
        desk.remove_employee(&shop, bob, Some(ana)),
    );
    assert!(first.is_ok() != second.is_ok(), "{first:?} {second:?}");
    let left = desk.employees(&shop).await.unwrap();
    assert_eq!((left.len(), admins_left(left)), (1, 1));
    desk.store.close().await;
}

store_tests!(
    url the_last_administrator_survives_a_race =>
    last_admin_race_sqlite,
    last_admin_race_postgres
);
