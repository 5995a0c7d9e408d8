//! The master key: 256 bits kept apart from the database (a file in the data directory, made
//! on first start, or a file the operator names), under which every secret at rest is sealed:
//! signing keys, and the per-blob keys of stored documents. A database dump or a copy of the
//! blob store alone reveals none of them.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::{Error, Result};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct MasterKey {
    cipher: Arc<XChaCha20Poly1305>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("rng: {e}")))?;
    Ok(b)
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey> {
        if bytes.len() != KEY_LEN {
            return Err(Error::Internal("the master key must be 32 bytes".into()));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(bytes)
            .map_err(|_| Error::Internal("bad master key".into()))?;
        Ok(MasterKey {
            cipher: Arc::new(cipher),
        })
    }

    /// Reads the key file, or creates it (owner-only) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<MasterKey> {
        match std::fs::read(path) {
            Ok(bytes) => MasterKey::from_bytes(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<KEY_LEN>()?;
                write_private(path, &key)
                    .map_err(|e| Error::Internal(format!("cannot write master key: {e}")))?;
                tracing::info!(path = %path.display(), "master key created; back it up apart from the database");
                MasterKey::from_bytes(&key)
            }
            Err(e) => Err(Error::Internal(format!(
                "cannot read master key {}: {e}",
                path.display()
            ))),
        }
    }

    /// Seals a secret; `context` binds it to its place (a key id, a blob key), so a sealed
    /// value moved to another row does not open.
    pub fn seal(&self, secret: &[u8], context: &str) -> Result<String> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut buf = secret.to_vec();
        self.cipher
            .encrypt_in_place(&XNonce::from(nonce_bytes), context.as_bytes(), &mut buf)
            .map_err(|_| Error::Internal("seal failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>> {
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .map_err(|_| Error::Internal("sealed value is not base64".into()))?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(Error::Internal("sealed value too short".into()));
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(nonce);
        let mut buf = body.to_vec();
        self.cipher
            .decrypt_in_place(&XNonce::from(nonce_bytes), context.as_bytes(), &mut buf)
            .map_err(|_| {
                Error::Internal("sealed value does not open under this master key".into())
            })?;
        Ok(buf)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_in_its_context_and_under_its_key() {
        let k = MasterKey::from_bytes(&[7u8; 32]).unwrap();
        let sealed = k.seal(b"secret", "blob:1").unwrap();
        assert_eq!(k.open(&sealed, "blob:1").unwrap(), b"secret");
        assert!(k.open(&sealed, "blob:2").is_err());
        let other = MasterKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(other.open(&sealed, "blob:1").is_err());
    }
}
