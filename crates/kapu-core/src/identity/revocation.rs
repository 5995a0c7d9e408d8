//! Ending a user's sessions when their credentials or standing change (password set, account
//! locked or deleted). Sessions are opened and resolved by the sign-on room above; a
//! change of the user ends them here, in the same transaction as the change.

use crate::error::Result;
use crate::platform::db::WriteTx;

pub(crate) async fn revoke_all_of(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected())
}
