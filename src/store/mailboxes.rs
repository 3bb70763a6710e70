//! Mailboxes (IMAP/SMTP settings with a sealed password), their per-folder checkpoints, and the
//! lease that lets one node at a time sync a mailbox.

use sqlx::Row;

use super::{Result, Store, StoreError, decode_name, is_unique_violation, now_ms};
use crate::intake::imap::Security;
use crate::oauth::MailboxAuth;

/// A mailbox to add. The password (or OAuth refresh token) arrives already sealed: the store
/// never sees it in clear.
#[derive(Debug, Clone)]
pub struct NewMailbox {
    pub email: String,
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_security: Security,
    pub accept_invalid_certs: bool,
    pub username: String,
    /// What `password_sealed` holds: the password, or a provider's refresh token.
    pub auth: MailboxAuth,
    pub password_sealed: Vec<u8>,
    pub folders: Vec<String>,
    pub delete_after_import: bool,
    pub mark_as_read: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: Security,
    pub contact_id: Option<i64>,
}

/// A mailbox as stored (`views::MailboxJson` is its JSON shape, without the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxRow {
    pub id: i64,
    pub shop_id: i64,
    pub shop_name: String,
    pub email: String,
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_security: Security,
    pub accept_invalid_certs: bool,
    pub username: String,
    pub auth: MailboxAuth,
    pub password_sealed: Vec<u8>,
    pub folders: Vec<String>,
    pub delete_after_import: bool,
    pub mark_as_read: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: Security,
    pub contact_id: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
    /// OAuth mailboxes whose provider stopped giving access: whether the admins were told.
    pub reconnect_notice: ReconnectNotice,
}

/// Whether a shop's admins were told that an OAuth mailbox needs reconnecting; stored as
/// NULL, `due`, `sending` or `sent`. Reconnecting goes back to [`ReconnectNotice::None`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReconnectNotice {
    /// The mailbox works (or broke for another reason): nothing to tell.
    #[default]
    None,
    /// It needs reconnecting and the admins are still to be told.
    Due,
    /// A node is sending the notice. Left there by a crash, it is not sent again: like an
    /// answer found in `sending`, it may have gone out.
    Sending,
    /// The admins were told; not again until it is reconnected and breaks again.
    Sent,
}

impl ReconnectNotice {
    fn stored(self) -> Option<&'static str> {
        match self {
            ReconnectNotice::None => None,
            ReconnectNotice::Due => Some("due"),
            ReconnectNotice::Sending => Some("sending"),
            ReconnectNotice::Sent => Some("sent"),
        }
    }

    fn from_stored(value: Option<&str>, email: &str) -> Result<Self> {
        match value {
            None => Ok(ReconnectNotice::None),
            Some("due") => Ok(ReconnectNotice::Due),
            Some("sending") => Ok(ReconnectNotice::Sending),
            Some("sent") => Ok(ReconnectNotice::Sent),
            Some(other) => Err(StoreError::Invalid(format!(
                "mailbox {email}: unknown reconnect_notice `{other}`"
            ))),
        }
    }

    /// The mailbox cannot sign in until a person reconnects it.
    pub fn needs_reconnect(self) -> bool {
        self != ReconnectNotice::None
    }
}

/// Where a folder's import stands, and the mailbox lease its filing is done under: a batch is
/// committed only while `owner` holds the mailbox, and extends the lease by `lease_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderPosition<'a> {
    pub folder: &'a str,
    pub checkpoint: Checkpoint,
    pub owner: &'a str,
    pub lease_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub uid_validity: u32,
    pub last_uid: u32,
}

const MAILBOX_COLUMNS: &str = "m.id, m.shop_id, s.name AS shop_name, m.email, m.imap_host, m.imap_port, m.imap_security, \
     m.accept_invalid_certs, m.username, m.auth, m.password_sealed, m.folders, m.delete_after_import, m.mark_as_read, \
     m.smtp_host, m.smtp_port, m.smtp_security, m.contact_id, m.last_sync_at, m.last_error, m.reconnect_notice";

/// A mailbox row as the database holds it: flags are 0 or 1, folders one per line.
#[derive(sqlx::FromRow)]
struct MailboxRecord {
    id: i64,
    shop_id: i64,
    shop_name: String,
    email: String,
    #[sqlx(try_from = "i64")]
    imap_port: u16,
    imap_host: String,
    imap_security: String,
    accept_invalid_certs: i64,
    username: String,
    auth: String,
    password_sealed: Vec<u8>,
    folders: String,
    delete_after_import: i64,
    mark_as_read: i64,
    smtp_host: String,
    #[sqlx(try_from = "i64")]
    smtp_port: u16,
    smtp_security: String,
    contact_id: Option<i64>,
    last_sync_at: Option<i64>,
    last_error: Option<String>,
    reconnect_notice: Option<String>,
}

