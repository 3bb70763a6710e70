//! Automatic answers end to end, as a shop drives them from the command line: a customer's
//! question answered with real order data through Postfix into the customer's mailbox (and the
//! shop's Sent folder), at most once; machines and repeats left to employees; information asked
//! for and collected into a case file; shadow mode and replay; quotas; refusals and crashes.

use std::time::Duration;

use guichet::model::{ReplyKind, ReplyState};
use guichet::store::{NewReply, Store};
use mail_parser::MessageParser;

use crate::cli::{guichet, ok, run};
use crate::outbound::wait_for_messages;
pub(crate) use crate::support::cli::json;
use crate::support::cli::{
    set_shop, shop_sending_to, sync_once, ticket_shown, ticket_with_subject, tickets_list,
};
use crate::support::{MailServer, TestMailbox, sample_mail, store_tests};

/// A shop whose mailbox sends through the harness's submission server (STARTTLS, AUTH with
/// the mailbox's password, relayed by Postfix), with answers on after `delay`.
pub(crate) fn shop_with_answers(
    server: &MailServer,
    dir: &std::path::Path,
    delay: &str,
) -> TestMailbox {
    let shop = server.new_mailbox("shop");
    shop_sending_to(dir, server, &shop, (server.submission_port, "starttls"));
    set_shop(
        dir,
        &[
            ("--auto-answers", "on"),
            ("--reply-delay", delay),
            ("--reply-spread", "0s"),
            ("--signature", "L'équipe de la Boutique"),
        ],
    );
    shop
}

/// A data dir with a shop answering after `delay` (see [`shop_with_answers`]), and a
/// customer's mailbox.
fn shop_and_customer(
    server: &MailServer,
    delay: &str,
) -> (tempfile::TempDir, TestMailbox, TestMailbox) {
    let dir = tempfile::tempdir().unwrap();
    let shop = shop_with_answers(server, dir.path(), delay);
    (dir, shop, server.new_mailbox("customer"))
}

/// The shop's INBOX, where a customer (Marie Dupont) writes from her own mailbox.
struct Inbox<'a> {
    server: &'a MailServer,
    shop: &'a TestMailbox,
    customer: &'a TestMailbox,
}

impl<'a> Inbox<'a> {
    fn new(server: &'a MailServer, shop: &'a TestMailbox, customer: &'a TestMailbox) -> Self {
        Inbox {
            server,
            shop,
            customer,
        }
    }

    fn receives(&self, subject: &str, body: &str, id: &str) {
        let from = format!("Marie Dupont <{}>", self.customer.email);
        self.server.append_mail(self.shop, &from, subject, body, id);
    }
}

