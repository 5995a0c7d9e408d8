//! Random tokens, digests, and password hashing on a bounded pool.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine as _;
use sha2::{Digest, Sha256};

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

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on a fixed set of dedicated threads, so that a flood of
/// logins queues here instead of starving the async runtime. Fixed threads also keep
/// memory flat: each hash takes a 19 MiB working area. A thread keeps its area while jobs
/// wait, so a flood of logins allocates nothing, and gives it back when none waits, so an
/// idle server does not hold 19 MiB per thread.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: tokio::sync::mpsc::Sender<Job>,
    /// Jobs sent and not yet taken by a thread.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    /// Verified against when a login names no account, so both paths cost the same.
    dummy: Arc<std::sync::OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(workers: usize) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel::<Job>(4096);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let waiting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..workers.max(1) {
            let (rx, waiting) = (rx.clone(), waiting.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("kapu-hash-{i}"))
                .spawn(move || {
                    loop {
                        // Hold the lock only while taking a job, not while running it.
                        let job = match rx.lock() {
                            Ok(mut guard) => guard.blocking_recv(),
                            Err(_) => None,
                        };
                        match job {
                            Some(job) => {
                                waiting.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                                job();
                            }
                            None => break,
                        }
                        if waiting.load(std::sync::atomic::Ordering::Acquire) == 0 {
                            release_working_area();
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        PasswordHasher {
            jobs: tx,
            waiting,
            dummy: Arc::new(std::sync::OnceLock::new()),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = std::time::Instant::now();
        self.waiting
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.jobs
            .send(Box::new(move || {
                metrics::histogram!("kapu_password_hash_queue_wait_seconds")
                    .record(queued.elapsed().as_secs_f64());
                let _ = done.send(job());
            }))
            .await
            .map_err(|_| {
                self.waiting
                    .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                Error::Internal("hasher closed".into())
            })?;
        result
            .await
            .map_err(|_| Error::Internal("hash job lost".into()))?
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

/// OWASP's Argon2id parameters: m=19 MiB, t=2, p=1, 32-byte output, 16-byte salt.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUT_LEN: usize = 32;
/// Hashes with stronger stored parameters still verify; absurd ones are refused.
const M_COST_MAX: u32 = 1 << 20;

thread_local! {
    /// A hashing thread's working area, kept from one job to the next while jobs wait.
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives the thread's working area back to the allocator (and, the binary's allocator being
/// tuned to map large blocks on their own, to the system).
fn release_working_area() {
    BLOCKS.with(|cell| drop(std::mem::take(&mut *cell.borrow_mut())));
}

fn argon2_raw(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32, out: &mut [u8]) -> Result<()> {
    let params = Params::new(m, t, p, Some(out.len()))
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?;
    let needed = params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
}

/// A PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (unpadded standard base64).
pub fn hash_now(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("rng: {e}")))?;
    let mut out = [0u8; OUT_LEN];
    argon2_raw(password.as_bytes(), &salt, M_COST, T_COST, P_COST, &mut out)?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Ok(format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        b64.encode(salt),
        b64.encode(out)
    ))
}

struct Phc {
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(phc: &str) -> Option<Phc> {
    let mut parts = phc.split('$');
    let (Some(""), Some("argon2id"), Some("v=19"), Some(params), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let phc = Phc {
        m: m?,
        t: t?,
        p: p?,
        salt: b64.decode(salt).ok()?,
        hash: b64.decode(hash).ok()?,
    };
    (phc.m <= M_COST_MAX && phc.t <= 16 && phc.p <= 16 && (16..=64).contains(&phc.hash.len()))
        .then_some(phc)
}

pub fn verify_now(password: &str, phc: &str) -> bool {
    let Some(stored) = parse_phc(phc) else {
        return false;
    };
    let mut out = vec![0u8; stored.hash.len()];
    argon2_raw(
        password.as_bytes(),
        &stored.salt,
        stored.m,
        stored.t,
        stored.p,
        &mut out,
    )
    .is_ok()
        && constant_time_eq(&out, &stored.hash)
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
    fn hashes_from_the_reference_encoder_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let reference = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(M_COST, T_COST, P_COST, None).unwrap(),
        )
        .hash_password(b"Jelszo123")
        .unwrap()
        .to_string();
        assert!(verify_now("Jelszo123", &reference));
        assert!(!verify_now("Jelszo124", &reference));
        assert!(!verify_now(
            "Jelszo123",
            "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA"
        ));
        assert!(!verify_now("Jelszo123", "not a hash"));
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