impl MailboxRecord {
    fn into_row(self) -> Result<MailboxRow> {
        let r = self;
        Ok(MailboxRow {
            id: r.id,
            shop_id: r.shop_id,
            shop_name: r.shop_name,
            imap_host: r.imap_host,
            imap_port: r.imap_port,
            imap_security: decode_name(r.imap_security, "imap_security", "mailbox", &r.email)?,
            accept_invalid_certs: r.accept_invalid_certs != 0,
            username: r.username,
            auth: decode_name(r.auth, "auth", "mailbox", &r.email)?,
            password_sealed: r.password_sealed,
            folders: r.folders.lines().map(str::to_string).collect(),
            delete_after_import: r.delete_after_import != 0,
            mark_as_read: r.mark_as_read != 0,
            smtp_host: r.smtp_host,
            smtp_port: r.smtp_port,
            smtp_security: decode_name(r.smtp_security, "smtp_security", "mailbox", &r.email)?,
            contact_id: r.contact_id,
            last_sync_at: r.last_sync_at,
            last_error: r.last_error,
            reconnect_notice: ReconnectNotice::from_stored(
                r.reconnect_notice.as_deref(),
                &r.email,
            )?,
            email: r.email,
        })
    }
}

/// Inside a filing transaction: extends `position`'s lease on the mailbox, or fails with
/// [`StoreError::LeaseLost`] when another node holds it, so that the batch rolls back. The
/// row stays locked to the commit, so no node takes the lease over meanwhile.
pub(super) async fn extend_mailbox_lease_in(
    conn: &mut sqlx::AnyConnection,
    mailbox_id: i64,
    position: &FolderPosition<'_>,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE mailboxes SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(now_ms() + position.lease_ms)
            .bind(mailbox_id)
            .bind(position.owner)
            .execute(conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::LeaseLost(format!("mailbox {mailbox_id}")));
    }
    Ok(())
}

impl Store {
    pub async fn add_mailbox(&self, shop_id: i64, mailbox: &NewMailbox) -> Result<i64> {
        let result = sqlx::query(
            "INSERT INTO mailboxes (shop_id, email, imap_host, imap_port, imap_security, accept_invalid_certs, \
             username, password_sealed, folders, delete_after_import, mark_as_read, smtp_host, smtp_port, \
             smtp_security, contact_id, created_at, auth) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
        )
        .bind(shop_id)
        .bind(mailbox.email.to_lowercase())
        .bind(&mailbox.imap_host)
        .bind(mailbox.imap_port as i64)
        .bind(mailbox.imap_security.to_string())
        .bind(mailbox.accept_invalid_certs as i64)
        .bind(&mailbox.username)
        .bind(&mailbox.password_sealed)
        .bind(mailbox.folders.join("\n"))
        .bind(mailbox.delete_after_import as i64)
        .bind(mailbox.mark_as_read as i64)
        .bind(&mailbox.smtp_host)
        .bind(mailbox.smtp_port as i64)
        .bind(mailbox.smtp_security.to_string())
        .bind(mailbox.contact_id)
        .bind(now_ms())
        .bind(mailbox.auth.to_string())
        .fetch_one(&self.pool)
        .await;
        match result {
            Ok(row) => Ok(row.try_get("id")?),
            Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                "mailbox {}",
                mailbox.email
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every mailbox, of every shop, in a stable order.
    pub async fn mailboxes(&self) -> Result<Vec<MailboxRow>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes m JOIN shops s ON s.id = m.shop_id ORDER BY s.name, m.email"
        );
        let rows: Vec<MailboxRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(MailboxRecord::into_row).collect()
    }

