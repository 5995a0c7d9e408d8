//! Statistics (manual chapter 12): users per tenant and their last logins.

use serde::Serialize;
use sqlx::Row;

use crate::Kapu;
use crate::access::{Actor, policy};
use crate::error::Result;
use crate::platform::time_fmt;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantStatistics {
    pub tenant: String,
    pub name: String,
    pub users: i64,
    pub active: i64,
    pub locked: i64,
    pub pending_activation: i64,
    pub logged_in_30_days: i64,
    pub last_login: Option<String>,
}

impl Kapu {
    /// Central framework administrators see every tenant; others their own.
    pub async fn tenant_statistics(&self, actor: &Actor) -> Result<Vec<TenantStatistics>> {
        policy::read_settings(actor)?;
        let now = self.now();
        let only: Option<&str> = (!actor.central).then_some(actor.tenant_id.as_str());
        let rows = sqlx::query(
            "SELECT t.code, t.name, \
             COUNT(u.id) AS users, \
             COALESCE(SUM(CASE WHEN u.id IS NOT NULL AND u.admin_locked = 0 AND u.password_hash IS NOT NULL THEN 1 ELSE 0 END), 0) AS active, \
             COALESCE(SUM(CASE WHEN u.admin_locked = 1 THEN 1 ELSE 0 END), 0) AS locked, \
             COALESCE(SUM(CASE WHEN u.id IS NOT NULL AND u.password_hash IS NULL THEN 1 ELSE 0 END), 0) AS pending, \
             COALESCE(SUM(CASE WHEN u.last_login_at > $2 THEN 1 ELSE 0 END), 0) AS recent, \
             MAX(u.last_login_at) AS last_login \
             FROM tenants t LEFT JOIN users u ON u.tenant_id = t.id AND u.deleted_at IS NULL \
             WHERE ($1 IS NULL OR t.id = $1) GROUP BY t.code, t.name ORDER BY t.code",
        )
        .bind(only)
        .bind(now - 30 * crate::platform::clock::DAY)
        .fetch_all(self.db().pool())
        .await?;
        rows.iter()
            .map(|r| {
                let last: Option<i64> = r.try_get("last_login")?;
                Ok(TenantStatistics {
                    tenant: r.try_get("code")?,
                    name: r.try_get("name")?,
                    users: r.try_get("users")?,
                    active: r.try_get("active")?,
                    locked: r.try_get("locked")?,
                    pending_activation: r.try_get("pending")?,
                    logged_in_30_days: r.try_get("recent")?,
                    last_login: last.map(time_fmt::rfc3339),
                })
            })
            .collect()
    }
}
