//! Kapu's RSA signing key (RS256), for services whose registration says they know only
//! RS256. Made on first use, sealed under the master key like the Ed25519 keys, and
//! published in the same JWKS; signing goes through `jsonwebtoken`.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use base64::Engine as _;
use jsonwebtoken::EncodingKey;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;

use super::db::Db;
use super::keys::Jwk;
use super::master_key::MasterKey;
use crate::error::{Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const BITS: usize = 2048;
/// As for the Ed25519 key: another node's rotation is seen within this time.
const RELOAD_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

pub(crate) type RsaCache = Arc<RwLock<Option<(String, EncodingKey, Instant)>>>;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("rsa key: {e}"))
}

/// The published form of a stored public key (`n.e`, base64url).
pub(crate) fn jwk(kid: &str, public: &str) -> Result<Jwk> {
    let (n, e) = public
        .split_once('.')
        .ok_or_else(|| internal("bad public key"))?;
    Ok(Jwk {
        kty: "RSA".into(),
        crv: String::new(),
        x: String::new(),
        n: n.into(),
        e: e.into(),
        kid: kid.into(),
        alg: "RS256".into(),
        use_: "sig".into(),
        parsed: None,
    })
}

/// Makes a new RSA key and retires the one before.
pub(crate) async fn rotate(db: &Db, master: &MasterKey, now: i64) -> Result<String> {
    let key = tokio::task::spawn_blocking(|| {
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, BITS).map_err(internal)
    })
    .await
    .map_err(internal)??;
    let der = key.to_pkcs1_der().map_err(internal)?;
    let kid = format!("rs256-{}", uuid::Uuid::now_v7().simple());
    let public = format!(
        "{}.{}",
        B64.encode(key.n().to_bytes_be()),
        B64.encode(key.e().to_bytes_be())
    );
    let sealed = master.seal(der.as_bytes(), &kid)?;
    super::keys::store_key(db, "RS256", &kid, &public, &sealed, now).await?;
    tracing::info!(kid = %kid, "RSA signing key created");
    Ok(kid)
}

/// Whether an RSA key was ever made (a rotation then makes a new one too).
pub(crate) async fn exists(db: &Db) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE alg = 'RS256'")
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// The active RSA key, made on first use.
pub(crate) async fn active(
    db: &Db,
    master: &MasterKey,
    cache: &RsaCache,
    now: i64,
) -> Result<(String, EncodingKey)> {
    if let Ok(guard) = cache.read()
        && let Some((kid, key, at)) = guard.as_ref()
        && at.elapsed() < RELOAD_AFTER
    {
        return Ok((kid.clone(), key.clone()));
    }
    for _ in 0..2 {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT kid, sealed_secret FROM signing_keys WHERE retired_at IS NULL AND alg = 'RS256' \
             ORDER BY created_at DESC, kid DESC LIMIT 1",
        )
        .fetch_optional(db.pool())
        .await?;
        if let Some((kid, sealed)) = row {
            let der = master.open(&sealed, &kid)?;
            let key = EncodingKey::from_rsa_der(&der);
            if let Ok(mut guard) = cache.write() {
                *guard = Some((kid.clone(), key.clone(), Instant::now()));
            }
            return Ok((kid, key));
        }
        rotate(db, master, now).await?;
    }
    Err(internal("no RSA key"))
}
