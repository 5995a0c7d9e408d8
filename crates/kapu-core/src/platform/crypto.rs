//! Random tokens, digests, and password hashing on a bounded pool.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// 256-bit random token, URL-safe base64 without padding.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("rng: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Tokens are stored only as their digest, so a database leak yields no usable session or link.
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Constant-time comparison for secrets of equal public length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn argon2id() -> Result<Argon2<'static>> {
    // OWASP: m=19 MiB, t=2, p=1.
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| Error::Internal(format!("argon2: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes and verifies passwords on at most `workers` blocking threads at once, so that a
/// flood of logins queues here instead of starving the async runtime.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when a login names no account, so both paths cost the same.
    dummy: Arc<std::sync::OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(workers: usize) -> Self {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            dummy: Arc::new(std::sync::OnceLock::new()),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("hasher closed".into()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| Error::Internal(format!("hash task: {e}")))?
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await
    }

    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        self.run(move || Ok(verify_now(&password, &phc))).await
    }

    /// Burns the same time as a real verification and always fails.
    pub async fn verify_dummy(&self, password: &str) -> Result<bool> {
        let dummy = match self.dummy.get() {
            Some(d) => d.clone(),
            None => {
                let h = self.hash("dummy-password-for-timing").await?;
                self.dummy.get_or_init(|| h).clone()
            }
        };
        self.verify(password, &dummy).await.map(|_| false)
    }
}

pub fn hash_now(password: &str) -> Result<String> {
    argon2id()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

pub fn verify_now(password: &str, phc: &str) -> bool {
    match argon2id() {
        Ok(a) => a.verify_password(password.as_bytes(), phc).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let h = hash_now("Jelszo123").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_now("Jelszo123", &h));
        assert!(!verify_now("Jelszo124", &h));
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token().unwrap());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
    }
}
