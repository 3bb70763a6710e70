//! The outbox's sending lease, on SQLite and PostgreSQL, as two nodes see it: a node whose
//! lease ran out and was taken over (expired to `uncertain`, or leased again by another node)
//! can no longer record anything about the reply, and a lease renewed while a long SMTP
//! exchange runs is never taken over.

use std::time::Duration;

use guichet::model::{ReplyKind, ReplyState};

use guichet::crypto::SealingKey;
use guichet::store::{
    DecisionRecord, LeaseOutcome, LeasedReply, NewMailbox, NewReply, ReplyAction, Store,
};

use crate::outbound::wait_for_messages;
use crate::support::{
    DropProxy, MailServer, TestDatabase, TestMailbox, sample_mail, watched_mailbox,
};

/// A shop mailbox on the test server that sends through Dovecot submission (STARTTLS, AUTH
/// with its password, relayed by Postfix) reached at `smtp_port`.
pub(crate) fn submitting_mailbox(
    mailbox: &TestMailbox,
    smtp_port: u16,
    key: &SealingKey,
) -> NewMailbox {
    let server = MailServer::shared();
    NewMailbox {
        smtp_port,
        smtp_security: guichet::intake::imap::Security::Starttls,
        ..watched_mailbox(mailbox, server.imaps_port, true, &["INBOX"], key)
    }
}