    /// Removes a shop's mailbox with its checkpoints; the mail it filed stays in its tickets.
    pub async fn remove_mailbox(&self, shop_id: i64, email: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM mailboxes WHERE shop_id = $1 AND email = $2")
            .bind(shop_id)
            .bind(email.trim().to_lowercase())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {email}")));
        }
        Ok(())
    }

    /// Gives a mailbox a new way to sign in (a reconnected OAuth mailbox's new refresh token),
    /// already sealed, and forgets the error the old one caused and its notice: a later break
    /// is told to the admins again.
    pub async fn set_mailbox_authorization(
        &self,
        mailbox_id: i64,
        auth: MailboxAuth,
        sealed: &[u8],
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE mailboxes SET auth = $1, password_sealed = $2, last_error = NULL, reconnect_notice = NULL \
             WHERE id = $3",
        )
        .bind(auth.to_string())
        .bind(sealed)
        .bind(mailbox_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {mailbox_id}")));
        }
        Ok(())
    }

    /// Changes the folders a mailbox watches; a running `serve` picks the change up by itself.
    pub async fn set_mailbox_folders(&self, mailbox_id: i64, folders: &[String]) -> Result<()> {
        if folders.is_empty()
            || folders
                .iter()
                .any(|f| f.trim().is_empty() || f.contains('\n'))
        {
            return Err(StoreError::Invalid(
                "a mailbox watches at least one folder, each with a one-line name".into(),
            ));
        }
        let done = sqlx::query("UPDATE mailboxes SET folders = $1 WHERE id = $2")
            .bind(folders.join("\n"))
            .bind(mailbox_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("mailbox {mailbox_id}")));
        }
        Ok(())
    }

    /// The shop's own addresses: mail from them is ours, never a customer's.
    pub async fn own_addresses(&self, shop_id: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT email FROM mailboxes WHERE shop_id = $1 UNION SELECT email FROM contacts WHERE shop_id = $1",
        )
        .bind(shop_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("email")?))
            .collect()
    }

    pub async fn checkpoint(&self, mailbox_id: i64, folder: &str) -> Result<Option<Checkpoint>> {
        let row = sqlx::query("SELECT uid_validity, last_uid FROM imap_checkpoints WHERE mailbox_id = $1 AND folder = $2")
            .bind(mailbox_id)
            .bind(folder)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Checkpoint {
                uid_validity: r.try_get::<i64, _>("uid_validity")? as u32,
                last_uid: r.try_get::<i64, _>("last_uid")? as u32,
            })
        })
        .transpose()
    }

    /// Takes (or renews) the right to sync a mailbox for `lease_ms`. False when another node
    /// holds an unexpired lease.
    pub async fn lease_mailbox(&self, mailbox_id: i64, owner: &str, lease_ms: i64) -> Result<bool> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE mailboxes SET lease_owner = $1, lease_until = $2 \
             WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)",
        )
        .bind(owner)
        .bind(now + lease_ms)
        .bind(mailbox_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_mailbox(&self, mailbox_id: i64, owner: &str) -> Result<()> {
        sqlx::query("UPDATE mailboxes SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2")
            .bind(mailbox_id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How a mailbox signs in right now (its row may be older: a refresh token may have been
    /// rotated since), or None when it was removed.
    pub async fn mailbox_secret(&self, mailbox_id: i64) -> Result<Option<(MailboxAuth, Vec<u8>)>> {
        let row = sqlx::query("SELECT email, auth, password_sealed FROM mailboxes WHERE id = $1")
            .bind(mailbox_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let email: String = r.try_get("email")?;
            Ok((
                decode_name(r.try_get("auth")?, "auth", "mailbox", &email)?,
                r.try_get("password_sealed")?,
            ))
        })
        .transpose()
    }

    /// Replaces the sealed refresh token the provider rotated, unless the mailbox no longer
    /// holds `old` (reconnected meanwhile): true when replaced.
    pub async fn rotate_mailbox_secret(
        &self,
        mailbox_id: i64,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mailboxes SET password_sealed = $1 WHERE id = $2 AND password_sealed = $3",
        )
        .bind(new)
        .bind(mailbox_id)
        .bind(old)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The mailbox needs reconnecting: its admins are to be told, unless they already are (or
    /// are being) for this break. True when this call made the notice due.
    pub async fn note_reconnect_needed(&self, mailbox_id: i64) -> Result<bool> {
        self.move_reconnect_notice(mailbox_id, ReconnectNotice::None, ReconnectNotice::Due)
            .await
    }

    /// Moves a mailbox's notice from `from` to `to`, when it is still at `from`: of several
    /// nodes, one only moves it. True when moved.
    pub async fn move_reconnect_notice(
        &self,
        mailbox_id: i64,
        from: ReconnectNotice,
        to: ReconnectNotice,
    ) -> Result<bool> {
        let done = match from.stored() {
            None => {
                sqlx::query("UPDATE mailboxes SET reconnect_notice = $1 WHERE id = $2 AND reconnect_notice IS NULL")
                    .bind(to.stored())
                    .bind(mailbox_id)
                    .execute(&self.pool)
                    .await?
            }
            Some(stored) => {
                sqlx::query("UPDATE mailboxes SET reconnect_notice = $1 WHERE id = $2 AND reconnect_notice = $3")
                    .bind(to.stored())
                    .bind(mailbox_id)
                    .bind(stored)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }

    /// Records the outcome of a sync, shown by `mailbox list`.
    pub async fn record_sync(&self, mailbox_id: i64, error: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE mailboxes SET last_sync_at = $1, last_error = $2 WHERE id = $3")
            .bind(now_ms())
            .bind(error)
            .bind(mailbox_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
