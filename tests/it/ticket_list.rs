//! The ticket list on both dialects: filters, sorts, keyset pages while mail arrives, search
//! (body words, accents, customers, hostile text), unread sections and waiting times.

use std::collections::{HashMap, HashSet};

use guichet::intake::parse::ParsedMessage;
use guichet::model::{ReplyKind, ReplyState, Status, UiLang};
use guichet::store::{
    AssigneeMatch, AutoAnswer, IncomingAttachment, ListRequest, NewContact, NewReply, Presence,
    PresenceActivity, SeedMessage, SeedReply, SeedTicket, Store, TicketRow, TicketSort, now_ms,
};
use sqlx::{AnyPool, Row};

use crate::store::incoming;
use crate::support::store_tests;

const HOUR: i64 = 3600 * 1000;

async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(url).await.unwrap()
}

async fn add_employee(pool: &AnyPool, shop_id: i64, name: &str) -> i64 {
    sqlx::query(
        "INSERT INTO employees (shop_id, email, name, role, lang, password_hash, created_at) \
         VALUES ($1, $2, $3, 'employee', 'fr', '!', 0) RETURNING id",
    )
    .bind(shop_id)
    .bind(format!("{}@boutique.test", name.to_lowercase()))
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap()
    .try_get("id")
    .unwrap()
}

fn message(outgoing: bool, at: i64, text: &str) -> SeedMessage {
    SeedMessage {
        outgoing,
        from_email: if outgoing {
            "sav@boutique.test".into()
        } else {
            "client@client.test".into()
        },
        subject: "Commande".into(),
        received_at: at,
        text: text.into(),
        attachment: None,
    }
}

fn ticket(customer: &str, messages: Vec<SeedMessage>) -> SeedTicket {
    SeedTicket {
        customer_email: format!("{customer}@client.test"),
        customer_name: Some(customer.to_string()),
        subject: format!("Question de {customer}"),
        contact_id: None,
        language: Some("fr".into()),
        intent: Some("order_status".into()),
        status: Status::Open,
        assignee_id: None,
        seen_at: None,
        messages,
        auto_answer: None,
    }
}

fn request(sort: TicketSort) -> ListRequest {
    ListRequest {
        sort,
        limit: 50,
        ..Default::default()
    }
}

async fn numbers(store: &Store, shop_id: i64, request: &ListRequest) -> Vec<i64> {
    rows(store, shop_id, request)
        .await
        .iter()
        .map(|r| r.number)
        .collect()
}

async fn rows(store: &Store, shop_id: i64, request: &ListRequest) -> Vec<TicketRow> {
    store
        .ticket_list(shop_id, request, now_ms())
        .await
        .unwrap()
        .rows
}

