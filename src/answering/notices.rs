//! Notices to a shop's admins about its mailboxes: an OAuth mailbox whose provider stopped
//! giving access (consent withdrawn, refresh token expired) is told once per break, in each
//! admin's language, through another mailbox of the shop that still signs in.
//!
//! The store keeps where each notice stands ([`ReconnectNotice`]): the sync that sees the
//! break makes it `due`; one node takes it (`sending`), so several nodes or a restart never
//! send it twice; it ends `sent`, or `due` again when nobody could be told yet (the shop has
//! no other mailbox that works, SMTP refused): the next pass tries again.

use crate::crypto::SealingKey;
use crate::model::Role;
use crate::oauth::MailboxAuth;
use crate::store::{MailboxRow, ReconnectNotice, Store, StoreError};

use super::send::{SendOptions, ShopMessage, send_shop_message};

/// The notice for one admin: subject and text in their language.
pub fn reconnect_notice(
    mailbox: &MailboxRow,
    admin_name: &str,
    lang: crate::model::UiLang,
) -> (String, String) {
    let (provider, provider_key) = match mailbox.auth {
        MailboxAuth::OAuth(provider) => (provider.display_name(), provider.to_string()),
        MailboxAuth::Password => ("", String::new()),
    };
    let subject = crate::t!(
        lang,
        "oauth.reconnect_notice_subject",
        email = mailbox.email
    );
    let mut text = crate::t!(
        lang,
        "oauth.reconnect_notice_body",
        name = admin_name,
        provider = provider,
        email = mailbox.email,
        shop = mailbox.shop_name,
        provider_key = provider_key
    );
    text.push('\n');
    (subject, text)
}

/// Sends every due reconnect notice; returns how many mailboxes' admins were told.
pub async fn send_reconnect_notices(
    store: &Store,
    key: &SealingKey,
    options: &SendOptions,
) -> Result<usize, StoreError> {
    let mut told = 0;
    for mailbox in store.mailboxes().await? {
        if mailbox.reconnect_notice == ReconnectNotice::Due
            && send_reconnect_notice(store, key, options, &mailbox).await?
        {
            told += 1;
        }
    }
    Ok(told)
}

/// Tells the admins of `mailbox`'s shop that it needs reconnecting, when its notice is due
/// and no other node took it meanwhile; true when somebody was told.
pub async fn send_reconnect_notice(
    store: &Store,
    key: &SealingKey,
    options: &SendOptions,
    mailbox: &MailboxRow,
) -> Result<bool, StoreError> {
    // Read before taking the notice: once taken, nothing fails before it is put down again.
    let admins: Vec<_> = store
        .employees_of_shop(mailbox.shop_id)
        .await?
        .into_iter()
        .filter(|e| e.role == Role::Admin)
        .collect();
    if !store
        .move_reconnect_notice(mailbox.id, ReconnectNotice::Due, ReconnectNotice::Sending)
        .await?
    {
        return Ok(false);
    }
    let mut reached = 0;
    let mut failures = Vec::new();
    for admin in &admins {
        let (subject, text) = reconnect_notice(mailbox, &admin.name, admin.lang);
        let message = ShopMessage {
            shop_id: mailbox.shop_id,
            number: 0,
            to_email: admin.email.clone(),
            to_name: Some(admin.name.clone()),
            subject,
            text,
            attachments: Vec::new(),
        };
        match send_shop_message(store, key, options, &message, admin.lang).await {
            Ok(()) => reached += 1,
            Err(reason) => failures.push(format!("{}: {reason}", admin.email)),
        }
    }
    // Told to somebody: done (an admin missed is in the log; the settings page shows the
    // mailbox's state to all). Told to nobody while admins exist: due again, for the next pass.
    let outcome = if reached == 0 && !admins.is_empty() {
        ReconnectNotice::Due
    } else {
        ReconnectNotice::Sent
    };
    if !failures.is_empty() {
        tracing::warn!(mailbox = %mailbox.email, ?failures, retry = outcome == ReconnectNotice::Due,
            "reconnect notice not delivered to every admin");
    }
    store
        .move_reconnect_notice(mailbox.id, ReconnectNotice::Sending, outcome)
        .await?;
    if reached > 0 {
        tracing::info!(mailbox = %mailbox.email, admins = reached, "admins told the mailbox needs reconnecting");
    }
    Ok(reached > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::imap::Security;
    use crate::model::UiLang;
    use crate::oauth::Provider;

    #[test]
    fn the_notice_names_the_mailbox_and_how_to_reconnect_in_each_language() {
        let mailbox = MailboxRow {
            id: 1,
            shop_id: 1,
            shop_name: "boutique".into(),
            email: "sav@boutique.test".into(),
            imap_host: "imap.gmail.com".into(),
            imap_port: 993,
            imap_security: Security::Tls,
            accept_invalid_certs: false,
            username: "sav@boutique.test".into(),
            auth: MailboxAuth::OAuth(Provider::Microsoft),
            password_sealed: vec![],
            folders: vec!["INBOX".into()],
            delete_after_import: false,
            mark_as_read: false,
            smtp_host: "smtp.gmail.com".into(),
            smtp_port: 465,
            smtp_security: Security::Tls,
            contact_id: None,
            last_sync_at: None,
            last_error: None,
            reconnect_notice: ReconnectNotice::Due,
        };
        let (subject, text) = reconnect_notice(&mailbox, "Lea", UiLang::Fr);
        assert_eq!(subject, "Reconnexion nécessaire : boîte sav@boutique.test");
        assert!(text.starts_with("Bonjour Lea,"), "{text}");
        assert!(text.contains("Microsoft n'accepte plus"), "{text}");
        assert!(text.contains("--oauth microsoft --email sav@boutique.test"));
        let (subject, text) = reconnect_notice(&mailbox, "Sam", UiLang::En);
        assert_eq!(subject, "Reconnect needed: mailbox sav@boutique.test");
        assert!(text.contains("Microsoft no longer accepts"), "{text}");
    }
}
