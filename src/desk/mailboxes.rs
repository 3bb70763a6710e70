//! Support mailboxes: settings found from the address, a connection test before saving, and
//! the same plain-words report for `mailbox test` and the back office's "test" button.

use secrecy::SecretString;

use crate::intake::imap::{self, Credential, ImapError, ImapSettings, MailboxReport, Security};
use crate::intake::providers;
use crate::intake::sync::{self, PASSWORD_PURPOSE};
use crate::store::{MailboxRow, NewMailbox, Shop};

use super::shops::email_address;
use super::{Desk, DeskError, DeskResult};

/// A mailbox as a person describes it; what is left out comes from the provider or defaults.
/// The command line parses it as `mailbox add` options (the doc comments are their help).
#[derive(Debug, Clone, Default, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct MailboxInput {
    /// The support address, e.g. sav@boutique.fr.
    #[arg(long)]
    pub email: String,
    /// Known provider whose settings to use when the domain does not tell (gmail, outlook, ovh...).
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long)]
    pub imap_host: Option<String>,
    #[arg(long)]
    pub imap_port: Option<u16>,
    #[arg(long, value_enum)]
    pub imap_security: Option<Security>,
    /// Accept a self-signed or otherwise invalid certificate.
    #[arg(long)]
    pub accept_invalid_certs: bool,
    /// Login name (default: the email address).
    #[arg(long)]
    pub username: Option<String>,
    /// Folder to watch; repeat for several (default: INBOX).
    #[arg(long = "folder")]
    pub folders: Vec<String>,
    /// Delete messages from the server once filed.
    #[arg(long)]
    pub delete_after_import: bool,
    /// Mark messages as read on the server once filed.
    #[arg(long)]
    pub mark_as_read: bool,
    #[arg(long)]
    pub smtp_host: Option<String>,
    #[arg(long)]
    pub smtp_port: Option<u16>,
    #[arg(long, value_enum)]
    pub smtp_security: Option<Security>,
    /// Contact (by name) whose tickets this mailbox files.
    #[arg(long)]
    pub contact: Option<String>,
    /// Save without testing the connection first.
    #[arg(long = "no-test")]
    pub skip_test: bool,
}

/// Why a mailbox's settings cannot be completed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MailboxSettingsError {
    #[error("not an email address: {0}")]
    NotAnAddress(String),
    #[error("unknown provider {0}")]
    UnknownProvider(String),
    #[error("unknown provider for this domain")]
    UnknownDomain,
}

/// The servers to use, completed from the provider table and the usual ports.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerPlan {
    pub email: String,
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_security: Security,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: Security,
    pub folders: Vec<String>,
}

fn default_port(security: Security, imap: bool) -> u16 {
    match (imap, security) {
        (true, Security::Tls) => 993,
        (true, _) => 143,
        (false, Security::Tls) => 465,
        (false, Security::Starttls) => 587,
        (false, Security::None) => 25,
    }
}

/// Completes a mailbox's servers: what the person gave, else the provider's, else the usual
/// ports for the security chosen. Pure.
pub fn plan_servers(input: &MailboxInput) -> Result<ServerPlan, MailboxSettingsError> {
    let email = email_address(&input.email)
        .map_err(|_| MailboxSettingsError::NotAnAddress(input.email.clone()))?;
    let known = match &input.provider {
        Some(name) => Some(
            providers::by_name(name)
                .ok_or_else(|| MailboxSettingsError::UnknownProvider(name.clone()))?,
        ),
        None => providers::for_email(&email),
    };
    let imap_host = input
        .imap_host
        .clone()
        .or(known.map(|p| p.imap.host.to_string()))
        .ok_or(MailboxSettingsError::UnknownDomain)?;
    let imap_security = input
        .imap_security
        .or(known.map(|p| p.imap.security))
        .unwrap_or(Security::Tls);
    let imap_port = input
        .imap_port
        .or(known
            .filter(|p| p.imap.host == imap_host)
            .map(|p| p.imap.port))
        .unwrap_or(default_port(imap_security, true));
    let smtp_security = input
        .smtp_security
        .or(known.map(|p| p.smtp.security))
        .unwrap_or(Security::Starttls);
    let smtp_host = input
        .smtp_host
        .clone()
        .or(known.map(|p| p.smtp.host.to_string()))
        .unwrap_or_else(|| imap_host.clone());
    let smtp_port = input
        .smtp_port
        .or(known
            .filter(|p| p.smtp.host == smtp_host)
            .map(|p| p.smtp.port))
        .unwrap_or(default_port(smtp_security, false));
    let folders = if input.folders.is_empty() {
        vec!["INBOX".to_string()]
    } else {
        input.folders.clone()
    };
    Ok(ServerPlan {
        email,
        imap_host,
        imap_port,
        imap_security,
        smtp_host,
        smtp_port,
        smtp_security,
        folders,
    })
}