async fn filters_sorts_and_details(store: Store, url: &str) {
    let pool = pool(url).await;
    let shop = store.add_shop("boutique").await.unwrap();
    let other = store.add_shop("autre").await.unwrap();
    let contact = |name: &str| NewContact {
        name: name.into(),
        email: format!("{}@boutique.test", name.to_lowercase()),
        description: String::new(),
        customer_service: true,
    };
    let sav = store.add_contact(shop.id, &contact("SAV")).await.unwrap();
    let retours = store
        .add_contact(shop.id, &contact("Retours"))
        .await
        .unwrap();
    let alice = add_employee(&pool, shop.id, "Alice").await;
    let bruno = add_employee(&pool, shop.id, "Bruno").await;
    let blob = store.blobs().put(b"a photo").await.unwrap();
    let photo = |inline| IncomingAttachment {
        blob_hash: blob.clone(),
        filename: Some("photo.jpg".into()),
        content_type: "image/jpeg".into(),
        content_id: None,
        inline,
        size: 7,
    };

    let t0 = now_ms() - 100 * HOUR;
    let mut seeds = Vec::new();
    // 0: SAV, Alice, waiting since t0, an attachment, an answer sent.
    let mut t = ticket("camille", vec![message(false, t0, "Où est mon colis ?")]);
    t.contact_id = Some(sav.id);
    t.assignee_id = Some(alice);
    t.messages[0].attachment = Some(photo(false));
    t.auto_answer = Some(SeedReply {
        state: ReplyState::Sent,
        due_at: t0 + HOUR,
        sent_at: Some(t0 + HOUR + 5),
        text: "Votre colis arrive.".into(),
    });
    seeds.push(t);
    // 1: SAV, Bruno, answered by us, pending, English, seen after its last message.
    let mut t = ticket(
        "dana",
        vec![
            message(false, t0 + 10 * HOUR, "Refund please"),
            message(true, t0 + 11 * HOUR, "Done."),
        ],
    );
    t.contact_id = Some(sav.id);
    t.assignee_id = Some(bruno);
    t.status = Status::Pending1;
    t.language = Some("en".into());
    t.intent = Some("refund".into());
    t.seen_at = Some(t0 + 12 * HOUR);
    seeds.push(t);
    // 2: Retours, unassigned, waiting on two messages; only an inline image; a scheduled answer.
    let long = "Bonjour, je voudrais retourner la théière achetée le mois dernier car elle fuit \
        par le bec et le couvercle ne ferme plus du tout, merci de me dire comment faire.";
    let mut t = ticket(
        "emile",
        vec![
            message(false, t0 + 20 * HOUR, "Premier message"),
            message(false, t0 + 21 * HOUR, long),
        ],
    );
    t.contact_id = Some(retours.id);
    t.messages[1].attachment = Some(photo(true));
    t.auto_answer = Some(SeedReply {
        state: ReplyState::Scheduled,
        due_at: t0 + 24 * HOUR,
        sent_at: None,
        text: "Bientôt.".into(),
    });
    t.seen_at = Some(t0 + 20 * HOUR + 1);
    seeds.push(t);
    // 3: no contact, closed, shadow answer.
    let mut t = ticket("fanny", vec![message(false, t0 + 30 * HOUR, "Merci !")]);
    t.status = Status::Closed;
    t.auto_answer = Some(SeedReply {
        state: ReplyState::Shadow,
        due_at: t0 + 31 * HOUR,
        sent_at: None,
        text: "De rien.".into(),
    });
    seeds.push(t);
    // 4: Retours, Alice, uncertain answer, answered, English.
    let mut t = ticket(
        "gaston",
        vec![
            message(false, t0 + 40 * HOUR, "Hello"),
            message(true, t0 + 41 * HOUR, "Hi"),
        ],
    );
    t.contact_id = Some(retours.id);
    t.assignee_id = Some(alice);
    t.language = Some("en".into());
    t.auto_answer = Some(SeedReply {
        state: ReplyState::Uncertain,
        due_at: t0 + 40 * HOUR,
        sent_at: None,
        text: "Hi?".into(),
    });
    seeds.push(t);
    // 5: SAV, unassigned, waiting, cancelled answer (shows none).
    let mut t = ticket("hugo", vec![message(false, t0 + 50 * HOUR, "Vite !")]);
    t.contact_id = Some(sav.id);
    t.auto_answer = Some(SeedReply {
        state: ReplyState::Cancelled,
        due_at: t0 + 51 * HOUR,
        sent_at: None,
        text: "x".into(),
    });
    seeds.push(t);
    let n = store.seed_tickets(shop.id, &seeds).await.unwrap();
    assert_eq!(n, (1001..1007).collect::<Vec<_>>());
    // Another shop's tickets are never listed.
    store
        .seed_tickets(
            other.id,
            &[ticket("intrus", vec![message(false, t0 + 60 * HOUR, "x")])],
        )
        .await
        .unwrap();

    // Presence: Bruno replying on 1001 (live), Alice viewing it (expired).
    for (employee, activity, expires) in [
        (bruno, "replying", now_ms() + 60_000),
        (alice, "viewing", now_ms() - 1),
    ] {
        sqlx::query(
            "INSERT INTO ticket_presence (ticket_id, employee_id, activity, expires_at) \
             VALUES ((SELECT id FROM tickets WHERE shop_id = $1 AND number = 1001), $2, $3, $4)",
        )
        .bind(shop.id)
        .bind(employee)
        .bind(activity)
        .bind(expires)
        .execute(&pool)
        .await
        .unwrap();
    }

    // Recent: latest message first; the details of each row.
    let all = rows(&store, shop.id, &request(TicketSort::Recent)).await;
    let listed: Vec<i64> = all.iter().map(|r| r.number).collect();
    assert_eq!(listed, vec![1006, 1005, 1004, 1003, 1002, 1001]);
    let by_number: HashMap<i64, &TicketRow> = all.iter().map(|r| (r.number, r)).collect();
    let first = by_number[&1001];
    assert_eq!(first.customer_email, "camille@client.test");
    assert_eq!(first.contact.as_deref(), Some("SAV"));
    assert_eq!(
        first.assignee.as_ref().map(|a| a.name.as_str()),
        Some("Alice")
    );
    assert_eq!(first.waiting_since, Some(t0));
    assert!(first.has_attachments);
    assert_eq!(first.auto_answer, AutoAnswer::Sent { at: t0 + HOUR + 5 });
    assert_eq!(
        first.presence,
        vec![Presence {
            employee: "Bruno".into(),
            activity: PresenceActivity::Replying
        }]
    );
    assert!(first.unread, "never opened");
    assert_eq!(first.last_message_excerpt, "Où est mon colis ?");
    let answered = by_number[&1002];
    assert_eq!(answered.waiting_since, None);
    assert_eq!(answered.last_message_excerpt, "Done.");
    assert_eq!(answered.message_count, 2);
    assert!(!answered.unread, "seen after the customer's last message");
    assert_eq!(answered.status, Status::Pending1);
    let two = by_number[&1003];
    assert_eq!(
        two.waiting_since,
        Some(t0 + 20 * HOUR),
        "the oldest unanswered"
    );
    assert!(!two.has_attachments, "an inline image is no attachment");
    assert_eq!(
        two.auto_answer,
        AutoAnswer::Scheduled { at: t0 + 24 * HOUR }
    );
    assert!(two.unread, "a message came after it was seen");
    assert!(two.last_message_excerpt.ends_with('…'));
    assert!(two.last_message_excerpt.chars().count() <= 121);
    assert!(
        two.last_message_excerpt
            .starts_with("Bonjour, je voudrais retourner la théière")
    );
    assert_eq!(by_number[&1004].auto_answer, AutoAnswer::Shadow);
    assert_eq!(by_number[&1004].contact, None);
    assert_eq!(by_number[&1005].auto_answer, AutoAnswer::Uncertain);
    assert_eq!(by_number[&1006].auto_answer, AutoAnswer::None);
    assert!(by_number[&1006].presence.is_empty());

    // Each sort.
    assert_eq!(
        numbers(&store, shop.id, &request(TicketSort::Oldest)).await,
        vec![1001, 1002, 1003, 1004, 1005, 1006]
    );
    assert_eq!(
        numbers(&store, shop.id, &request(TicketSort::Number)).await,
        vec![1006, 1005, 1004, 1003, 1002, 1001]
    );
    assert_eq!(
        numbers(&store, shop.id, &request(TicketSort::WaitingLongest)).await,
        vec![1001, 1003, 1004, 1006, 1002, 1005],
        "waiting ones by age, then the answered ones by number"
    );

    // Filters, alone and together.
    let with = |f: &dyn Fn(&mut ListRequest)| {
        let mut r = request(TicketSort::Recent);
        f(&mut r);
        r
    };
    let cases: Vec<(ListRequest, Vec<i64>)> = vec![
        (
            with(&|r| r.status = Some(Status::Open)),
            vec![1006, 1005, 1003, 1001],
        ),
        (with(&|r| r.status = Some(Status::Closed)), vec![1004]),
        (
            with(&|r| r.assignee = AssigneeMatch::Employee(alice)),
            vec![1005, 1001],
        ),
        (
            with(&|r| r.assignee = AssigneeMatch::Unassigned),
            vec![1006, 1004, 1003],
        ),
        (
            with(&|r| r.contact_id = Some(sav.id)),
            vec![1006, 1002, 1001],
        ),
        (with(&|r| r.lang = Some("en".into())), vec![1005, 1002]),
        (with(&|r| r.intent = Some("refund".into())), vec![1002]),
        (
            with(&|r| {
                r.contact_id = Some(retours.id);
                r.assignee = AssigneeMatch::Employee(alice);
                r.lang = Some("en".into());
            }),
            vec![1005],
        ),
        (
            with(&|r| {
                r.status = Some(Status::Open);
                r.contact_id = Some(sav.id);
                r.assignee = AssigneeMatch::Unassigned;
            }),
            vec![1006],
        ),
        (with(&|r| r.contact_id = Some(other.id + 1000)), vec![]),
    ];
    for (request, expected) in cases {
        assert_eq!(
            numbers(&store, shop.id, &request).await,
            expected,
            "{request:?}"
        );
    }

    // Sections: each contact by name with its unread tickets, then those of no contact.
    let sections = store.unread_by_contact(shop.id).await.unwrap();
    let counts: Vec<(Option<i64>, &str, u64)> = sections
        .iter()
        .map(|s| (s.contact_id, s.name.as_str(), s.unread))
        .collect();
    assert_eq!(
        counts,
        vec![
            (Some(retours.id), "Retours", 2),
            (Some(sav.id), "SAV", 2),
            (None, "", 1)
        ]
    );
    sqlx::query("UPDATE tickets SET seen_at = $1 WHERE shop_id = $2 AND number IN (1001, 1004)")
        .bind(now_ms())
        .bind(shop.id)
        .execute(&pool)
        .await
        .unwrap();
    let sections = store.unread_by_contact(shop.id).await.unwrap();
    let counts: Vec<u64> = sections.iter().map(|s| s.unread).collect();
    assert_eq!(
        counts,
        vec![2, 1],
        "no section of no contact once all are read"
    );
    pool.close().await;
}

