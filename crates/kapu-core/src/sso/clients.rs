//! Services as OpenID Connect clients: their registration (redirect addresses, client type,
//! subject type, secret) and their lifecycle, requested → test → production (or rejected,
//! suspended), moved by central framework administrators. A service in test accepts only
//! users of test tenants.

use serde::Serialize;
use serde_json::json;

use crate::Kapu;
use crate::actor::{Actor, Role, policy};
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::crypto::{random_token, token_digest};
use crate::platform::time_fmt;

pub use super::client_input::{ClientInput, check_input, parse_redirect_uri};

/// Where a service stands in its onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientState {
    Requested,
    Test,
    Production,
    Rejected,
    Suspended,
}

impl ClientState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Requested => "requested",
            ClientState::Test => "test",
            ClientState::Production => "production",
            ClientState::Rejected => "rejected",
            ClientState::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<ClientState> {
        Some(match s {
            "requested" => ClientState::Requested,
            "test" => ClientState::Test,
            "production" => ClientState::Production,
            "rejected" => ClientState::Rejected,
            "suspended" => ClientState::Suspended,
            _ => return None,
        })
    }

    /// The moves of the onboarding: a request is tried in test before production; a
    /// suspended service comes back to where it may be tried again.
    pub fn may_become(self, next: ClientState) -> bool {
        use ClientState::*;
        matches!(
            (self, next),
            (Requested, Test | Rejected)
                | (Test, Production | Rejected | Suspended)
                | (Production, Suspended)
                | (Suspended, Test | Production)
        )
    }

    /// Whether logins are taken at all in this state.
    pub fn serves(self) -> bool {
        matches!(self, ClientState::Test | ClientState::Production)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SsoClient {
    /// The service code.
    pub client_id: String,
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Where Kapu posts logout tokens when a session the service was used for ends.
    pub backchannel_logout_uri: Option<String>,
    /// The client's public keys for `private_key_jwt` authentication (a JWKS).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// How its ID tokens are signed: `EdDSA`, or `RS256`.
    pub id_token_signed_response_alg: String,
    /// `public` or `pairwise`.
    pub subject_type: String,
    pub state: ClientState,
    pub contact: String,
    pub updated_at: String,
    /// Whether a confidential client must send PKCE too (a public one always must).
    pub require_pkce: bool,
}

/// A registration with its secret, shown only in this answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisteredClient {
    pub client: SsoClient,
    pub client_secret: Option<String>,
}

/// What the token and authorization endpoints need of a client.
#[derive(Debug, Clone)]
pub(crate) struct ClientRecord {
    pub client_id: String,
    pub name: String,
    pub confidential: bool,
    pub secret_digest: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Its public keys, for `private_key_jwt`.
    pub jwks: Option<jsonwebtoken::jwk::JwkSet>,
    /// Its ID tokens are signed with RS256 (else EdDSA).
    pub rs256: bool,
    pub pairwise: bool,
    pub state: ClientState,
    /// A confidential client must send PKCE too.
    pub pkce_required: bool,
}

type ClientRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    i64,
);

const CLIENT_COLUMNS: &str = "c.client_id, s.name, c.client_type, c.secret_digest, c.redirect_uris, \
     c.post_logout_redirect_uris, c.backchannel_logout_uri, c.subject_type, c.state, c.contact, c.updated_at, c.jwks, c.token_alg, c.pkce_required \
     FROM sso_clients c JOIN services s ON s.id = c.service_id";

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn record(row: ClientRow) -> (ClientRecord, String, i64) {
    let (
        client_id,
        name,
        client_type,
        secret_digest,
        redirects,
        post_logout,
        backchannel,
        subject,
        state,
        contact,
        updated,
        jwks,
        token_alg,
        pkce_required,
    ) = row;
    (
        ClientRecord {
            client_id,
            name,
            confidential: client_type == "confidential",
            secret_digest,
            redirect_uris: lines(&redirects),
            post_logout_redirect_uris: lines(&post_logout),
            backchannel_logout_uri: backchannel,
            jwks: jwks.and_then(|j| serde_json::from_str(&j).ok()),
            rs256: token_alg == "RS256",
            pairwise: subject == "pairwise",
            state: ClientState::parse(&state).unwrap_or(ClientState::Suspended),
            pkce_required: pkce_required != 0,
        },
        contact,
        updated,
    )
}

fn view(r: ClientRecord, contact: String, updated: i64) -> SsoClient {
    SsoClient {
        client_type: if r.confidential {
            "confidential"
        } else {
            "public"
        }
        .into(),
        subject_type: if r.pairwise { "pairwise" } else { "public" }.into(),
        client_id: r.client_id,
        name: r.name,
        redirect_uris: r.redirect_uris,
        post_logout_redirect_uris: r.post_logout_redirect_uris,
        backchannel_logout_uri: r.backchannel_logout_uri,
        jwks: r.jwks.and_then(|j| serde_json::to_value(j).ok()),
        id_token_signed_response_alg: if r.rs256 { "RS256" } else { "EdDSA" }.into(),
        state: r.state,
        contact,
        updated_at: time_fmt::rfc3339(updated),
        require_pkce: r.pkce_required,
    }
}

