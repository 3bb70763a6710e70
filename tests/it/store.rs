//! The same store suite against SQLite and PostgreSQL.

use guichet::intake::parse::{Attachment, ParsedMessage};
use guichet::store::{
    Checkpoint, FolderPosition, Incoming, IncomingAttachment, NewContact, NewMailbox, Store,
    StoreError,
};
use guichet::triage::Triager;

use crate::support::{offline_mailbox, store_tests};

pub(crate) fn parsed(message_id: &str, from: &str, subject: &str, date_ms: i64) -> ParsedMessage {
    ParsedMessage {
        message_id: Some(message_id.into()),
        from_email: Some(from.into()),
        subject: subject.into(),
        date_ms: Some(date_ms),
        text: format!("text of {message_id}"),
        new_text: format!("new text of {message_id} théière"),
        ..Default::default()
    }
}

/// The INBOX at `checkpoint`, filed under `owner`'s mailbox lease.
fn under_lease(owner: &str, checkpoint: Checkpoint) -> FolderPosition<'_> {
    FolderPosition {
        folder: "INBOX",
        checkpoint,
        owner,
        lease_ms: 60_000,
    }
}

pub(crate) fn incoming(
    store: &Store,
    mut message: ParsedMessage,
    attachments: &[&[u8]],
) -> Incoming {
    message.attachments = attachments
        .iter()
        .map(|data| Attachment {
            filename: Some("photo.jpg".into()),
            content_type: "image/jpeg".into(),
            content_id: None,
            inline: false,
            data: data.to_vec(),
        })
        .collect();
    let raw = format!(
        "Message-ID: <{}>\r\n\r\nbody",
        message.message_id.clone().unwrap_or_default()
    )
    .into_bytes();
    let dedup_key = match &message.message_id {
        Some(id) => format!("mid:{id}"),
        None => format!("sha256:{}", guichet::store::sha256_hex(&raw)),
    };
    let attachments = std::mem::take(&mut message.attachments)
        .into_iter()
        .map(|a| IncomingAttachment {
            // The blob is put now, as an import puts it before filing; this helper is sync (it
            // runs in closures), and a local put only waits for a blocking-pool thread.
            blob_hash: futures::executor::block_on(store.blobs().put(&a.data)).unwrap(),
            size: a.data.len() as i64,
            filename: a.filename,
            content_type: a.content_type,
            content_id: a.content_id,
            inline: a.inline,
        })
        .collect();
    let triage = Some(Triager::default().triage(&message.subject, &message.new_text));
    Incoming {
        dedup_key,
        parsed: message,
        attachments,
        raw,
        triage,
    }
}

const DAY: i64 = 24 * 3600 * 1000;
const T0: i64 = 1_790_000_000_000;

