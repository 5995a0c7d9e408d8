//! Server-side sessions: a random token given to the client, only its digest stored.

use sqlx::Row;

use crate::Kapu;
use crate::access::grants::{effective_role_ids, kapu_roles};
use crate::access::substitution_rules::intersect;
use crate::actor::{Actor, Deputy, Mode, RequestCtx};
use crate::error::{Error, Result};
use crate::identity::revocation::revoke_all_of;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::crypto::{random_token, token_digest};
use crate::platform::db::{WriteTx, flag};

/// Last-seen times are written at most this often, so reads do not turn into writes.
const TOUCH_EVERY_MS: i64 = 60_000;

pub struct NewSession {
    pub id: String,
    pub token: String,
    pub csrf: String,
}

/// What a new session starts with.
pub(crate) struct SessionStart<'a> {
    pub user_id: &'a str,
    pub mode: Mode,
    pub restricted: bool,
    pub roles: &'a [String],
    pub acting_for: Option<&'a str>,
    pub identity_pending: bool,
    /// RFC 8176 values, space-separated.
    pub amr: &'a str,
    pub enrol_only: bool,
    /// The session ends then whatever the timeouts say (a temporary permit's end).
    pub ends_at: Option<i64>,
}

pub(crate) async fn create(
    tx: &mut WriteTx,
    start: &SessionStart<'_>,
    client_addr: &str,
    now: i64,
) -> Result<NewSession> {
    let id = uuid::Uuid::now_v7().to_string();
    let token = random_token()?;
    let csrf = random_token()?;
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, mode, restricted, csrf, client_addr, roles_at_login, \
         acting_for, identity_pending, amr, enrol_only, created_at, last_seen_at, ends_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)",
    )
    .bind(&id)
    .bind(token_digest(&token))
    .bind(start.user_id)
    .bind(start.mode.as_str())
    .bind(flag(start.restricted))
    .bind(&csrf)
    .bind(client_addr)
    .bind(start.roles.join(","))
    .bind(start.acting_for)
    .bind(flag(start.identity_pending))
    .bind(start.amr)
    .bind(flag(start.enrol_only))
    .bind(now)
    .bind(start.ends_at)
    .execute(tx.conn())
    .await?;
    Ok(NewSession { id, token, csrf })
}

/// A session as read from the database.
struct StoredSession {
    actor: Actor,
    created_at: i64,
    last_seen_at: i64,
    /// Until when its roles cannot change by time alone.
    until: i64,
}

impl Kapu {
    /// Turns a session token into an [`Actor`], or refuses it when it is unknown, revoked,
    /// idle or too old, when its user was locked or deleted since, or when it acts for a
    /// principal and no substitution carries a role any more. Roles granted after login wait
    /// for the next login; revoked ones stop at once.
    pub async fn authenticate(&self, token: &str, ctx: RequestCtx) -> Result<Actor> {
        if token.is_empty() || token.len() > 100 {
            return Err(Error::Unauthenticated);
        }
        self.db().catch_up().await?;
        let digest = token_digest(token);
        let now = self.now();
        if let Some(hit) = self.inner.sessions.get(&digest, self.db().changes(), now) {
            let snapshot = self.settings().snapshot(&hit.actor.tenant_id).await?;
            let last_seen = hit.last_seen();
            // Timeouts are checked as always; one that looks passed is checked again in the
            // database, where another node may have seen the session since.
            if now - last_seen <= snapshot.duration_ms("session_idle_timeout")
                && now - hit.created_at <= snapshot.duration_ms("session_absolute_timeout")
            {
                if now - last_seen > TOUCH_EVERY_MS {
                    self.touch(&hit.actor.session_id, now).await?;
                    hit.seen(now);
                }
                let mut actor = hit.actor.clone();
                actor.ctx = ctx;
                return Ok(actor);
            }
        }
        // Taken before reading, so that a change committed meanwhile leaves the entry stale.
        let stamp = self.db().changes().current();
        let stored = self.authenticate_stored(&digest, now, ctx).await;
        match stored {
            Ok(s) => {
                self.inner.sessions.put(
                    &digest,
                    stamp,
                    &s.actor,
                    s.created_at,
                    s.last_seen_at,
                    s.until,
                );
                Ok(s.actor)
            }
            Err(e) => {
                self.inner.sessions.forget(&digest);
                Err(e)
            }
        }
    }

    async fn touch(&self, session_id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(session_id)
            .execute(self.db().pool())
            .await?;
        Ok(())
    }