/// One mailbox's connection test.
#[derive(Debug)]
pub struct MailboxTest {
    pub email: String,
    pub outcome: Result<MailboxReport, ImapError>,
}

/// The connection test before a mailbox is saved (none when the input skips it); a failed
/// test is an error carrying its report, so nothing gets saved.
pub(super) async fn test_before_saving(
    settings: &ImapSettings,
    input: &MailboxInput,
    plan: &ServerPlan,
) -> DeskResult<Option<MailboxTest>> {
    if input.skip_test {
        return Ok(None);
    }
    let test = MailboxTest {
        email: plan.email.clone(),
        outcome: imap::test_mailbox(settings, &plan.folders).await,
    };
    if test.outcome.is_err() {
        return Err(DeskError::MailboxTest(Box::new(test)));
    }
    Ok(Some(test))
}

impl Desk {
    /// Adds a mailbox after a connection test (unless skipped); the password is sealed before
    /// it reaches the store. A failed test saves nothing and comes back with its report.
    pub async fn add_mailbox(
        &self,
        shop: &Shop,
        input: &MailboxInput,
        password: SecretString,
    ) -> DeskResult<(i64, Option<MailboxTest>)> {
        let plan = plan_servers(input)?;
        let settings = ImapSettings {
            host: plan.imap_host.clone(),
            port: plan.imap_port,
            security: plan.imap_security,
            accept_invalid_certs: input.accept_invalid_certs,
            username: input.username.clone().unwrap_or_else(|| plan.email.clone()),
            credential: Credential::Password(password.clone()),
        };
        let test = test_before_saving(&settings, input, &plan).await?;
        let mailbox = self
            .new_mailbox(
                shop,
                input,
                plan,
                settings.username.clone(),
                crate::oauth::MailboxAuth::Password,
                self.key.seal(&password, PASSWORD_PURPOSE),
            )
            .await?;
        let id = self.store.add_mailbox(shop.id, &mailbox).await?;
        Ok((id, test))
    }

    /// The row to store for a mailbox planned from `input`, signing in as `username` with the
    /// `sealed` secret (`auth` says which), filed under the contact the input names.
    pub(super) async fn new_mailbox(
        &self,
        shop: &Shop,
        input: &MailboxInput,
        plan: ServerPlan,
        username: String,
        auth: crate::oauth::MailboxAuth,
        sealed: Vec<u8>,
    ) -> DeskResult<NewMailbox> {
        let contact_id = match &input.contact {
            Some(name) => Some(
                self.store
                    .contacts(shop.id)
                    .await?
                    .into_iter()
                    .find(|c| &c.name == name)
                    .ok_or_else(|| DeskError::NoContactNamed(name.clone()))?
                    .id,
            ),
            None => None,
        };
        Ok(NewMailbox {
            email: plan.email,
            imap_host: plan.imap_host,
            imap_port: plan.imap_port,
            imap_security: plan.imap_security,
            accept_invalid_certs: input.accept_invalid_certs,
            username,
            auth,
            password_sealed: sealed,
            folders: plan.folders,
            delete_after_import: input.delete_after_import,
            mark_as_read: input.mark_as_read,
            smtp_host: plan.smtp_host,
            smtp_port: plan.smtp_port,
            smtp_security: plan.smtp_security,
            contact_id,
        })
    }

