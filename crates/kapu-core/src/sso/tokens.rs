//! The token endpoint (authorization code with PKCE, rotating refresh tokens) and userinfo.
//! Tokens are JWTs signed by Kapu's key store. A code used twice, or a refresh token used
//! twice, revokes everything its grant gave; so does the end of a deputy's substitution.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use super::clients::ClientRecord;
use super::grants::{CODE_QUERY, CodeWithGrant, Grant};
use super::pkce;
use crate::Kapu;
use crate::access::grants::effective_role_ids;
use crate::error::Error;
use crate::platform::crypto::{random_token, sha256_hex, token_digest};
use crate::platform::db::WriteTx;
use crate::platform::group_write::Job;

const ACCESS_TTL_SECS: i64 = 300;
const REFRESH_TTL_MS: i64 = 30 * 24 * 3_600_000;

/// A token request as the door read it (form fields, with the client's credentials from
/// the `Authorization` header or the form).
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523): the assertion and its type.
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// An OAuth error answer (RFC 6749 section 5.2).
#[derive(Debug)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: &'static str,
    /// 401 for a client that failed to authenticate, else 400.
    pub status: u16,
}

impl OAuthError {
    fn new(error: &'static str, description: &'static str) -> Self {
        OAuthError {
            error,
            description,
            status: 400,
        }
    }
    pub(super) fn grant(description: &'static str) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        if e.is_unavailable() {
            // RFC 6749's code for a passing overload or outage of the server.
            tracing::warn!(error = %e, "token endpoint: database unavailable");
            return OAuthError {
                error: "temporarily_unavailable",
                description: "the service is briefly unavailable, try again",
                status: 503,
            };
        }
        tracing::error!(error = %e, "token endpoint failed");
        OAuthError {
            error: "server_error",
            description: "internal error",
            status: 500,
        }
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        Error::from(e).into()
    }
}

pub(super) type Outcome<T> = std::result::Result<T, OAuthError>;

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub refresh_token: String,
    pub scope: String,
}

impl Kapu {
    /// `POST /oauth2/token`.
    pub async fn token(&self, req: &TokenRequest) -> Outcome<TokenResponse> {
        let client = self.authenticate_client(req).await?;
        if client.rs256 {
            self.keys().prepare_rs256(self.now()).await?;
        }
        match req.grant_type.as_str() {
            "authorization_code" => self.exchange_code(&client, req).await,
            "refresh_token" => self.refresh(&client, req).await,
            _ => Err(OAuthError::new(
                "unsupported_grant_type",
                "authorization_code or refresh_token",
            )),
        }
    }

    pub(super) async fn authenticate_client(&self, req: &TokenRequest) -> Outcome<ClientRecord> {
        let unauthenticated = OAuthError {
            error: "invalid_client",
            description: "client authentication failed",
            status: 401,
        };
        if let Some(assertion) = req.client_assertion.as_deref() {
            if req.client_assertion_type.as_deref() != Some(super::assertions::JWT_BEARER) {
                return Err(unauthenticated);
            }
            let client = self
                .client_by_assertion(assertion, req.client_id.as_deref())
                .await?
                .ok_or(unauthenticated)?;
            return if client.state.serves() {
                Ok(client)
            } else {
                Err(OAuthError::new(
                    "unauthorized_client",
                    "the service takes no logins",
                ))
            };
        }
        let Some(client_id) = req.client_id.as_deref() else {
            return Err(unauthenticated);
        };
        let Some(client) = self.client_record(client_id).await? else {
            return Err(unauthenticated);
        };
        if client.confidential {
            let given = req.client_secret.as_deref().map(token_digest);
            if given.is_none() || given != client.secret_digest {
                return Err(unauthenticated);
            }
        }
        if !client.state.serves() {
            return Err(OAuthError::new(
                "unauthorized_client",
                "the service takes no logins",
            ));
        }
        Ok(client)
    }

