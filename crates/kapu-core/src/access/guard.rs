//! Invariants checked inside the transaction that could break them.

use crate::error::{Error, Result};
use crate::platform::db::WriteTx;

/// A tenant keeps at least one active (not locked, not deleted) user who holds the
/// user-maintainer role, individually or through a group (manual 4.6).
pub(crate) async fn user_maintainer_remains(tx: &mut WriteTx, tenant_id: &str) -> Result<()> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u WHERE u.tenant_id = $1 AND u.deleted_at IS NULL AND u.admin_locked = 0 AND (\
         EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = 'kapu.user_maintainer') \
         OR EXISTS (SELECT 1 FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
                    WHERE gm.user_id = u.id AND gr.role_id = 'kapu.user_maintainer'))",
    )
    .bind(tenant_id)
    .fetch_one(tx.conn())
    .await?;
    if n == 0 {
        return Err(Error::Conflict("conflict.last_user_maintainer"));
    }
    Ok(())
}