store_tests!(at filters_sorts_and_details => list_filters_sorts_details_sqlite, list_filters_sorts_details_postgres);

fn customer_mail(id: &str, from: &str, name: &str, subject: &str, text: &str) -> ParsedMessage {
    ParsedMessage {
        message_id: Some(id.into()),
        from_email: Some(from.into()),
        from_name: Some(name.into()),
        subject: subject.into(),
        date_ms: Some(now_ms()),
        text: text.into(),
        new_text: text.into(),
        ..Default::default()
    }
}

/// Walks every page of `request`, filing mail between pages with `between(page_index)`.
async fn walk(
    store: &Store,
    shop_id: i64,
    mut request: ListRequest,
    between: &mut dyn FnMut(usize) -> Vec<ParsedMessage>,
) -> Vec<i64> {
    let mut seen = Vec::new();
    for page_index in 0.. {
        let page = store
            .ticket_list(shop_id, &request, now_ms())
            .await
            .unwrap();
        assert!(page.rows.len() <= request.limit);
        seen.extend(page.rows.iter().map(|r| r.number));
        let batch: Vec<_> = between(page_index)
            .into_iter()
            .map(|m| incoming(store, m, &[]))
            .collect();
        store
            .file_batch(shop_id, None, None, None, &batch)
            .await
            .unwrap();
        match page.next {
            Some(cursor) => request.after = Some(cursor),
            None => break,
        }
        assert!(page_index < 100, "the walk ends");
    }
    seen
}

