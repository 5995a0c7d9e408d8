//! Onboarding a service, as the central system's document describes: a tenant's user
//! maintainer files a request (the service, the roles it needs, its addresses, a contact);
//! central framework administrators try it in test and move it to production, or reject
//! it. Every move is audited and e-mailed to the requester.

use serde_json::json;

use super::clients::{ClientInput, ClientState, RegisteredClient, SsoClient, check_input};
use crate::Kapu;
use crate::access::catalog::{RoleInput, ServiceInput};
use crate::actor::{Actor, Role, policy};
use crate::error::{Error, Result};
use crate::identity::mail_text;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::crypto::{random_token, token_digest};
use crate::platform::db::WriteTx;
use crate::platform::mail;

/// What a request names: the service with its roles, and how it logs people in.
#[derive(Debug, Clone, Default)]
pub struct ServiceRequest {
    pub service: ServiceInput,
    pub roles: Vec<RoleInput>,
    pub client: ClientInput,
}

impl Kapu {
    /// Files a request; the service joins the catalogue in the `requested` state, which
    /// takes no logins. A confidential client's secret is in this answer only.
    pub async fn request_service(
        &self,
        actor: &Actor,
        req: &ServiceRequest,
    ) -> Result<RegisteredClient> {
        policy::write_users(actor, &actor.tenant_id)?;
        let client = check_input(&req.client, self.internal_logout_allowed().await?)?;
        let secret = (client.client_type == "confidential")
            .then(random_token)
            .transpose()?;
        let now = self.now();
        if client.id_token_signed_response_alg == "RS256" {
            self.keys().prepare_rs256(now).await?;
        }
        let require_pkce = match client.require_pkce {
            Some(chosen) => chosen,
            None => self.pkce_required_for_new().await?,
        };
        let mut tx = self.db().write().await?;
        let (service_id, code) = self
            .insert_service(&mut tx, actor, &req.service, &req.roles, now)
            .await?;
        sqlx::query(
            "INSERT INTO sso_clients (service_id, client_id, client_type, secret_digest, redirect_uris, \
             post_logout_redirect_uris, backchannel_logout_uri, subject_type, state, contact, requested_by, \
             requested_tenant, created_at, updated_at, jwks, token_alg, pkce_required) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $10, $11, $12, $12, $13, $14, $15)",
        )
        .bind(&service_id)
        .bind(&code)
        .bind(&client.client_type)
        .bind(secret.as_deref().map(token_digest))
        .bind(client.redirect_uris.join("\n"))
        .bind(client.post_logout_redirect_uris.join("\n"))
        .bind(client.backchannel_logout_uri.as_deref())
        .bind(&client.subject_type)
        .bind(&client.contact)
        .bind(actor.session_user_id())
        .bind(&actor.tenant_id)
        .bind(now)
        .bind(client.jwks.as_ref().map(|j| j.to_string()))
        .bind(&client.id_token_signed_response_alg)
        .bind(i64::from(require_pkce))
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.client.request", "success")
                .tenant(&actor.tenant_id)
                .target("service", &service_id, &code)
                .details(json!({"redirect_uris": client.redirect_uris, "contact": client.contact})),
        )
        .await?;
        let name = req.service.name.clone().unwrap_or_default();
        tell_requester(&mut tx, &code, &name, ClientState::Requested, now).await?;
        tx.commit().await?;
        self.inner.sso.clients.forget(&code);
        self.mailer().wake();
        Ok(RegisteredClient {
            client: self.client_view(&code).await?,
            client_secret: secret,
        })
    }

    /// Clients, newest first; central framework administrators see all, a tenant's user
    /// maintainers the requests their tenant filed.
    pub async fn list_clients(
        &self,
        actor: &Actor,
        state: Option<ClientState>,
    ) -> Result<Vec<SsoClient>> {
        let all = actor.central && actor.has(Role::FrameworkAdmin);
        if !all && !actor.has(Role::UserMaintainer) {
            return Err(Error::Forbidden);
        }
        self.client_views(state, (!all).then_some(actor.tenant_id.as_str()))
            .await
    }
}

/// Queues the e-mail that tells a request's filer where their service now stands.
pub(crate) async fn tell_requester(
    tx: &mut WriteTx,
    code: &str,
    name: &str,
    state: ClientState,
    now: i64,
) -> Result<()> {
    let requester: Option<(String, String, String)> = sqlx::query_as(
        "SELECT u.full_name, u.email, u.tenant_id FROM sso_clients c JOIN users u ON u.id = c.requested_by \
         WHERE c.client_id = $1",
    )
    .bind(code)
    .fetch_optional(tx.conn())
    .await?;
    if let Some((full_name, email, tenant)) = requester {
        let text = mail_text::service_state(&full_name, name, code, state.as_str());
        mail::enqueue(tx, Some(&tenant), &email, &text.subject, &text.body, now).await?;
    }
    Ok(())
}
