//! Triage as users meet it: `guichet triage` on files and JSON lines, `triage eval`, triage of
//! synced mail shown by `tickets show`, and a shop's corrections, rules and retrained model.

use guichet::store::Store;
use guichet::triage::{Reason, ShopExample, Triager};

use crate::cli::{guichet, ok, run};
use crate::support::cli::{
    new_shop, sync_once, ticket_shown, ticket_with_subject, tickets_list, with_stdin,
};
use crate::support::{MailServer, sample_mail, store_tests};

#[test]
fn jsonl_answers_every_line_in_order_and_flags_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = concat!(
        r#"{"subject": "Commande #1042", "text": "Bonjour, ma commande #1042 n'est toujours pas arrivée, le suivi 6A12345678901 ne bouge plus depuis une semaine. Merci"}"#,
        "\n",
        "this is not json\n",
        r#"{"text": "Hello, I was charged twice for order 58213, please refund the duplicate payment of €49.90"}"#,
        "\n"
    );
    let output = with_stdin(
        guichet(dir.path(), &["triage", "--jsonl"]),
        input.as_bytes(),
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "a bad line makes the exit code 1"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "one answer per input line: {lines:?}");
    assert_eq!(lines[0]["lang"], "fr");
    assert_eq!(lines[0]["intent"], "order_status");
    assert!(lines[0]["confidence"].as_f64().unwrap() > 0.5);
    assert_eq!(
        lines[0]["facts"]["order_refs"],
        serde_json::json!(["#1042"])
    );
    assert_eq!(
        lines[0]["facts"]["tracking_numbers"],
        serde_json::json!(["6A12345678901"])
    );
    assert!(lines[1]["error"].as_str().unwrap().contains("line 2"));
    assert_eq!(lines[2]["lang"], "en");
    assert_eq!(lines[2]["intent"], "payment_issue");
    assert_eq!(
        lines[2]["facts"]["order_refs"],
        serde_json::json!(["58213"])
    );
    assert_eq!(lines[2]["facts"]["amounts"], serde_json::json!(["€49.90"]));
    assert!(
        !dir.path().join("guichet.db").exists(),
        "triage with the shipped model touches no database"
    );
}

