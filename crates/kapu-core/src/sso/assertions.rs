//! `private_key_jwt` client authentication (RFC 7523, OpenID Connect Core 9): the client
//! signs a short-lived JWT with a key it registered; each assertion is taken once.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::clients::ClientRecord;
use super::tokens::OAuthError;
use crate::Kapu;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The signature algorithms Kapu takes client assertions in.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// An assertion must not live longer than this (it bounds the replay record too).
const MAX_LIFETIME_SECS: i64 = 600;

/// The issuer an assertion claims, read before its signature is checked (to find the
/// client's keys).
fn claimed_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["iss"].as_str().map(str::to_string)
}

impl Kapu {
    /// The client a valid, unseen assertion proves; `None` for anything else.
    pub(super) async fn client_by_assertion(
        &self,
        assertion: &str,
        client_id: Option<&str>,
    ) -> Result<Option<ClientRecord>, OAuthError> {
        let Some(issuer) = claimed_issuer(assertion) else {
            return Ok(None);
        };
        if client_id.is_some_and(|c| c != issuer) {
            return Ok(None);
        }
        let Some(client) = self.client_record(&issuer).await? else {
            return Ok(None);
        };
        let Some(keys) = &client.jwks else {
            return Ok(None);
        };
        let Ok(header) = jsonwebtoken::decode_header(assertion) else {
            return Ok(None);
        };
        if !ALGORITHMS.contains(&header.alg) {
            return Ok(None);
        }
        let base = self.config().public_url.trim_end_matches('/').to_string();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[format!("{base}/oauth2/token"), base]);
        validation.set_issuer(&[issuer.as_str()]);
        validation.sub = Some(issuer.clone());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.leeway = 30;
        let candidates = keys
            .keys
            .iter()
            .filter(|k| header.kid.is_none() || k.common.key_id == header.kid);
        let mut claims = None;
        for jwk in candidates {
            if let Ok(key) = DecodingKey::from_jwk(jwk)
                && let Ok(data) = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            {
                claims = Some(data.claims);
                break;
            }
        }
        let Some(claims) = claims else {
            return Ok(None);
        };
        let now = self.now();
        let (Some(jti), Some(exp)) = (claims["jti"].as_str(), claims["exp"].as_i64()) else {
            return Ok(None);
        };
        if exp - now / 1000 > MAX_LIFETIME_SECS || jti.len() > 200 {
            return Ok(None);
        }
        // Once only: a replayed assertion meets its own record.
        let mut tx = self.db().write_unaudited().await?;
        sqlx::query("DELETE FROM sso_assertions WHERE expires_at < $1")
            .bind(now)
            .execute(tx.conn())
            .await?;
        let fresh = sqlx::query(
            "INSERT INTO sso_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (client_id, jti) DO NOTHING",
        )
        .bind(&issuer)
        .bind(jti)
        .bind(exp.saturating_mul(1000) + 60_000)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok((fresh.rows_affected() == 1).then_some(client))
    }
}