/// Central framework administrators, in secure mode, keep the clients.
fn manage_clients(actor: &Actor) -> Result<()> {
    policy::manage_catalog(actor)
}

impl Kapu {
    /// Whether back-channel logout may go to internal addresses (development only).
    pub(crate) async fn internal_logout_allowed(&self) -> Result<bool> {
        Ok(self
            .settings()
            .snapshot("")
            .await?
            .flag("sso_backchannel_private_networks"))
    }

    /// Whether a new registration must send PKCE even when confidential.
    pub(crate) async fn pkce_required_for_new(&self) -> Result<bool> {
        Ok(self
            .settings()
            .snapshot("")
            .await?
            .flag("sso_pkce_required"))
    }

    pub(crate) async fn client_record(&self, client_id: &str) -> Result<Option<ClientRecord>> {
        // Unknown ids are kept too: a flood of them must not reach the database.
        self.inner
            .sso
            .clients
            .get_or_read(client_id, self.db().changes(), || async {
                let sql = format!("SELECT {CLIENT_COLUMNS} WHERE c.client_id = $1");
                let row: Option<ClientRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(client_id)
                    .fetch_optional(self.db().pool())
                    .await?;
                Ok(row.map(|r| record(r).0))
            })
            .await
    }

    /// A registration, for central framework administrators (a tenant's own administrators
    /// see their requests in the list).
    pub async fn get_client(&self, actor: &Actor, service_code: &str) -> Result<SsoClient> {
        if !(actor.central && actor.has(Role::FrameworkAdmin)) {
            return Err(Error::Forbidden);
        }
        self.client_view(service_code).await
    }

    pub(crate) async fn client_view(&self, service_code: &str) -> Result<SsoClient> {
        let sql = format!("SELECT {CLIENT_COLUMNS} WHERE c.client_id = $1");
        let row: Option<ClientRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(service_code)
            .fetch_optional(self.db().pool())
            .await?;
        let (r, contact, updated) = record(row.ok_or(Error::NotFound)?);
        Ok(view(r, contact, updated))
    }

