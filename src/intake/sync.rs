//! Mailbox sync: fetch new mail by UID, parse it, file it, and move the checkpoint in the same
//! transaction. Fetching, parsing and storing run as a pipeline so the network read of the
//! next batch overlaps the parse and the commit of the previous one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::crypto::{CryptoError, SealingKey};
use crate::intake::imap::{FetchedMessage, ImapClient, ImapError, ImapSettings};
use crate::intake::parse::parse_message;
use crate::model::UiLang;
use crate::oauth::{OAuthConfig, OAuthError};
use crate::store::{
    Checkpoint, FileOutcome, FolderPosition, Incoming, IncomingAttachment, MailboxRow, Store,
    StoreError,
};
use crate::triage::Triager;

/// What the sealed mailbox password is bound to.
pub const PASSWORD_PURPOSE: &str = "mailbox-password";

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mailbox password: {0}")]
    Crypto(#[from] CryptoError),
    #[error("mailbox setting `{0}` is invalid")]
    Setting(&'static str),
    #[error("internal error while parsing: {0}")]
    Worker(String),
    #[error(transparent)]
    OAuth(#[from] OAuthError),
}

impl SyncError {
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            SyncError::Imap(e) => e.localized(lang),
            SyncError::OAuth(e) => e.localized(lang),
            SyncError::Store(StoreError::LeaseLost(_)) => {
                crate::t!(lang, "cluster.lease_lost").to_string()
            }
            SyncError::Store(StoreError::ObjectStore { location, failure }) => {
                failure.localized(location, lang)
            }
            other => other.to_string(),
        }
    }

    /// The mailbox's lease went to another node: the pass stopped, nothing is wrong with it.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, SyncError::Store(StoreError::LeaseLost(_)))
    }

    /// The provider no longer gives this OAuth mailbox access: a person must reconnect it.
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, SyncError::OAuth(OAuthError::ReconnectNeeded(_)))
    }

    fn is_transient(&self) -> bool {
        matches!(self, SyncError::Imap(e) if e.is_transient())
    }
}

/// Progress of a long import: a bar on a terminal, log lines otherwise.
pub trait Progress: Send + Sync {
    fn start(&self, label: &str, total: u64);
    fn advance(&self, done: u64);
    fn finish(&self);
}

/// Reports progress as log lines (every batch).
#[derive(Default)]
pub struct LogProgress {
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl Progress for LogProgress {
    fn start(&self, label: &str, total: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.done.store(0, Relaxed);
        self.total.store(total, Relaxed);
        tracing::info!(%label, total, "new messages to import");
    }
    fn advance(&self, done: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let done = self.done.fetch_add(done, Relaxed) + done;
        tracing::info!("imported {done}/{}", self.total.load(Relaxed));
    }
    fn finish(&self) {}
}

/// A terminal progress bar (indicatif), for first syncs of big mailboxes.
pub struct BarProgress(indicatif::ProgressBar);

impl Default for BarProgress {
    fn default() -> Self {
        let bar = indicatif::ProgressBar::hidden();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        Self(bar)
    }
}

impl Progress for BarProgress {
    fn start(&self, label: &str, total: u64) {
        self.0
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.0.set_message(label.to_string());
        self.0.set_length(total);
        self.0.set_position(0);
    }
    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub batch_size: usize,
    pub node_name: String,
    pub lang: UiLang,
    /// Attempts per mailbox when the network fails (a dropped connection resumes from the checkpoint).
    pub attempts: u32,
    /// Where OAuth mailboxes get their access tokens.
    pub oauth: OAuthConfig,
    /// The mailbox lease: taken before a pass, extended by each committed batch, which is
    /// filed only while `node_name` holds it.
    pub lease: Duration,
}

/// The lease of a one-off `sync --once`, which is not renewed between batches: longer than a
/// slow batch.
pub const ONE_OFF_LEASE: Duration = Duration::from_secs(10 * 60);

impl SyncOptions {
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    fn position<'a>(&'a self, folder: &'a str, checkpoint: Checkpoint) -> FolderPosition<'a> {
        FolderPosition {
            folder,
            checkpoint,
            owner: &self.node_name,
            lease_ms: self.lease_ms(),
        }
    }
}

/// Outcome of syncing one folder of one mailbox; `sync --once --json` prints a list of these.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FolderSummary {
    pub shop: String,
    pub mailbox: String,
    pub folder: String,
    #[serde(flatten)]
    pub filed: FileOutcome,
    /// Our own outgoing mail seen in the mailbox, never filed as a customer's.
    pub own_skipped: u64,
    /// Messages filed raw because their MIME could not be fully read.
    pub parse_errors: u64,
    pub error: Option<String>,
}