pub(crate) fn replies(dir: &std::path::Path) -> Vec<serde_json::Value> {
    json(&ok(guichet(dir, &["replies", "list", "--json"])))
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_question_is_answered_once_with_order_data_and_copied_to_sent() {
    let server = MailServer::shared();
    let (dir, shop, customer) = shop_and_customer(server, "0s");
    let inbox = Inbox::new(server, &shop, &customer);
    let orders = dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        format!(
            "reference,customer_email,status,ordered_at,items,carrier,tracking_number\n\
             1042,{},shipped,2026-11-20,2 x Mug émaillé; 1 x Théière,Colissimo,6A12345678901\n",
            customer.email
        ),
    )
    .unwrap();
    ok(guichet(
        dir.path(),
        &["orders", "import", orders.to_str().unwrap()],
    ));
    inbox.receives(
        "Où est ma commande ?",
        "Bonjour,\r\nma commande 1042 n'est toujours pas arrivée, pouvez-vous me dire où elle en est ?\r\nMerci,\r\nMarie",
        "question-1@client.example",
    );
    let said = sync_once(dir.path());
    assert!(said.contains("Automatic answers: 1 scheduled"), "{said}");
    assert!(said.contains("1 sent"), "{said}");

    let received = wait_for_messages(server, &customer, "INBOX", 1).await;
    let answer = MessageParser::default().parse(&received[0]).unwrap();
    assert_eq!(answer.subject(), Some("Re: [1001] Où est ma commande ?"));
    assert_eq!(
        answer.in_reply_to().as_text(),
        Some("question-1@client.example")
    );
    assert_eq!(
        answer.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    let message_id = answer.message_id().unwrap().to_string();
    assert!(message_id.starts_with("guichet."), "{message_id}");
    let text = answer.body_text(0).unwrap();
    for expected in [
        "Marie Dupont",
        "1042",
        "Colissimo",
        "6A12345678901",
        "L'équipe de la Boutique",
        "> ma commande 1042",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(answer.body_html(0).unwrap().contains("6A12345678901"));
    let sent_copy = wait_for_messages(server, &shop, "Sent", 1).await;
    let sent_copy = MessageParser::default().parse(&sent_copy[0]).unwrap();
    assert_eq!(
        sent_copy.message_id(),
        Some(message_id.as_str()),
        "the Sent folder holds the answer"
    );
    assert_eq!(sent_copy.body_text(0), answer.body_text(0));

    // Sent once: the outbox says so, the ticket shows it, and another sync sends nothing.
    let listed = replies(dir.path());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "sent");
    assert_eq!(listed[0]["ticket"], 1001);
    assert_eq!(listed[0]["message_id"], message_id);
    let show = ticket_shown(dir.path(), "1001");
    assert_eq!(show["replies"][0]["state"], "sent");
    assert_eq!(show["messages"][0]["decision"]["decision"], "answer");
    assert_eq!(show["messages"][1]["direction"], "out");
    sync_once(dir.path());
    assert_eq!(replies(dir.path()).len(), 1);

    // The customer writes again the same day: no second automatic answer, the team takes it.
    inbox.receives(
        "Re: [1001] Où est ma commande ?",
        "Merci, mais le suivi ne bouge pas depuis 5 jours, vous pouvez vérifier ?",
        "question-2@client.example",
    );
    sync_once(dir.path());
    assert_eq!(
        replies(dir.path()).len(),
        1,
        "at most one automatic answer per ticket per day"
    );
    let show = ticket_shown(dir.path(), "1001");
    let last = show["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["decision"]["reason"], "already_answered_today",
        "{last}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        wait_for_messages(server, &customer, "INBOX", 1).await.len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn machines_get_nothing_and_missing_information_is_asked_then_collected() {
    let server = MailServer::shared();
    let (dir, shop, customer) = shop_and_customer(server, "0s");
    let inbox = Inbox::new(server, &shop, &customer);
    server.append(
        &shop,
        "INBOX",
        &sample_mail(
            &format!("Robot <{}>", customer.email),
            &shop.email,
            "Réponse automatique : absent",
            "Je suis absent jusqu'au 3 décembre, ma commande 1042 attendra.",
            Some("auto-1@client.example"),
            &[("Auto-Submitted", "auto-replied")],
        ),
    );
    inbox.receives(
        "Colis abîmé",
        "Bonjour, le vase que j'ai reçu hier est arrivé cassé en morceaux, je suis très déçue.",
        "broken-1@client.example",
    );
    sync_once(dir.path());
    let tickets = tickets_list(dir.path());
    let number_of = |subject: &str| {
        let number = &ticket_with_subject(&tickets, subject)["number"];
        number.as_i64().unwrap().to_string()
    };
    let auto = ticket_shown(dir.path(), &number_of("Réponse automatique : absent"));
    assert_eq!(auto["messages"][0]["decision"]["reason"], "auto_submitted");
    assert!(auto["replies"].as_array().unwrap().is_empty());

    // The damaged item: Guichet asks for exactly what the template needs.
    let broken = number_of("Colis abîmé");
    let show = ticket_shown(dir.path(), &broken);
    assert_eq!(
        show["messages"][0]["decision"]["decision"],
        "ask_for_missing"
    );
    assert_eq!(show["replies"][0]["kind"], "ask");
    assert_eq!(show["replies"][0]["state"], "sent");
    assert_eq!(
        show["case_file"]["missing"],
        serde_json::json!(["order_ref", "photo"])
    );
    let asked = wait_for_messages(server, &customer, "INBOX", 1).await;
    let asked = MessageParser::default().parse(&asked[0]).unwrap();
    let text = asked.body_text(0).unwrap().to_lowercase();
    assert!(
        text.contains("photo") && text.contains("commande"),
        "{text}"
    );

    // The customer's next message brings both: the case file is complete, for the team.
    let photo = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let reply = format!(
        "From: Marie Dupont <{from}>\r\nTo: {to}\r\nSubject: Re: [{broken}] Colis abîmé\r\nDate: {date}\r\n\
         Message-ID: <broken-2@client.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici la photo, c'est la commande n° 58213.\r\n\
         --b\r\nContent-Type: image/png; name=vase.png\r\nContent-Disposition: attachment; filename=vase.png\r\nContent-Transfer-Encoding: base64\r\n\r\n{photo}\r\n--b--\r\n",
        from = customer.email,
        to = shop.email,
        date = crate::support::mail_date(60)
    );
    server.append(&shop, "INBOX", reply.as_bytes());
    sync_once(dir.path());
    let show = ticket_shown(dir.path(), &broken);
    assert_eq!(show["case_file"]["complete"], true, "{}", show["case_file"]);
    assert_eq!(
        show["case_file"]["order_refs"],
        serde_json::json!(["58213"])
    );
    assert_eq!(show["case_file"]["photo"], true);
    assert_eq!(show["messages"][2]["decision"]["reason"], "case_complete");
    assert_eq!(
        show["replies"].as_array().unwrap().len(),
        1,
        "no second email"
    );
    let text = ok(guichet(dir.path(), &["tickets", "show", &broken]));
    assert!(text.contains("Case file"), "{text}");
}

#[test]
fn delays_shadow_mode_replay_quota_and_refusals() {
    let server = MailServer::shared();
    // The natural delay: the answer waits 3 hours, visible and cancellable.
    let (dir, shop, customer) = shop_and_customer(server, "3h");
    let inbox = Inbox::new(server, &shop, &customer);
    inbox.receives("Mot de passe", "Bonjour, je n'arrive plus à me connecter à mon compte client, j'ai oublié mon mot de passe.", "pw-1@client.example");
    sync_once(dir.path());
    let listed = replies(dir.path());
    assert_eq!(listed[0]["state"], "scheduled", "{listed:?}");
    let due = listed[0]["due_at"].as_str().unwrap().to_string();
    let id = listed[0]["id"].as_i64().unwrap().to_string();
    let text = ok(guichet(dir.path(), &["replies", "list"]));
    assert!(text.contains("scheduled") && text.contains(&due), "{text}");
    // The customer writes again: the scheduled answer is cancelled and the new message decided.
    inbox.receives("Re: [1001] Mot de passe", "J'ai aussi essayé le lien de réinitialisation du mot de passe mais je ne reçois aucun e-mail pour me connecter.", "pw-2@client.example");
    sync_once(dir.path());
    let listed = replies(dir.path());
    let state_of = |id: &str| {
        listed
            .iter()
            .find(|r| r["id"].as_i64() == id.parse::<i64>().ok())
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of(&id), "cancelled", "{listed:?}");
    let newer = listed
        .iter()
        .find(|r| r["state"] == "scheduled")
        .expect("the new message is answered")
        .clone();
    // An employee answers: the scheduled automatic answer is cancelled, theirs goes now.
    let text_file = dir.path().join("answer.txt");
    std::fs::write(
        &text_file,
        "Bonjour Marie,\nje viens de réinitialiser votre accès, un e-mail arrive.\nJulie",
    )
    .unwrap();
    let said = ok(guichet(
        dir.path(),
        &["tickets", "reply", "1001", text_file.to_str().unwrap()],
    ));
    assert!(said.contains("sent"), "{said}");
    let listed = replies(dir.path());
    let find = |id: &serde_json::Value| listed.iter().find(|r| r["id"] == *id).unwrap().clone();
    assert_eq!(find(&newer["id"])["state"], "cancelled");
    assert_eq!(find(&newer["id"])["error"], "an employee answered");
    let employee = listed.iter().find(|r| r["kind"] == "employee").unwrap();
    assert_eq!(employee["state"], "sent");
    assert_eq!(employee["subject"], "Re: [1001] Mot de passe");
    let received = wait_for_messages_blocking(server, &customer, 1);
    assert!(String::from_utf8_lossy(&received[0]).contains("Julie"));
    // Closing a ticket cancels what is scheduled; an employee can still send a cancelled answer.
    let refused = run(guichet(dir.path(), &["replies", "cancel", &id]));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is cancelled"));
    ok(guichet(
        dir.path(),
        &["tickets", "status", "1001", "closed"],
    ));
    ok(guichet(dir.path(), &["replies", "send-now", &id]));
    assert_eq!(state_of_now(dir.path(), &id), "sent");

    // Shadow mode decides and drafts, never sends; replay reports on past mail.
    set_shop(dir.path(), &[("--auto-answers", "shadow")]);
    inbox.receives(
        "Facture",
        "Bonjour, pourriez-vous m'envoyer la facture de ma commande 1042 ? Merci",
        "invoice-1@client.example",
    );
    sync_once(dir.path());
    let shadow: Vec<_> = replies(dir.path())
        .into_iter()
        .filter(|r| r["state"] == "shadow")
        .collect();
    assert_eq!(shadow.len(), 1);
    assert_eq!(shadow[0]["intent"], "invoice");
    let report_path = dir.path().join("replay.html");
    let report = json(&ok(guichet(
        dir.path(),
        &[
            "replay",
            "--since",
            "2026-01-01",
            "--html",
            report_path.to_str().unwrap(),
            "--json",
        ],
    )));
    assert_eq!(report["messages"], 3);
    assert!(report["would_send"].as_i64().unwrap() >= 1);
    assert_eq!(report["by_intent"]["invoice"]["messages"], 1);
    let html = std::fs::read_to_string(&report_path).unwrap();
    assert!(
        html.contains("Re: [1002] Facture") && html.contains("Nothing was sent"),
        "{html}"
    );

    // A custom plan of one answer a month: the next ticket goes to the team and the shop is told.
    set_shop(
        dir.path(),
        &[
            ("--auto-answers", "on"),
            ("--reply-delay", "0s"),
            ("--plan", "custom"),
            ("--quota", "1"),
        ],
    );
    inbox.receives("Retour", "Bonjour, comment faire pour retourner les chaussures de ma commande 1042 ? Elles sont trop petites.", "return-1@client.example");
    sync_once(dir.path());
    let listed = replies(dir.path());
    let notice: Vec<_> = listed.iter().filter(|r| r["kind"] == "notice").collect();
    assert_eq!(notice.len(), 1, "{listed:?}");
    assert_eq!(notice[0]["to"], shop.email.as_str());
    assert_eq!(notice[0]["state"], "sent");
    let show = ticket_shown(dir.path(), "1003");
    assert_eq!(show["messages"][0]["decision"]["reason"], "quota_spent");
    let notices = wait_for_messages_blocking(server, &shop, 1);
    assert!(
        notices
            .iter()
            .any(|raw| String::from_utf8_lossy(raw).contains("quota"))
    );

    // A template with an error is refused before it is saved.
    let bad = dir.path().join("bad.j2");
    std::fs::write(&bad, "Bonjour {{ customer_name ").unwrap();
    let refused = run(guichet(
        dir.path(),
        &["templates", "set", "refund", "fr", bad.to_str().unwrap()],
    ));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("template refused"));
}

fn state_of_now(dir: &std::path::Path, id: &str) -> serde_json::Value {
    replies(dir)
        .into_iter()
        .find(|r| r["id"].as_i64() == id.parse::<i64>().ok())
        .unwrap()["state"]
        .clone()
}

fn wait_for_messages_blocking(
    server: &MailServer,
    mailbox: &TestMailbox,
    count: usize,
) -> Vec<Vec<u8>> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(wait_for_messages(server, mailbox, "INBOX", count))
}