    /// The session as the database has it.
    async fn authenticate_stored(
        &self,
        digest: &str,
        now: i64,
        ctx: RequestCtx,
    ) -> Result<StoredSession> {
        let row = sqlx::query(
            "SELECT s.id, s.user_id, s.mode, s.restricted, s.csrf, s.created_at, s.last_seen_at, s.roles_at_login, \
             s.acting_for, s.identity_pending, s.amr, s.enrol_only, s.ends_at, u.kind, u.login, u.full_name, u.admin_locked, u.deleted_at, \
             t.id AS tenant_id, t.code, t.name, t.is_central \
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = u.tenant_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
        )
        .bind(digest)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::Unauthenticated)?;
        let admin_locked: i64 = row.try_get("admin_locked")?;
        let deleted_at: Option<i64> = row.try_get("deleted_at")?;
        if admin_locked != 0 || deleted_at.is_some() {
            return Err(Error::Unauthenticated);
        }
        let tenant_id: String = row.try_get("tenant_id")?;
        let created_at: i64 = row.try_get("created_at")?;
        let last_seen_at: i64 = row.try_get("last_seen_at")?;
        let ends_at: Option<i64> = row.try_get("ends_at")?;
        if ends_at.is_some_and(|end| now >= end) {
            return Err(Error::Unauthenticated);
        }
        let snapshot = self.settings().snapshot(&tenant_id).await?;
        if now - last_seen_at > snapshot.duration_ms("session_idle_timeout")
            || now - created_at > snapshot.duration_ms("session_absolute_timeout")
        {
            return Err(Error::Unauthenticated);
        }
        let session_id: String = row.try_get("id")?;
        let user_id: String = row.try_get("user_id")?;
        let at_login: String = row.try_get("roles_at_login")?;
        let at_login: Vec<String> = at_login
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        let acting_for: Option<String> = row.try_get("acting_for")?;
        let login: String = row.try_get("login")?;
        let full_name: String = row.try_get("full_name")?;
        let tenant_code: String = row.try_get("code")?;
        let mut until = ends_at.unwrap_or(i64::MAX);
        let (user_id, login, full_name, deputy, current) = match acting_for {
            None => {
                let current = effective_role_ids(self.db(), &user_id, &tenant_id).await?;
                (user_id, login, full_name, None, current)
            }
            Some(principal_id) => {
                let principal = self.user_by_id(&principal_id).await?;
                if principal.admin_locked != 0
                    || principal.deleted_at.is_some()
                    || principal.tenant_id != tenant_id
                {
                    return Err(Error::Unauthenticated);
                }
                let current = self
                    .acting_roles(&user_id, &principal_id, &tenant_id)
                    .await?;
                until = until.min(
                    self.substitution_boundary(&user_id, &principal_id, now)
                        .await?,
                );
                if current.is_empty() {
                    // The substitution ended, was deleted, or the principal lost its roles.
                    return Err(Error::Unauthenticated);
                }
                let deputy = Deputy {
                    user_id,
                    login: format!("{login}@{tenant_code}"),
                    full_name,
                };
                (
                    principal.id,
                    principal.login,
                    principal.full_name,
                    Some(deputy),
                    current,
                )
            }
        };
        let role_ids = intersect(&current, &at_login);
        let last_seen_at = if now - last_seen_at > TOUCH_EVERY_MS {
            self.touch(&session_id, now).await?;
            now
        } else {
            last_seen_at
        };
        let mode: String = row.try_get("mode")?;
        let restricted: i64 = row.try_get("restricted")?;
        let pending: i64 = row.try_get("identity_pending")?;
        let central: i64 = row.try_get("is_central")?;
        let enrol_only: i64 = row.try_get("enrol_only")?;
        let amr: String = row.try_get("amr")?;
        let actor = Actor {
            user_id,
            login,
            full_name,
            tenant_id,
            tenant_code,
            tenant_name: row.try_get("name")?,
            central: central != 0,
            mode: Mode::parse(&mode).unwrap_or(Mode::Normal),
            roles: kapu_roles(&role_ids),
            role_ids,
            deputy,
            identity_pending: pending != 0,
            session_id,
            csrf: row.try_get("csrf")?,
            restricted: restricted != 0,
            enrol_only: enrol_only != 0,
            amr: amr.split(' ').map(str::to_string).collect(),
            technical: row.try_get::<String, _>("kind")? == "technical",
            ctx,
        };
        Ok(StoredSession {
            actor,
            created_at,
            last_seen_at,
            until,
        })
    }

    pub async fn logout(&self, actor: &Actor) -> Result<()> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(&actor.session_id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("logout", "success")
                .tenant(&actor.tenant_id)
                .target("user", &actor.user_id, &actor.full_login()),
        )
        .await?;
        tx.commit().await
    }

    /// Revokes every session of the actor, this one included.
    pub async fn logout_everywhere(&self, actor: &Actor) -> Result<u64> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let n = revoke_all_of(&mut tx, actor.session_user_id(), now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("logout.everywhere", "success")
                .tenant(&actor.tenant_id)
                .target("user", &actor.user_id, &actor.full_login())
                .details(serde_json::json!({"sessions": n})),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