    async fn exchange_code(
        &self,
        client: &ClientRecord,
        req: &TokenRequest,
    ) -> Outcome<TokenResponse> {
        let code_hash = token_digest(req.code.as_deref().unwrap_or(""));
        let now = self.now();
        let row: Option<CodeWithGrant> = sqlx::query_as(CODE_QUERY)
            .bind(&code_hash)
            .fetch_optional(self.db().pool())
            .await?;
        let Some(code) = row else {
            return Err(OAuthError::grant("unknown code"));
        };
        let grant = code.grant;
        let grant_id = grant.id.clone();
        if code.code_client_id != client.client_id || grant.client_id != client.client_id {
            return Err(OAuthError::grant("the code was issued to another client"));
        }
        if code.code_used_at.is_some() {
            // A code seen twice was stolen or replayed: what it gave is taken back.
            return Err(self
                .revoke_for_reuse(&grant_id, "the code was used already", now)
                .await);
        }
        if code.code_expires_at <= now {
            return Err(OAuthError::grant("the code has expired"));
        }
        if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
            return Err(OAuthError::grant("redirect_uri does not match"));
        }
        match (code.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), verifier) => {
                if !pkce::verify_s256(verifier.unwrap_or(""), &challenge) {
                    return Err(OAuthError::grant("the PKCE verifier does not match"));
                }
            }
            // RFC 9700 2.1.1: a verifier for a code issued without a challenge means the code
            // was injected into another client's flow.
            (None, Some(_)) => {
                return Err(OAuthError::grant(
                    "a code_verifier came for a code issued without a challenge",
                ));
            }
            (None, None) => {}
        }
        if !self.grant_stands(&grant, now).await? {
            return Err(OAuthError::grant("the grant was revoked"));
        }
        let nonce = code.nonce;
        // Tokens are made before the write, which then holds the writer only for two
        // statements: the code spent (once, whoever races) and the refresh token kept.
        let (response, refresh_hash) = self.mint(client, &grant, nonce.as_deref(), now).await?;
        let spent = self
            .write_grouped(spend_and_keep(
                "UPDATE sso_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
                code_hash,
                refresh_hash,
                grant.id.clone(),
                now,
            ))
            .await?;
        if !spent {
            return Err(self
                .revoke_for_reuse(&grant_id, "the code was used already", now)
                .await);
        }
        Ok(response)
    }

    async fn refresh(&self, client: &ClientRecord, req: &TokenRequest) -> Outcome<TokenResponse> {
        let token_hash = token_digest(req.refresh_token.as_deref().unwrap_or(""));
        let now = self.now();
        let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT grant_id, expires_at, used_at FROM sso_refresh_tokens WHERE token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(self.db().pool())
        .await?;
        let Some((grant_id, expires_at, used_at)) = row else {
            return Err(OAuthError::grant("unknown refresh token"));
        };
        let grant = self.load_grant(&grant_id).await?;
        if grant.client_id != client.client_id {
            return Err(OAuthError::grant("the token was issued to another client"));
        }
        if !self.grant_stands(&grant, now).await? {
            return Err(OAuthError::grant("the grant was revoked"));
        }
        if used_at.is_some() {
            // Rotation: a spent token back again means two holders. End the family.
            return Err(self
                .revoke_for_reuse(&grant_id, "the refresh token was used already", now)
                .await);
        }
        if expires_at <= now {
            return Err(OAuthError::grant("the refresh token has expired"));
        }
        if let Some(deputy) = &grant.deputy_id
            && !self
                .substitution_active(deputy, &grant.user_id, now)
                .await?
        {
            return Err(self
                .revoke_for_reuse(&grant_id, "the substitution has ended", now)
                .await);
        }
        let (response, refresh_hash) = self.mint(client, &grant, None, now).await?;
        // Spent once only: of two racing holders, the second revokes the family.
        let spent = self
            .write_grouped(spend_and_keep(
                "UPDATE sso_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
                token_hash,
                refresh_hash,
                grant.id.clone(),
                now,
            ))
            .await?;
        if !spent {
            return Err(self
                .revoke_for_reuse(&grant_id, "the refresh token was used already", now)
                .await);
        }
        Ok(response)
    }

    /// Ends a grant whose code or refresh token came back, or whose substitution ended;
    /// answers with the refusal to give.
    async fn revoke_for_reuse(&self, grant_id: &str, why: &'static str, now: i64) -> OAuthError {
        let revoked = async {
            let mut tx = self.db().write_unaudited().await?;
            revoke_grant(&mut tx, grant_id, now).await?;
            tx.commit().await?;
            Ok::<(), OAuthError>(())
        }
        .await;
        match revoked {
            Ok(()) => OAuthError::grant(why),
            Err(e) => e,
        }
    }

    /// Signs the ID and access tokens and makes a refresh token; returns the answer and the
    /// refresh token's digest to keep. Nothing is written.
    async fn mint(
        &self,
        client: &ClientRecord,
        grant: &Grant,
        nonce: Option<&str>,
        now: i64,
    ) -> Outcome<(TokenResponse, String)> {
        let roles = self.current_roles(grant).await?;
        let profile = self.claims(client, grant, &roles)?;
        let iss = self.config().public_url.trim_end_matches('/').to_string();
        let secs = now / 1000;
        let mut access = json!({
            "iss": iss, "sub": profile["sub"], "aud": client.client_id, "client_id": client.client_id,
            "iat": secs, "exp": secs + ACCESS_TTL_SECS, "scope": grant.scope, "gid": grant.id,
        });
        // `act` only where somebody acts for another: absent, never null.
        if let (Some(act), Some(map)) = (profile.get("act"), access.as_object_mut()) {
            map.insert("act".into(), act.clone());
        }
        let mut id = profile.clone();
        if let Some(map) = id.as_object_mut() {
            map.insert("iss".into(), json!(iss));
            map.insert("aud".into(), json!(client.client_id));
            map.insert("iat".into(), json!(secs));
            map.insert("exp".into(), json!(secs + ACCESS_TTL_SECS));
            map.insert("auth_time".into(), json!(grant.auth_time / 1000));
            map.insert(
                "amr".into(),
                json!(grant.amr.split(' ').collect::<Vec<_>>()),
            );
            map.insert("acr".into(), json!(grant.acr));
            map.insert("sid".into(), json!(grant.session_id));
            if let Some(n) = nonce {
                map.insert("nonce".into(), json!(n));
            }
        }
        let refresh = random_token()?;
        let digest = token_digest(&refresh);
        Ok((
            TokenResponse {
                access_token: self.keys().sign_jws("at+jwt", &access, now).await?,
                token_type: "Bearer",
                expires_in: ACCESS_TTL_SECS,
                id_token: if client.rs256 {
                    self.keys().sign_rs256("JWT", &id, now).await?
                } else {
                    self.keys().sign_jws("JWT", &id, now).await?
                },
                refresh_token: refresh,
                scope: grant.scope.clone(),
            },
            digest,
        ))
    }

    /// What the service learns of the subject: the roles of this service only, and for a
    /// deputy, whom it is (`act`, RFC 8693).
    fn claims(&self, client: &ClientRecord, grant: &Grant, roles: &[String]) -> Outcome<Value> {
        if grant.deleted_at_or_locked() {
            return Err(OAuthError::grant("the user is gone or locked"));
        }
        let subject = |user_id: &str| {
            if client.pairwise {
                sha256_hex(format!("{}:{user_id}", client.client_id).as_bytes())
            } else {
                user_id.to_string()
            }
        };
        let mut claims = json!({
            "sub": subject(&grant.user_id),
            "preferred_username": format!("{}@{}", grant.login, grant.tenant_code),
            "tenant": grant.tenant_code,
        });
        let scope: Vec<&str> = grant.scope.split(' ').collect();
        if let Some(map) = claims.as_object_mut() {
            if scope.contains(&"profile") {
                map.insert("name".into(), json!(grant.full_name));
            }
            if scope.contains(&"email") {
                map.insert("email".into(), json!(grant.email));
            }
            if scope.contains(&"roles") || scope.contains(&"profile") {
                map.insert("roles".into(), json!(roles));
            }
            if let Some(deputy) = &grant.deputy_id {
                map.insert(
                    "act".into(),
                    json!({"sub": subject(deputy), "name": grant.deputy_name}),
                );
            }
        }
        Ok(claims)
    }

    /// `GET /oauth2/userinfo` with an access token.
    pub async fn userinfo(&self, bearer: &str) -> Outcome<Value> {
        let Some((_, client, grant)) = self.verify_access_token(bearer).await? else {
            return Err(OAuthError {
                error: "invalid_token",
                description: "the access token is not valid",
                status: 401,
            });
        };
        let roles = self.current_roles(&grant).await?;
        self.claims(&client, &grant, &roles)
    }

    /// The roles of the grant's service that its subject holds now (a revoked role, or the
    /// service dropped from the tenant's contract, is gone at once); for a deputy, those of
    /// the substitutions in force.
    pub(super) async fn current_roles(&self, grant: &Grant) -> Outcome<Arc<Vec<String>>> {
        let prefix = format!("{}.", grant.client_id);
        let of_service = |ids: Vec<String>| {
            Arc::new(
                ids.iter()
                    .filter_map(|r| r.strip_prefix(&prefix))
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            )
        };
        if let Some(deputy) = &grant.deputy_id {
            // Time alone ends a substitution: what a deputy may do is read afresh.
            let ids = self
                .acting_roles(deputy, &grant.user_id, &grant.tenant_id)
                .await?;
            return Ok(of_service(ids));
        }
        let key = format!("{}\u{1f}{}", grant.user_id, grant.client_id);
        let roles = self
            .inner
            .sso
            .roles
            .get_or_read(&key, self.db().changes(), || async {
                let ids = effective_role_ids(self.db(), &grant.user_id, &grant.tenant_id).await?;
                Ok(of_service(ids))
            })
            .await?;
        Ok(roles)
    }

    /// An access token's claims, client and grant, when it is Kapu's, unexpired, and its
    /// grant stands.
    pub(super) async fn verify_access_token(
        &self,
        token: &str,
    ) -> Outcome<Option<(Value, ClientRecord, Grant)>> {
        let Some(claims) = self.keys().verify(token).await? else {
            return Ok(None);
        };
        let (Some(exp), Some(gid), Some(client_id)) = (
            claims["exp"].as_i64(),
            claims["gid"].as_str(),
            claims["client_id"].as_str(),
        ) else {
            return Ok(None);
        };
        if exp.saturating_mul(1000) <= self.now() {
            return Ok(None);
        }
        let Some(client) = self.client_record(client_id).await? else {
            return Ok(None);
        };
        let Ok(grant) = self.load_grant(gid).await else {
            return Ok(None);
        };
        if grant.client_id != client.client_id || !self.grant_stands(&grant, self.now()).await? {
            return Ok(None);
        }
        Ok(Some((claims, client, grant)))
    }

    async fn substitution_active(&self, deputy: &str, principal: &str, now: i64) -> Outcome<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM substitutions WHERE deputy_id = $1 AND principal_id = $2 \
             AND deleted_at IS NULL AND starts_at <= $3 AND (ends_at IS NULL OR ends_at > $3)",
        )
        .bind(deputy)
        .bind(principal)
        .bind(now)
        .fetch_one(self.db().pool())
        .await?;
        Ok(n > 0)
    }
}

/// Spends a code or refresh token (`spend` marks the row of `spent_hash` used, once) and
/// keeps the new refresh token, in one grouped write; refused when it was spent already.
fn spend_and_keep(
    spend: &'static str,
    spent_hash: String,
    refresh_hash: String,
    grant_id: String,
    now: i64,
) -> Job {
    Box::new(move |tx: &mut WriteTx| {
        Box::pin(async move {
            let used = sqlx::query(spend)
                .bind(now)
                .bind(&spent_hash)
                .execute(tx.conn())
                .await?;
            if used.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO sso_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&refresh_hash)
            .bind(&grant_id)
            .bind(now)
            .bind(now + REFRESH_TTL_MS)
            .execute(tx.conn())
            .await?;
            Ok(true)
        })
    })
}

pub(super) async fn revoke_grant(tx: &mut WriteTx, id: &str, now: i64) -> Outcome<()> {
    sqlx::query("UPDATE sso_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