/// Where and how to read `mailbox`: its IMAP server, signed in with its password or with an
/// access token fresh enough for this connection.
pub async fn imap_settings(
    store: &Store,
    mailbox: &MailboxRow,
    key: &SealingKey,
    oauth: &OAuthConfig,
) -> Result<ImapSettings, SyncError> {
    Ok(ImapSettings {
        host: mailbox.imap_host.clone(),
        port: mailbox.imap_port,
        security: mailbox.imap_security,
        accept_invalid_certs: mailbox.accept_invalid_certs,
        username: mailbox.username.clone(),
        credential: crate::oauth::mailbox_credential(store, mailbox, key, oauth).await?,
    })
}

/// Syncs every mailbox once. A failing mailbox is reported and never stops the others.
pub async fn sync_all_once(
    store: &Store,
    key: &SealingKey,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<Vec<FolderSummary>, StoreError> {
    let mut summaries = Vec::new();
    for mailbox in store.mailboxes().await? {
        if !store
            .lease_mailbox(mailbox.id, &options.node_name, options.lease_ms())
            .await?
        {
            summaries.push(FolderSummary {
                shop: mailbox.shop_name.clone(),
                mailbox: mailbox.email.clone(),
                error: Some(crate::t!(options.lang, "intake.synced_by_another_node").into()),
                ..Default::default()
            });
            continue;
        }
        let result = sync_with_retries(store, key, &mailbox, options, progress).await;
        store
            .release_mailbox(mailbox.id, &options.node_name)
            .await?;
        match result {
            Ok(mut folders) => {
                let error = folders.iter().find_map(|f| f.error.clone());
                store.record_sync(mailbox.id, error.as_deref()).await?;
                summaries.append(&mut folders);
            }
            Err((mut partial, error)) => {
                let message = error.localized(options.lang);
                tracing::warn!(mailbox = %mailbox.email, error = %message, "mailbox sync failed");
                store.record_sync(mailbox.id, Some(&message)).await?;
                if error.needs_reconnect() {
                    store.note_reconnect_needed(mailbox.id).await?;
                }
                if partial.is_empty() {
                    partial.push(FolderSummary {
                        shop: mailbox.shop_name.clone(),
                        mailbox: mailbox.email.clone(),
                        ..Default::default()
                    });
                }
                partial.last_mut().expect("not empty").error = Some(message);
                summaries.append(&mut partial);
            }
        }
    }
    Ok(summaries)
}

async fn sync_with_retries(
    store: &Store,
    key: &SealingKey,
    mailbox: &MailboxRow,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<Vec<FolderSummary>, (Vec<FolderSummary>, SyncError)> {
    let mut merged: Vec<FolderSummary> = Vec::new();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let settings = imap_settings(store, mailbox, key, &options.oauth)
                .await
                .map_err(|e| (Vec::new(), e))?;
            let mut client = ImapClient::connect(&settings)
                .await
                .map_err(|e| (Vec::new(), e.into()))?;
            let result = sync_mailbox(&mut client, store, mailbox, options, progress).await;
            if result.is_ok() {
                client.logout().await;
            }
            result
        }
        .await;
        let (folders, error) = match result {
            Ok(folders) => (folders, None),
            Err((folders, error)) => (folders, Some(error)),
        };
        merge_summaries(&mut merged, folders);
        match error {
            None => return Ok(merged),
            Some(error) if error.is_transient() && attempt < options.attempts => {
                let wait = Duration::from_millis(500 * 2u64.pow(attempt - 1));
                tracing::warn!(mailbox = %mailbox.email, error = %error, ?wait, "sync interrupted, resuming from the checkpoint");
                tokio::time::sleep(wait).await;
            }
            Some(error) => return Err((merged, error)),
        }
    }
}

