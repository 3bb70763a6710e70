//! Ticket actions of the back office, on both dialects: status, assignment, notes, intent
//! corrections, presence, the predefined message and the customer panel recorded and kept in
//! their shop; then, against the real Postfix and Dovecot, the reply held back when the customer
//! wrote meanwhile, the reply with an attachment, and the two transfers.

use guichet::config::{Config, Overrides};
use guichet::crypto::SealingKey;
use guichet::desk::actions::{
    MessageAuthor, NewAttachment, ReplyOutcome, TimelineItem, seen_up_to,
};
use guichet::desk::{Desk, DeskError};
use guichet::model::{ReplyState, Role, Status, UiLang};
use guichet::shop::{Order, OrderStatus};
use guichet::store::{Activity, NewEmployee, Store, TicketEvent};
use mail_parser::{MessageParser, MimeHeaders};

use crate::outbound::wait_for_messages;
use crate::support::{MailServer, TestMailbox, sample_mail, store_tests};

/// The desk over `store`, with a key and a data dir of its own.
fn desk(store: &Store, dir: &std::path::Path, url: &str) -> Desk {
    let config = Config::load(
        None,
        |_| None,
        &Overrides {
            data_dir: Some(dir.to_path_buf()),
            database_url: Some(url.to_string()),
        },
    )
    .unwrap();
    Desk {
        store: store.clone(),
        key: SealingKey::load_or_create(&dir.join("secret.key")).unwrap(),
        config,
        lang: UiLang::En,
        shop_clients: Default::default(),
    }
}

/// An employee of the shop, speaking `lang`.
async fn employee(store: &Store, shop_id: i64, email: &str, name: &str, lang: UiLang) -> i64 {
    store
        .add_employee(&NewEmployee {
            shop_id,
            email,
            name,
            role: Role::Employee,
            lang,
            password_hash: "not-a-hash",
            created_at: 0,
        })
        .await
        .unwrap()
        .id
}

/// Files `raw` in the shop (no mailbox).
async fn file(store: &Store, shop_id: i64, mailbox_id: Option<i64>, raw: Vec<u8>) {
    let triager = guichet::triage::Triager::default();
    let incoming = guichet::intake::sync::prepare_message(raw, store.blobs(), &triager)
        .await
        .unwrap();
    store
        .file_batch(shop_id, mailbox_id, None, None, &[incoming])
        .await
        .unwrap();
}

fn events(items: &[TimelineItem]) -> Vec<&TicketEvent> {
    items
        .iter()
        .filter_map(|item| match item {
            TimelineItem::Event(view) => Some(&view.event),
            _ => None,
        })
        .collect()
}