    /// Clients in a state (or any), of the tenant that requested them (or any), newest
    /// change first, in one query.
    pub(crate) async fn client_views(
        &self,
        state: Option<ClientState>,
        requested_tenant: Option<&str>,
    ) -> Result<Vec<SsoClient>> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} WHERE ($1 IS NULL OR c.state = $1) \
             AND ($2 IS NULL OR c.requested_tenant = $2) ORDER BY c.updated_at DESC, c.client_id"
        );
        let rows: Vec<ClientRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(state.map(ClientState::as_str))
            .bind(requested_tenant)
            .fetch_all(self.db().pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let (r, contact, updated) = record(row);
                view(r, contact, updated)
            })
            .collect())
    }

    /// Registers a catalogue service as a client, or changes its registration. A new
    /// confidential client gets a secret, shown once; a new registration starts in test.
    pub async fn register_client(
        &self,
        actor: &Actor,
        service_code: &str,
        input: &ClientInput,
    ) -> Result<RegisteredClient> {
        manage_clients(actor)?;
        let input = check_input(input, self.internal_logout_allowed().await?)?;
        let service_id: String = sqlx::query_scalar("SELECT id FROM services WHERE code = $1")
            .bind(service_code)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(Error::NotFound)?;
        let existing = self.client_record(service_code).await?;
        let now = self.now();
        let needs_secret = input.client_type == "confidential"
            && existing.as_ref().is_none_or(|e| e.secret_digest.is_none());
        let secret = needs_secret.then(random_token).transpose()?;
        let require_pkce = match (input.require_pkce, &existing) {
            (Some(chosen), _) => chosen,
            (None, Some(e)) => e.pkce_required,
            (None, None) => self.pkce_required_for_new().await?,
        };
        // Discovery lists RS256: the key is in the JWKS before a client that asks for it
        // exists, so that the client's first look at the JWKS finds it.
        if input.id_token_signed_response_alg == "RS256" {
            self.keys().prepare_rs256(now).await?;
        }
        let mut tx = self.db().write().await?;
        if existing.is_some() {
            sqlx::query(
                "UPDATE sso_clients SET client_type = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
                 subject_type = $4, contact = $5, updated_at = $6, \
                 secret_digest = CASE WHEN $1 = 'public' THEN NULL ELSE COALESCE($7, secret_digest) END, \
                 backchannel_logout_uri = $9, jwks = $10, token_alg = $11, pkce_required = $12 WHERE service_id = $8",
            )
            .bind(&input.client_type)
            .bind(input.redirect_uris.join("\n"))
            .bind(input.post_logout_redirect_uris.join("\n"))
            .bind(&input.subject_type)
            .bind(&input.contact)
            .bind(now)
            .bind(secret.as_deref().map(token_digest))
            .bind(&service_id)
            .bind(input.backchannel_logout_uri.as_deref())
            .bind(input.jwks.as_ref().map(|j| j.to_string()))
            .bind(&input.id_token_signed_response_alg)
            .bind(i64::from(require_pkce))
            .execute(tx.conn())
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO sso_clients (service_id, client_id, client_type, secret_digest, redirect_uris, \
                 post_logout_redirect_uris, subject_type, state, contact, created_at, updated_at, backchannel_logout_uri, jwks, token_alg, \
                 pkce_required) VALUES ($1, $2, $3, $4, $5, $6, $7, 'test', $8, $9, $9, $10, $11, $12, $13)",
            )
            .bind(&service_id)
            .bind(service_code)
            .bind(&input.client_type)
            .bind(secret.as_deref().map(token_digest))
            .bind(input.redirect_uris.join("\n"))
            .bind(input.post_logout_redirect_uris.join("\n"))
            .bind(&input.subject_type)
            .bind(&input.contact)
            .bind(now)
            .bind(input.backchannel_logout_uri.as_deref())
            .bind(input.jwks.as_ref().map(|j| j.to_string()))
            .bind(&input.id_token_signed_response_alg)
            .bind(i64::from(require_pkce))
            .execute(tx.conn())
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.client.register", "success")
                .target("service", &service_id, service_code)
                .details(
                    json!({"client_type": input.client_type, "redirect_uris": input.redirect_uris,
                    "subject_type": input.subject_type, "require_pkce": require_pkce, "new": existing.is_none()}),
                ),
        )
        .await?;
        tx.commit().await?;
        self.inner.sso.clients.forget(service_code);
        Ok(RegisteredClient {
            client: self.get_client(actor, service_code).await?,
            client_secret: secret,
        })
    }

    /// A new secret in place of the old one, shown once.
    pub async fn rotate_client_secret(
        &self,
        actor: &Actor,
        service_code: &str,
    ) -> Result<RegisteredClient> {
        manage_clients(actor)?;
        let existing = self
            .client_record(service_code)
            .await?
            .ok_or(Error::NotFound)?;
        if !existing.confidential {
            return Err(Error::Conflict("conflict.public_client_has_no_secret"));
        }
        let secret = random_token()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE sso_clients SET secret_digest = $1, updated_at = $2 WHERE client_id = $3",
        )
        .bind(token_digest(&secret))
        .bind(now)
        .bind(service_code)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.client.secret", "success").target(
                "service",
                service_code,
                service_code,
            ),
        )
        .await?;
        tx.commit().await?;
        self.inner.sso.clients.forget(service_code);
        Ok(RegisteredClient {
            client: self.get_client(actor, service_code).await?,
            client_secret: Some(secret),
        })
    }

    /// Moves a client along its lifecycle.
    pub async fn set_client_state(
        &self,
        actor: &Actor,
        service_code: &str,
        next: ClientState,
    ) -> Result<SsoClient> {
        manage_clients(actor)?;
        let existing = self
            .client_record(service_code)
            .await?
            .ok_or(Error::NotFound)?;
        if !existing.state.may_become(next) {
            return Err(Error::Conflict("conflict.client_state_move"));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let moved = sqlx::query(
            "UPDATE sso_clients SET state = $1, updated_at = $2 WHERE client_id = $3 AND state = $4",
        )
        .bind(next.as_str())
        .bind(now)
        .bind(service_code)
        .bind(existing.state.as_str())
        .execute(tx.conn())
        .await?;
        if moved.rows_affected() != 1 {
            return Err(Error::Conflict("conflict.client_state_move"));
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.client.state", "success")
                .target("service", service_code, service_code)
                .details(json!({"from": existing.state, "to": next})),
        )
        .await?;
        super::onboarding::tell_requester(&mut tx, service_code, &existing.name, next, now).await?;
        tx.commit().await?;
        self.inner.sso.clients.forget(service_code);
        self.get_client(actor, service_code).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_goes_through_test() {
        use ClientState::*;
        assert!(Requested.may_become(Test));
        assert!(!Requested.may_become(Production));
        assert!(Test.may_become(Production));
        assert!(Production.may_become(Suspended));
        assert!(!Rejected.may_become(Test));
        assert!(Suspended.may_become(Production));
        assert!(Test.serves() && Production.serves() && !Suspended.serves());
    }
}
