//! Attachments and inline images as content-addressed blobs: one copy per identical content,
//! named by its SHA-256 under `ab/abcdef…`, in a local directory (default) or an S3-compatible
//! bucket (AWS S3, MinIO, Garage, Ceph, Scaleway, OVH...) through the `object_store` crate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{Result, StoreError};

/// A blob reused after its last user was filed is not swept for this long: an import may be
/// about to file a message that references it.
pub const BLOB_SWEEP_GRACE: Duration = Duration::from_secs(3600);

/// How long one object-store request may take, retries included, when nothing is configured.
pub const DEFAULT_BLOB_TIMEOUT: Duration = Duration::from_secs(30);

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Where blobs live, from the `[blobs] url`: `file:///path` or `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl BlobLocation {
    /// Reads a blob store URL; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<BlobLocation, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "`{text}` needs an absolute path (file:///var/lib/guichet/blobs)"
                ));
            }
            return Ok(BlobLocation::Local(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{text}` names no bucket (s3://bucket/prefix)"));
            }
            return Ok(BlobLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        Err(format!(
            "`{text}` is neither file:///path nor s3://bucket/prefix"
        ))
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobLocation::Local(path) => write!(f, "file://{}", path.display()),
            BlobLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            BlobLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// How to reach an S3-compatible server: its endpoint (None: AWS), region and credentials.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `https://s3.fr-par.scw.cloud`, `http://127.0.0.1:9000`...; None: AWS from the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Plain HTTP to the endpoint (a server on loopback or a private network).
    pub allow_http: bool,
    /// The longest one request may take, retries included.
    pub timeout: Duration,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            timeout: DEFAULT_BLOB_TIMEOUT,
        }
    }
}

/// Why the object store did not do what was asked. Never carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectFailure {
    #[error("the server refused the credentials (access key id or secret access key)")]
    Unauthorized,
    #[error("the server did not answer within {} s", .0.as_secs_f32())]
    TimedOut(Duration),
    #[error("no blob {0}")]
    NotFound(String),
    #[error("{0}")]
    Failed(String),
}

impl ObjectFailure {
    /// The failure for a person, in their language: what to check, and that nothing was lost.
    pub fn localized(&self, location: &str, lang: crate::model::UiLang) -> String {
        use crate::t;
        match self {
            ObjectFailure::Unauthorized => t!(lang, "blobs.unauthorized", location = location),
            ObjectFailure::TimedOut(bound) => t!(
                lang,
                "blobs.timed_out",
                location = location,
                seconds = bound.as_secs_f32()
            ),
            ObjectFailure::NotFound(name) => {
                t!(lang, "blobs.not_found", location = location, name = name)
            }
            ObjectFailure::Failed(reason) => {
                t!(lang, "blobs.failed", location = location, reason = reason)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(PathBuf),
    Object(Arc<ObjectBlobs>),
}

#[derive(Debug)]
struct ObjectBlobs {
    store: object_store::aws::AmazonS3,
    prefix: String,
    location: BlobLocation,
    timeout: Duration,
    /// Scrubbed from any error text, whatever a server or library puts in it.
    secret: Option<SecretString>,
}

impl BlobStore {
    /// Blobs as files under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self {
            backend: Backend::Local(root),
        }
    }

    /// The store at `location`; `s3` says how to reach an S3 one. Nothing is contacted yet.
    pub fn open(location: &BlobLocation, s3: &S3Settings) -> Result<Self> {
        let (bucket, prefix) = match location {
            BlobLocation::Local(root) => return Ok(Self::new(root.clone())),
            BlobLocation::S3 { bucket, prefix } => (bucket, prefix),
        };
        // Each attempt is bounded, and so are the retries: a hung server fails in `timeout`.
        let attempt = (s3.timeout / 2).max(Duration::from_millis(500));
        let client = object_store::ClientOptions::new()
            .with_allow_http(s3.allow_http)
            .with_timeout(attempt)
            .with_connect_timeout(attempt);
        let retry = object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: s3.timeout,
            backoff: object_store::BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
        };
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&s3.region)
            .with_allow_http(s3.allow_http)
            .with_client_options(client)
            .with_retry(retry);
        if let Some(endpoint) = &s3.endpoint {
            // Path-style requests (`endpoint/bucket/key`): what every S3-compatible server takes.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let Some(id) = &s3.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &s3.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        let objects = ObjectBlobs {
            secret: s3.secret_access_key.clone(),
            store: builder
                .build()
                .map_err(|e| object_error(location, None, &e))?,
            prefix: prefix.clone(),
            location: location.clone(),
            timeout: s3.timeout,
        };
        Ok(Self {
            backend: Backend::Object(Arc::new(objects)),
        })
    }

    /// The file of a blob in a local directory store; None in an object store.
    pub fn path_of(&self, hash: &str) -> Option<PathBuf> {
        match &self.backend {
            Backend::Local(root) => Some(local_path(root, hash)),
            Backend::Object(_) => None,
        }
    }

    /// Where the blobs are, for messages (never with credentials).
    pub fn location(&self) -> BlobLocation {
        match &self.backend {
            Backend::Local(root) => BlobLocation::Local(root.clone()),
            Backend::Object(objects) => objects.location.clone(),
        }
    }

    /// Writes `data` under its hash unless that content is already stored; returns the hash.
    /// The blob appears whole or not at all. A stored blob that is reused is marked as just
    /// used (a local file is touched, an object written again), so a sweep leaves it alone
    /// for [`BLOB_SWEEP_GRACE`]; one a sweep took meanwhile is written again.
    pub async fn put(&self, data: &[u8]) -> Result<String> {
        let hash = sha256_hex(data);
        self.put_hashed(&hash, data.to_vec()).await?;
        Ok(hash)
    }

    /// [`BlobStore::put`] for bytes whose SHA-256 the caller already computed (intake hashes
    /// attachments while parsing): they are not hashed again, and not copied.
    pub(crate) async fn put_hashed(&self, hash: &str, data: Vec<u8>) -> Result<()> {
        match &self.backend {
            Backend::Local(root) => {
                let path = local_path(root, hash);
                blocking(move || put_file(&path, &data)).await
            }
            Backend::Object(objects) => objects.put(hash, data).await,
        }
    }

    /// The blob's bytes; [`StoreError::NotFound`] when there is no such blob.
    pub async fn get(&self, hash: &str) -> Result<Vec<u8>> {
        match &self.backend {
            Backend::Local(root) => {
                let path = local_path(root, hash);
                blocking(move || match std::fs::read(&path) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        Err(StoreError::NotFound(format!("blob {}", file_name(&path))))
                    }
                    other => other.map_err(|source| StoreError::Blob { path, source }),
                })
                .await
            }
            Backend::Object(objects) => objects.get(hash).await,
        }
    }

    /// Whether the blob is stored.
    pub async fn contains(&self, hash: &str) -> Result<bool> {
        match &self.backend {
            Backend::Local(root) => {
                let path = local_path(root, hash);
                Ok(blocking(move || Ok(path.exists())).await?)
            }
            Backend::Object(objects) => Ok(objects.modified(hash).await?.is_some()),
        }
    }

    /// Removes a blob nothing references any more, whose last user was filed at
    /// `last_used_ms`; a blob already gone is fine. A blob marked as used after that (an
    /// import reusing the content is about to reference it) stays, for [`BLOB_SWEEP_GRACE`]
    /// at most.
    pub async fn sweep(&self, hash: &str, last_used_ms: i64) -> Result<()> {
        match &self.backend {
            Backend::Local(root) => {
                let path = local_path(root, hash);
                blocking(move || sweep_file(&path, last_used_ms)).await
            }
            Backend::Object(objects) => objects.sweep(hash, last_used_ms).await,
        }
    }
}