async fn actions_are_recorded_and_stay_in_their_shop(store: Store, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(&store, dir.path(), url);
    let shop = store.add_shop("boutique").await.unwrap();
    let other = store.add_shop("ailleurs").await.unwrap();
    for (subject, id) in [
        ("Ma commande 10482", "a1@client.test"),
        ("Retour", "a2@client.test"),
    ] {
        file(
            &store,
            shop.id,
            None,
            sample_mail(
                "Marie Dupont <marie@client.test>",
                "sav@boutique.test",
                subject,
                "Bonjour, où en est ma commande 10482 ?",
                Some(id),
                &[],
            ),
        )
        .await;
    }
    file(
        &store,
        other.id,
        None,
        sample_mail(
            "x@client.test",
            "sav@ailleurs.test",
            "Autre",
            "Bonjour",
            Some("b1@client.test"),
            &[],
        ),
    )
    .await;
    let julie = employee(&store, shop.id, "julie@boutique.test", "Julie", UiLang::Fr).await;
    let paul = employee(&store, shop.id, "paul@boutique.test", "Paul", UiLang::En).await;
    let stranger = employee(&store, other.id, "eve@ailleurs.test", "Eve", UiLang::En).await;

    // Status: recorded once per change, closing is "handled".
    assert!(
        desk.set_status_by(&shop, julie, 1001, Status::Pending1)
            .await
            .unwrap()
    );
    assert!(
        !desk
            .set_status_by(&shop, julie, 1001, Status::Pending1)
            .await
            .unwrap()
    );
    assert_eq!(
        desk.bulk_set_status(&shop, julie, &[1001, 1002], Status::Closed)
            .await
            .unwrap(),
        vec![1001, 1002]
    );
    // All or none: an unknown number changes nothing.
    assert!(matches!(
        desk.bulk_set_status(&shop, julie, &[1001, 9999], Status::Open)
            .await,
        Err(DeskError::NoTicket(9999))
    ));
    assert_eq!(
        store.ticket_state(shop.id, 1001).await.unwrap().status,
        Status::Closed
    );
    assert!(
        desk.set_status_by(&shop, julie, 1001, Status::Open)
            .await
            .unwrap()
    );

    // Another shop's employee, ticket or colleague is never reached.
    let refused = desk
        .set_status_by(&other, stranger, 1002, Status::Closed)
        .await;
    assert!(
        matches!(refused, Err(DeskError::NoTicket(1002))),
        "{refused:?}"
    );
    assert!(
        refused
            .unwrap_err()
            .localized(UiLang::En)
            .contains("no ticket")
    );
    assert!(matches!(
        desk.set_status_by(&shop, stranger, 1001, Status::Closed).await,
        Err(DeskError::NoEmployee(id)) if id == stranger
    ));
    assert!(matches!(
        desk.assign(&shop, julie, 1001, Some(stranger)).await,
        Err(DeskError::NoEmployee(id)) if id == stranger
    ));
    assert!(matches!(
        desk.add_note(&other, stranger, 1002, "coucou").await,
        Err(DeskError::NoTicket(1002))
    ));
    assert!(matches!(
        desk.touch_presence(&other, stranger, 1002, Activity::Viewing)
            .await,
        Err(DeskError::NoTicket(1002))
    ));
    assert!(matches!(
        desk.timeline(&other, 1002).await,
        Err(DeskError::NoTicket(1002))
    ));
    assert_eq!(
        store.ticket_state(other.id, 1001).await.unwrap().status,
        Status::Open,
        "the other shop's own ticket 1001 was never touched"
    );

    // Assignment.
    assert!(desk.assign(&shop, julie, 1001, Some(paul)).await.unwrap());
    assert_eq!(
        desk.bulk_assign(&shop, julie, &[1001, 1002], Some(paul))
            .await
            .unwrap(),
        vec![1002]
    );
    assert!(desk.assign(&shop, paul, 1002, None).await.unwrap());
    let (ticket, _) = store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(ticket.assignee.as_deref(), Some("Paul"));
    assert_eq!(
        store.ticket_state(shop.id, 1002).await.unwrap().assignee_id,
        None
    );

    // Note and intent correction.
    assert!(matches!(
        desk.add_note(&shop, julie, 1001, "  ").await,
        Err(DeskError::EmptyText)
    ));
    desk.add_note(&shop, julie, 1001, "Cliente fidèle, rappeler demain")
        .await
        .unwrap();
    desk.correct_intent_by(&shop, paul, 1001, None, "order_status")
        .await
        .unwrap();
    let (_, messages) = store.ticket(shop.id, 1001).await.unwrap();
    assert_eq!(messages[0].triage.as_ref().unwrap().intent, "order_status");

    let timeline = desk.timeline(&shop, 1001).await.unwrap();
    assert!(matches!(
        &timeline[0],
        TimelineItem::Message {
            author: MessageAuthor::Customer,
            ..
        }
    ));
    let recorded = events(&timeline);
    assert_eq!(recorded.len(), 6, "{recorded:#?}");
    assert_eq!(
        recorded[0],
        &TicketEvent::StatusChanged {
            from: Status::Open,
            to: Status::Pending1
        }
    );
    assert_eq!(
        recorded[1],
        &TicketEvent::StatusChanged {
            from: Status::Pending1,
            to: Status::Closed
        }
    );
    assert!(matches!(recorded[3], TicketEvent::Assigned { to: Some(e) } if e.name == "Paul"));
    assert_eq!(
        recorded[4],
        &TicketEvent::Note {
            text: "Cliente fidèle, rappeler demain".into()
        }
    );
    assert!(matches!(recorded[5], TicketEvent::IntentCorrected { to, .. } if to == "order_status"));
    let who: Vec<_> = timeline
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Event(e) => e.employee_name.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(who.last().map(String::as_str), Some("Paul"));
    assert!(
        timeline.windows(2).all(|w| w[0].at() <= w[1].at()),
        "in time order"
    );
    // The other shop's ticket 1001 has no event at all.
    assert!(events(&desk.timeline(&other, 1001).await.unwrap()).is_empty());

    // Previous and next in the list's order: 1001 was updated last.
    assert_eq!(
        desk.neighbour_tickets(&shop, 1001).await.unwrap(),
        (None, Some(1002))
    );
    assert_eq!(
        desk.neighbour_tickets(&shop, 1002).await.unwrap(),
        (Some(1001), None)
    );
    assert!(matches!(
        desk.neighbour_tickets(&other, 1002).await,
        Err(DeskError::NoTicket(1002))
    ));

    // Presence: the others, not oneself.
    desk.touch_presence(&shop, julie, 1001, Activity::Viewing)
        .await
        .unwrap();
    desk.touch_presence(&shop, paul, 1001, Activity::Replying)
        .await
        .unwrap();
    assert_eq!(
        desk.presence(&shop, julie, 1001).await.unwrap(),
        vec![("Paul".to_string(), Activity::Replying)]
    );
    assert_eq!(
        desk.presence(&shop, paul, 1001).await.unwrap(),
        vec![("Julie".to_string(), Activity::Viewing)]
    );
    assert!(desk.presence(&shop, paul, 1002).await.unwrap().is_empty());

    // The predefined message: default, the shop's own, with the ticket's and order's values.
    store
        .import_orders(
            shop.id,
            &[
                Order {
                    ordered_at: Some(1_790_000_000_000),
                    carrier: Some("Colissimo".into()),
                    tracking_number: Some("6A12345678901".into()),
                    ..Order::new("10482", "marie@client.test", OrderStatus::Shipped)
                },
                Order {
                    ordered_at: Some(1_780_000_000_000),
                    ..Order::new("9001", "marie@client.test", OrderStatus::Cancelled)
                },
            ],
        )
        .await
        .unwrap();
    let prefill = desk.reply_prefill(&shop, 1001).await.unwrap();
    assert!(prefill.starts_with("Bonjour Marie Dupont,"), "{prefill}");
    assert!(prefill.trim_end().ends_with("boutique"), "{prefill}");
    desk.set_predefined_message(
        &shop,
        UiLang::Fr,
        "Bonjour {{ customer_name }}, au sujet du ticket {{ ticket_number }} et de la commande {{ order.reference }} ({{ order.status_label }}) :\n",
    )
    .await
    .unwrap_err(); // `order` may be missing: refused on the samples without an order.
    desk.set_predefined_message(
        &shop,
        UiLang::Fr,
        "Bonjour {{ customer_name }}, ticket {{ ticket_number }}{% if order %}, commande {{ order.reference }} ({{ order.status_label }}){% endif %} :\n",
    )
    .await
    .unwrap();
    let prefill = desk.reply_prefill(&shop, 1001).await.unwrap();
    assert!(
        prefill.contains("ticket 1001, commande 10482 ("),
        "{prefill}"
    );
    assert!(matches!(
        desk.set_predefined_message(&shop, UiLang::En, "{{ nope }}")
            .await,
        Err(DeskError::Template(_))
    ));
    desk.set_predefined_message(&shop, UiLang::Fr, "")
        .await
        .unwrap();
    assert!(
        desk.predefined_message(&shop, UiLang::Fr)
            .await
            .unwrap()
            .contains("Cordialement")
    );

    // The customer panel.
    let panel = desk
        .customer_panel(&shop, "Marie@Client.test")
        .await
        .unwrap();
    assert_eq!(panel.name.as_deref(), Some("Marie Dupont"));
    assert_eq!(panel.validated_orders, 1);
    assert_eq!(panel.orders.len(), 2);
    assert_eq!(panel.orders[0].reference, "10482");
    assert_eq!(
        panel.orders[0].tracking_number.as_deref(),
        Some("6A12345678901")
    );
    assert!(panel.orders[0].tracking_url.is_some());
    assert_eq!(panel.tickets.len(), 2);
    assert_eq!(panel.customer_since, Some(1_780_000_000_000));
    assert_eq!(panel.history.len(), 4, "{:#?}", panel.history);
    assert!(panel.history.windows(2).all(|w| w[0].at() <= w[1].at()));
    let elsewhere = desk
        .customer_panel(&other, "marie@client.test")
        .await
        .unwrap();
    assert!(elsewhere.tickets.is_empty() && elsewhere.orders.is_empty());
}

