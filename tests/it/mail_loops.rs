//! Proof "No mail loops" (issue 8): two Guichet desks that write to each other, and a naive
//! out-of-office responder that answers every mail under a new subject, without any automation
//! header, repeating an answerable question. Each desk is a `guichet` data dir of its own (its
//! own SQLite database, a mailbox on the harness's Dovecot, automatic answers on with no delay);
//! `sync --once` files, plans and sends through Postfix. The responder reads its mailbox over
//! IMAP and answers through Postfix. Over many rounds, each desk sends at most one automatic
//! mail to the other and at most two to the responder, counted where they arrive.
//!
//! "Nothing more happened" is never a sleep: every mail is accounted for. Each desk's outbox
//! says what it sent, each receiving mailbox is waited for until it holds exactly what was sent
//! to it, and each sync must have seen every mail of its INBOX.

use std::collections::{HashMap, HashSet};

use mail_parser::MessageParser;

use crate::answering::{json, replies, shop_with_answers};
use crate::cli::{guichet, ok};
use crate::outbound::{postfix, wait_for_messages};
use crate::support::{MailServer, TestMailbox, sample_mail};

const ROUNDS: usize = 12;

/// The question the responder's owner asked before leaving, and that the responder repeats.
const QUESTION: &str = "où est ma commande 1042 ? Elle n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?";

struct Desk {
    name: &'static str,
    dir: tempfile::TempDir,
    mailbox: TestMailbox,
    /// INBOX mail intake has seen: filed, duplicates, or recognised as Guichet's own.
    seen: u64,
    /// Of those, recognised as sent by a Guichet and skipped.
    own_skipped: u64,
    new_tickets: u64,
    /// Outbox rows already counted.
    counted_rows: HashSet<i64>,
}

impl Desk {
    /// A desk answering automatically at once, eager on order questions (0.8 instead of 0.9):
    /// the more it would answer, the harder the proof.
    fn new(server: &MailServer, name: &'static str) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = shop_with_answers(server, dir.path(), "0s");
        ok(guichet(
            dir.path(),
            &[
                "shop",
                "set",
                "boutique",
                "--intent-threshold",
                "order_status=0.8",
            ],
        ));
        Desk {
            name,
            dir,
            mailbox,
            seen: 0,
            own_skipped: 0,
            new_tickets: 0,
            counted_rows: HashSet::new(),
        }
    }

    fn import_orders(&self, orders: &[(&str, &str)]) {
        let path = self.dir.path().join("orders.csv");
        let mut csv = String::from(
            "reference,customer_email,status,ordered_at,items,carrier,tracking_number\n",
        );
        for (reference, email) in orders {
            csv.push_str(&format!(
                "{reference},{email},shipped,2026-11-20,1 x Théière,Colissimo,6A12345678901\n"
            ));
        }
        std::fs::write(&path, csv).unwrap();
        ok(guichet(
            self.dir.path(),
            &["orders", "import", path.to_str().unwrap()],
        ));
    }

    /// One `sync --once` (fetch, file, plan, send); returns the automatic mails it sent, by
    /// recipient. Everything it ever queued must have gone by then (no delay, a healthy Postfix).
    fn sync(&mut self) -> Vec<String> {
        let summaries = json(&ok(guichet(self.dir.path(), &["sync", "--once", "--json"])));
        for summary in summaries.as_array().unwrap() {
            assert!(summary["error"].is_null(), "{}: {summary}", self.name);
            let count = |field: &str| summary[field].as_u64().unwrap();
            self.seen += count("new_messages") + count("duplicates") + count("own_skipped");
            self.own_skipped += count("own_skipped");
            self.new_tickets += count("new_tickets");
        }
        let mut sent = Vec::new();
        for row in replies(self.dir.path()) {
            assert_eq!(row["state"], "sent", "{}: {row}", self.name);
            if self.counted_rows.insert(row["id"].as_i64().unwrap()) {
                assert!(
                    ["answer", "ask"].contains(&row["kind"].as_str().unwrap()),
                    "{}: {row}",
                    self.name
                );
                sent.push(row["to"].as_str().unwrap().to_string());
            }
        }
        sent
    }

    fn tickets(&self) -> Vec<serde_json::Value> {
        json(&ok(guichet(
            self.dir.path(),
            &["tickets", "list", "--json"],
        )))
        .as_array()
        .unwrap()
        .clone()
    }

    /// The decisions taken on the customer messages of `customer`'s tickets, oldest ticket
    /// first, with the tickets' count.
    fn decisions_for(&self, customer: &str) -> (usize, Vec<serde_json::Value>) {
        let mut tickets: Vec<i64> = self
            .tickets()
            .iter()
            .filter(|t| t["customer_email"] == customer)
            .map(|t| t["number"].as_i64().unwrap())
            .collect();
        tickets.sort();
        let mut decisions = Vec::new();
        for number in &tickets {
            let show = json(&ok(guichet(
                self.dir.path(),
                &["tickets", "show", &number.to_string(), "--json"],
            )));
            for message in show["messages"].as_array().unwrap() {
                if message["direction"] == "in" {
                    decisions.push(message["decision"].clone());
                }
            }
        }
        (tickets.len(), decisions)
    }
}

