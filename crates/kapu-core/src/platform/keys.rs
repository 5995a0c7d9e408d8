//! The key store: Kapu's signing keys (Ed25519), sealed under the master key, one active at a
//! time, every one ever used published as a JWKS so that anything Kapu signed stays verifiable
//! offline. Receipts sign through it now; OpenID Connect tokens will too.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::Serialize;
use sqlx::Row;

use super::db::Db;
use super::master_key::{MasterKey, random_bytes};
use crate::error::{Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One public key: Ed25519 as RFC 8037 describes it (`OKP`), or RSA (`n`, `e`) for the
/// services that know only RS256.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crv: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub n: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub e: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    /// The Ed25519 key decoded once, for verifying without decoding it each time.
    #[serde(skip)]
    pub parsed: Option<VerifyingKey>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

fn jwk(kid: &str, public: &[u8]) -> Jwk {
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        x: B64.encode(public),
        n: String::new(),
        e: String::new(),
        kid: kid.into(),
        alg: "EdDSA".into(),
        use_: "sig".into(),
        parsed: public
            .try_into()
            .ok()
            .and_then(|b: [u8; 32]| VerifyingKey::from_bytes(&b).ok()),
    }
}

/// Makes a new active key and retires the one before; the old public key stays published.
pub async fn rotate(db: &Db, master: &MasterKey, now: i64) -> Result<String> {
    let secret = random_bytes::<32>()?;
    let signing = SigningKey::from_bytes(&secret);
    let kid = format!("ed25519-{}", uuid::Uuid::now_v7().simple());
    let public = B64.encode(signing.verifying_key().to_bytes());
    let sealed = master.seal(&secret, &kid)?;
    store_key(db, "EdDSA", &kid, &public, &sealed, now).await?;
    tracing::info!(kid = %kid, "signing key created");
    Ok(kid)
}

/// Stores a new key of `alg` as the active one and retires the one before, in one
/// transaction.
pub(crate) async fn store_key(
    db: &Db,
    alg: &str,
    kid: &str,
    public: &str,
    sealed: &str,
    now: i64,
) -> Result<()> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND alg = $2")
        .bind(now)
        .bind(alg)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, public_key, sealed_secret, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(kid)
    .bind(alg)
    .bind(public)
    .bind(sealed)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The active signing key, made on first use. Two nodes racing here each make one; the newest
/// wins and both stay published, so either signature verifies.
async fn active(db: &Db, master: &MasterKey, now: i64) -> Result<(String, SigningKey)> {
    for _ in 0..2 {
        let row = sqlx::query(
            "SELECT kid, sealed_secret FROM signing_keys WHERE retired_at IS NULL AND alg = 'EdDSA' \
             ORDER BY created_at DESC, kid DESC LIMIT 1",
        )
        .fetch_optional(db.pool())
        .await?;
        if let Some(row) = row {
            let kid: String = row.try_get("kid")?;
            let sealed: String = row.try_get("sealed_secret")?;
            let secret = master.open(&sealed, &kid)?;
            let bytes: [u8; 32] = secret
                .as_slice()
                .try_into()
                .map_err(|_| Error::Internal("bad signing key length".into()))?;
            return Ok((kid, SigningKey::from_bytes(&bytes)));
        }
        rotate(db, master, now).await?;
    }
    Err(Error::Internal("no signing key".into()))
}

/// How long a process signs with the key it read before looking for a newer one (a rotation
/// made by another node or the console). Until then the old key signs; it stays published.
const RELOAD_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

type Cached = Option<(String, SigningKey, std::time::Instant)>;
/// The published keys and when they were read.
type Published = Option<(std::sync::Arc<Jwks>, std::time::Instant)>;

/// The keys in memory: the active one cached, reloaded after a rotation by any node.
#[derive(Clone)]
pub struct KeyStore {
    db: Db,
    master: MasterKey,
    cache: std::sync::Arc<std::sync::RwLock<Cached>>,
    /// The published keys, for checking Kapu's own signatures without a query each time;
    /// read again when a signature names a key it lacks (at most once a second).
    published: std::sync::Arc<std::sync::RwLock<Published>>,
    rsa: super::rsa_keys::RsaCache,
}

impl KeyStore {
    pub fn new(db: Db, master: MasterKey) -> KeyStore {
        KeyStore {
            db,
            master,
            cache: Default::default(),
            published: Default::default(),
            rsa: Default::default(),
        }
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Makes the first key if there is none. Called at start, so that signing inside a
    /// write transaction never has to write a key of its own.
    pub async fn ensure(&self, now: i64) -> Result<()> {
        self.signing_key(now).await.map(|_| ())
    }

    async fn signing_key(&self, now: i64) -> Result<(String, SigningKey)> {
        if let Ok(guard) = self.cache.read()
            && let Some((kid, key, at)) = guard.as_ref()
            && at.elapsed() < RELOAD_AFTER
        {
            return Ok((kid.clone(), key.clone()));
        }
        let (kid, key) = active(&self.db, &self.master, now).await?;
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some((kid.clone(), key.clone(), std::time::Instant::now()));
        }
        Ok((kid, key))
    }