store_tests!(at actions_are_recorded_and_stay_in_their_shop => actions_sqlite, actions_postgres);

/// A customer's message with a PDF attached, threaded onto `parent`.
fn mail_with_attachment(from: &str, to: &str, id: &str, parent: &str) -> Vec<u8> {
    format!(
        "From: Marie Dupont <{from}>\r\nTo: {to}\r\nSubject: Re: Mot de passe\r\nDate: {}\r\n\
         Message-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Voici la capture d'écran de l'erreur.\r\n--b1\r\nContent-Type: application/pdf; name=\"erreur.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"erreur.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         JVBERi0xLjQgZXJyZXVy\r\n--b1--\r\n",
        crate::support::mail_date(30)
    )
    .into_bytes()
}

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(raw).unwrap()
}

async fn reply_and_transfers_go_by_mail(store: Store, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(&store, dir.path(), url);
    let server = MailServer::shared();
    let shop_box = server.new_mailbox("shop");
    let customer = server.new_mailbox("customer");
    let colleague_box: TestMailbox = server.new_mailbox("colleague");
    let outside = server.new_mailbox("outside");
    let (shop_id, first) =
        crate::sending::shop_with_customer_message(&store, &desk.key, server, &shop_box, &customer)
            .await;
    let shop = desk.shop_named("boutique").await.unwrap();
    assert_eq!(shop.id, shop_id);
    let julie = employee(&store, shop.id, "julie@boutique.test", "Julie", UiLang::Fr).await;
    let paul = employee(&store, shop.id, &colleague_box.email, "Paul", UiLang::En).await;

    // Julie opens the page; meanwhile the customer writes again, with a PDF.
    let seen = seen_up_to(&desk.timeline(&shop, 1001).await.unwrap());
    file(
        &store,
        shop.id,
        first.mailbox_id,
        mail_with_attachment(
            &customer.email,
            &shop_box.email,
            "pw-2@client.example",
            "pw-1@client.example",
        ),
    )
    .await;
    let attachment = NewAttachment {
        filename: "procédure.txt".into(),
        content_type: "text/plain".into(),
        bytes: "1. Ouvrir la page\n2. Cliquer sur « mot de passe oublié »\n"
            .as_bytes()
            .to_vec(),
    };
    let held = desk
        .reply_checked(
            &shop,
            julie,
            1001,
            "Bonjour Marie,\nvoici la procédure.\nJulie",
            std::slice::from_ref(&attachment),
            seen,
        )
        .await
        .unwrap();
    let ReplyOutcome::HeldBack { newer } = held else {
        panic!("a reply written before the customer's new message goes out: {held:?}");
    };
    assert_eq!(newer.len(), 1);
    assert!(matches!(
        &newer[0],
        TimelineItem::Message { author: MessageAuthor::Customer, message, .. }
            if message.text.contains("capture d'écran")
    ));
    assert!(
        store
            .replies(Some(shop.id), None, None)
            .await
            .unwrap()
            .is_empty(),
        "nothing queued"
    );

    // Seen now: it goes, with the attachment, and Julie takes the ticket.
    let timeline = desk.timeline(&shop, 1001).await.unwrap();
    let outcome = desk
        .reply_checked(
            &shop,
            julie,
            1001,
            "Bonjour Marie,\nvoici la procédure.\nJulie",
            std::slice::from_ref(&attachment),
            seen_up_to(&timeline),
        )
        .await
        .unwrap();
    let ReplyOutcome::Sent(reply) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(reply.state, ReplyState::Sent, "{reply:?}");
    let received = wait_for_messages(server, &customer, "INBOX", 1).await;
    let message = parse(&received[0]);
    assert_eq!(message.message_id(), Some(reply.message_id.as_str()));
    assert!(
        message.subject().unwrap().contains("[1001]"),
        "{:?}",
        message.subject()
    );
    assert!(message.body_text(0).unwrap().contains("voici la procédure"));
    let files: Vec<_> = message.attachments().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].attachment_name(), Some("procédure.txt"));
    assert_eq!(files[0].contents(), attachment.bytes.as_slice());
    assert_eq!(
        store.ticket_state(shop.id, 1001).await.unwrap().assignee_id,
        Some(julie)
    );
    let timeline = desk.timeline(&shop, 1001).await.unwrap();
    let recorded = events(&timeline);
    assert!(recorded.contains(&&TicketEvent::Replied { reply_id: reply.id }));
    assert!(
        recorded
            .iter()
            .any(|e| matches!(e, TicketEvent::Assigned { to: Some(to) } if to.id == julie))
    );
    let sent = timeline
        .iter()
        .find_map(|item| match item {
            TimelineItem::Message {
                author: MessageAuthor::Employee { name },
                message,
                ..
            } => Some((name.clone(), message.attachments.len())),
            _ => None,
        })
        .expect("the reply is in the conversation");
    assert_eq!(sent, (Some("Julie".to_string()), 1));
    // Sending it again from the same page is held back by nothing Julie wrote herself.
    let again = desk
        .reply_checked(
            &shop,
            julie,
            1001,
            "Et aussi :",
            &[],
            seen_up_to(&timeline) - 1,
        )
        .await
        .unwrap();
    assert!(matches!(again, ReplyOutcome::Sent(_)), "{again:?}");

    // Transfer to Paul: his ticket, and he is told in English with the comment.
    let transferred = desk
        .transfer_to_employee(&shop, julie, 1001, paul, "Tu connais ce client")
        .await
        .unwrap();
    assert_eq!(transferred.to_name, "Paul");
    assert_eq!(
        store.ticket_state(shop.id, 1001).await.unwrap().assignee_id,
        Some(paul)
    );
    let told = wait_for_messages(server, &colleague_box, "INBOX", 1).await;
    let told = parse(&told[0]);
    assert!(told.subject().unwrap().contains("[1001]"));
    assert!(
        told.subject().unwrap().contains("transferred to you"),
        "{:?}",
        told.subject()
    );
    let text = told.body_text(0).unwrap();
    assert!(
        text.contains("Julie") && text.contains("Tu connais ce client"),
        "{text}"
    );
    assert!(told.header("Auto-Submitted").is_none(), "a person's mail");

    // Transfer out: the conversation and the customer's PDF, with the comment.
    desk.transfer_out(
        &shop,
        paul,
        1001,
        &outside.email,
        "Can you check the invoice?",
    )
    .await
    .unwrap();
    let forwarded = wait_for_messages(server, &outside, "INBOX", 1).await;
    let forwarded = parse(&forwarded[0]);
    let text = forwarded.body_text(0).unwrap();
    assert!(text.starts_with("Can you check the invoice?"), "{text}");
    assert!(text.contains("je n'arrive plus à me connecter"), "{text}");
    assert!(text.contains("capture d'écran"), "{text}");
    assert!(
        text.contains("voici la procédure"),
        "the employee's reply too: {text}"
    );
    let files: Vec<_> = forwarded.attachments().collect();
    assert_eq!(files.len(), 1, "the customer's PDF only");
    assert_eq!(files[0].attachment_name(), Some("erreur.pdf"));
    assert_eq!(files[0].contents(), b"%PDF-1.4 erreur");
    let recorded = desk.timeline(&shop, 1001).await.unwrap();
    let recorded = events(&recorded);
    assert!(recorded.iter().any(|e| matches!(e, TicketEvent::Transferred { to, comment } if to.id == paul && comment == "Tu connais ce client")));
    assert!(
        recorded
            .iter()
            .any(|e| matches!(e, TicketEvent::TransferredOut { to, .. } if *to == outside.email))
    );

    // Another shop cannot send this ticket anywhere.
    let other = store.add_shop("ailleurs").await.unwrap();
    let eve = employee(&store, other.id, "eve@ailleurs.test", "Eve", UiLang::En).await;
    assert!(matches!(
        desk.transfer_out(&other, eve, 1001, &outside.email, "")
            .await,
        Err(DeskError::NoTicket(1001))
    ));
    assert!(matches!(
        desk.reply_checked(&other, eve, 1001, "hello", &[], i64::MAX)
            .await,
        Err(DeskError::NoTicket(1001))
    ));
    assert!(matches!(
        desk.transfer_to_employee(&shop, julie, 1001, eve, "").await,
        Err(DeskError::NoEmployee(id)) if id == eve
    ));
}

store_tests!(at reply_and_transfers_go_by_mail => mail_actions_sqlite, mail_actions_postgres);