#[test]
fn eml_files_get_language_intent_facts_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("retour.eml");
    std::fs::write(
        &eml,
        sample_mail(
            "Lena Vogel <lena@kunde.example>",
            "sav@boutique.example",
            "=?UTF-8?Q?R=C3=BCcksendung?=",
            "Hallo, ich möchte die Schuhe aus meiner Bestellung 77812 zurückschicken, sie sind zu klein. \
             Wie bekomme ich ein Rücksendeetikett?\r\n\r\nViele Grüße\r\nLena",
            Some("lena-1@kunde.example"),
            &[],
        ),
    )
    .unwrap();
    let out = ok(guichet(
        dir.path(),
        &["triage", "--json", eml.to_str().unwrap()],
    ));
    let results: serde_json::Value = serde_json::from_str(&out).unwrap();
    let result = &results[0];
    assert_eq!(result["subject"], "Rücksendung");
    assert_eq!(result["lang"], "de");
    assert_eq!(result["intent"], "return_exchange");
    assert_eq!(result["facts"]["order_refs"], serde_json::json!(["77812"]));
    assert_eq!(result["reason"]["source"], "model");
    assert!(!result["reason"]["features"].as_array().unwrap().is_empty());

    let text = ok(guichet(dir.path(), &["triage", eml.to_str().unwrap()]));
    assert!(
        text.contains("intent: Return / exchange (return_exchange)"),
        "{text}"
    );
    let missing = run(guichet(dir.path(), &["triage", "nowhere.eml"]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read nowhere.eml"));
}

#[test]
fn eval_reports_scores_confusion_curve_and_facts() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = dir.path().join("eval.jsonl");
    let lines = [
        r##"{"text": "Où en est ma commande #2231 ? Toujours rien reçu après 10 jours.", "intent": "order_status", "lang": "fr", "order_refs": ["#2231"], "tracking_numbers": []}"##,
        r##"{"text": "Je souhaite être remboursé, j'ai renvoyé le colis il y a trois semaines et toujours pas d'argent sur mon compte.", "intent": "refund", "lang": "fr", "order_refs": [], "tracking_numbers": []}"##,
        r##"{"text": "Could you send me the invoice for order 58213 with my company name on it?", "intent": "invoice", "lang": "en", "order_refs": ["58213"], "tracking_numbers": []}"##,
        r##"{"text": "The mug arrived broken in pieces, I attach a photo.", "intent": "damaged_or_wrong_item", "lang": "en", "order_refs": [], "tracking_numbers": []}"##,
        r##"{"text": "Please cancel my order, I ordered it by mistake.", "intent": "cancel_order", "lang": "en"}"##,
    ];
    std::fs::write(&dataset, lines.join("\n")).unwrap();
    let out = ok(guichet(
        dir.path(),
        &["triage", "eval", dataset.to_str().unwrap(), "--json"],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["messages"], 5);
    assert!(report["macro_f1"].as_f64().unwrap() >= 0.8, "{report}");
    let labels = report["labels"].as_array().unwrap().len();
    assert_eq!(report["confusion"].as_array().unwrap().len(), labels);
    assert!(report["curve"].as_array().unwrap().len() > 10);
    assert_eq!(report["language_accuracy"], 1.0);
    assert_eq!(report["order_refs"]["expected"], 2);
    assert_eq!(report["order_refs"]["right"], 2);

    let text = ok(guichet(
        dir.path(),
        &["triage", "eval", dataset.to_str().unwrap()],
    ));
    for expected in [
        "macro-F1",
        "Confusion matrix",
        "Auto-answer when confidence >= threshold",
    ] {
        assert!(text.contains(expected), "{text}");
    }
    // Training on a dataset of one's own measures the algorithm itself.
    let out = ok(guichet(
        dir.path(),
        &[
            "triage",
            "eval",
            dataset.to_str().unwrap(),
            "--train",
            dataset.to_str().unwrap(),
            "--json",
        ],
    ));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["accuracy"], 1.0,
        "a model recognises its own training set"
    );
    assert!(report["training_seconds"].as_f64().is_some());
}