async fn pages_while_mail_arrives(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let t0 = now_ms() - 1000 * HOUR;
    let seeds: Vec<SeedTicket> = (0..60)
        .map(|i| {
            // Some share a time, so the number breaks ties.
            let at = t0 + (i / 3) * HOUR;
            let mut t = ticket(&format!("client{i}"), vec![message(false, at, "Bonjour")]);
            if i % 4 == 0 {
                t.messages.push(message(true, at + 1, "Réponse"));
            }
            t
        })
        .collect();
    let existing: HashSet<i64> = store
        .seed_tickets(shop.id, &seeds)
        .await
        .unwrap()
        .into_iter()
        .collect();

    for sort in TicketSort::ALL {
        let mut touched: HashSet<i64> = HashSet::new();
        let mut new_mail = 0;
        let mut between = |page: usize| {
            // A new ticket, and a customer's answer to an existing ticket (ahead of the
            // cursor or behind it), with a Date from the past: it may land anywhere.
            new_mail += 1;
            let target = 1001 + ((page * 17 + 5) % 60) as i64;
            touched.insert(target);
            let mut reply = customer_mail(
                &format!("{sort}-{page}-reply@client"),
                "autre@client.test",
                "Autre",
                "Re: Question",
                "Toujours rien",
            );
            reply.in_reply_to = vec![format!("seed.{}.{target}.0@seed.invalid", shop.id)];
            reply.date_ms = Some(t0 + (page as i64 % 7) * 5 * HOUR);
            vec![
                customer_mail(
                    &format!("{sort}-{page}-new@client"),
                    &format!("nouveau{page}@client.test"),
                    "Nouveau",
                    &format!("Nouvelle question {sort} {page}"),
                    "Bonjour",
                ),
                reply,
            ]
        };
        let request = ListRequest {
            sort,
            limit: 7,
            ..Default::default()
        };
        let seen = walk(&store, shop.id, request, &mut between).await;
        assert!(new_mail >= 9, "mail arrived between the pages of {sort}");
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for number in &seen {
            *counts.entry(*number).or_default() += 1;
        }
        let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
        assert!(twice.is_empty(), "{sort}: shown twice: {twice:?}");
        for number in &existing {
            // Tickets mail joined during the walk may have moved past the cursor; every other
            // one is seen, once. Sorted by number, nothing moves.
            if sort == TicketSort::Number || !touched.contains(number) {
                assert_eq!(counts.get(number), Some(&1), "{sort}: ticket {number}");
            }
        }
    }

    // A page's cursor belongs to its sort.
    let mut request = request(TicketSort::Recent);
    request.limit = 5;
    let next = store
        .ticket_list(shop.id, &request, now_ms())
        .await
        .unwrap()
        .next
        .unwrap();
    request.after = Some(next);
    let second = numbers(&store, shop.id, &request).await;
    assert_eq!(second.len(), 5);
}