fn merge_summaries(into: &mut Vec<FolderSummary>, from: Vec<FolderSummary>) {
    for summary in from {
        match into.iter_mut().find(|s| s.folder == summary.folder) {
            Some(existing) => {
                existing.filed += summary.filed;
                existing.own_skipped += summary.own_skipped;
                existing.parse_errors += summary.parse_errors;
                existing.error = summary.error;
            }
            None => into.push(summary),
        }
    }
}

/// Syncs every watched folder of `mailbox` over a connected client.
pub async fn sync_mailbox(
    client: &mut ImapClient,
    store: &Store,
    mailbox: &MailboxRow,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<Vec<FolderSummary>, (Vec<FolderSummary>, SyncError)> {
    let shop = match ShopIntake::load(store, mailbox.shop_id).await {
        Ok(shop) => Arc::new(shop),
        Err(e) => return Err((Vec::new(), e.into())),
    };
    let mut summaries = Vec::new();
    for folder in &mailbox.folders {
        let mut summary = FolderSummary {
            shop: mailbox.shop_name.clone(),
            mailbox: mailbox.email.clone(),
            folder: folder.clone(),
            ..Default::default()
        };
        let context = FolderSync {
            store,
            mailbox,
            shop: &shop,
            options,
            progress,
        };
        let result = context.sync_folder(client, folder, &mut summary).await;
        summaries.push(summary);
        if let Err(e) = result {
            return Err((summaries, e));
        }
    }
    Ok(summaries)
}

/// What preparing a shop's mail needs, shared with the parsing thread.
struct ShopIntake {
    /// The shop's own addresses: their mail is never a customer's.
    own_addresses: HashSet<String>,
    triager: Triager,
}

impl ShopIntake {
    async fn load(store: &Store, shop_id: i64) -> Result<ShopIntake, StoreError> {
        Ok(ShopIntake {
            own_addresses: store.own_addresses(shop_id).await?.into_iter().collect(),
            triager: store.shop_triager(shop_id).await?,
        })
    }
}

/// What syncing the folders of one mailbox shares.
struct FolderSync<'a> {
    store: &'a Store,
    mailbox: &'a MailboxRow,
    shop: &'a Arc<ShopIntake>,
    options: &'a SyncOptions,
    progress: &'a dyn Progress,
}

impl FolderSync<'_> {
    async fn sync_folder(
        &self,
        client: &mut ImapClient,
        folder: &str,
        summary: &mut FolderSummary,
    ) -> Result<(), SyncError> {
        let FolderSync {
            store,
            mailbox,
            progress,
            ..
        } = *self;
        let state = client.select(folder).await?;
        let stored = store.checkpoint(mailbox.id, folder).await?;
        let last_uid = match stored {
            Some(cp) if cp.uid_validity == state.uid_validity => cp.last_uid,
            Some(cp) => {
                // The server renumbered the folder: fetch everything again; filing deduplicates.
                tracing::warn!(mailbox = %mailbox.email, folder, old = cp.uid_validity, new = state.uid_validity,
                "UIDVALIDITY changed, full resync");
                0
            }
            None => 0,
        };
        let uids = client.uids_after(last_uid).await?;
        if !uids.is_empty() {
            store
                .record_folder_sync(
                    mailbox.id,
                    folder,
                    state.uid_validity,
                    uids.len() as u64,
                    false,
                )
                .await?;
        }
        if uids.is_empty() {
            if stored.map(|cp| cp.uid_validity) != Some(state.uid_validity) {
                let checkpoint = Checkpoint {
                    uid_validity: state.uid_validity,
                    last_uid,
                };
                store
                    .file_batch(
                        mailbox.shop_id,
                        Some(mailbox.id),
                        mailbox.contact_id,
                        Some(self.options.position(folder, checkpoint)),
                        &[],
                    )
                    .await?;
            }
        } else {
            progress.start(&format!("{} {}", mailbox.email, folder), uids.len() as u64);
            let result = self
                .import_uids(client, folder, state.uid_validity, &uids, summary)
                .await;
            progress.finish();
            result?;
        }
        apply_server_side_options(client, store, mailbox, folder).await?;
        store
            .record_folder_sync(mailbox.id, folder, state.uid_validity, 0, true)
            .await?;
        Ok(())
    }
}