#[test]
fn synced_mail_is_triaged_and_the_shop_teaches_its_model() {
    let server = MailServer::shared();
    let (dir, mailbox) = new_shop(server, "triage");
    server.append_mail(
        &mailbox,
        "Marie Dupont <marie@client.example>",
        "Commande XKBKNABJK",
        "Bonjour,\r\nje voudrais annuler ma commande XKBKNABJK passée hier soir, je me suis trompée de modèle.\r\nMerci d'avance,\r\nMarie",
        "marie-1@client.example",
    );
    sync_once(dir.path());
    let show = ticket_shown(dir.path(), "1001");
    assert_eq!(show["ticket"]["intent"], "cancel_order");
    assert_eq!(show["ticket"]["language"], "fr");
    let message = &show["messages"][0];
    assert_eq!(message["triage"]["intent"], "cancel_order");
    assert_eq!(message["triage"]["lang"], "fr");
    assert_eq!(
        message["triage"]["facts"]["order_refs"],
        serde_json::json!(["XKBKNABJK"])
    );
    let text = ok(guichet(dir.path(), &["tickets", "show", "1001"]));
    assert!(text.contains("Order cancellation (cancel_order)"), "{text}");

    // An employee corrects the intent: the message and ticket take it, with who did it.
    let id = message["id"].as_i64().unwrap().to_string();
    ok(guichet(
        dir.path(),
        &["intents", "correct", &id, "change_order", "--by", "Julie"],
    ));
    let show = ticket_shown(dir.path(), "1001");
    assert_eq!(show["ticket"]["intent"], "change_order");
    assert_eq!(show["messages"][0]["triage"]["confidence"], 1.0);
    assert_eq!(
        show["messages"][0]["triage"]["reason"],
        serde_json::json!({"source": "correction", "by": "Julie"})
    );
    let refused = run(guichet(
        dir.path(),
        &["intents", "correct", &id, "teleportation"],
    ));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown intent: teleportation"));

    // Retraining is a job: the next sync runs it and the shop's model exists.
    sync_once(dir.path());
    let listed = ok(guichet(dir.path(), &["intents", "list"]));
    assert!(listed.contains("Shop model: trained"), "{listed}");
    assert!(
        listed.contains("(0 own examples, 1 corrections)"),
        "{listed}"
    );

    // A keyword rule overrides the model for the next messages; a disabled intent goes to other.
    ok(guichet(
        dir.path(),
        &[
            "intents",
            "rule-add",
            "complaint",
            "association de consommateurs",
        ],
    ));
    ok(guichet(dir.path(), &["intents", "disable", "invoice"]));
    let refused = run(guichet(dir.path(), &["intents", "disable", "other"]));
    assert!(!refused.status.success());
    server.append_mail(
        &mailbox,
        "Paul <paul@client.example>",
        "Colis",
        "Où est mon colis ? Sans réponse je contacte une association de consommateurs.",
        "paul-1@client.example",
    );
    server.append_mail(
        &mailbox,
        "Jeanne <jeanne@client.example>",
        "Facture",
        "Bonjour, pouvez-vous m'envoyer la facture de ma commande 4410 ? Merci.",
        "jeanne-1@client.example",
    );
    sync_once(dir.path());
    let tickets = tickets_list(dir.path());
    let intent_of = |subject: &str| ticket_with_subject(&tickets, subject)["intent"].clone();
    assert_eq!(intent_of("Colis"), "complaint");
    assert_eq!(intent_of("Facture"), "other");
}

async fn shop_settings_suite(store: Store) {
    let shop = store.add_shop("boutique").await.unwrap();
    let langs = guichet::model::UiLang::Fr;
    let intents = store.shop_intents(shop.id, langs).await.unwrap();
    assert_eq!(intents.len(), 12);
    assert!(intents.iter().all(|i| i.enabled && !i.custom));

    let examples: Vec<String> = (1..=6)
        .map(|i| format!("Nous sommes revendeurs et souhaitons un tarif de gros pour {i}00 pièces"))
        .collect();
    store
        .add_custom_intent(
            shop.id,
            "wholesale",
            "Vente en gros",
            "Wholesale",
            &examples,
        )
        .await
        .unwrap();
    assert!(
        store
            .add_custom_intent(shop.id, "wholesale", "x", "x", &examples)
            .await
            .is_err(),
        "an intent is added once"
    );
    store
        .set_intent_enabled(shop.id, "invoice", false)
        .await
        .unwrap();
    let intents = store.shop_intents(shop.id, langs).await.unwrap();
    let wholesale = intents.iter().find(|i| i.id == "wholesale").unwrap();
    assert_eq!(
        (wholesale.label.as_str(), wholesale.examples),
        ("Vente en gros", 6)
    );
    assert!(!intents.iter().find(|i| i.id == "invoice").unwrap().enabled);

    let rule = store
        .add_intent_rule(shop.id, "wholesale", &["Revendeur".into(), " ".into()])
        .await
        .unwrap();
    assert_eq!(
        store.intent_rules(shop.id).await.unwrap()[0].keywords,
        ["Revendeur"]
    );
    assert!(
        store
            .add_intent_rule(shop.id, "nope", &["x".into()])
            .await
            .is_err()
    );

    // The shop's examples train its model; the model is saved and used by its triager.
    let shop_examples = store.shop_examples(shop.id).await.unwrap();
    assert_eq!(shop_examples.len(), 6);
    assert!(shop_examples.iter().all(|e: &ShopExample| !e.correction));
    guichet::worker::retrain_shop_model(&store, shop.id)
        .await
        .unwrap();
    assert!(store.shop_model_info(shop.id).await.unwrap().is_some());
    let triager = store.shop_triager(shop.id).await.unwrap();
    assert!(triager.model().labels().iter().any(|l| l == "wholesale"));
    let by_rule = triager.triage("", "Je suis revendeur, quels sont vos prix ?");
    assert_eq!(by_rule.intent, "wholesale");
    assert!(matches!(by_rule.reason, Reason::Rule { rule_id, .. } if rule_id == rule));
    store.delete_intent_rule(shop.id, rule).await.unwrap();
    assert!(store.delete_intent_rule(shop.id, rule).await.is_err());
    let by_model = store.shop_triager(shop.id).await.unwrap().triage(
        "Tarif de gros",
        "Bonjour, nous sommes revendeurs : quel tarif de gros pour 300 pièces ?",
    );
    assert_eq!(by_model.intent, "wholesale", "{by_model:?}");
}

