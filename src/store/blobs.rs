//! Attachments and inline images as content-addressed files: one copy per identical content.

use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::{Result, StoreError};

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
    /// The file appears whole or not at all (written aside, then renamed).
    pub fn put(&self, data: &[u8]) -> Result<String> {
        let hash = sha256_hex(data);
        let path = self.path_of(&hash);
        if path.exists() {
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

    /// Removes a blob file; a file already gone is fine.
    pub fn remove(&self, hash: &str) -> Result<()> {
        let path = self.path_of(hash);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::Blob { path, source: e })
            }
            _ => Ok(()),
        }
    }
}

fn tempfile_in(dir: &std::path::Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>());
    let path = dir.join(name);
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}