    /// Forgets the cached key, so the next signature uses the newest.
    pub fn reload(&self) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
    }

    /// Makes new signing keys: the Ed25519 one, and the RSA one where one was ever made.
    pub async fn rotate(&self, now: i64) -> Result<String> {
        let kid = rotate(&self.db, &self.master, now).await?;
        if super::rsa_keys::exists(&self.db).await? {
            super::rsa_keys::rotate(&self.db, &self.master, now).await?;
            if let Ok(mut guard) = self.rsa.write() {
                *guard = None;
            }
        }
        self.reload();
        Ok(kid)
    }

    /// A compact JWS (RFC 7515) over the JSON payload, signed with EdDSA.
    pub async fn sign_jws<T: Serialize>(&self, typ: &str, payload: &T, now: i64) -> Result<String> {
        let (kid, key) = self.signing_key(now).await?;
        let header = serde_json::json!({"alg": "EdDSA", "kid": kid, "typ": typ});
        let body = serde_json::to_vec(payload).map_err(|e| Error::Internal(e.to_string()))?;
        let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(body));
        let signature = key.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            B64.encode(signature.to_bytes())
        ))
    }

    /// Makes the RSA key if there is none yet, outside any write transaction (making it
    /// writes, and on SQLite a second writer would wait for the first).
    pub async fn prepare_rs256(&self, now: i64) -> Result<()> {
        super::rsa_keys::active(&self.db, &self.master, &self.rsa, now)
            .await
            .map(|_| ())
    }

    /// A compact JWS signed with RS256, for services that know no other algorithm; the RSA
    /// key is made on first use.
    pub async fn sign_rs256<T: Serialize>(
        &self,
        typ: &str,
        payload: &T,
        now: i64,
    ) -> Result<String> {
        let (kid, key) = super::rsa_keys::active(&self.db, &self.master, &self.rsa, now).await?;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid);
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, payload, &key).map_err(|e| Error::Internal(e.to_string()))
    }

    /// Verifies a JWS Kapu signed (any key it ever published); `None` when it does not.
    pub async fn verify(&self, jws: &str) -> Result<Option<serde_json::Value>> {
        let cached = self.published.read().ok().and_then(|g| g.clone());
        if let Some((jwks, at)) = &cached {
            match verify_jws(jws, jwks) {
                Ok(v) => return Ok(Some(v)),
                Err(JwsError::UnknownKey) if at.elapsed() >= std::time::Duration::from_secs(1) => {}
                Err(_) => return Ok(None),
            }
        }
        let fresh = std::sync::Arc::new(self.jwks().await?);
        if let Ok(mut g) = self.published.write() {
            *g = Some((fresh.clone(), std::time::Instant::now()));
        }
        Ok(verify_jws(jws, &fresh).ok())
    }

    pub async fn jwks(&self) -> Result<Jwks> {
        let rows = sqlx::query(
            "SELECT kid, alg, public_key FROM signing_keys ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in rows {
            let kid: String = r.try_get("kid")?;
            let alg: String = r.try_get("alg")?;
            let x: String = r.try_get("public_key")?;
            if alg == "RS256" {
                keys.push(super::rsa_keys::jwk(&kid, &x)?);
                continue;
            }
            let public = B64
                .decode(&x)
                .map_err(|_| Error::Internal("bad public key".into()))?;
            keys.push(jwk(&kid, &public));
        }
        Ok(Jwks { keys })
    }
}

/// Why a JWS did not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("no published key has this key id")]
    UnknownKey,
    #[error("the signature does not match")]
    BadSignature,
}

/// Verifies a compact EdDSA JWS against a JWKS and returns its payload: the check any JOSE
/// library does, here for `kapu verify-receipt`.
pub fn verify_jws(jws: &str, jwks: &Jwks) -> std::result::Result<serde_json::Value, JwsError> {
    let mut parts = jws.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header: serde_json::Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)?;
    let kid = header["kid"].as_str().ok_or(JwsError::UnknownKey)?;
    if header["alg"] == "RS256" {
        return verify_rs256(jws, kid, jwks);
    }
    if header["alg"] != "EdDSA" {
        return Err(JwsError::Algorithm);
    }
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == kid && k.crv == "Ed25519")
        .ok_or(JwsError::UnknownKey)?;
    let key = match jwk.parsed {
        Some(key) => key,
        None => {
            let public: [u8; 32] = B64
                .decode(&jwk.x)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(JwsError::UnknownKey)?;
            VerifyingKey::from_bytes(&public).map_err(|_| JwsError::UnknownKey)?
        }
    };
    let sig: [u8; 64] = B64
        .decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(JwsError::Malformed)?;
    let signature = ed25519_dalek::Signature::from_bytes(&sig);
    key.verify_strict(format!("{h}.{p}").as_bytes(), &signature)
        .map_err(|_| JwsError::BadSignature)?;
    B64.decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwsError::Malformed)
}

/// An RS256 signature of Kapu's, checked with the published RSA key it names.
fn verify_rs256(
    jws: &str,
    kid: &str,
    jwks: &Jwks,
) -> std::result::Result<serde_json::Value, JwsError> {
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == kid && k.kty == "RSA")
        .ok_or(JwsError::UnknownKey)?;
    let key = jsonwebtoken::DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
        .map_err(|_| JwsError::UnknownKey)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Value>(jws, &key, &validation)
        .map(|d| d.claims)
        .map_err(|_| JwsError::BadSignature)
}
