//! The services a person let have their data ("connected services"), and taking that back:
//! the consent goes, and so does every grant the service holds for the person.

use serde::Serialize;
use serde_json::json;

use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::time_fmt;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectedService {
    pub client_id: String,
    pub name: String,
    /// The scopes consented to, space-separated.
    pub scope: String,
    /// RFC 3339.
    pub granted_at: String,
}

impl Kapu {
    pub async fn connected_services(&self, actor: &Actor) -> Result<Vec<ConnectedService>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT c.client_id, s.name, c.scope, c.granted_at FROM sso_consents c \
             JOIN sso_clients k ON k.client_id = c.client_id JOIN services s ON s.id = k.service_id \
             WHERE c.user_id = $1 ORDER BY s.name",
        )
        .bind(actor.session_user_id())
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(client_id, name, scope, at)| ConnectedService {
                client_id,
                name,
                scope,
                granted_at: time_fmt::rfc3339(at),
            })
            .collect())
    }

    /// Takes the consent back and ends the service's grants for the person (their own, and
    /// those they made acting for someone).
    pub async fn disconnect_service(&self, actor: &Actor, client_id: &str) -> Result<()> {
        let me = actor.session_user_id();
        let now = self.now();
        let mut tx = self.db().write().await?;
        let gone = sqlx::query("DELETE FROM sso_consents WHERE user_id = $1 AND client_id = $2")
            .bind(me)
            .bind(client_id)
            .execute(tx.conn())
            .await?;
        if gone.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        let ended = sqlx::query(
            "UPDATE sso_grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL \
             AND ((user_id = $3 AND deputy_id IS NULL) OR deputy_id = $3)",
        )
        .bind(now)
        .bind(client_id)
        .bind(me)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.disconnect", "success")
                .tenant(&actor.tenant_id)
                .target("service", client_id, client_id)
                .details(json!({"grants_revoked": ended.rows_affected()})),
        )
        .await?;
        tx.commit().await
    }
}
