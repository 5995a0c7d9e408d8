//! The authorization endpoint's decisions: whether a request may go back to its client at
//! all, whether the user must log in again or consent first, and the one-time code that
//! ends it.

use serde::Deserialize;
use serde_json::json;

use super::clients::{ClientRecord, ClientState};
use super::pkce;
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::crypto::{random_token, token_digest};

/// How long a code waits for its exchange.
const CODE_TTL_MS: i64 = 60_000;

/// The request as the client sent it (query parameters).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    /// `urn:kapu:acr:mfa` asks for a login with a second factor.
    pub acr_values: Option<String>,
    /// Only `query` is offered; any other is refused, never silently ignored.
    pub response_mode: Option<String>,
}

/// A refusal: before the client and its redirect address are known good, only a page may
/// say so (never a redirect); after, the client hears it at its redirect address.
#[derive(Debug)]
pub enum AuthorizeError {
    Page(Error),
    Redirect(String),
}

/// A request whose client and redirect address are known good.
#[derive(Debug, Clone)]
pub struct CheckedRequest {
    pub(crate) client: ClientRecord,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt_login: bool,
    max_age_secs: Option<i64>,
    /// The service asked for a login with a second factor.
    wants_mfa: bool,
    /// `prompt=none`: no page may be shown; what would need one goes back as an error.
    pub prompt_none: bool,
}

impl CheckedRequest {
    pub fn client_name(&self) -> &str {
        &self.client.name
    }

    /// The address that tells the client `error` (OAuth 2.0 4.1.2.1), with its state.
    pub fn refusal(&self, error: &str, description: &str) -> String {
        refusal_url(
            &self.redirect_uri,
            self.state.as_deref(),
            error,
            description,
        )
    }
}

/// The origin of a registered address, as a CSP source expression: `scheme://host[:port]`,
/// or `scheme:` for an address without an authority (a native app's). `None` for anything
/// with a character a policy could read as another directive or source.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let Some(after) = rest.strip_prefix("//") else {
        return Some(format!("{}:", scheme.to_ascii_lowercase()));
    };
    let authority = after.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    host_ok.then(|| {
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        )
    })
}

/// What comes next for a logged-in user.
#[derive(Debug)]
pub enum Decision {
    /// Log in again (`prompt=login`, or the login is older than `max_age`).
    Login,
    /// The user has not yet let this service have these data.
    Consent,
    /// Back to the client, with the code.
    Redirect(String),
}

/// What a query value escapes: all but the unreserved characters (RFC 3986), so that codes
/// and states (base64url) travel as they are.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends parameters to a registered address, which may have a query of its own.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_string();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.extend(percent_encoding::utf8_percent_encode(v, QUERY_VALUE));
        sep = '&';
    }
    out
}

fn refusal_url(uri: &str, state: Option<&str>, error: &str, description: &str) -> String {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    with_params(uri, &params)
}

fn refuse(uri: &str, state: Option<&str>, error: &str, description: &str) -> AuthorizeError {
    AuthorizeError::Redirect(refusal_url(uri, state, error, description))
}

/// The scopes Kapu knows; others are ignored, as OpenID Connect allows.
const SCOPES: [&str; 4] = ["openid", "profile", "email", "roles"];