/// What a decision did: `answer`, `ask_for_missing`, or the reason of a hand-over.
fn outcome(decision: &serde_json::Value) -> &str {
    decision["reason"]
        .as_str()
        .or(decision["decision"].as_str())
        .unwrap_or("undecided")
}

/// Mail a person writes: no Auto-Submitted, no Precedence, no In-Reply-To, dated now.
async fn send_as_person(
    server: &MailServer,
    from: (&str, &TestMailbox),
    to: &str,
    subject: &str,
    body: &str,
    id: &str,
) {
    let raw = sample_mail(
        &format!("{} <{}>", from.0, from.1.email),
        to,
        subject,
        body,
        Some(id),
        &[],
    );
    guichet::outbound::send(&postfix(server), &from.1.email, &[to.to_string()], &raw)
        .await
        .unwrap_or_else(|e| panic!("Postfix refused mail to {to}: {e}"));
}

/// Waits until the INBOX holds what was sent to it, and no more.
async fn delivered(
    server: &MailServer,
    mailbox: &TestMailbox,
    expected: &HashMap<String, usize>,
) -> Vec<Vec<u8>> {
    let count = expected.get(&mailbox.email).copied().unwrap_or(0);
    let inbox = wait_for_messages(server, mailbox, "INBOX", count).await;
    assert_eq!(
        inbox.len(),
        count,
        "{} holds unexpected mail",
        mailbox.email
    );
    inbox
}

/// Mails of `inbox` that a Guichet at `desk` sent by itself.
fn automatic_from(inbox: &[Vec<u8>], desk: &str) -> usize {
    inbox
        .iter()
        .filter(|raw| {
            let message = MessageParser::default().parse(raw.as_slice()).unwrap();
            let from = message
                .from()
                .and_then(|f| f.first())
                .and_then(|a| a.address());
            let ours = message
                .message_id()
                .is_some_and(|id| id.starts_with("guichet."));
            if from == Some(desk) && ours {
                assert_eq!(
                    message.header_raw("Auto-Submitted").map(str::trim),
                    Some("auto-replied")
                );
                true
            } else {
                false
            }
        })
        .count()
}