store_tests!(pages_while_mail_arrives => list_pages_while_mail_arrives_sqlite, list_pages_while_mail_arrives_postgres);

async fn search(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let other = store.add_shop("autre").await.unwrap();
    let mails = [
        customer_mail(
            "s1@client",
            "zoe.durand@client.test",
            "Zoé Durand",
            "Théière cassée",
            "Ma théière est arrivée fêlée.",
        ),
        customer_mail(
            "s2@client",
            "marc@exemple.test",
            "Marc Petit",
            "Livraison",
            "Le colis n'est jamais arrivé, numéro 12345.",
        ),
        customer_mail(
            "s3@client",
            "lea@exemple.test",
            "Léa Martin",
            "Facture",
            "Pouvez-vous m'envoyer la facture ? NEAR: \"urgent\"",
        ),
    ];
    let batch: Vec<_> = mails
        .iter()
        .map(|m| incoming(&store, m.clone(), &[]))
        .collect();
    store
        .file_batch(shop.id, None, None, None, &batch)
        .await
        .unwrap();
    let mut intruder = mails[0].clone();
    intruder.message_id = Some("other@client".into());
    store
        .file_batch(
            other.id,
            None,
            None,
            None,
            &[incoming(&store, intruder, &[])],
        )
        .await
        .unwrap();

    let found = async |text: &str| {
        let mut request = request(TicketSort::Recent);
        request.search = Some(text.to_string());
        let mut numbers = numbers(&store, shop.id, &request).await;
        numbers.sort();
        numbers
    };
    let cases: &[(&str, &[i64])] = &[
        ("théière", &[1001]),
        ("theiere", &[1001]),
        ("THEIERE", &[1001]),
        ("THÉIÈRE", &[1001]),
        ("fêlée", &[1001]),
        ("felee", &[1001]),
        ("cassée", &[1001]),
        ("colis", &[1002]),
        ("12345", &[1002]),
        ("arrivée", &[1001]),
        ("arrive", &[1002]),
        ("zoe.durand@client.test", &[1001]),
        ("durand", &[1001]),
        ("zoe", &[1001]),
        ("lea", &[1003]),
        ("exemple.test", &[1002, 1003]),
        ("durand théière", &[1001]),
        ("durand colis", &[]),
        ("facture", &[1003]),
        ("urgent", &[1003]),
        ("rien_du_tout", &[]),
        ("théière*", &[1001]),
        ("\"théière", &[1001]),
        ("NEAR", &[1003]),
        ("NEAR(facture urgent)", &[]),
    ];
    for (text, expected) in cases {
        assert_eq!(found(text).await, expected.to_vec(), "search {text:?}");
    }
    // Hostile text is searched as words, never as query syntax, and does not fail.
    for text in [
        "\"",
        "*",
        ":",
        "NEAR",
        "\"\"\"",
        "a:b",
        "body:colis",
        "subject : x",
        "-colis",
        "NOT colis",
        "colis OR facture",
        "(",
        ")",
        "^",
        "'",
        "\\",
        "%",
        "_",
        "colis*",
        "*colis",
        "{x}",
        "a & b",
        "a | b",
        "!a",
        "<->",
        "a:*",
        "NEAR/2",
        "\u{0}",
        "a\u{0}b",
        "💥",
    ] {
        let mut request = request(TicketSort::Recent);
        request.search = Some(text.to_string());
        store
            .ticket_list(shop.id, &request, now_ms())
            .await
            .unwrap_or_else(|e| panic!("search {text:?}: {e}"));
    }
    assert_eq!(found("colis*").await, vec![1002]);
    assert_eq!(found("a:b").await, Vec::<i64>::new());

    // Search goes with filters and pages.
    let mut closed = request(TicketSort::Recent);
    closed.search = Some("arrivée".into());
    closed.status = Some(Status::Closed);
    assert!(numbers(&store, shop.id, &closed).await.is_empty());
    let mut request = request(TicketSort::Number);
    request.search = Some("exemple".into());
    request.limit = 1;
    let page = store
        .ticket_list(shop.id, &request, now_ms())
        .await
        .unwrap();
    assert_eq!(page.rows[0].number, 1003);
    request.after = page.next;
    let page = store
        .ticket_list(shop.id, &request, now_ms())
        .await
        .unwrap();
    assert_eq!(page.rows[0].number, 1002);
    assert!(page.next.is_none());
}

