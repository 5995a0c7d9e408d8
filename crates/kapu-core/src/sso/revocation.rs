//! Token revocation (RFC 7009) and introspection (RFC 7662): a client asks about, or gives
//! up, the tokens issued to it, and only those.

use serde_json::{Value, json};

use super::tokens::{OAuthError, TokenRequest, revoke_grant};
use crate::Kapu;
use crate::platform::crypto::token_digest;

type Outcome<T> = std::result::Result<T, OAuthError>;

/// A refresh token's grant and end, when it is one of ours and unspent.
struct RefreshState {
    grant_id: String,
    expires_at: i64,
    live: bool,
}

impl Kapu {
    async fn refresh_state(&self, token: &str) -> Outcome<Option<RefreshState>> {
        let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT grant_id, expires_at, used_at FROM sso_refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_digest(token))
        .fetch_optional(self.db().pool())
        .await?;
        Ok(row.map(|(grant_id, expires_at, used_at)| RefreshState {
            live: used_at.is_none() && expires_at > self.now(),
            grant_id,
            expires_at,
        }))
    }

    /// `POST /oauth2/revoke`: the grant behind the token ends, with every token it gave.
    /// An unknown token, or another client's, is answered alike (success).
    pub async fn revoke_token(&self, req: &TokenRequest, token: &str) -> Outcome<()> {
        let client = self.authenticate_client(req).await?;
        let grant_id = match self.refresh_state(token).await? {
            Some(r) => Some(r.grant_id),
            None => self
                .verify_access_token(token)
                .await?
                .map(|(_, _, grant)| grant.id),
        };
        let Some(grant_id) = grant_id else {
            return Ok(());
        };
        let Ok(grant) = self.load_grant(&grant_id).await else {
            return Ok(());
        };
        if grant.client_id != client.client_id {
            return Ok(());
        }
        let mut tx = self.db().write().await?;
        revoke_grant(&mut tx, &grant_id, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /oauth2/introspect`: whether the token is active, and what it stands for.
    pub async fn introspect(&self, req: &TokenRequest, token: &str) -> Outcome<Value> {
        let client = self.authenticate_client(req).await?;
        // RFC 7662 2.1: the caller must be a client that can keep a secret.
        if !client.confidential {
            return Err(OAuthError {
                error: "invalid_client",
                description: "a public client cannot introspect tokens",
                status: 401,
            });
        }
        let inactive = json!({"active": false});
        if let Some((claims, owner, grant)) = self.verify_access_token(token).await? {
            if owner.client_id != client.client_id {
                return Ok(inactive);
            }
            if grant.deleted_at_or_locked() {
                return Ok(inactive);
            }
            let roles = self.current_roles(&grant).await?;
            let mut answer = json!({
                "active": true, "token_type": "access_token", "client_id": grant.client_id,
                "scope": grant.scope, "sub": claims["sub"], "exp": claims["exp"],
                "iat": claims["iat"], "iss": claims["iss"], "aud": claims["aud"], "roles": *roles,
            });
            if let (Some(act), Some(map)) = (claims.get("act"), answer.as_object_mut()) {
                map.insert("act".into(), act.clone());
            }
            return Ok(answer);
        }
        let Some(refresh) = self.refresh_state(token).await? else {
            return Ok(inactive);
        };
        let Ok(grant) = self.load_grant(&refresh.grant_id).await else {
            return Ok(inactive);
        };
        if !refresh.live
            || grant.client_id != client.client_id
            || !self.grant_stands(&grant, self.now()).await?
        {
            return Ok(inactive);
        }
        Ok(json!({
            "active": true, "token_type": "refresh_token", "client_id": grant.client_id,
            "scope": grant.scope, "exp": refresh.expires_at / 1000,
        }))
    }
}
