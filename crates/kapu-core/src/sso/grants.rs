//! A grant as the token endpoints read it: who, for which client, with what, and whether it
//! still stands (not revoked, not past a permit's end, its subject neither gone, locked nor
//! with an expired password).

use super::tokens::{OAuthError, Outcome};
use crate::Kapu;

/// A grant as stored: who, for which client, with what.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct Grant {
    pub(super) id: String,
    pub(super) client_id: String,
    pub(super) user_id: String,
    pub(super) deputy_id: Option<String>,
    pub(super) session_id: String,
    pub(super) scope: String,
    pub(super) auth_time: i64,
    pub(super) amr: String,
    pub(super) acr: String,
    pub(super) revoked_at: Option<i64>,
    /// A grant given in a temporary permit's login ends with the permit.
    pub(super) ends_at: Option<i64>,
    /// The subject as the claims show it, read with the grant in one query.
    pub(super) tenant_id: String,
    pub(super) login: String,
    pub(super) tenant_code: String,
    pub(super) full_name: String,
    pub(super) email: String,
    pub(super) admin_locked: i64,
    pub(super) deleted_at: Option<i64>,
    pub(super) deputy_name: Option<String>,
}

impl Grant {
    /// The subject can no longer be spoken for (deleted, or locked by an administrator).
    pub(super) fn deleted_at_or_locked(&self) -> bool {
        self.deleted_at.is_some() || self.admin_locked != 0
    }

    /// Revoked, or past the end of the permit it was given on.
    pub(super) fn ended(&self, now: i64) -> bool {
        self.revoked_at.is_some() || self.ends_at.is_some_and(|end| now >= end)
    }
}

/// A grant's columns with its subject's, from `sso_grants g`.
macro_rules! grant_select {
    () => {
        "g.id, g.client_id, g.user_id, g.deputy_id, g.session_id, g.scope, \
         g.auth_time, g.amr, g.acr, g.revoked_at, g.ends_at, u.tenant_id, u.login, t.code AS tenant_code, u.full_name, \
         u.email, u.admin_locked, u.deleted_at, d.full_name AS deputy_name \
         FROM sso_grants g JOIN users u ON u.id = g.user_id JOIN tenants t ON t.id = u.tenant_id \
         LEFT JOIN users d ON d.id = g.deputy_id"
    };
}

pub(super) const GRANT_QUERY: &str = concat!("SELECT ", grant_select!(), " WHERE g.id = $1");

/// A code with its grant, in one query: an exchange reads both.
pub(super) const CODE_QUERY: &str = concat!(
    "SELECT c.client_id AS code_client_id, c.redirect_uri, c.nonce, c.code_challenge, \
     c.expires_at AS code_expires_at, c.used_at AS code_used_at, ",
    grant_select!(),
    " JOIN sso_codes c ON c.grant_id = g.id WHERE c.code_hash = $1"
);

#[derive(sqlx::FromRow)]
pub(super) struct CodeWithGrant {
    pub(super) code_client_id: String,
    pub(super) redirect_uri: String,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) code_expires_at: i64,
    pub(super) code_used_at: Option<i64>,
    #[sqlx(flatten)]
    pub(super) grant: Grant,
}

impl Kapu {
    pub(super) async fn load_grant(&self, id: &str) -> Outcome<Grant> {
        sqlx::query_as::<_, Grant>(GRANT_QUERY)
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or_else(|| OAuthError::grant("unknown grant"))
    }

    /// Whether the grant's people may still be spoken for: neither gone nor locked, and
    /// neither with an expired password (an expired account ends its grants, for good).
    pub(super) async fn grant_stands(&self, grant: &Grant, now: i64) -> Outcome<bool> {
        if grant.ended(now) || grant.deleted_at_or_locked() {
            return Ok(false);
        }
        let mut people = vec![grant.user_id.as_str()];
        people.extend(grant.deputy_id.as_deref());
        for person in people {
            if self.password_expired(person).await? {
                self.end_grant(&grant.id, now).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Revokes a grant for good and has its service told.
    async fn end_grant(&self, id: &str, now: i64) -> Outcome<()> {
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE sso_grants SET revoked_at = $1, logout_pending = 1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.inner.sso.logouts.notify_one();
        Ok(())
    }
}