store_tests!(search => list_search_sqlite, list_search_postgres);

/// A word is looked for in every message of a ticket, a word of several tokens (an address)
/// as a phrase inside one message; a deleted message's words are no longer found.
async fn search_across_messages(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let seeds = vec![
        ticket(
            "nina",
            vec![
                message(false, HOUR, "bonjour alice, ma commande"),
                message(true, 2 * HOUR, "merci, votre commande part"),
                message(false, 3 * HOUR, "le tabouret est arrivé chez client.test"),
            ],
        ),
        ticket(
            "omar",
            vec![
                message(false, HOUR, "bonjour"),
                message(
                    false,
                    2 * HOUR,
                    "écrivez à alice@client.test pour le tabouret",
                ),
            ],
        ),
    ];
    store.seed_tickets(shop.id, &seeds).await.unwrap();
    let found = async |text: &str| {
        let mut request = request(TicketSort::Number);
        request.search = Some(text.to_string());
        let mut numbers = numbers(&store, shop.id, &request).await;
        numbers.sort();
        numbers
    };
    let cases: &[(&str, &[i64])] = &[
        ("tabouret", &[1001, 1002]),
        ("alice", &[1001, 1002]),
        ("part", &[1001]),
        ("alice tabouret", &[1001, 1002]),
        // Every token of the address is in 1001, never side by side in one message.
        ("alice@client.test", &[1002]),
        ("client.test", &[1001, 1002]),
        ("tabouret alice@client.test", &[1002]),
    ];
    for (text, expected) in cases {
        assert_eq!(found(text).await, expected.to_vec(), "search {text:?}");
    }
    assert_eq!(
        store.search(shop.id, "tabouret").await.unwrap(),
        vec![1001, 1002]
    );
    assert_eq!(
        store.search(shop.id, "commande part").await.unwrap(),
        vec![1001]
    );

    let (_, messages) = store.ticket(shop.id, 1002).await.unwrap();
    store.delete_message(messages[1].id).await.unwrap();
    assert_eq!(found("tabouret").await, vec![1001]);
    assert_eq!(found("alice@client.test").await, Vec::<i64>::new());
    assert_eq!(found("bonjour").await, vec![1001, 1002]);
    assert_eq!(store.search(shop.id, "tabouret").await.unwrap(), vec![1001]);
    store.delete_ticket(shop.id, 1001).await.unwrap();
    assert_eq!(found("tabouret").await, Vec::<i64>::new());
    assert_eq!(found("bonjour").await, vec![1002]);
    assert!(store.search(shop.id, "tabouret").await.unwrap().is_empty());
}

store_tests!(search_across_messages => list_search_across_messages_sqlite, list_search_across_messages_postgres);

