//! What happened to the vault: an entry's own log for its managers, and "who saw what"
//! (codes revealed, secrets viewed, exports) per user and period for vault administrators.

use serde::Serialize;

use super::levels::{self, Level};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::clock::DAY;
use crate::platform::list::Page;
use crate::platform::names::FullLogin;
use crate::platform::time_fmt;

/// The actions the report counts as seeing something.
pub const SEEING: [&str; 3] = ["vault.code", "vault.secret", "vault.export"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VaultLogEntry {
    pub at: String,
    /// `name@tenant` of whoever acted (a deputy's own name).
    pub actor: Option<String>,
    pub on_behalf_of: Option<String>,
    /// `vault.code`, `vault.secret`, `vault.update`, …
    pub action: String,
    pub outcome: String,
    pub entry_id: Option<String>,
    /// The entry's client and portal as they were then.
    pub entry: Option<String>,
}

type LogRow = (
    i64,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn view(r: LogRow) -> VaultLogEntry {
    VaultLogEntry {
        at: time_fmt::rfc3339(r.0),
        actor: r.1,
        on_behalf_of: r.2,
        action: r.3,
        outcome: r.4,
        entry_id: r.5,
        entry: r.6,
    }
}

/// A report's period and paging.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// `name@tenant`; every user of the tenant when empty.
    pub user: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

const LOG_COLUMNS: &str =
    "at, actor_login, on_behalf_of, action, outcome, target_id, target_label FROM audit_log";

impl Kapu {
    /// An entry's own log, newest first. Managers only.
    pub async fn vault_entry_log(
        &self,
        actor: &Actor,
        id: &str,
        page: i64,
        per_page: i64,
    ) -> Result<Page<VaultLogEntry>> {
        self.entry_for(actor, id, Level::Manage).await?;
        let per_page = per_page.clamp(1, 500);
        let page = page.max(1);
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE target_id = $1 AND tenant_id = $2",
        )
        .bind(id)
        .bind(&actor.tenant_id)
        .fetch_one(self.db().pool())
        .await?;
        let sql = format!(
            "SELECT {LOG_COLUMNS} WHERE target_id = $1 AND tenant_id = $2 ORDER BY at DESC, seq DESC LIMIT {per_page} OFFSET {}",
            (page - 1) * per_page
        );
        let rows: Vec<LogRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(&actor.tenant_id)
            .fetch_all(self.db().pool())
            .await?;
        Ok(Page {
            items: rows.into_iter().map(view).collect(),
            total,
            page,
            per_page,
        })
    }

    /// Who saw what: code reveals, secret views and exports in a period (default the last
    /// 30 days), for one user or all. Vault administrators of the tenant only.
    pub async fn vault_report(
        &self,
        actor: &Actor,
        q: &ReportQuery,
    ) -> Result<Page<VaultLogEntry>> {
        self.vault_gate(actor).await?;
        if !levels::is_vault_admin(actor) {
            return Err(Error::Forbidden);
        }
        let to = q.to.unwrap_or_else(|| self.now());
        let from = q.from.unwrap_or(to - 30 * DAY);
        let user_id = match q.user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(user) => {
                let login = FullLogin::parse(user).map_err(|k| Error::field("user", k))?;
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.code = $1 AND u.login = $2",
                )
                .bind(login.tenant.as_str())
                .bind(login.login.as_str())
                .fetch_optional(self.db().pool())
                .await?;
                Some(id.ok_or(Error::field("user", "vault.holder_unknown"))?)
            }
        };
        let per_page = q.per_page.unwrap_or(50).clamp(1, 10_000);
        let page = q.page.unwrap_or(1).max(1);
        let mut filter = format!(
            "tenant_id = $1 AND at >= $2 AND at <= $3 AND action IN ('{}')",
            SEEING.join("', '")
        );
        if user_id.is_some() {
            filter.push_str(" AND actor_id = $4");
        }
        let count_sql = format!("SELECT COUNT(*) FROM audit_log WHERE {filter}");
        let sql = format!(
            "SELECT {LOG_COLUMNS} WHERE {filter} ORDER BY at DESC, seq DESC LIMIT {per_page} OFFSET {}",
            (page - 1) * per_page
        );
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql))
            .bind(&actor.tenant_id)
            .bind(from)
            .bind(to);
        let mut rows = sqlx::query_as::<_, LogRow>(sqlx::AssertSqlSafe(sql))
            .bind(&actor.tenant_id)
            .bind(from)
            .bind(to);
        if let Some(u) = &user_id {
            count = count.bind(u);
            rows = rows.bind(u);
        }
        let total = count.fetch_one(self.db().pool()).await?;
        let items = rows.fetch_all(self.db().pool()).await?;
        Ok(Page {
            items: items.into_iter().map(view).collect(),
            total,
            page,
            per_page,
        })
    }
}