/// A subject of letters only, new for every mail: digits could read as an order reference.
fn fresh_subject(n: usize) -> String {
    let letter = |k: usize| (b'A' + (k % 26) as u8) as char;
    format!(
        "Absence du bureau (réf. {}{}{})",
        letter(n / 676),
        letter(n / 26),
        letter(n)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn two_desks_and_a_naive_out_of_office_never_loop() {
    let server = MailServer::shared();
    let mut a = Desk::new(server, "desk A");
    let mut b = Desk::new(server, "desk B");
    let responder = server.new_mailbox("naive out-of-office responder");
    // Each desk knows the other as a customer (order 2077) and the responder's owner (1042),
    // so whatever reaches it has an order to answer about.
    a.import_orders(&[("2077", &b.mailbox.email), ("1042", &responder.email)]);
    b.import_orders(&[("2077", &a.mailbox.email), ("1042", &responder.email)]);

    // Someone at each desk asks the other about their order; the responder's owner asked both
    // before leaving.
    let mut expected: HashMap<String, usize> = HashMap::new();
    for (from, to) in [(&b, &a), (&a, &b)] {
        send_as_person(
            server,
            ("L'équipe de la Boutique", &from.mailbox),
            &to.mailbox.email,
            "Où est ma commande 2077 ?",
            "Bonjour,\nma commande 2077 n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?\nMerci,\nL'équipe de la Boutique",
            &format!("seed.{}@client.test", from.mailbox.email),
        )
        .await;
        *expected.entry(to.mailbox.email.clone()).or_default() += 1;
    }
    for to in [&a, &b] {
        send_as_person(
            server,
            ("Paul Martin", &responder),
            &to.mailbox.email,
            "Où est ma commande 1042 ?",
            &format!("Bonjour,\ndites-moi {QUESTION}\nMerci,\nPaul Martin"),
            &format!("seed.{}@client.test", to.mailbox.email),
        )
        .await;
        *expected.entry(to.mailbox.email.clone()).or_default() += 1;
    }
    for desk in [&a, &b] {
        delivered(server, &desk.mailbox, &expected).await;
    }

    let mut responder_sent = 0;
    let mut log = Vec::new();
    // ROUNDS rounds of: both desks sync, the responder answers what it got; then a last sync
    // so that the responder's last answers are decided too.
    for round in 1..=ROUNDS + 1 {
        let mut line = format!("round {round}:");
        for desk in [&mut a, &mut b] {
            let tickets_before = desk.new_tickets;
            let sent = desk.sync();
            assert_eq!(
                desk.seen as usize, expected[&desk.mailbox.email],
                "{} saw every mail of its INBOX",
                desk.name
            );
            line.push_str(&format!(
                " {} filed {} new ticket(s) ({} own-Guichet mail skipped so far), sent {};",
                desk.name,
                desk.new_tickets - tickets_before,
                desk.own_skipped,
                sent.len()
            ));
            for to in sent {
                *expected.entry(to).or_default() += 1;
            }
        }
        for mailbox in [&a.mailbox, &b.mailbox] {
            delivered(server, mailbox, &expected).await;
        }
        let inbox = delivered(server, &responder, &expected).await;
        if round > ROUNDS {
            log.push(line);
            break;
        }
        let mut answered = 0;
        for raw in &inbox[responder_sent..] {
            let message = MessageParser::default().parse(raw.as_slice()).unwrap();
            let to = message
                .from()
                .and_then(|f| f.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_string();
            let quoted: String = message
                .body_text(0)
                .unwrap_or_default()
                .lines()
                .map(|l| format!("> {l}\n"))
                .collect();
            let n = responder_sent + answered;
            send_as_person(
                server,
                ("Paul Martin", &responder),
                &to,
                &fresh_subject(n),
                &format!(
                    "Bonjour,\n\nJe suis absent du bureau jusqu'au 14 décembre, sans accès à mes e-mails.\n\
                     En attendant, {QUESTION}\n\nPaul Martin\n\n{quoted}"
                ),
                &format!("absence-{n}.{}@client.test", responder.email),
            )
            .await;
            *expected.entry(to).or_default() += 1;
            answered += 1;
        }
        responder_sent += answered;
        line.push_str(&format!(" responder answered {answered}"));
        log.push(line);
        for mailbox in [&a.mailbox, &b.mailbox] {
            delivered(server, mailbox, &expected).await;
        }
    }
    for line in &log {
        println!("{line}");
    }

    // Counted where the mail arrived.
    let at_a = delivered(server, &a.mailbox, &expected).await;
    let at_b = delivered(server, &b.mailbox, &expected).await;
    let at_responder = delivered(server, &responder, &expected).await;
    let (a_to_b, b_to_a) = (
        automatic_from(&at_b, &a.mailbox.email),
        automatic_from(&at_a, &b.mailbox.email),
    );
    let (a_to_responder, b_to_responder) = (
        automatic_from(&at_responder, &a.mailbox.email),
        automatic_from(&at_responder, &b.mailbox.email),
    );
    println!(
        "automatic mails: A→B {a_to_b}, B→A {b_to_a}, A→responder {a_to_responder}, \
         B→responder {b_to_responder}; responder sent {responder_sent}; rounds {ROUNDS}"
    );
    assert!(
        a_to_b <= 1 && b_to_a <= 1,
        "desk to desk: {a_to_b}, {b_to_a}"
    );
    assert!(
        a_to_responder <= 2 && b_to_responder <= 2,
        "desks to the responder: {a_to_responder}, {b_to_responder}"
    );
    assert_eq!(
        at_responder.len(),
        a_to_responder + b_to_responder,
        "the responder got nothing but automatic answers"
    );

    // The pipeline did run: each desk answered the other's question and the responder's
    // owner, then the responder's first absence notice (a new ticket, which the per-ticket rule
    // lets through), and handed its second one to a person with the reason.
    assert_eq!((a_to_b, b_to_a), (1, 1));
    assert_eq!((a_to_responder, b_to_responder), (2, 2));
    assert_eq!(responder_sent, 4);
    for desk in [&a, &b] {
        let (tickets, decisions) = desk.decisions_for(&responder.email);
        let outcomes: Vec<&str> = decisions.iter().map(outcome).collect();
        assert_eq!(
            outcomes,
            ["answer", "answer", "sender_answered_today"],
            "{}: the responder's question, then its two absence notices",
            desk.name
        );
        assert_eq!(
            tickets, 3,
            "{}: each absence notice opened a ticket",
            desk.name
        );
        let handed_over = decisions.last().unwrap();
        for (field, words) in [
            ("explanation_en", "auto-responder"),
            ("explanation_fr", "répondeur automatique"),
        ] {
            assert!(
                handed_over[field]
                    .as_str()
                    .is_some_and(|e| e.contains(words)),
                "{handed_over}"
            );
        }
        let other = if desk.name == "desk A" { &b } else { &a };
        let (_, decisions) = desk.decisions_for(&other.mailbox.email);
        let outcomes: Vec<&str> = decisions.iter().map(outcome).collect();
        assert_eq!(
            outcomes.first(),
            Some(&"answer"),
            "{}: the other desk's question was answered",
            desk.name
        );
        assert!(
            !outcomes[1..].contains(&"answer"),
            "{}: the other desk's answer was not answered: {outcomes:?}",
            desk.name
        );
    }
}