impl Kapu {
    /// Checks a request: client and redirect address first (a page if wrong), then the
    /// rest (an error sent back to the client).
    pub async fn check_authorization(
        &self,
        req: &AuthorizationRequest,
    ) -> std::result::Result<CheckedRequest, AuthorizeError> {
        let client_id = req.client_id.as_deref().unwrap_or("");
        let client = self
            .client_record(client_id)
            .await
            .map_err(AuthorizeError::Page)?
            .ok_or(AuthorizeError::Page(Error::Conflict("sso.client_unknown")))?;
        let redirect_uri = req.redirect_uri.as_deref().unwrap_or("");
        // A client that does not serve (requested, rejected, suspended) is unknown here:
        // a maintainer's mere request must not make Kapu redirect to its addresses.
        if !client.state.serves() {
            return Err(AuthorizeError::Page(Error::Conflict("sso.client_unknown")));
        }
        if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
            return Err(AuthorizeError::Page(Error::Conflict(
                "sso.redirect_uri_unregistered",
            )));
        }
        let state = req.state.as_deref().filter(|s| s.len() <= 500);
        let fail = |error: &str, description: &str| refuse(redirect_uri, state, error, description);
        // A state too long to send back would leave the client unable to match the answer.
        if req.state.is_some() && state.is_none() {
            return Err(fail(
                "invalid_request",
                "state is longer than 500 characters",
            ));
        }
        if req.response_type.as_deref() != Some("code") {
            return Err(fail(
                "unsupported_response_type",
                "only the code flow is offered",
            ));
        }
        let scope: Vec<String> = req
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| SCOPES.contains(s))
            .map(str::to_string)
            .collect();
        if !scope.iter().any(|s| s == "openid") {
            return Err(fail("invalid_scope", "the openid scope is required"));
        }
        let code_challenge = match (
            req.code_challenge.as_deref(),
            req.code_challenge_method.as_deref(),
        ) {
            (Some(c), Some("S256")) if pkce::valid_challenge(c) => Some(c.to_string()),
            (None, None) if client.confidential && !client.pkce_required => None,
            (None, None) => return Err(fail("invalid_request", "PKCE is required")),
            _ => return Err(fail("invalid_request", "PKCE with S256 only")),
        };
        if req.response_mode.as_deref().is_some_and(|m| m != "query") {
            return Err(fail(
                "invalid_request",
                "only response_mode=query is offered",
            ));
        }
        let max_age_secs = match req.max_age.as_deref() {
            None => None,
            Some(m) => Some(
                m.parse::<i64>()
                    .ok()
                    .filter(|m| *m >= 0)
                    .ok_or_else(|| fail("invalid_request", "max_age"))?,
            ),
        };
        let prompts: Vec<&str> = req.prompt.as_deref().unwrap_or("").split(' ').collect();
        // OpenID Connect Core 3.1.2.1: `none` with any other value is an error.
        if prompts.contains(&"none") && prompts.iter().any(|p| !p.is_empty() && *p != "none") {
            return Err(fail("invalid_request", "prompt=none stands alone"));
        }
        Ok(CheckedRequest {
            redirect_uri: redirect_uri.to_string(),
            scope,
            state: state.map(str::to_string),
            nonce: req.nonce.clone().filter(|n| n.len() <= 500),
            code_challenge,
            prompt_login: prompts.contains(&"login"),
            prompt_none: prompts.contains(&"none"),
            max_age_secs,
            wants_mfa: req
                .acr_values
                .as_deref()
                .is_some_and(|a| a.split(' ').any(|v| v == ACR_MFA)),
            client,
        })
    }

    /// Decides for a logged-in user: log in again, consent, or the code.
    pub async fn authorize(
        &self,
        actor: &Actor,
        req: &CheckedRequest,
    ) -> std::result::Result<Decision, AuthorizeError> {
        let fail = |error: &str, description: &str| {
            refuse(&req.redirect_uri, req.state.as_deref(), error, description)
        };
        let page = AuthorizeError::Page;
        if actor.restricted || actor.enrol_only || actor.identity_pending {
            return Err(fail("access_denied", "the login is not complete"));
        }
        let now = self.now();
        let auth_time: i64 = sqlx::query_scalar("SELECT created_at FROM sessions WHERE id = $1")
            .bind(&actor.session_id)
            .fetch_one(self.db().pool())
            .await
            .map_err(|e| page(e.into()))?;
        let too_old = req
            .max_age_secs
            .is_some_and(|m| now - auth_time > m.saturating_mul(1000));
        if req.prompt_login || too_old {
            return login_or(req);
        }
        if req.wants_mfa && !actor.amr.iter().any(|a| a == "mfa") {
            // Step up: a new login takes the second step, where the person has a factor.
            let factors = self
                .usable_factors(actor.session_user_id(), now)
                .await
                .map_err(page)?;
            if factors.is_empty() {
                return Err(fail(
                    "access_denied",
                    "the service asks for a second factor, and the user has none",
                ));
            }
            return login_or(req);
        }
        if req.client.state == ClientState::Test {
            let test: i64 = sqlx::query_scalar("SELECT is_test FROM tenants WHERE id = $1")
                .bind(&actor.tenant_id)
                .fetch_one(self.db().pool())
                .await
                .map_err(|e| page(e.into()))?;
            if test == 0 {
                return Err(fail(
                    "access_denied",
                    "the service is in test and takes users of test tenants only",
                ));
            }
        }
        let consented: Option<String> = sqlx::query_scalar(
            "SELECT scope FROM sso_consents WHERE user_id = $1 AND client_id = $2",
        )
        .bind(actor.session_user_id())
        .bind(&req.client.client_id)
        .fetch_optional(self.db().pool())
        .await
        .map_err(|e| page(e.into()))?;
        let covered = consented.is_some_and(|c| {
            let given: Vec<&str> = c.split(' ').collect();
            req.scope.iter().all(|s| given.contains(&s.as_str()))
        });
        if !covered {
            if req.prompt_none {
                return Err(fail("consent_required", "the user has not consented"));
            }
            return Ok(Decision::Consent);
        }
        self.issue_code(actor, req, auth_time, now)
            .await
            .map(Decision::Redirect)
            .map_err(page)
    }

    /// The user lets the service have the data of these scopes, from now on.
    pub async fn give_consent(&self, actor: &Actor, req: &CheckedRequest) -> Result<()> {
        let now = self.now();
        let scope = req.scope.join(" ");
        let mut tx = self.db().write().await?;
        sqlx::query("DELETE FROM sso_consents WHERE user_id = $1 AND client_id = $2")
            .bind(actor.session_user_id())
            .bind(&req.client.client_id)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO sso_consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(actor.session_user_id())
        .bind(&req.client.client_id)
        .bind(&scope)
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.consent", "success")
                .tenant(&actor.tenant_id)
                .target("service", &req.client.client_id, &req.client.name)
                .details(json!({"scope": scope})),
        )
        .await?;
        tx.commit().await
    }

    async fn issue_code(
        &self,
        actor: &Actor,
        req: &CheckedRequest,
        auth_time: i64,
        now: i64,
    ) -> Result<String> {
        let prefix = format!("{}.", req.client.client_id);
        let roles: Vec<&str> = actor
            .role_ids
            .iter()
            .filter_map(|r| r.strip_prefix(&prefix))
            .collect();
        let code = random_token()?;
        let grant_id = uuid::Uuid::now_v7().to_string();
        let amr = actor.amr.join(" ");
        let acr = acr_of(&actor.amr);
        let mut tx = self.db().write().await?;
        sqlx::query(
            "INSERT INTO sso_grants (id, client_id, user_id, deputy_id, session_id, scope, roles, auth_time, amr, acr, created_at, ends_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, (SELECT ends_at FROM sessions WHERE id = $5))",
        )
        .bind(&grant_id)
        .bind(&req.client.client_id)
        .bind(&actor.user_id)
        .bind(actor.deputy.as_ref().map(|d| &d.user_id))
        .bind(&actor.session_id)
        .bind(req.scope.join(" "))
        .bind(roles.join(" "))
        .bind(auth_time)
        .bind(&amr)
        .bind(acr)
        .bind(now)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO sso_codes (code_hash, client_id, grant_id, redirect_uri, nonce, code_challenge, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_digest(&code))
        .bind(&req.client.client_id)
        .bind(&grant_id)
        .bind(&req.redirect_uri)
        .bind(req.nonce.as_deref())
        .bind(req.code_challenge.as_deref())
        .bind(now + CODE_TTL_MS)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("sso.authorize", "success")
                .tenant(&actor.tenant_id)
                .target("service", &req.client.client_id, &req.client.name)
                .details(
                    json!({"grant": grant_id, "scope": req.scope, "roles": roles, "amr": amr}),
                ),
        )
        .await?;
        tx.commit().await?;
        let mut params = vec![("code", code.as_str())];
        if let Some(s) = &req.state {
            params.push(("state", s));
        }
        Ok(with_params(&req.redirect_uri, &params))
    }
}

