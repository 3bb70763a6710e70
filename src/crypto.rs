//! Sealing secrets at rest (mailbox passwords, tokens) with XChaCha20-Poly1305.
//!
//! The 32-byte key comes from `GUICHET_SECRET_KEY` (64 hex digits) or a key file; by default a
//! random key is created in the data dir (mode 0600) on first use. Losing the key means entering
//! the mailbox passwords again; nothing else depends on it.

use std::fmt;
use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 64 hexadecimal digits (32 bytes)")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a sealed secret could not be opened: wrong key or damaged data")]
    Unseal,
}

/// The key that seals secrets. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SealingKey(XChaCha20Poly1305);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self(XChaCha20Poly1305::new(&key.into())))
    }

    /// Reads the key file, creating it with a fresh random key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let key_file_error = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(key_file_error)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(key_file_error)?;
                file.write_all(hex::encode(key).as_bytes())
                    .map_err(key_file_error)?;
                file.sync_all().map_err(key_file_error)?;
                Self::from_hex(&hex::encode(key))
            }
            Err(e) => Err(key_file_error(e)),
        }
    }

    /// Seals `secret`; `purpose` binds the ciphertext to its use so it cannot be swapped.
    pub fn seal(&self, secret: &SecretString, purpose: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.expose_secret().as_bytes(),
            aad: purpose.as_bytes(),
        };
        let ciphertext = self
            .0
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("XChaCha20-Poly1305 encryption cannot fail on in-memory data");
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8], purpose: &str) -> Result<SecretString, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_VERSION {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Unseal)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Unseal)
    }

    /// A 32-byte key of its own for `purpose` (signing form fields...), derived from this key:
    /// the XChaCha20 keystream under a nonce taken from the purpose, so a derived key tells
    /// nothing of the sealing key nor of another purpose's key.
    pub fn derive_key(&self, purpose: &str) -> [u8; 32] {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("guichet derived key: {purpose}").as_bytes());
        let nonce = XNonce::from_slice(&digest[..NONCE_LEN]);
        let stream = self
            .0
            .encrypt(nonce, [0u8; 32].as_slice())
            .expect("XChaCha20-Poly1305 encryption cannot fail on in-memory data");
        let mut key = [0u8; 32];
        key.copy_from_slice(&stream[..32]);
        key
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in a time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SealingKey {
        SealingKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn hmac_matches_rfc_4231_and_derived_keys_differ() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(key().derive_key("a"), key().derive_key("a"));
        assert_ne!(key().derive_key("a"), key().derive_key("b"));
        let other = SealingKey::from_hex(&"cd".repeat(32)).unwrap();
        assert_ne!(key().derive_key("a"), other.derive_key("a"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn round_trip_and_no_plaintext_in_output() {
        let secret = SecretString::from("hunter2-très-secret");
        let sealed = key().seal(&secret, "mailbox:1");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        let opened = key().open(&sealed, "mailbox:1").unwrap();
        assert_eq!(opened.expose_secret(), "hunter2-très-secret");
    }

    #[test]
    fn wrong_purpose_or_key_or_tampering_fails() {
        let sealed = key().seal(&SecretString::from("pw"), "mailbox:1");
        assert!(key().open(&sealed, "mailbox:2").is_err());
        let other = SealingKey::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.open(&sealed, "mailbox:1").is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key().open(&tampered, "mailbox:1").is_err());
        assert!(key().open(&[], "mailbox:1").is_err());
    }

    #[test]
    fn bad_keys_are_refused_and_debug_hides_key() {
        assert!(SealingKey::from_hex("abc").is_err());
        assert!(SealingKey::from_hex(&"zz".repeat(32)).is_err());
        assert_eq!(format!("{:?}", key()), "SealingKey(..)");
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let sealed = SealingKey::load_or_create(&path)
            .unwrap()
            .seal(&SecretString::from("x"), "p");
        let again = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, "p").unwrap().expose_secret(), "x");
    }
}