/// Files `count` customer messages from `from(i)` (one ticket each) and schedules an
/// automatic answer to each, due now. Returns the outbox ids, in filing order.
pub(crate) async fn due_replies(
    store: &Store,
    shop_id: i64,
    count: usize,
    from: impl Fn(usize) -> String,
) -> Vec<i64> {
    let triager = guichet::triage::Triager::default();
    let batch: Vec<_> = (0..count)
        .map(|i| {
            let raw = sample_mail(
                &from(i),
                "sav@boutique.test",
                &format!("Question {i}"),
                &format!("Bonjour, une question numéro {i}."),
                Some(&format!("q{i}@client.test")),
                &[],
            );
            let parsed = guichet::intake::sync::parse_incoming(raw, &triager);
            assert!(
                parsed.attachments.is_empty(),
                "plain questions have no attachment"
            );
            parsed.incoming
        })
        .collect();
    for chunk in batch.chunks(200) {
        store
            .file_batch(shop_id, None, None, None, chunk)
            .await
            .unwrap();
    }
    let pending = store.pending_messages(shop_id, count as i64).await.unwrap();
    assert_eq!(pending.len(), count);
    for message in &pending {
        let reply = NewReply {
            shop_id,
            ticket_id: Some(message.ticket_id),
            reply_to_message: Some(message.id),
            kind: ReplyKind::Answer,
            intent: Some("other".into()),
            lang: guichet::model::UiLang::Fr,
            state: ReplyState::Scheduled,
            due_at: 0,
            to_email: message.from_email.clone(),
            to_name: None,
            subject: format!("Re: [{}] {}", message.ticket_number, message.subject),
            body_text: format!("Bonjour, voici la réponse {}.", message.id),
            message_id: format!("guichet.{shop_id}.{}@boutique.test", message.id),
        };
        let recorded = store
            .record_decision(&DecisionRecord {
                message_row_id: message.id,
                ticket_id: message.ticket_id,
                decision: "{}".into(),
                case_file: None,
                reply: Some(reply),
            })
            .await
            .unwrap();
        assert!(recorded);
    }
    let mut ids: Vec<i64> = store
        .replies(Some(shop_id), None, None)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// Messages of a ticket (an outgoing one is added when its answer is recorded as sent).
async fn message_count(store: &Store, shop_id: i64, number: i64) -> usize {
    store.ticket(shop_id, number).await.unwrap().1.len()
}

const RAW: &[u8] = b"Message-ID: <x>\r\n\r\nbody";

/// A node whose lease was taken over tries every step out of `sending`: each says the lease
/// was lost, and the row and its ticket stay as the other node left them.
async fn late_node_changes_nothing(node: &Store, late: &LeasedReply) {
    let lease = &late.lease;
    let before = node.reply(lease.id).await.unwrap();
    let number = before.ticket.unwrap();
    let messages = message_count(node, before.shop_id, number).await;
    let outcomes = [
        node.mark_reply_sent(lease, &late.reply, "sav@boutique.test", RAW)
            .await
            .unwrap(),
        node.retry_reply(lease, 0, "refused, try later")
            .await
            .unwrap(),
        node.close_reply(lease, ReplyState::Failed, "refused")
            .await
            .unwrap(),
        node.close_reply(lease, ReplyState::Uncertain, "connection broke")
            .await
            .unwrap(),
        node.renew_reply_lease(lease, 60_000).await.unwrap(),
    ];
    assert_eq!(outcomes, [LeaseOutcome::LeaseLost; 5]);
    assert_eq!(node.reply(lease.id).await.unwrap(), before);
    assert_eq!(message_count(node, before.shop_id, number).await, messages);
}

/// Node A's lease runs out: node B expires the row to `uncertain`, an employee sends it again
/// and node B leases it. At each step A's late sent/retry/close/renew change nothing.
async fn a_late_node_overwrites_nothing(node_a: Store, node_b: Store) {
    let shop = node_a.add_shop("boutique").await.unwrap();
    let ids = due_replies(&node_a, shop.id, 1, |_| "a@client.test".into()).await;
    // A takes it with a lease that has already run out, as a node whose SMTP exchange
    // outlived its lease.
    let a = node_a
        .lease_due_reply("test-node", -1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.lease.id, ids[0]);
    assert_eq!(a.reply.state, ReplyState::Sending);
    let ticket = a.reply.ticket.unwrap();
    let messages_before = message_count(&node_a, shop.id, ticket).await;

    assert_eq!(node_b.expire_sending_replies().await.unwrap(), 1);
    let expired = node_b.reply(ids[0]).await.unwrap();
    assert_eq!(expired.state, ReplyState::Uncertain);
    late_node_changes_nothing(&node_a, &a).await;

    // An employee sends it again; B leases it (a new lease) while A still believes it has it.
    assert!(
        node_b
            .act_on_reply(ids[0], ReplyAction::SendNow)
            .await
            .unwrap()
    );
    let b = node_b
        .lease_due_reply("test-node", 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.lease.id, ids[0]);
    let taken_over = node_b.reply(ids[0]).await.unwrap();
    assert_eq!(taken_over.state, ReplyState::Sending);
    late_node_changes_nothing(&node_a, &a).await;

    // B's lease is the one that counts, once: after its outcome, nothing else moves the row.
    assert_eq!(
        node_b.renew_reply_lease(&b.lease, 60_000).await.unwrap(),
        LeaseOutcome::Applied
    );
    assert_eq!(
        node_b
            .mark_reply_sent(&b.lease, &b.reply, "sav@boutique.test", RAW)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let sent = node_b.reply(ids[0]).await.unwrap();
    assert_eq!(sent.state, ReplyState::Sent);
    assert_eq!(
        message_count(&node_a, shop.id, ticket).await,
        messages_before + 1
    );
    for late in [&a.lease, &b.lease] {
        assert_eq!(
            node_a
                .close_reply(late, ReplyState::Failed, "late")
                .await
                .unwrap(),
            LeaseOutcome::LeaseLost
        );
        assert_eq!(
            node_a.retry_reply(late, 0, "late").await.unwrap(),
            LeaseOutcome::LeaseLost
        );
    }
    assert_eq!(node_b.reply(ids[0]).await.unwrap(), sent);
    assert_eq!(node_b.expire_sending_replies().await.unwrap(), 0);
}

/// A 1 s lease renewed while an SMTP exchange takes 3 s (the server's greeting is held back):
/// node B, expiring leases all along, never takes the reply, which ends `sent` and arrives once.
async fn a_renewed_lease_outlives_a_slow_exchange(node_a: Store, node_b: Store) {
    let server = MailServer::shared();
    let (shop_box, customer) = (
        server.new_mailbox("lease shop"),
        server.new_mailbox("lease customer"),
    );
    let key_dir = tempfile::tempdir().unwrap();
    let key = SealingKey::load_or_create(&key_dir.path().join("secret.key")).unwrap();
    let shop = node_a.add_shop("boutique").await.unwrap();
    // Submission (STARTTLS, AUTH) behind a proxy that holds the greeting back.
    let slow = DropProxy::with_greeting_delay(server.submission_port, Duration::from_secs(3));
    node_a
        .add_mailbox(shop.id, &submitting_mailbox(&shop_box, slow.port, &key))
        .await
        .unwrap();
    let ids = due_replies(&node_a, shop.id, 1, |_| customer.email.clone()).await;

    let sending = tokio::spawn({
        let (store, key) = (node_a.clone(), key.clone());
        async move {
            let options = guichet::answering::send::SendOptions {
                leases: guichet::runtime::LeaseTimings::new(
                    Duration::from_secs(1),
                    Duration::from_millis(250),
                )
                .unwrap(),
                ..Default::default()
            };
            guichet::answering::send::send_due(&store, &key, guichet::model::UiLang::En, &options)
                .await
                .unwrap()
        }
    });
    let mut taken_by_b = 0;
    let mut seen_sending = false;
    while !sending.is_finished() {
        taken_by_b += node_b.expire_sending_replies().await.unwrap();
        seen_sending |= node_b.reply(ids[0]).await.unwrap().state == ReplyState::Sending;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let summary = sending.await.unwrap();
    assert!(seen_sending, "B saw the reply in `sending` while A sent it");
    assert_eq!(taken_by_b, 0, "B never found the lease run out");
    assert_eq!((summary.sent, summary.lease_lost), (1, 0), "{summary:?}");
    assert_eq!(node_b.reply(ids[0]).await.unwrap().state, ReplyState::Sent);
    let received = wait_for_messages(server, &customer, "INBOX", 1).await;
    assert_eq!(received.len(), 1);
}

async fn two_nodes(db: &TestDatabase, dir: &std::path::Path) -> (Store, Store) {
    let blobs = dir.join("blobs");
    (
        Store::open(&db.url, &blobs).await.unwrap(),
        Store::open(&db.url, &blobs).await.unwrap(),
    )
}

#[tokio::test]
async fn a_late_node_overwrites_nothing_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    let (a, b) = two_nodes(&db, dir.path()).await;
    a_late_node_overwrites_nothing(a, b).await;
}

#[tokio::test]
async fn a_late_node_overwrites_nothing_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::postgres();
    let (a, b) = two_nodes(&db, dir.path()).await;
    a_late_node_overwrites_nothing(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewed_lease_outlives_a_slow_exchange_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::sqlite(dir.path());
    let (a, b) = two_nodes(&db, dir.path()).await;
    a_renewed_lease_outlives_a_slow_exchange(a, b).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renewed_lease_outlives_a_slow_exchange_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::postgres();
    let (a, b) = two_nodes(&db, dir.path()).await;
    a_renewed_lease_outlives_a_slow_exchange(a.clone(), b.clone()).await;
    a.close().await;
    b.close().await;
}
