//! The harness itself works: a broken harness must not pass for a working product.

use crate::support::{DropProxy, MailServer, TestDatabase, eventually, sample_mail};

#[test]
fn dovecot_serves_appended_and_seeded_mail() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("selftest");
    server.append_mail(&mailbox, "a@x.test", "one", "body", "st1@x");
    server.append(
        &mailbox,
        "Archive",
        &sample_mail(
            "a@x.test",
            &mailbox.email,
            "two",
            "body",
            Some("st2@x"),
            &[],
        ),
    );
    server.seed_maildir(
        &mailbox,
        "INBOX",
        (0..5).map(crate::support::realistic_mail),
    );
    assert_eq!(server.unseen_count(&mailbox, "INBOX"), 6);
    assert_eq!(server.unseen_count(&mailbox, "Archive"), 1);
    server.set_uid_validity(&mailbox, "INBOX", 77);
}

#[test]
fn drop_proxy_cuts_after_the_limit() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(&[7u8; 10_000]);
        }
    });
    let proxy = DropProxy::start(port, Some(1000));
    let received_through_proxy = || {
        let mut received = Vec::new();
        std::net::TcpStream::connect(("127.0.0.1", proxy.port))
            .unwrap()
            .read_to_end(&mut received)
            .ok();
        received.len()
    };
    assert_eq!(received_through_proxy(), 1000);
    proxy.set_cut_after(None);
    assert_eq!(received_through_proxy(), 10_000);
}

#[test]
fn postgres_databases_are_created_and_dropped() {
    let db = TestDatabase::postgres();
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let exists = |name: &str| {
        let out = std::process::Command::new("psql")
            .args([
                "postgres://postgres@127.0.0.1:5432/postgres",
                "-tAc",
                &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    };
    assert!(exists(&name));
    drop(db);
    assert!(!exists(&name));
}

/// Speaks SMTP line by line; returns the last reply line of each step.
fn smtp_dialogue(port: u16, lines: &[&str]) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut read_reply = || loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return line.trim_end().to_string();
        }
    };
    let mut replies = vec![read_reply()];
    for line in lines {
        write!(writer, "{line}\r\n").unwrap();
        replies.push(read_reply());
    }
    replies
}

#[test]
fn postfix_delivers_into_dovecot_and_submission_wants_a_login() {
    let server = MailServer::shared();
    let mailbox = server.new_mailbox("selftest smtp");
    let replies = smtp_dialogue(
        server.smtp_port,
        &[
            "EHLO selftest",
            "MAIL FROM:<a@x.test>",
            &format!("RCPT TO:<{}>", mailbox.email),
            "DATA",
            "Subject: through postfix\r\nMessage-ID: <pf1@x.test>\r\n\r\nbody\r\n.",
            "QUIT",
        ],
    );
    assert!(replies[5].starts_with("250"), "{replies:?}");
    let delivered = || !server.maildir_messages(&mailbox, "INBOX").is_empty();
    assert!(
        eventually(std::time::Duration::from_secs(20), delivered),
        "not delivered:\n{}",
        server.postfix_log()
    );
    let delivered = server.maildir_messages(&mailbox, "INBOX");
    assert!(String::from_utf8_lossy(&delivered[0]).contains("Message-ID: <pf1@x.test>"));

    let refused = smtp_dialogue(
        server.smtp_port,
        &[
            "EHLO selftest",
            "MAIL FROM:<a@x.test>",
            &format!("RCPT TO:<{}@shop.test>", MailServer::REFUSED_RECIPIENT),
        ],
    );
    assert!(refused[3].starts_with("550"), "{refused:?}");

    let submission = smtp_dialogue(
        server.submission_port,
        &["EHLO selftest", "MAIL FROM:<a@x.test>"],
    );
    assert!(submission[0].starts_with("220"), "{submission:?}");
    assert!(
        submission[2].starts_with("530"),
        "no sending without login: {submission:?}"
    );
}