/// A word in thousands of messages lists the same tickets, page after page and in every sort,
/// as a rare one would, with the tickets' order unrelated to their ids and the hits dense or
/// sparse; on SQLite the page walks the list's order a window at a time instead of sorting
/// every match.
async fn search_common_word(store: Store, url: &str) {
    let shop = store.add_shop("boutique").await.unwrap();
    const TICKETS: i64 = 2_400;
    // Ticket 1001 + i's last message is at an hour shuffled against its number.
    let hour_of = |i: i64| (i * 7919) % TICKETS;
    // One ticket in three has "rare", in three messages: common too (2,400 messages), but
    // spread thin over each window of the walk.
    let seeds: Vec<SeedTicket> = (0..TICKETS)
        .map(|i| {
            let at = hour_of(i) * HOUR;
            let messages = if i % 3 == 0 {
                (0..3)
                    .map(|k| message(false, at - (2 - k) * 60_000, "commun et rare"))
                    .collect()
            } else {
                vec![message(false, at, "commun")]
            };
            ticket("nina", messages)
        })
        .collect();
    store.seed_tickets(shop.id, &seeds).await.unwrap();
    let expected = |sort: TicketSort, rare: bool| -> Vec<i64> {
        let mut tickets: Vec<(i64, i64)> = (0..TICKETS)
            .filter(|i| !rare || i % 3 == 0)
            .map(|i| (hour_of(i), 1001 + i))
            .collect();
        match sort {
            TicketSort::Recent => tickets.sort_by(|a, b| b.cmp(a)),
            TicketSort::Oldest | TicketSort::WaitingLongest => tickets.sort(),
            TicketSort::Number => tickets.sort_by_key(|t| std::cmp::Reverse(t.1)),
        }
        tickets.into_iter().map(|(_, number)| number).collect()
    };
    for sort in TicketSort::ALL {
        for (text, rare) in [("commun", false), ("commun rare", true)] {
            let mut request = request(sort);
            request.search = Some(text.into());
            request.limit = 500;
            let mut listed = Vec::new();
            loop {
                let page = store
                    .ticket_list(shop.id, &request, now_ms())
                    .await
                    .unwrap();
                listed.extend(page.rows.iter().map(|r| r.number));
                match page.next {
                    Some(next) => request.after = Some(next),
                    None => break,
                }
            }
            assert_eq!(listed, expected(sort, rare), "search {text:?}, {sort:?}");
        }
    }
    let mut request = request(TicketSort::Recent);
    request.search = Some("commun".into());
    let plan = store.explain_ticket_list(shop.id, &request).await.unwrap();
    if url.starts_with("sqlite") {
        // The walk reads the list's own index in its order, with no row of `tickets`; only
        // the page's tickets are then read by id, and only they are sorted.
        assert!(
            plan.iter()
                .any(|step| step.contains("COVERING INDEX tickets_list_recent")),
            "{plan:?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INTEGER PRIMARY KEY")),
            "{plan:?}"
        );
        assert!(
            plan.iter().filter(|step| step.contains("ORDER BY")).count() <= 1,
            "{plan:?}"
        );
    }
}

store_tests!(at search_common_word => list_search_common_word_sqlite, list_search_common_word_postgres);

async fn received_at(pool: &AnyPool, message_id: &str) -> i64 {
    sqlx::query("SELECT received_at FROM messages WHERE message_id = $1")
        .bind(message_id)
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get("received_at")
        .unwrap()
}