/// True when a blob last written at `modified` is reused: written after its last user was
/// filed, and recently enough for an import to be about to reference it.
fn reused_since(modified: SystemTime, last_used_ms: i64) -> bool {
    let modified_ms = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    modified_ms > last_used_ms
        && SystemTime::now()
            .duration_since(modified)
            .map_or(true, |age| age < BLOB_SWEEP_GRACE)
}

fn local_path(root: &Path, hash: &str) -> PathBuf {
    root.join(hash.get(..2).unwrap_or("__")).join(hash)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Invalid(format!("a blob task stopped: {e}")))?
}

/// The file appears whole or not at all (written aside, then renamed). A stored file that is
/// reused is touched instead.
fn put_file(path: &Path, data: &[u8]) -> Result<()> {
    if touch(path) {
        return Ok(());
    }
    let io_error = |source| StoreError::Blob {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().expect("blob path has a parent");
    std::fs::create_dir_all(dir).map_err(io_error)?;
    let mut temp = tempfile_in(dir).map_err(io_error)?;
    temp.1.write_all(data).map_err(io_error)?;
    std::fs::rename(&temp.0, path).map_err(io_error)
}

/// The file is first moved aside, then its time is read: a `put` touching it before the
/// move is seen here and the file goes back, a `put` after the move finds it gone and writes
/// it again.
fn sweep_file(path: &Path, last_used_ms: i64) -> Result<()> {
    let aside = path.with_extension(format!("sweep-{}", rand::random::<u64>()));
    let io_error = |source| StoreError::Blob {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::rename(path, &aside) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.map_err(io_error)?,
    }
    let modified = std::fs::metadata(&aside)
        .and_then(|m| m.modified())
        .map_err(io_error)?;
    if reused_since(modified, last_used_ms) {
        std::fs::rename(&aside, path).map_err(io_error)
    } else {
        std::fs::remove_file(&aside).map_err(io_error)
    }
}

/// Marks a stored blob as just used; false when it is not there (any more). The path is
/// checked again after the touch: a sweep that moved the file aside before it is seen here.
fn touch(path: &Path) -> bool {
    let touched = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(SystemTime::now()));
    touched.is_ok() && path.exists()
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>());
    let path = dir.join(name);
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