/// Mark-as-read and delete-after-import act on every UID at or below the checkpoint still
/// concerned, so an action interrupted by a crash is completed by the next sync.
async fn apply_server_side_options(
    client: &mut ImapClient,
    store: &Store,
    mailbox: &MailboxRow,
    folder: &str,
) -> Result<(), SyncError> {
    if !(mailbox.mark_as_read || mailbox.delete_after_import) {
        return Ok(());
    }
    let Some(checkpoint) = store.checkpoint(mailbox.id, folder).await? else {
        return Ok(());
    };
    let imported = client
        .uids_up_to(checkpoint.last_uid, !mailbox.delete_after_import)
        .await?;
    if imported.is_empty() {
        return Ok(());
    }
    if mailbox.delete_after_import {
        client.delete(&imported).await?;
    } else {
        client.mark_seen(&imported).await?;
    }
    Ok(())
}

struct FetchedBatch {
    last_uid: u32,
    messages: Vec<FetchedMessage>,
}

impl FolderSync<'_> {
    async fn import_uids(
        &self,
        client: &mut ImapClient,
        folder: &str,
        uid_validity: u32,
        uids: &[u32],
        summary: &mut FolderSummary,
    ) -> Result<(), SyncError> {
        let FolderSync {
            store,
            mailbox,
            shop,
            options,
            progress,
        } = *self;
        let (fetched_tx, mut fetched_rx) = mpsc::channel::<FetchedBatch>(2);
        let (parsed_tx, mut parsed_rx) = mpsc::channel::<PreparedBatch>(2);

        // Parsing is CPU work: it runs on a blocking thread beside the network read.
        let blobs = store.blobs().clone();
        let shop = Arc::clone(shop);
        let parser = tokio::spawn(async move {
            while let Some(batch) = fetched_rx.recv().await {
                let shop = Arc::clone(&shop);
                let (prepared, attachments) = tokio::task::spawn_blocking(move || {
                    prepare_batch(batch.last_uid, batch.messages, &shop)
                })
                .await
                .map_err(|e| SyncError::Worker(e.to_string()))??;
                store_attachments(&blobs, attachments).await?;
                if parsed_tx.send(prepared).await.is_err() {
                    break;
                }
            }
            Ok::<(), SyncError>(())
        });

        let filing = async {
            while let Some(prepared) = parsed_rx.recv().await {
                let checkpoint = Checkpoint {
                    uid_validity,
                    last_uid: prepared.last_uid,
                };
                let filed = store
                    .file_batch(
                        mailbox.shop_id,
                        Some(mailbox.id),
                        mailbox.contact_id,
                        Some(self.options.position(folder, checkpoint)),
                        &prepared.messages,
                    )
                    .await?;
                summary.filed += filed;
                summary.own_skipped += prepared.own_skipped;
                summary.parse_errors += prepared.parse_errors;
                progress.advance(prepared.messages.len() as u64 + prepared.own_skipped);
            }
            Ok::<(), SyncError>(())
        };

        let fetching = async move {
            for chunk in uids.chunks(options.batch_size) {
                let messages = client.fetch(chunk).await?;
                let last_uid = *chunk.last().expect("chunks are never empty");
                if fetched_tx
                    .send(FetchedBatch { last_uid, messages })
                    .await
                    .is_err()
                {
                    break;
                }
            }
            Ok::<(), SyncError>(())
        };

        // Whatever fails first, everything fetched before it is still parsed and committed.
        let (fetch_result, filing_result) = tokio::join!(fetching, filing);
        let parse_result = parser.await.map_err(|e| SyncError::Worker(e.to_string()))?;
        filing_result?;
        parse_result?;
        fetch_result
    }
}

/// A fetched batch made ready to file.
struct PreparedBatch {
    /// The highest UID the batch covers, filed or not.
    last_uid: u32,
    messages: Vec<Incoming>,
    /// Our own mail, dropped.
    own_skipped: u64,
    /// Messages filed raw because their MIME could not be fully read.
    parse_errors: u64,
}