    /// Stops watching a mailbox: its settings and checkpoints go, its tickets stay.
    pub async fn remove_mailbox(&self, shop: &Shop, email: &str) -> DeskResult<()> {
        self.store
            .remove_mailbox(shop.id, email)
            .await
            .map_err(|e| {
                super::not_found(
                    e,
                    DeskError::NoMailboxInShop {
                        email: email.to_string(),
                        shop: shop.name.clone(),
                    },
                )
            })
    }

    pub async fn mailboxes(&self) -> DeskResult<Vec<MailboxRow>> {
        Ok(self.store.mailboxes().await?)
    }

    /// Connects to each mailbox matching the filters and reports, in the same words as the
    /// test before saving.
    pub async fn test_mailboxes(
        &self,
        shop: Option<&str>,
        email: Option<&str>,
    ) -> DeskResult<Vec<MailboxTest>> {
        let chosen: Vec<MailboxRow> = self
            .store
            .mailboxes()
            .await?
            .into_iter()
            .filter(|m| shop.is_none_or(|s| m.shop_name == s))
            .filter(|m| email.is_none_or(|e| m.email.eq_ignore_ascii_case(e)))
            .collect();
        if chosen.is_empty() {
            return Err(DeskError::NoMailboxMatches);
        }
        let mut tests = Vec::with_capacity(chosen.len());
        for mailbox in chosen {
            let outcome =
                match sync::imap_settings(&self.store, &mailbox, &self.key, &self.config.oauth)
                    .await
                {
                    Ok(settings) => imap::test_mailbox(&settings, &mailbox.folders).await,
                    Err(sync::SyncError::OAuth(crate::oauth::OAuthError::ReconnectNeeded(_))) => {
                        Err(ImapError::ReconnectNeeded)
                    }
                    Err(other) => return Err(other.into()),
                };
            tests.push(MailboxTest {
                outcome,
                email: mailbox.email,
            });
        }
        Ok(tests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(email: &str) -> MailboxInput {
        MailboxInput {
            email: email.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_known_domain_gets_its_provider_servers() {
        let plan = plan_servers(&input("boutique@gmail.com")).unwrap();
        assert_eq!(plan.imap_host, "imap.gmail.com");
        assert_eq!(plan.imap_port, 993);
        assert_eq!(plan.folders, ["INBOX"]);
    }

    #[test]
    fn an_unknown_domain_needs_its_servers_and_ports_follow_security() {
        assert_eq!(
            plan_servers(&input("sav@boutique.example")),
            Err(MailboxSettingsError::UnknownDomain)
        );
        let plan = plan_servers(&MailboxInput {
            imap_host: Some("mail.boutique.example".into()),
            imap_security: Some(Security::Starttls),
            smtp_security: Some(Security::Tls),
            ..input("sav@boutique.example")
        })
        .unwrap();
        assert_eq!((plan.imap_port, plan.smtp_port), (143, 465));
        assert_eq!(plan.smtp_host, "mail.boutique.example");
    }

    #[test]
    fn an_unknown_provider_name_is_refused() {
        let error = plan_servers(&MailboxInput {
            provider: Some("nowhere".into()),
            ..input("a@b.example")
        });
        assert_eq!(
            error,
            Err(MailboxSettingsError::UnknownProvider("nowhere".into()))
        );
    }
}

/// Where a mailbox's sync stands, from its last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState<'a> {
    /// The last sync failed, for this reason.
    Failed(&'a str),
    /// The last sync worked, at this time (ms).
    SyncedAt(i64),
    Never,
}

impl<'a> SyncState<'a> {
    pub fn of(mailbox: &'a MailboxRow) -> Self {
        match (&mailbox.last_error, mailbox.last_sync_at) {
            (Some(error), _) => SyncState::Failed(error),
            (None, Some(at)) => SyncState::SyncedAt(at),
            (None, None) => SyncState::Never,
        }
    }
}