/// A new login, unless the client asked that none be shown (`prompt=none`).
fn login_or(req: &CheckedRequest) -> std::result::Result<Decision, AuthorizeError> {
    if req.prompt_none {
        return Err(AuthorizeError::Redirect(
            req.refusal("login_required", "the user must log in"),
        ));
    }
    Ok(Decision::Login)
}

/// The assurance a login gives: with a second factor, or with a password alone.
pub fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|a| a == "mfa") {
        ACR_MFA
    } else {
        "urn:kapu:acr:pwd"
    }
}

/// The assurance of a login with a second factor.
pub const ACR_MFA: &str = "urn:kapu:acr:mfa";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_join_an_address_with_or_without_a_query() {
        assert_eq!(
            with_params("https://a.hu/cb", &[("code", "x y-_.~/"), ("state", "s")]),
            "https://a.hu/cb?code=x%20y-_.~%2F&state=s"
        );
        assert_eq!(
            with_params("https://a.hu/cb?v=1", &[("code", "c")]),
            "https://a.hu/cb?v=1&code=c"
        );
    }

    #[test]
    fn an_origin_is_the_scheme_and_host_and_nothing_a_policy_could_misread() {
        assert_eq!(
            origin_of("https://Gazd.example.hu:8443/cb?x=1").as_deref(),
            Some("https://gazd.example.hu:8443")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:4000/callback").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(
            origin_of("hu.kapu.app:/cb").as_deref(),
            Some("hu.kapu.app:")
        );
        assert_eq!(origin_of("https://a.hu;script-src *"), None);
        assert_eq!(origin_of("https://a.hu 'unsafe-inline'/"), None);
        assert_eq!(origin_of("https:///cb"), None);
        assert_eq!(origin_of("nocolon"), None);
    }
}
