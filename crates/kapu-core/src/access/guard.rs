//! Invariants checked inside the transaction that could break them.

use crate::error::{Error, Result};
use crate::platform::db::WriteTx;

/// The condition on `users u` of an active (not locked, not deleted) user of tenant `$1` who
/// holds the user-maintainer role, individually or through a group (manual 4.6).
pub(crate) const ACTIVE_USER_MAINTAINER: &str = "u.tenant_id = $1 AND u.deleted_at IS NULL AND u.admin_locked = 0 AND (\
     EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = 'kapu.user_maintainer') \
     OR EXISTS (SELECT 1 FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
                WHERE gm.user_id = u.id AND gr.role_id = 'kapu.user_maintainer'))";

/// How many active user maintainers a tenant has.
pub(crate) async fn user_maintainers(tx: &mut WriteTx, tenant_id: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM users u WHERE {ACTIVE_USER_MAINTAINER}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .fetch_one(tx.conn())
        .await?)
}

/// A change may not take away a tenant's last user maintainer. A tenant that had none
/// before it (the citizens' tenant, kept by central administrators) is not held to one.
pub(crate) async fn user_maintainer_remains(
    tx: &mut WriteTx,
    tenant_id: &str,
    before: i64,
) -> Result<()> {
    if losing_the_last(before, user_maintainers(tx, tenant_id).await?) {
        return Err(Error::Conflict("conflict.last_user_maintainer"));
    }
    Ok(())
}

/// The rule itself: there was a maintainer, and there is none.
fn losing_the_last(before: i64, after: i64) -> bool {
    before > 0 && after == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_that_removes_the_last_maintainer_is_refused() {
        assert!(losing_the_last(1, 0));
        assert!(!losing_the_last(2, 1));
        assert!(!losing_the_last(0, 0), "a tenant without one by design");
        assert!(!losing_the_last(1, 1));
    }
}
