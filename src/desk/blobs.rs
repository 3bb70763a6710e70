//! Where attachments are kept: the configured blob store opened (its sealed secret too), a
//! secret sealed for the configuration, and every referenced blob copied to another store.

use futures::StreamExt;
use secrecy::SecretString;

use crate::config::BlobsConfig;
use crate::crypto::SealingKey;
use crate::intake::sync::Progress;
use crate::store::{BlobLocation, BlobStore, StoreError, sha256_hex};

use super::{Desk, DeskError, DeskResult};

/// What the sealed secret access key of `[blobs]` is bound to.
pub const BLOB_SECRET_PURPOSE: &str = "blobs.secret_access_key";

/// Blobs copied at once by a migration: enough to hide an object store's round trips.
const MIGRATE_CONCURRENCY: usize = 8;

/// The store at `location`, reached with the configuration's S3 settings; a sealed secret is
/// opened with `key`.
pub fn open_blob_store(
    config: &BlobsConfig,
    location: &BlobLocation,
    key: &SealingKey,
) -> DeskResult<BlobStore> {
    let mut s3 = config.s3.clone();
    if let Some(sealed) = &config.secret_sealed {
        s3.secret_access_key = Some(key.open(sealed, BLOB_SECRET_PURPOSE)?);
    }
    Ok(BlobStore::open(location, &s3)?)
}

/// What a migration did; `referenced` is the sum of the other counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlobMigration {
    pub from: String,
    pub to: String,
    /// Blobs the database references.
    pub referenced: u64,
    /// Copied by this run, their hash checked.
    pub copied: u64,
    /// Already in the target (an earlier run, or the same content): left as they are.
    pub already_there: u64,
    /// Referenced but not in the source: nothing to copy (their attachments read as missing).
    pub missing: Vec<String>,
    /// In the source with other content than their name says: not copied.
    pub corrupt: Vec<String>,
}

/// What happened to one blob.
enum BlobCopy {
    Copied,
    AlreadyThere,
    Missing(String),
    Corrupt(String),
}

impl Desk {
    /// The secret access key sealed with this desk's key, for `blobs.secret_access_key_sealed`.
    pub fn seal_blob_secret(&self, secret: &SecretString) -> String {
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            self.key.seal(secret, BLOB_SECRET_PURPOSE),
        )
    }

    /// Copies every blob the database references from `from` (default: the configured store)
    /// to `to`, both URLs reached with the configuration's S3 settings. Resumable: a blob the
    /// target has is skipped, and a blob is written whole or not at all, so a run stopped
    /// anywhere is finished by the next. A store that fails stops the run with its error.
    pub async fn migrate_blobs(
        &self,
        from: Option<&str>,
        to: &str,
        progress: &dyn Progress,
    ) -> DeskResult<BlobMigration> {
        let location = |url: &str| BlobLocation::parse(url).map_err(DeskError::BlobUrl);
        let source = match from {
            Some(url) => open_blob_store(&self.config.blobs, &location(url)?, &self.key)?,
            None => self.store.blobs().clone(),
        };
        let target = open_blob_store(&self.config.blobs, &location(to)?, &self.key)?;
        if source.location() == target.location() {
            return Err(DeskError::BlobUrl(format!(
                "{} is both the source and the target",
                target.location()
            )));
        }
        let hashes = self.store.referenced_blobs().await?;
        let mut report = BlobMigration {
            from: source.location().to_string(),
            to: target.location().to_string(),
            referenced: hashes.len() as u64,
            ..Default::default()
        };
        progress.start(&report.to, report.referenced);
        let mut copies = futures::stream::iter(hashes)
            .map(|hash| copy_blob(&source, &target, hash))
            .buffer_unordered(MIGRATE_CONCURRENCY);
        while let Some(outcome) = copies.next().await {
            match outcome? {
                BlobCopy::Copied => report.copied += 1,
                BlobCopy::AlreadyThere => report.already_there += 1,
                BlobCopy::Missing(hash) => report.missing.push(hash),
                BlobCopy::Corrupt(hash) => report.corrupt.push(hash),
            }
            progress.advance(1);
        }
        progress.finish();
        report.missing.sort();
        report.corrupt.sort();
        tracing::info!(
            from = %report.from,
            to = %report.to,
            copied = report.copied,
            already_there = report.already_there,
            missing = report.missing.len(),
            corrupt = report.corrupt.len(),
            "blobs migrated"
        );
        Ok(report)
    }
}

async fn copy_blob(source: &BlobStore, target: &BlobStore, hash: String) -> DeskResult<BlobCopy> {
    if target.contains(&hash).await? {
        return Ok(BlobCopy::AlreadyThere);
    }
    let data = match source.get(&hash).await {
        Ok(data) => data,
        Err(StoreError::NotFound(_)) => return Ok(BlobCopy::Missing(hash)),
        Err(e) => return Err(e.into()),
    };
    if sha256_hex(&data) != hash {
        tracing::warn!(blob = %hash, "blob content does not match its name: not copied");
        return Ok(BlobCopy::Corrupt(hash));
    }
    target.put(&data).await?;
    Ok(BlobCopy::Copied)
}
