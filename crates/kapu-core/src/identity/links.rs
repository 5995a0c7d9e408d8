//! One-time links (activation, forgotten password): a random token mailed to the user and
//! stored only as a digest, usable once, until it expires.

use sqlx::Row;

use crate::error::{Error, Result};
use crate::platform::crypto::{random_token, token_digest};
use crate::platform::db::{Db, WriteTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Activation,
    PasswordReset,
    /// A self-registered citizen confirms their e-mail address.
    EmailVerification,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Activation => "activation",
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }
    pub fn path(self) -> &'static str {
        match self {
            Purpose::Activation => "/activate",
            Purpose::PasswordReset => "/password/reset",
            Purpose::EmailVerification => "/register/verify",
        }
    }
}

/// Issues a new link; earlier unused links of the same purpose stop working.
pub async fn issue(
    tx: &mut WriteTx,
    user_id: &str,
    purpose: Purpose,
    now: i64,
    valid_ms: i64,
) -> Result<String> {
    sqlx::query("UPDATE one_time_links SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(tx.conn())
        .await?;
    let token = random_token()?;
    sqlx::query(
        "INSERT INTO one_time_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_digest(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(now + valid_ms)
    .execute(tx.conn())
    .await?;
    Ok(token)
}

/// Retires every unused link of a user (deleted account, password set by an administrator).
pub async fn revoke_all(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE one_time_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The user a live link belongs to, without using it up.
pub async fn peek(db: &Db, token: &str, purpose: Purpose, now: i64) -> Result<String> {
    if token.is_empty() || token.len() > 100 {
        return Err(Error::LinkInvalid);
    }
    let row = sqlx::query(
        "SELECT user_id FROM one_time_links WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_digest(token))
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    match row {
        Some(r) => Ok(r.try_get("user_id")?),
        None => Err(Error::LinkInvalid),
    }
}

/// Uses the link up inside the caller's transaction; a second use finds nothing.
pub async fn consume(tx: &mut WriteTx, token: &str, purpose: Purpose, now: i64) -> Result<String> {
    if token.is_empty() || token.len() > 100 {
        return Err(Error::LinkInvalid);
    }
    let row = sqlx::query(
        "UPDATE one_time_links SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(token_digest(token))
    .bind(purpose.as_str())
    .fetch_optional(tx.conn())
    .await?;
    match row {
        Some(r) => Ok(r.try_get("user_id")?),
        None => Err(Error::LinkInvalid),
    }
}