/// The outbox's guarantees in the store itself, on both dialects: a message is answered once,
/// a reply left in `sending` by a crash becomes uncertain and is never sent again by itself.
async fn outbox_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let raw = sample_mail(
        "a@client.test",
        "sav@boutique.test",
        "Question",
        "Bonjour",
        Some("q1@client.test"),
        &[],
    );
    let triager = guichet::triage::Triager::default();
    let incoming = guichet::intake::sync::prepare_message(raw, store.blobs(), &triager)
        .await
        .unwrap();
    store
        .file_batch(shop.id, None, None, None, &[incoming])
        .await
        .unwrap();
    let pending = store.pending_messages(shop.id, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    let reply = |message_id: &str| NewReply {
        shop_id: shop.id,
        ticket_id: Some(pending[0].ticket_id),
        reply_to_message: Some(pending[0].id),
        kind: ReplyKind::Answer,
        intent: Some("other".into()),
        lang: guichet::model::UiLang::Fr,
        state: ReplyState::Scheduled,
        due_at: 0,
        to_email: "a@client.test".into(),
        to_name: None,
        subject: "Re: [1001] Question".into(),
        body_text: "Bonjour".into(),
        message_id: message_id.into(),
    };
    let record = |message_id: &str| guichet::store::DecisionRecord {
        message_row_id: pending[0].id,
        ticket_id: pending[0].ticket_id,
        decision: "{}".into(),
        case_file: None,
        reply: Some(reply(message_id)),
    };
    assert!(
        store
            .record_decision(&record("guichet.1.1@b"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_decision(&record("guichet.1.2@b"))
            .await
            .unwrap(),
        "decided once"
    );
    assert!(
        store
            .pending_messages(shop.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Leased with a lease that has already run out, as if the process died mid-send.
    let leased = store
        .lease_due_reply("test-node", -1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leased.reply.state, ReplyState::Sending);
    assert!(
        store
            .lease_due_reply("test-node", 60_000)
            .await
            .unwrap()
            .is_none(),
        "never handed out twice"
    );
    assert_eq!(store.expire_sending_replies().await.unwrap(), 1);
    let after = store.reply(leased.lease.id).await.unwrap();
    assert_eq!(after.state, ReplyState::Uncertain);
    assert!(
        store
            .lease_due_reply("test-node", 60_000)
            .await
            .unwrap()
            .is_none(),
        "an uncertain reply is not resent by itself"
    );
    assert_eq!(
        store
            .replies(Some(shop.id), None, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

store_tests!(outbox_suite => outbox_sqlite, outbox_postgres);

#[test]
fn a_refused_smtp_connection_is_retried_later_never_lost() {
    let server = MailServer::shared();
    let dir = tempfile::tempdir().unwrap();
    let shop = server.new_mailbox("shop");
    let customer = server.new_mailbox("customer");
    let inbox = Inbox::new(server, &shop, &customer);
    // Nothing listens on this port: the connection is refused before anything is sent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    shop_sending_to(dir.path(), server, &shop, (closed, "none"));
    set_shop(
        dir.path(),
        &[
            ("--auto-answers", "on"),
            ("--reply-delay", "0s"),
            ("--reply-spread", "0s"),
        ],
    );
    inbox.receives(
        "Annulation",
        "Bonjour, je souhaite annuler ma commande 1042 passée ce matin par erreur. Merci",
        "cancel-1@client.example",
    );
    let said = sync_once(dir.path());
    assert!(said.contains("1 refused by the server"), "{said}");
    let listed = replies(dir.path());
    assert_eq!(
        listed[0]["state"], "scheduled",
        "back in the queue: {listed:?}"
    );
    assert_eq!(listed[0]["attempts"], 1);
    assert!(
        listed[0]["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{listed:?}"
    );
    let tickets = tickets_list(dir.path());
    let filed_at = tickets[0]["updated_at"].as_str().unwrap();
    assert!(
        listed[0]["due_at"].as_str().unwrap() > filed_at,
        "retried a minute later, not at once: {listed:?}"
    );
}
