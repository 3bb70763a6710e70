//! Enum columns (answer mode, plan, connection security, language, ticket status) are decoded once, in the store: a
//! value this version does not know is an error naming the row and the column, never a silent
//! default. On SQLite and PostgreSQL.

use guichet::intake::imap::Security;
use guichet::model::{Status, UiLang};
use guichet::replies::{Mode, PlanName};
use guichet::store::{NewMailbox, Store, StoreError, StoredTemplate};

use crate::support::{offline_mailbox, store_tests, write_behind};

/// Sets `assignments` on the shop's row behind the store's back; returns the error that reading
/// its reply settings then gives.
async fn settings_error_after(
    store: &Store,
    url: &str,
    shop_id: i64,
    assignments: &str,
) -> StoreError {
    write_behind(
        url,
        &format!("UPDATE shops SET {assignments} WHERE id = {shop_id}"),
    )
    .await;
    store.reply_settings(shop_id).await.unwrap_err()
}

async fn unknown_values_name_their_row(store: Store, url: &str) {
    let shop = store.add_shop("boutique").await.unwrap();
    let settings = store.reply_settings(shop.id).await.unwrap();
    assert_eq!(settings.auto_answers, Mode::Off);
    assert!(matches!(settings.plan, PlanName::Trial | PlanName::Basic));

    let error = settings_error_after(&store, url, shop.id, "auto_answers = 'sometimes'").await;
    assert!(
        matches!(
            &error,
            StoreError::UnknownValue { table: "shop", column: "auto_answers", value, row }
                if value == "sometimes" && *row == shop.id.to_string()
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("shop {}: unknown auto_answers \"sometimes\"", shop.id)
    );

    let error =
        settings_error_after(&store, url, shop.id, "auto_answers = 'on', plan = 'gold'").await;
    assert!(
        matches!(&error, StoreError::UnknownValue { column: "plan", value, .. } if value == "gold"),
        "{error:?}"
    );

    store
        .add_mailbox(
            shop.id,
            &NewMailbox {
                imap_security: Security::Starttls,
                smtp_port: 465,
                smtp_security: Security::Tls,
                ..offline_mailbox()
            },
        )
        .await
        .unwrap();
    let mailboxes = store.mailboxes().await.unwrap();
    assert_eq!(
        (mailboxes[0].imap_security, mailboxes[0].smtp_security),
        (Security::Starttls, Security::Tls)
    );
    let json = serde_json::to_value(guichet::views::MailboxJson::from(&mailboxes[0])).unwrap();
    assert_eq!(
        json["imap_security"], "starttls",
        "JSON keeps the stored names"
    );

    let template = StoredTemplate {
        intent: "refund".into(),
        lang: UiLang::Fr,
        body: "Bonjour,".into(),
        needs: Vec::new(),
        when_complete: "hand_over".into(),
    };
    store.save_template(shop.id, &template).await.unwrap();
    assert_eq!(store.shop_templates(shop.id).await.unwrap(), vec![template]);
    write_behind(url, "UPDATE reply_templates SET lang = 'de'").await;
    let error = store.shop_templates(shop.id).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "reply template refund: unknown lang \"de\""
    );

    let message = crate::store::parsed("names-1@client.test", "a@client.test", "Hello", 0);
    let filed = crate::store::incoming(&store, message, &[]);
    store
        .file_batch(shop.id, None, None, None, &[filed])
        .await
        .unwrap();
    let tickets = store.tickets(Some(shop.id)).await.unwrap();
    assert_eq!(tickets[0].status, Status::Open);
    write_behind(url, "UPDATE tickets SET status = 'archived'").await;
    let error = store.tickets(Some(shop.id)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("ticket {}: unknown status \"archived\"", tickets[0].number)
    );

    write_behind(url, "UPDATE mailboxes SET smtp_security = 'ssl'").await;
    let error = store.mailboxes().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "mailbox sav@boutique.test: unknown smtp_security \"ssl\""
    );
}

store_tests!(at unknown_values_name_their_row =>
    unknown_stored_values_name_their_row_sqlite, unknown_stored_values_name_their_row_postgres);