impl ObjectBlobs {
    fn key(&self, hash: &str) -> ObjectPath {
        let name = format!("{}/{hash}", hash.get(..2).unwrap_or("__"));
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    /// Runs one request within the timeout; its failure made into a [`StoreError`].
    async fn bounded<T>(
        &self,
        hash: &str,
        request: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(object_error(&self.location, self.secret.as_ref(), &e)),
            Err(_) => {
                tracing::warn!(blob = hash, location = %self.location, "object store timed out");
                Err(StoreError::ObjectStore {
                    location: self.location.to_string(),
                    failure: ObjectFailure::TimedOut(self.timeout),
                })
            }
        }
    }

    /// A PUT replaces an object atomically, so writing again is also how a reused blob is
    /// marked as just used (its last-modified time moves).
    async fn put(&self, hash: &str, data: Vec<u8>) -> Result<()> {
        let payload = object_store::PutPayload::from(data);
        self.bounded(hash, self.store.put(&self.key(hash), payload))
            .await
            .map(|_| ())
    }

    async fn get(&self, hash: &str) -> Result<Vec<u8>> {
        let key = self.key(hash);
        let read = async {
            let found = self.store.get(&key).await?;
            found.bytes().await
        };
        match self.bounded(hash, read).await {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(StoreError::ObjectStore {
                failure: ObjectFailure::NotFound(_),
                ..
            }) => Err(StoreError::NotFound(format!("blob {hash}"))),
            Err(e) => Err(e),
        }
    }

    /// When the object was last written; None when there is none.
    async fn modified(&self, hash: &str) -> Result<Option<SystemTime>> {
        match self.bounded(hash, self.store.head(&self.key(hash))).await {
            Ok(meta) => Ok(Some(SystemTime::from(meta.last_modified))),
            Err(StoreError::ObjectStore {
                failure: ObjectFailure::NotFound(_),
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The same rule as a local sweep, read from the object's last-modified time. S3 has no
    /// rename to move the object aside: a reuse written between the HEAD and the DELETE (a
    /// window of one round trip) is lost, and the import that wrote it files a message whose
    /// attachment reads as missing.
    async fn sweep(&self, hash: &str, last_used_ms: i64) -> Result<()> {
        let Some(modified) = self.modified(hash).await? else {
            return Ok(());
        };
        if reused_since(modified, last_used_ms) {
            return Ok(());
        }
        match self.bounded(hash, self.store.delete(&self.key(hash))).await {
            Err(StoreError::ObjectStore {
                failure: ObjectFailure::NotFound(_),
                ..
            }) => Ok(()),
            other => other,
        }
    }
}

/// An object-store error as the store reports it: what kind of failure, never a credential.
fn object_error(
    location: &BlobLocation,
    secret: Option<&SecretString>,
    error: &object_store::Error,
) -> StoreError {
    let failure = match error {
        object_store::Error::NotFound { path, .. } => ObjectFailure::NotFound(path.clone()),
        object_store::Error::Unauthenticated { .. }
        | object_store::Error::PermissionDenied { .. } => ObjectFailure::Unauthorized,
        other => {
            let mut text = error_chain(other);
            if let Some(secret) = secret.map(ExposeSecret::expose_secret)
                && !secret.is_empty()
            {
                text = text.replace(secret, "***");
            }
            if text.contains("SignatureDoesNotMatch")
                || text.contains("InvalidAccessKeyId")
                || text.contains("403 Forbidden")
            {
                ObjectFailure::Unauthorized
            } else {
                ObjectFailure::Failed(text)
            }
        }
    };
    StoreError::ObjectStore {
        location: location.to_string(),
        failure,
    }
}

/// The error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_read_from_urls() {
        assert_eq!(
            BlobLocation::parse("file:///var/lib/guichet/blobs"),
            Ok(BlobLocation::Local("/var/lib/guichet/blobs".into()))
        );
        assert_eq!(
            BlobLocation::parse("s3://attachments/shop-a/"),
            Ok(BlobLocation::S3 {
                bucket: "attachments".into(),
                prefix: "shop-a".into()
            })
        );
        assert_eq!(
            BlobLocation::parse("s3://attachments").unwrap().to_string(),
            "s3://attachments"
        );
        assert!(BlobLocation::parse("s3:///prefix").is_err());
        assert!(BlobLocation::parse("file://relative").is_err());
        assert!(BlobLocation::parse("ftp://host/x").is_err());
    }

    #[test]
    fn a_blob_written_after_its_last_use_is_spared_for_the_grace_only() {
        let now = SystemTime::now();
        let now_ms = super::super::now_ms();
        assert!(reused_since(now, now_ms - 1000));
        assert!(!reused_since(now - Duration::from_secs(2), now_ms - 1000));
        let old = now - BLOB_SWEEP_GRACE - Duration::from_secs(1);
        assert!(!reused_since(old, 0));
    }
}
