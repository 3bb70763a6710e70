//! Attachments and inline images as content-addressed files: one copy per identical content.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{Result, StoreError};

/// A blob reused after its last user was filed is not swept for this long: an import may be
/// about to file a message that references it.
pub const BLOB_SWEEP_GRACE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl BlobStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn path_of(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }

    /// Writes `data` under its hash unless that content is already stored; returns the hash.
    /// The file appears whole or not at all (written aside, then renamed). A stored file that
    /// is reused is touched, so a sweep leaves it alone for [`BLOB_SWEEP_GRACE`]; one a sweep
    /// took meanwhile is written again.
    pub fn put(&self, data: &[u8]) -> Result<String> {
        let hash = sha256_hex(data);
        let path = self.path_of(&hash);
        if touch(&path) {
            return Ok(hash);
        }
        let dir = path.parent().expect("blob path has a parent");
        let io_error = |source| StoreError::Blob {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        let mut temp = tempfile_in(dir).map_err(io_error)?;
        temp.1.write_all(data).map_err(io_error)?;
        std::fs::rename(&temp.0, &path).map_err(io_error)?;
        Ok(hash)
    }

    pub fn get(&self, hash: &str) -> Result<Vec<u8>> {
        let path = self.path_of(hash);
        std::fs::read(&path).map_err(|source| StoreError::Blob { path, source })
    }

    /// Removes a blob nothing references any more, whose last user was filed at
    /// `last_used_ms`; a file already gone is fine. A blob touched after that (an import
    /// reusing the content is about to reference it) stays, for [`BLOB_SWEEP_GRACE`] at most.
    /// The file is first moved aside, then its time is read: a `put` touching it before the
    /// move is seen here and the file goes back, a `put` after the move finds it gone and
    /// writes it again.
    pub fn sweep(&self, hash: &str, last_used_ms: i64) -> Result<()> {
        let path = self.path_of(hash);
        let aside = path.with_extension(format!("sweep-{}", rand::random::<u64>()));
        let io_error = |source| StoreError::Blob {
            path: path.clone(),
            source,
        };
        match std::fs::rename(&path, &aside) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other.map_err(io_error)?,
        }
        let modified = std::fs::metadata(&aside)
            .and_then(|m| m.modified())
            .map_err(io_error)?;
        let modified_ms = modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let reused = modified_ms > last_used_ms
            && SystemTime::now()
                .duration_since(modified)
                .map_or(true, |age| age < BLOB_SWEEP_GRACE);
        if reused {
            std::fs::rename(&aside, &path).map_err(io_error)
        } else {
            std::fs::remove_file(&aside).map_err(io_error)
        }
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