store_tests!(shop_settings_suite => shop_settings_sqlite, shop_settings_postgres);

/// A shop's triager is decoded once per model, and a change made through any node (here a
/// second `Store` on the same database) is picked up at the next load.
async fn triager_cache_suite(url: &str, blobs: &std::path::Path) {
    let store = Store::open(url, blobs).await.unwrap();
    let other_node = Store::open(url, blobs).await.unwrap();
    let shop = store.add_shop("boutique").await.unwrap();
    let same_model = |a: &guichet::triage::Triager, b: &guichet::triage::Triager| {
        std::ptr::eq(a.model(), b.model())
    };
    let invoice = (
        "Facture",
        "Bonjour, pouvez-vous m'envoyer la facture de ma commande ?",
    );
    let shipped = Triager::default();

    // A saved model (the shipped one's bytes, no training needed) is decoded once.
    let bytes = shipped.model().to_bytes();
    other_node
        .save_shop_model(shop.id, &bytes, 0, 0, 1)
        .await
        .unwrap();
    let first = store.shop_triager(shop.id).await.unwrap();
    assert!(
        !same_model(&first, &shipped),
        "the shop's own model is used"
    );
    let second = store.shop_triager(shop.id).await.unwrap();
    assert!(same_model(&first, &second), "a second load decodes nothing");
    assert_eq!(second.triage(invoice.0, invoice.1).intent, "invoice");

    // A setting changed elsewhere is seen at once, without decoding the model again.
    let enable_invoices = async |enabled| {
        let setting = other_node.set_intent_enabled(shop.id, "invoice", enabled);
        setting.await.unwrap();
    };
    let load = async || store.shop_triager(shop.id).await.unwrap();
    enable_invoices(false).await;
    let disabled = load().await;
    assert_eq!(disabled.triage(invoice.0, invoice.1).intent, "other");
    assert!(same_model(&first, &disabled));
    let rule = other_node
        .add_intent_rule(shop.id, "complaint", &["facture".into()])
        .await
        .unwrap();
    assert_eq!(
        store
            .shop_triager(shop.id)
            .await
            .unwrap()
            .triage(invoice.0, invoice.1)
            .intent,
        "complaint"
    );
    other_node.delete_intent_rule(shop.id, rule).await.unwrap();
    enable_invoices(true).await;
    let restored = load().await;
    assert_eq!(restored.triage(invoice.0, invoice.1).intent, "invoice");
    assert!(same_model(&first, &restored));

    // A retrained model replaces the cached one, even with the same training time.
    other_node
        .save_shop_model(shop.id, &bytes, 0, 0, 1)
        .await
        .unwrap();
    let retrained = store.shop_triager(shop.id).await.unwrap();
    assert!(!same_model(&first, &retrained), "the new model is decoded");
    assert!(same_model(
        &retrained,
        &store.shop_triager(shop.id).await.unwrap()
    ));
    other_node.close().await;
    store.close().await;
}

store_tests!(url triager_cache_suite =>
    shop_triager_is_cached_until_it_changes_sqlite, shop_triager_is_cached_until_it_changes_postgres);
