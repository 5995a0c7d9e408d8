//! Reading the business log: central log readers see every tenant, others their own.

use serde::Serialize;

use crate::Kapu;
use crate::access::{Actor, policy};
use crate::error::{Error, Result};
use crate::identity::Page;
use crate::platform::audit::{self, AuditEvent, AuditFilter, AuditRecord, ChainCheck, Kind};
use crate::platform::time_fmt;

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub tenant: Option<String>,
    /// `name@tenant`: records where the user acted or was acted upon.
    pub user: Option<String>,
    pub kind: Option<Kind>,
    pub outcome: Option<String>,
    /// The event, e.g. `user.create`.
    pub action: Option<String>,
    /// `name@tenant` of whoever acted.
    pub actor: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub on_behalf_of: Option<String>,
    pub kind: Kind,
    pub action: String,
    pub target_type: Option<String>,
    pub target: Option<String>,
    pub outcome: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
    pub hash: String,
}

impl Kapu {
    pub async fn query_audit(&self, actor: &Actor, q: &AuditQuery) -> Result<Page<AuditEntry>> {
        // A tenant's log readers are held to their tenant whatever they ask for.
        let tenant_code = match (&q.tenant, actor.central) {
            (Some(t), _) => Some(t.clone()),
            (None, false) => Some(actor.tenant_code.clone()),
            (None, true) => None,
        };
        let tenant = match &tenant_code {
            Some(code) => Some(self.tenant_by_code(code).await?),
            None => None,
        };
        policy::read_audit(actor, tenant.as_ref().map(|t| t.id.as_str()))?;
        let user_id = match &q.user {
            Some(full) => {
                let parsed = crate::identity::names::FullLogin::parse(full)
                    .map_err(|k| Error::field("user", k))?;
                let t = self.tenant_by_code(parsed.tenant.as_str()).await?;
                policy::read_audit(actor, Some(&t.id))?;
                let id: Option<String> =
                    sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND login = $2")
                        .bind(&t.id)
                        .bind(parsed.login.as_str())
                        .fetch_optional(self.db().pool())
                        .await?;
                Some(id.ok_or(Error::NotFound)?)
            }
            None => None,
        };
        let max = self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .number("list_max_page_size");
        let per_page = q.per_page.unwrap_or(50).clamp(1, max.max(1));
        let page = q.page.unwrap_or(1).max(1);
        let filter = AuditFilter {
            from: q.from,
            to: q.to,
            tenant_id: tenant.as_ref().map(|t| t.id.clone()),
            actor_or_target_id: user_id,
            kind: q.kind,
            outcome: q.outcome.clone(),
            action: q.action.clone(),
            actor_login: q.actor.clone(),
            limit: per_page,
            offset: (page - 1) * per_page,
        };
        let (records, total) = audit::query(self.db(), &filter).await?;
        let codes = self.tenant_codes().await?;
        Ok(Page {
            items: records.into_iter().map(|r| entry(r, &codes)).collect(),
            total,
            page,
            per_page,
        })
    }

    async fn tenant_codes(&self) -> Result<Vec<(String, String)>> {
        Ok(
            sqlx::query_as::<_, (String, String)>("SELECT id, code FROM tenants")
                .fetch_all(self.db().pool())
                .await?,
        )
    }

    /// A refused administrative write (403 or 404 on a change): attempts show in the log too.
    /// `what` is the method and path that was refused.
    pub async fn record_denied(&self, actor: &Actor, what: &str, status: u16) -> Result<()> {
        let mut tx = self.db().write().await?;
        audit::record(
            &mut tx,
            self.now(),
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("request.denied", "denied")
                .tenant(&actor.tenant_id)
                .target("request", "", what)
                .details(serde_json::json!({"status": status})),
        )
        .await?;
        tx.commit().await
    }

    pub async fn verify_audit_chain(&self) -> Result<ChainCheck> {
        audit::verify_chain(self.db()).await
    }
}

fn entry(r: AuditRecord, codes: &[(String, String)]) -> AuditEntry {
    let tenant = r
        .tenant_id
        .as_ref()
        .and_then(|id| codes.iter().find(|(i, _)| i == id).map(|(_, c)| c.clone()));
    AuditEntry {
        seq: r.seq,
        at: time_fmt::rfc3339(r.at),
        tenant,
        actor: r.actor_login,
        on_behalf_of: r.on_behalf_of,
        kind: Kind::of(&r.action),
        action: r.action,
        target_type: r.target_type,
        target: r.target_label,
        outcome: r.outcome,
        client_addr: r.client_addr,
        request_id: r.request_id,
        details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
        hash: r.hash,
    }
}