/// Parses a fetched batch and drops our own mail; the attachments' bytes come back beside it,
/// to be put in the blob store before the batch is filed.
fn prepare_batch(
    last_uid: u32,
    messages: Vec<FetchedMessage>,
    shop: &ShopIntake,
) -> Result<(PreparedBatch, Vec<AttachmentBytes>), SyncError> {
    // Parsing and triage are CPU work of about 0.1 ms a message: the batch is split over
    // the machine's cores, and put back in order.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = messages.len().div_ceil(threads).max(1);
    let mut raws: Vec<Vec<u8>> = messages.into_iter().map(|m| m.raw).collect();
    let mut parts: Vec<Vec<Vec<u8>>> = Vec::new();
    while raws.len() > chunk {
        let rest = raws.split_off(chunk);
        parts.push(std::mem::replace(&mut raws, rest));
    }
    parts.push(raws);
    let parsed: Vec<Result<Vec<ParsedIncoming>, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.into_iter()
                        .map(|raw| parse_incoming(raw, &shop.triager))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| StoreError::Invalid("a parsing thread stopped".into()))
            })
            .collect()
    });
    let mut prepared = Vec::new();
    let mut blobs = Vec::new();
    let (mut own_skipped, mut parse_errors) = (0, 0);
    for ParsedIncoming {
        incoming,
        attachments,
    } in parsed
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
    {
        if incoming
            .parsed
            .from_email
            .as_ref()
            .is_some_and(|from| shop.own_addresses.contains(from))
            || is_our_message_id(&incoming)
        {
            own_skipped += 1;
            continue;
        }
        parse_errors += incoming.parsed.parse_error.is_some() as u64;
        prepared.push(incoming);
        blobs.extend(attachments);
    }
    Ok((
        PreparedBatch {
            last_uid,
            messages: prepared,
            own_skipped,
            parse_errors,
        },
        blobs,
    ))
}

/// Prefix of the Message-IDs Guichet gives its own mail.
pub const OWN_MESSAGE_ID_PREFIX: &str = "guichet.";

fn is_our_message_id(incoming: &Incoming) -> bool {
    incoming
        .parsed
        .message_id
        .as_deref()
        .is_some_and(|id| id.starts_with(OWN_MESSAGE_ID_PREFIX))
}

/// Parses raw bytes into something the store can file; attachment bytes go to the blob store.
pub async fn prepare_message(
    raw: Vec<u8>,
    blobs: &crate::store::BlobStore,
    triager: &Triager,
) -> Result<Incoming, StoreError> {
    let parsed = parse_incoming(raw, triager);
    store_attachments(blobs, parsed.attachments).await?;
    Ok(parsed.incoming)
}

/// A message parsed for filing, with the bytes of its attachments still to be stored.
pub struct ParsedIncoming {
    pub incoming: Incoming,
    /// The bytes of `incoming.attachments`, in order.
    pub attachments: Vec<AttachmentBytes>,
}

/// An attachment's bytes and the hash that names them (computed once, while parsing).
pub struct AttachmentBytes {
    pub hash: String,
    pub data: Vec<u8>,
}

/// The CPU part of [`prepare_message`]: parsing, triage, and the attachments' hashes.
pub fn parse_incoming(raw: Vec<u8>, triager: &Triager) -> ParsedIncoming {
    let mut parsed = parse_message(&raw);
    let triage = triager.triage(&parsed.subject, &parsed.new_text);
    let dedup_key = match &parsed.message_id {
        Some(id) if !id.is_empty() => format!("mid:{id}"),
        _ => format!("sha256:{}", crate::store::sha256_hex(&raw)),
    };
    let mut attachments = Vec::with_capacity(parsed.attachments.len());
    let mut bytes = Vec::with_capacity(parsed.attachments.len());
    for attachment in std::mem::take(&mut parsed.attachments) {
        let hash = crate::store::sha256_hex(&attachment.data);
        attachments.push(IncomingAttachment {
            blob_hash: hash.clone(),
            size: attachment.data.len() as i64,
            filename: attachment.filename,
            content_type: attachment.content_type,
            content_id: attachment.content_id,
            inline: attachment.inline,
        });
        bytes.push(AttachmentBytes {
            hash,
            data: attachment.data,
        });
    }
    ParsedIncoming {
        incoming: Incoming {
            dedup_key,
            parsed,
            attachments,
            raw,
            triage: Some(triage),
        },
        attachments: bytes,
    }
}

/// Puts attachment bytes in the blob store, before the messages referencing them are filed.
pub async fn store_attachments(
    blobs: &crate::store::BlobStore,
    attachments: Vec<AttachmentBytes>,
) -> Result<(), StoreError> {
    for AttachmentBytes { hash, data } in attachments {
        blobs.put_hashed(&hash, data).await?;
    }
    Ok(())
}