async fn waiting_since(store: Store, url: &str) {
    let pool = pool(url).await;
    let shop = store.add_shop("boutique").await.unwrap();
    let row = async || {
        rows(&store, shop.id, &request(TicketSort::Recent))
            .await
            .into_iter()
            .next()
            .unwrap()
    };
    let file = async |id: &str, in_reply_to: Option<&str>| {
        let mut mail = customer_mail(id, "client@client.test", "Client", "Question", "Alors ?");
        mail.in_reply_to = in_reply_to.into_iter().map(str::to_string).collect();
        store
            .file_batch(shop.id, None, None, None, &[incoming(&store, mail, &[])])
            .await
            .unwrap();
    };
    file("w1@client", None).await;
    let first = received_at(&pool, "w1@client").await;
    assert_eq!(row().await.waiting_since, Some(first));
    assert!(row().await.unread);
    // A second customer message: still waiting since the first.
    file("w2@client", Some("w1@client")).await;
    assert_eq!(row().await.waiting_since, Some(first));
    assert_eq!(row().await.message_count, 2);

    // An employee's answer goes out: answered.
    let ticket_id: i64 = sqlx::query("SELECT id FROM tickets WHERE shop_id = $1")
        .bind(shop.id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    store
        .queue_employee_reply(&NewReply {
            shop_id: shop.id,
            ticket_id: Some(ticket_id),
            reply_to_message: None,
            kind: ReplyKind::Employee,
            intent: None,
            lang: UiLang::Fr,
            state: ReplyState::Scheduled,
            due_at: 0,
            to_email: "client@client.test".into(),
            to_name: None,
            subject: "Re: Question [1001]".into(),
            body_text: "Voici.".into(),
            message_id: "answer-1@boutique.test".into(),
        })
        .await
        .unwrap();
    let leased = store
        .lease_due_reply("test-node", 60_000)
        .await
        .unwrap()
        .unwrap();
    let outcome = store
        .mark_reply_sent(&leased.lease, &leased.reply, "sav@boutique.test", b"raw")
        .await
        .unwrap();
    assert_eq!(outcome, guichet::store::LeaseOutcome::Applied);
    let answered = row().await;
    assert_eq!(answered.waiting_since, None);
    assert_eq!(answered.last_message_excerpt, "Voici.");
    assert_eq!(
        answered.auto_answer,
        AutoAnswer::None,
        "an employee's answer is no automatic one"
    );

    // The customer writes again: waiting since that message.
    file("w3@client", Some("answer-1@boutique.test")).await;
    let third = received_at(&pool, "w3@client").await;
    assert_eq!(row().await.waiting_since, Some(third));
    assert_eq!(row().await.message_count, 4);
    // Opened after it: read.
    sqlx::query("UPDATE tickets SET seen_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(ticket_id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!row().await.unread);
    // That message deleted: answered again.
    let w3: i64 = sqlx::query("SELECT id FROM messages WHERE message_id = 'w3@client'")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    store.delete_message(w3).await.unwrap();
    assert_eq!(row().await.waiting_since, None);
    pool.close().await;
}

store_tests!(at waiting_since => list_waiting_since_sqlite, list_waiting_since_postgres);

/// On a shop large enough for the planner to care, every sort and the common filters read an
/// index in the list's order instead of sorting the shop's tickets.
async fn pages_read_indexes(store: Store, url: &str) {
    let pool = pool(url).await;
    let shop = store.add_shop("boutique").await.unwrap();
    let alice = add_employee(&pool, shop.id, "Alice").await;
    let t0 = now_ms() - 10_000 * HOUR;
    let seeds: Vec<SeedTicket> = (0..3000)
        .map(|i| {
            let mut t = ticket(
                &format!("c{i}"),
                vec![message(false, t0 + i * HOUR, "Bonjour")],
            );
            t.status = [Status::Open, Status::Closed, Status::Pending1][i as usize % 3];
            t.assignee_id = (i % 5 == 0).then_some(alice);
            t
        })
        .collect();
    store.seed_tickets(shop.id, &seeds).await.unwrap();
    // SQLite makes statistics only on request: its plans must hold without them. PostgreSQL
    // makes them by itself (autovacuum), just not within the test's first second.
    let sqlite = url.starts_with("sqlite");
    for analyzed in [false, true] {
        if !analyzed && !sqlite {
            continue;
        }
        if analyzed {
            store.analyze().await.unwrap();
        }
        check_plans(&store, shop.id, alice, analyzed).await;
    }
    pool.close().await;
}

async fn check_plans(store: &Store, shop_id: i64, alice: i64, analyzed: bool) {
    for sort in TicketSort::ALL {
        // Plans of a later page: the cursor's condition is part of the index range.
        let cursor = store
            .ticket_list(shop_id, &request(sort), now_ms())
            .await
            .unwrap()
            .next;
        assert!(cursor.is_some());
        let mut filters = vec![
            (None, AssigneeMatch::Anyone),
            (Some(Status::Open), AssigneeMatch::Anyone),
        ];
        if matches!(sort, TicketSort::Recent | TicketSort::Oldest) {
            filters.push((None, AssigneeMatch::Employee(alice)));
        }
        for (status, assignee) in filters {
            let mut request = request(sort);
            request.status = status;
            request.assignee = assignee;
            request.after = cursor;
            let plan = store.explain_ticket_list(shop_id, &request).await.unwrap();
            let text = plan.join("\n");
            if std::env::var_os("GUICHET_SHOW_PLANS").is_some() {
                eprintln!("{sort} {status:?} {assignee:?} (analyzed: {analyzed}):\n{text}\n");
            }
            assert!(
                text.contains("SEARCH t USING INDEX") || text.contains("Index Scan"),
                "{sort} {status:?} {assignee:?} (analyzed: {analyzed}) reads an index:\n{text}"
            );
            assert!(
                !text.contains("TEMP B-TREE")
                    && !text.contains("Sort Key")
                    && !text.contains("Seq Scan on tickets"),
                "{sort} {status:?} {assignee:?} (analyzed: {analyzed}):\n{text}"
            );
        }
    }
}

store_tests!(at pages_read_indexes => list_pages_read_indexes_sqlite, list_pages_read_indexes_postgres);
