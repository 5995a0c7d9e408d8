//! Ending everything a user's logins opened when their credentials or standing change
//! (password set, account locked or deleted, "log out everywhere"): Kapu's sessions, and
//! the grants services hold (refresh tokens live for weeks and must not outlive the event).
//! Sessions and grants are opened by the rooms above; a change of the user ends them here,
//! in the same transaction as the change. The services hear of it from the sign-on worker,
//! which sends a back-channel logout for every grant marked `logout_pending`.

use crate::error::Result;
use crate::platform::db::WriteTx;

/// Ends the logins a user made on a temporary permit, and the grants given in them, when
/// the permit ends early (revoked, or made needless by a device login).
pub(crate) async fn revoke_permit_logins(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE sso_grants SET revoked_at = $1, logout_pending = 1 \
         WHERE (user_id = $2 OR deputy_id = $2) AND ends_at IS NOT NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND ends_at IS NOT NULL AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub(crate) async fn revoke_all_of(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<u64> {
    revoke_all_but(tx, user_id, None, now).await
}

/// As [`revoke_all_of`], keeping the one session the change was made in (a person who
/// changes their own password stays logged in there); every grant ends all the same.
pub(crate) async fn revoke_all_but(
    tx: &mut WriteTx,
    user_id: &str,
    kept_session: Option<&str>,
    now: i64,
) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(kept_session.unwrap_or(""))
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "UPDATE sso_grants SET revoked_at = $1, logout_pending = 1 \
         WHERE (user_id = $2 OR deputy_id = $2) AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected())
}
