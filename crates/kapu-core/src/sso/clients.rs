//! Services as OpenID Connect clients: their registration (redirect addresses, client type,
//! subject type, secret) and their lifecycle, requested → test → production (or rejected,
//! suspended), moved by central framework administrators. A service in test accepts only
//! users of test tenants.

use serde::Serialize;
use serde_json::json;

use crate::Kapu;
use crate::access::catalog::parse_launch_url;
use crate::actor::{Actor, Role, policy};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::crypto::{random_token, token_digest};
use crate::platform::time_fmt;

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
}

/// A registration with its secret, shown only in this answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisteredClient {
    pub client: SsoClient,
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Public keys (a JWKS) the client signs its `private_key_jwt` assertions with.
    pub jwks: Option<serde_json::Value>,
    /// `EdDSA` (the default) or `RS256`.
    pub id_token_signed_response_alg: String,
    pub subject_type: String,
    pub contact: String,
}

/// A redirect address: exact, absolute, `https://` (or `http://` on the local machine, for
/// development clients), without a fragment.
pub fn parse_redirect_uri(s: &str) -> std::result::Result<String, &'static str> {
    let s = s.trim();
    if s.contains('#') {
        return Err("sso.redirect_uri_invalid");
    }
    parse_launch_url(s).map_err(|_| "sso.redirect_uri_invalid")
}

/// Checks a registration's fields; every problem is reported at once.
/// Checks a registration; `internal_logout` lets the back-channel address be internal.
pub fn check_input(input: &ClientInput, internal_logout: bool) -> Result<ClientInput> {
    let mut errors = Vec::new();
    if !matches!(input.client_type.as_str(), "confidential" | "public") {
        errors.push(FieldError::new("client_type", "sso.client_type_invalid"));
    }
    let alg = match input.id_token_signed_response_alg.as_str() {
        "" | "EdDSA" => "EdDSA",
        "RS256" => "RS256",
        _ => {
            errors.push(FieldError::new(
                "id_token_signed_response_alg",
                "sso.alg_invalid",
            ));
            "EdDSA"
        }
    };
    if !matches!(input.subject_type.as_str(), "public" | "pairwise") {
        errors.push(FieldError::new("subject_type", "sso.subject_type_invalid"));
    }
    let mut parse_all = |list: &[String], field: &'static str, required: bool| {
        let parsed: Vec<String> = list
            .iter()
            .filter_map(|u| match parse_redirect_uri(u) {
                Ok(u) => Some(u),
                Err(k) => {
                    errors.push(FieldError::new(field, k));
                    None
                }
            })
            .collect();
        if (required && list.is_empty()) || list.len() > 20 {
            errors.push(FieldError::new(field, "sso.redirect_uris_count"));
        }
        parsed
    };
    let redirect_uris = parse_all(&input.redirect_uris, "redirect_uris", true);
    let post_logout = parse_all(
        &input.post_logout_redirect_uris,
        "post_logout_redirect_uris",
        false,
    );
    let backchannel = input
        .backchannel_logout_uri
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .and_then(|u| match parse_redirect_uri(u) {
            Ok(u) if !internal_logout && super::addresses::internal_address(&u) => {
                errors.push(FieldError::new(
                    "backchannel_logout_uri",
                    "sso.backchannel_internal",
                ));
                None
            }
            Ok(u) => Some(u),
            Err(k) => {
                errors.push(FieldError::new("backchannel_logout_uri", k));
                None
            }
        });
    let jwks = match &input.jwks {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(v.clone()) {
            Ok(set) if !set.keys.is_empty() && set.keys.len() <= 10 => Some(v.clone()),
            _ => {
                errors.push(FieldError::new("jwks", "sso.jwks_invalid"));
                None
            }
        },
    };
    let contact = input.contact.trim();
    if contact.is_empty() || contact.chars().count() > 200 {
        errors.push(FieldError::new("contact", "sso.contact_required"));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    Ok(ClientInput {
        client_type: input.client_type.clone(),
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        backchannel_logout_uri: backchannel,
        jwks,
        id_token_signed_response_alg: alg.to_string(),
        subject_type: input.subject_type.clone(),
        contact: contact.to_string(),
    })
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
);

const CLIENT_COLUMNS: &str = "c.client_id, s.name, c.client_type, c.secret_digest, c.redirect_uris, \
     c.post_logout_redirect_uris, c.backchannel_logout_uri, c.subject_type, c.state, c.contact, c.updated_at, c.jwks, c.token_alg \
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
                 backchannel_logout_uri = $9, jwks = $10, token_alg = $11 WHERE service_id = $8",
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
            .execute(tx.conn())
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO sso_clients (service_id, client_id, client_type, secret_digest, redirect_uris, \
                 post_logout_redirect_uris, subject_type, state, contact, created_at, updated_at, backchannel_logout_uri, jwks, token_alg) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'test', $8, $9, $9, $10, $11, $12)",
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
                    "subject_type": input.subject_type, "new": existing.is_none()}),
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

    #[test]
    fn redirect_addresses_are_exact_and_safe() {
        assert!(parse_redirect_uri("https://portal.example.hu/callback").is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:8081/cb").is_ok());
        assert!(parse_redirect_uri("http://portal.example.hu/cb").is_err());
        assert!(parse_redirect_uri("https://portal.example.hu/cb#x").is_err());
        assert!(parse_redirect_uri("/relative").is_err());
    }
}
