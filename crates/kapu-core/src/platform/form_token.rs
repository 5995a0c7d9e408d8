//! Pre-login form tokens: a random value and its HMAC under a key every node shares. A token
//! that was not made here (a cookie planted by another site or subdomain) does not verify.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::crypto::{constant_time_eq, random_token};
use super::db::Db;
use crate::error::Result;

/// The shared key, made on first start and kept in the database.
#[derive(Clone)]
pub struct FormTokens {
    key: Vec<u8>,
}

impl FormTokens {
    pub async fn load(db: &Db, now: i64) -> Result<FormTokens> {
        sqlx::query(
            "INSERT INTO server_keys (name, value, created_at) VALUES ('form_token', $1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(random_token()?)
        .bind(now)
        .execute(db.pool())
        .await?;
        let value: String =
            sqlx::query_scalar("SELECT value FROM server_keys WHERE name = 'form_token'")
                .fetch_one(db.pool())
                .await?;
        Ok(FormTokens {
            key: value.into_bytes(),
        })
    }

    fn mac(&self, nonce: &str) -> String {
        // HMAC takes a key of any length; new_from_slice cannot fail for it.
        match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut m) => {
                m.update(b"kapu-form-token:");
                m.update(nonce.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }

    /// A new token: `nonce.mac`.
    pub fn issue(&self) -> Result<String> {
        let nonce = random_token()?;
        let mac = self.mac(&nonce);
        Ok(format!("{nonce}.{mac}"))
    }

    /// Whether the token was made with this key.
    pub fn verify(&self, token: &str) -> bool {
        match token.split_once('.') {
            Some((nonce, mac)) if nonce.len() == 43 && mac.len() == 64 => {
                constant_time_eq(self.mac(nonce).as_bytes(), mac.as_bytes())
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_made_with_the_key_verify() {
        let a = FormTokens {
            key: b"one key".to_vec(),
        };
        let b = FormTokens {
            key: b"another".to_vec(),
        };
        let t = a.issue().unwrap_or_default();
        assert!(a.verify(&t));
        assert!(!b.verify(&t));
        assert!(!a.verify("planted"));
        let (nonce, _) = t.split_once('.').unwrap_or_default();
        assert!(!a.verify(&format!("{nonce}.{}", "0".repeat(64))));
    }
}