async fn suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let other_shop = store.add_shop("autre").await.unwrap();
    assert!(
        store.add_shop("boutique").await.is_err(),
        "duplicate shop names are refused"
    );
    let contact = store
        .add_contact(
            shop.id,
            &NewContact {
                name: "Service client".into(),
                email: "SAV@boutique.test".into(),
                description: String::new(),
                customer_service: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(contact.email, "sav@boutique.test");

    let mailbox_id = store
        .add_mailbox(
            shop.id,
            &NewMailbox {
                accept_invalid_certs: true,
                folders: vec!["INBOX".into(), "Archive".into()],
                mark_as_read: true,
                contact_id: Some(contact.id),
                ..offline_mailbox()
            },
        )
        .await
        .unwrap();
    let mailboxes = store.mailboxes().await.unwrap();
    assert_eq!(mailboxes.len(), 1);
    assert_eq!(mailboxes[0].folders, vec!["INBOX", "Archive"]);
    assert!(mailboxes[0].mark_as_read && mailboxes[0].accept_invalid_certs);
    assert_eq!(
        store.own_addresses(shop.id).await.unwrap(),
        vec!["sav@boutique.test".to_string()]
    );

    // A first message opens ticket 1001 and moves the checkpoint in the same transaction.
    let first = incoming(
        &store,
        parsed("a1@client", "alice@client.test", "Ma commande", T0),
        &[b"same photo"],
    );
    let cp = Checkpoint {
        uid_validity: 7,
        last_uid: 10,
    };
    assert!(
        store
            .lease_mailbox(mailbox_id, "node-a", 60_000)
            .await
            .unwrap()
    );
    let outcome = store
        .file_batch(
            shop.id,
            Some(mailbox_id),
            Some(contact.id),
            Some(under_lease("node-a", cp)),
            std::slice::from_ref(&first),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            outcome.new_messages,
            outcome.new_tickets,
            outcome.duplicates
        ),
        (1, 1, 0)
    );
    assert_eq!(
        store.checkpoint(mailbox_id, "INBOX").await.unwrap(),
        Some(cp)
    );

    // Same message again: a duplicate, nothing new.
    let file_first_in = async |shop_id, mailbox_id| {
        let filing = store.file_batch(
            shop_id,
            mailbox_id,
            None,
            None,
            std::slice::from_ref(&first),
        );
        filing.await.unwrap()
    };
    let again = file_first_in(shop.id, Some(mailbox_id)).await;
    assert_eq!((again.new_messages, again.duplicates), (0, 1));

    // Reply by References, by tag, by subject; a tag from someone else opens a new ticket.
    let mut by_ref = parsed("a2@client", "alice@client.test", "Autre sujet", T0 + DAY);
    by_ref.references = vec!["unknown@x".into(), "a1@client".into()];
    let by_tag = parsed(
        "a3@client",
        "alice@client.test",
        "Re: [#1001] n'importe quoi",
        T0 + 2 * DAY,
    );
    let by_subject = parsed(
        "a4@client",
        "ALICE@client.test".to_lowercase().as_str(),
        "RE : Ma commande",
        T0 + 3 * DAY,
    );
    let foreign_tag = parsed(
        "m1@client",
        "mallory@client.test",
        "Re: [1001] Ma commande",
        T0 + 3 * DAY,
    );
    let too_late = parsed(
        "a5@client",
        "alice@client.test",
        "Re: Ma commande",
        T0 + 30 * DAY,
    );
    let batch: Vec<Incoming> = [by_ref, by_tag, by_subject, foreign_tag, too_late]
        .into_iter()
        .map(|m| incoming(&store, m, &[b"same photo"]))
        .collect();
    let outcome = store
        .file_batch(shop.id, Some(mailbox_id), None, None, &batch)
        .await
        .unwrap();
    assert_eq!((outcome.new_messages, outcome.new_tickets), (5, 2));

    let tickets = store.tickets(Some(shop.id)).await.unwrap();
    let mut numbers: Vec<(i64, i64, String)> = tickets
        .iter()
        .map(|t| (t.number, t.message_count, t.customer_email.clone()))
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        vec![
            (1001, 4, "alice@client.test".to_string()),
            (1002, 1, "mallory@client.test".to_string()),
            (1003, 1, "alice@client.test".to_string()),
        ]
    );
    let (ticket, messages) = store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(ticket.contact.as_deref(), Some("Service client"));
    assert_eq!(ticket.status, guichet::model::Status::Open);
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0].attachments.len(), 1);
    assert_eq!(messages[0].attachments[0].size, 10);

    // Other shops are separate worlds: same Message-ID files again there, numbering restarts.
    let there = file_first_in(other_shop.id, None).await;
    assert_eq!((there.new_messages, there.new_tickets), (1, 1));
    assert_eq!(
        store.tickets(Some(other_shop.id)).await.unwrap()[0].number,
        1001
    );

    // Search finds words of the new text, accents included.
    assert_eq!(
        store.search(shop.id, "théière").await.unwrap(),
        vec![1001, 1002, 1003]
    );
    assert!(store.search(shop.id, "\"unbalanced").await.is_ok());

    // One blob for the identical attachment everywhere; it survives until nothing uses it.
    let hash = messages[0].attachments[0].sha256.clone();
    let blob_path = store.blobs().path_of(&hash).unwrap();
    assert!(blob_path.exists());
    store.delete_ticket(shop.id, 1001).await.unwrap();
    assert!(store.ticket(shop.id, 1001).await.is_err());
    assert_eq!(
        store.search(shop.id, "théière").await.unwrap(),
        vec![1002, 1003]
    );
    assert!(
        blob_path.exists(),
        "still used by tickets 1002, 1003 and the other shop"
    );
    store.delete_ticket(shop.id, 1002).await.unwrap();
    store.delete_ticket(other_shop.id, 1001).await.unwrap();
    let (_, last) = store.ticket(shop.id, 1003).await.unwrap();
    store.delete_message(last[0].id).await.unwrap();
    assert!(
        store.ticket(shop.id, 1003).await.is_err(),
        "a ticket without messages goes too"
    );
    assert!(!blob_path.exists(), "the last user is gone, so is the blob");
    assert!(store.search(shop.id, "théière").await.unwrap().is_empty());

    // Retention: a purge job deletes tickets not updated within the retention.
    let old = incoming(
        &store,
        parsed("old@client", "olga@client.test", "Ancien", T0),
        &[],
    );
    store
        .file_batch(shop.id, None, None, None, &[old])
        .await
        .unwrap();
    store.set_retention(shop.id, Some(1)).await.unwrap();
    assert_eq!(
        guichet::worker::run_due_jobs(&store, "test", Default::default())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.tickets(Some(shop.id)).await.unwrap().len(),
        1,
        "updated just now: kept"
    );
    assert_eq!(
        store
            .purge_tickets_before(shop.id, guichet::store::now_ms() + 1)
            .await
            .unwrap(),
        1
    );
    assert!(store.tickets(Some(shop.id)).await.unwrap().is_empty());
    assert_eq!(
        guichet::worker::run_due_jobs(&store, "test", Default::default())
            .await
            .unwrap(),
        0,
        "next purge is tomorrow"
    );

    // Leases: one node at a time.
    assert!(
        store
            .lease_mailbox(mailbox_id, "node-a", 60_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .lease_mailbox(mailbox_id, "node-b", 60_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_mailbox(mailbox_id, "node-a", 60_000)
            .await
            .unwrap()
    );
    store.release_mailbox(mailbox_id, "node-a").await.unwrap();
    assert!(
        store
            .lease_mailbox(mailbox_id, "node-b", 60_000)
            .await
            .unwrap()
    );
    // Fencing: node A, which lost the lease, files nothing and moves no checkpoint.
    let late = incoming(
        &store,
        parsed("late@client", "lea@client.test", "Trop tard", T0),
        &[],
    );
    let moved_on = Checkpoint {
        uid_validity: 7,
        last_uid: 99,
    };
    assert!(matches!(
        store
            .file_batch(
                shop.id,
                Some(mailbox_id),
                None,
                Some(under_lease("node-a", moved_on)),
                &[late],
            )
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert_ne!(
        store.checkpoint(mailbox_id, "INBOX").await.unwrap(),
        Some(moved_on)
    );

    // Changing the watched folders; removing a mailbox keeps what it filed.
    store
        .set_mailbox_folders(mailbox_id, &["INBOX".into(), "Commandes".into()])
        .await
        .unwrap();
    assert_eq!(
        store.mailboxes().await.unwrap()[0].folders,
        vec!["INBOX", "Commandes"]
    );
    for bad in [
        vec![],
        vec!["INBOX".to_string(), " ".into()],
        vec!["a\nb".into()],
    ] {
        assert!(matches!(
            store.set_mailbox_folders(mailbox_id, &bad).await,
            Err(StoreError::Invalid(_))
        ));
    }
    let kept = incoming(
        &store,
        parsed(
            "kept@client",
            "kim@client.test",
            "Facture",
            guichet::store::now_ms(),
        ),
        &[],
    );
    store
        .file_batch(
            shop.id,
            Some(mailbox_id),
            None,
            Some(under_lease(
                "node-b",
                Checkpoint {
                    uid_validity: 7,
                    last_uid: 11,
                },
            )),
            &[kept],
        )
        .await
        .unwrap();
    let tickets_before = store.tickets(Some(shop.id)).await.unwrap();
    assert_eq!(tickets_before.len(), 1);
    assert!(matches!(
        store
            .remove_mailbox(other_shop.id, "sav@boutique.test")
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .remove_mailbox(shop.id, " SAV@Boutique.test ")
        .await
        .unwrap();
    assert!(store.mailboxes().await.unwrap().is_empty());
    assert_eq!(store.checkpoint(mailbox_id, "INBOX").await.unwrap(), None);
    let tickets_after = store.tickets(Some(shop.id)).await.unwrap();
    assert_eq!(
        tickets_after.iter().map(|t| t.number).collect::<Vec<_>>(),
        tickets_before.iter().map(|t| t.number).collect::<Vec<_>>(),
        "the mail a removed mailbox filed stays"
    );
    assert!(matches!(
        store
            .set_mailbox_folders(mailbox_id, &["INBOX".into()])
            .await,
        Err(StoreError::NotFound(_))
    ));
}

store_tests!(suite => store_suite_sqlite, store_suite_postgres);

/// A reconnect notice moves due → sending → sent once whoever asks (two nodes, a restart),
/// and a reconnection sets it back; a rotated refresh token replaces only the one it came
/// from.
async fn reconnect_notice_and_rotation_suite(store: Store) {
    use guichet::oauth::{MailboxAuth, Provider};
    use guichet::store::ReconnectNotice::{Due, None as Nothing, Sending, Sent};

    let shop = store.add_shop("boutique").await.unwrap();
    let id = store
        .add_mailbox(shop.id, &offline_mailbox())
        .await
        .unwrap();
    let notice = async || store.mailboxes().await.unwrap()[0].reconnect_notice;
    assert_eq!(notice().await, Nothing);
    assert!(store.note_reconnect_needed(id).await.unwrap());
    assert!(
        !store.note_reconnect_needed(id).await.unwrap(),
        "a second failed round does not make it due again"
    );
    assert!(store.move_reconnect_notice(id, Due, Sending).await.unwrap());
    assert!(
        !store.move_reconnect_notice(id, Due, Sending).await.unwrap(),
        "one node takes it"
    );
    assert!(
        store
            .move_reconnect_notice(id, Sending, Sent)
            .await
            .unwrap()
    );
    assert!(!store.note_reconnect_needed(id).await.unwrap());
    assert_eq!(notice().await, Sent);
    store
        .set_mailbox_authorization(id, MailboxAuth::OAuth(Provider::Microsoft), &[7, 7])
        .await
        .unwrap();
    assert_eq!(
        notice().await,
        Nothing,
        "reconnected: a new break is told again"
    );
    assert!(store.note_reconnect_needed(id).await.unwrap());
    assert_eq!(notice().await, Due);

    assert!(
        store
            .rotate_mailbox_secret(id, &[7, 7], &[8, 8])
            .await
            .unwrap()
    );
    assert!(
        !store
            .rotate_mailbox_secret(id, &[7, 7], &[9, 9])
            .await
            .unwrap(),
        "a token rotated from an older one does not replace the newer"
    );
    assert_eq!(
        store.mailbox_secret(id).await.unwrap(),
        Some((MailboxAuth::OAuth(Provider::Microsoft), vec![8, 8]))
    );
}

store_tests!(reconnect_notice_and_rotation_suite => reconnect_notice_and_rotation_sqlite, reconnect_notice_and_rotation_postgres);
