//! What the integration tests (and the import benchmark) need running: a real Dovecot on free
//! loopback ports in a temp dir, throwaway PostgreSQL databases, a proxy that cuts connections,
//! and realistic mail. Started once per test process; nothing outlives it.
#![allow(dead_code, unused_macros)]

pub mod browser;
pub mod cli;
pub mod fakes;
mod mail;
mod mail_server;
mod proxy;
mod s3;
mod store;
pub mod web;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use guichet::crypto::SealingKey;
use guichet::intake::imap::{ImapSettings, Security};
use guichet::store::NewMailbox;
use secrecy::SecretString;

pub use mail::{mail_date, realistic_mail, sample_mail};
pub use mail_server::{MailServer, TestMailbox};
pub use proxy::DropProxy;
pub use s3::S3Server;
pub(crate) use store::store_tests;
pub use store::{
    Dialect, message_count, on_database, on_store, on_store_at, open_data_dir, sqlite_url,
    sync_pass, write_behind,
};

/// The `guichet` binary with its own data dir.
pub fn guichet_cmd(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_guichet"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env_remove("GUICHET_CONFIG")
        .env("GUICHET_LOG", "warn");
    cmd
}

/// A database of a test's own: a fresh PostgreSQL database (dropped afterwards) or a SQLite file.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
}

const DEFAULT_PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn psql(admin_url: &str, sql: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .arg(admin_url)
        .args(["-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .map_err(|e| format!("psql cannot run ({e}); run scripts/install-test-deps"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

impl TestDatabase {
    /// Creates a uniquely named database on the test PostgreSQL (`GUICHET_TEST_PG` admin URL).
    /// Panics when PostgreSQL does not answer: a test that needs it must fail, not skip.
    pub fn postgres() -> TestDatabase {
        let admin =
            std::env::var("GUICHET_TEST_PG").unwrap_or_else(|_| DEFAULT_PG_ADMIN.to_string());
        let name = format!(
            "guichet_test_{}_{}",
            std::process::id(),
            rand::random::<u32>()
        );
        psql(&admin, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed by this test: {e}"));
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin);
        TestDatabase {
            url: format!("{base}/{name}"),
            postgres: Some((admin, name)),
        }
    }

    pub fn sqlite(dir: &Path) -> TestDatabase {
        TestDatabase {
            url: sqlite_url(dir),
            postgres: None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            let _ = psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Settings that make Guichet watch `mailbox` on the test server at `port`, over implicit TLS
/// (accepting the self-signed certificate) or plain IMAP; the password sealed with `key`.
pub fn watched_mailbox(
    mailbox: &TestMailbox,
    port: u16,
    tls: bool,
    folders: &[&str],
    key: &SealingKey,
) -> NewMailbox {
    let password = SecretString::from(mailbox.password.clone());
    NewMailbox {
        email: mailbox.email.clone(),
        imap_host: "127.0.0.1".into(),
        imap_port: port,
        imap_security: if tls { Security::Tls } else { Security::None },
        accept_invalid_certs: tls,
        username: mailbox.email.clone(),
        auth: guichet::oauth::MailboxAuth::Password,
        password_sealed: key.seal(&password, guichet::intake::sync::PASSWORD_PURPOSE),
        folders: folders.iter().map(|f| f.to_string()).collect(),
        delete_after_import: false,
        mark_as_read: false,
        smtp_host: "127.0.0.1".into(),
        smtp_port: 25,
        smtp_security: Security::None,
        contact_id: None,
    }
}

/// A mailbox `sav@boutique.test` that no test server answers (IMAPS 993, submission 587), with
/// a placeholder sealed password: for store tests that only write and read mailbox rows.
pub fn offline_mailbox() -> NewMailbox {
    NewMailbox {
        email: "sav@boutique.test".into(),
        imap_host: "127.0.0.1".into(),
        imap_port: 993,
        imap_security: Security::Tls,
        accept_invalid_certs: false,
        username: "sav@boutique.test".into(),
        auth: guichet::oauth::MailboxAuth::Password,
        password_sealed: vec![1, 2, 3],
        folders: vec!["INBOX".into()],
        delete_after_import: false,
        mark_as_read: false,
        smtp_host: "127.0.0.1".into(),
        smtp_port: 587,
        smtp_security: Security::Starttls,
        contact_id: None,
    }
}

/// Plain IMAP (no TLS) to `mailbox` on the test server, with its password.
pub fn plain_imap(server: &MailServer, mailbox: &TestMailbox) -> ImapSettings {
    ImapSettings {
        host: "127.0.0.1".into(),
        port: server.imap_port,
        security: Security::None,
        accept_invalid_certs: false,
        username: mailbox.email.clone(),
        credential: guichet::intake::imap::Credential::password(mailbox.password.clone()),
    }
}

/// Polls `check` every 100 ms for up to `timeout`; true as soon as it holds.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`eventually`] for a check that awaits, without blocking the runtime between polls.
pub async fn eventually_async(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
