//! The `guichet` binary as the tests drive it: a data dir of its own, English output, the
//! invocations many tests repeat (a shop with a mailbox, a sync pass, tickets as JSON).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{MailServer, TestMailbox, guichet_cmd};

pub fn run(mut cmd: Command) -> Output {
    cmd.output().expect("guichet runs")
}

/// Runs `cmd`, asserts it succeeded and returns its standard output.
pub fn ok(cmd: Command) -> String {
    let output = run(cmd);
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `guichet ARGS` on the data dir `dir`, in English, on the data dir's own SQLite database.
pub fn guichet(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = guichet_cmd(dir);
    cmd.args(args)
        .env("GUICHET_LANG", "en")
        .env_remove("GUICHET_DATABASE_URL");
    cmd
}

/// Spawns `cmd` with piped standard streams, writes `input` to it and waits for the end.
pub fn with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts that `output` is a success, with its standard error otherwise.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `guichet sync --once`; its standard output.
pub fn sync_once(dir: &Path) -> String {
    ok(guichet(dir, &["sync", "--once"]))
}

/// `guichet tickets list --json`, as printed.
pub fn tickets_json(dir: &Path) -> String {
    ok(guichet(dir, &["tickets", "list", "--json"]))
}

/// `guichet tickets list --json`.
pub fn tickets_list(dir: &Path) -> serde_json::Value {
    json(&tickets_json(dir))
}

/// The ticket of `tickets` (as `tickets list --json` prints them) with this subject.
pub fn ticket_with_subject<'a>(
    tickets: &'a serde_json::Value,
    subject: &str,
) -> &'a serde_json::Value {
    tickets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == subject)
        .unwrap()
}

/// `guichet tickets show NUMBER --json`.
pub fn ticket_shown(dir: &Path, number: &str) -> serde_json::Value {
    json(&ok(guichet(dir, &["tickets", "show", number, "--json"])))
}

pub fn add_mailbox(
    dir: &Path,
    mailbox: &TestMailbox,
    port: u16,
    password: &str,
    extra: &[&str],
) -> Output {
    add_mailbox_sending_to(dir, mailbox, port, password, (25, "none"), extra)
}

/// Adds `mailbox` (IMAPS on `port`) sending through SMTP at (port, security).
pub fn add_mailbox_sending_to(
    dir: &Path,
    mailbox: &TestMailbox,
    port: u16,
    password: &str,
    smtp: (u16, &str),
    extra: &[&str],
) -> Output {
    add_mailbox_through(
        |args| guichet(dir, args),
        mailbox,
        port,
        password,
        smtp,
        extra,
    )
}

/// [`add_mailbox_sending_to`] with the `guichet` command `command` makes of its arguments (on
/// another database, say).
pub fn add_mailbox_through(
    command: impl FnOnce(&[&str]) -> Command,
    mailbox: &TestMailbox,
    port: u16,
    password: &str,
    (smtp_port, smtp_security): (u16, &str),
    extra: &[&str],
) -> Output {
    let port = port.to_string();
    let smtp_port = smtp_port.to_string();
    let mut args = vec![
        "mailbox",
        "add",
        "--shop",
        "boutique",
        "--email",
        &mailbox.email,
        "--imap-host",
        "127.0.0.1",
        "--imap-port",
        &port,
        "--imap-security",
        "tls",
        "--accept-invalid-certs",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &smtp_port,
        "--smtp-security",
        smtp_security,
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    with_stdin(command(&args), format!("{password}\n").as_bytes())
}

/// A new data dir with the shop "boutique", no mailbox yet.
pub fn empty_shop() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(guichet(dir.path(), &["shop", "add", "boutique"]));
    dir
}

/// The shop "boutique" in `dir`, watching `mailbox` over IMAPS on the test server (with its
/// password) and sending through SMTP at (port, security).
pub fn shop_sending_to(dir: &Path, server: &MailServer, mailbox: &TestMailbox, smtp: (u16, &str)) {
    ok(guichet(dir, &["shop", "add", "boutique"]));
    let added = add_mailbox_sending_to(
        dir,
        mailbox,
        server.imaps_port,
        &mailbox.password,
        smtp,
        &[],
    );
    assert_success(&added);
}

/// The shop "boutique" in `dir`, watching `mailbox` over IMAPS on the test server.
pub fn shop_watching(dir: &Path, server: &MailServer, mailbox: &TestMailbox) {
    shop_sending_to(dir, server, mailbox, (25, "none"));
}

/// A data dir with the shop "boutique" watching a new mailbox of the test server (named for
/// `purpose`) over IMAPS.
pub fn new_shop(server: &MailServer, purpose: &str) -> (tempfile::TempDir, TestMailbox) {
    let mailbox = server.new_mailbox(purpose);
    let dir = tempfile::tempdir().unwrap();
    shop_watching(dir.path(), server, &mailbox);
    (dir, mailbox)
}

/// `guichet shop set boutique --OPTION VALUE…`.
pub fn set_shop(dir: &Path, options: &[(&str, &str)]) -> String {
    let mut args = vec!["shop", "set", "boutique"];
    for (option, value) in options {
        args.extend([*option, *value]);
    }
    ok(guichet(dir, &args))
}
