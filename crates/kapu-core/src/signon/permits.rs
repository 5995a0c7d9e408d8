//! Temporary permits (ideiglenes engedély): a user who lost the device passes the second
//! step without one, for 1 to 5 days, on a central administrator's word. The first login
//! with a device ends the permit; so can the administrator, earlier. A login on a permit
//! ends with it, and may bind one replacement device and nothing else: no recovery codes,
//! no second device (whoever holds a permit is not yet known to hold the account's devices).

use serde::Serialize;
use serde_json::json;

use super::login::user_actor;
use crate::Kapu;
use crate::actor::{Actor, RequestCtx, policy};
use crate::error::{Error, Result};
use crate::identity::mail_text;
use crate::identity::revocation::revoke_permit_logins;
use crate::identity::users::UserRow;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::clock::DAY;
use crate::platform::db::{Db, WriteTx};
use crate::platform::{mail, time_fmt};

const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemporaryPermit {
    pub id: String,
    pub reason: String,
    /// `name@tenant` of the administrator who issued it.
    pub issued_by: String,
    /// RFC 3339.
    pub issued_at: String,
    pub valid_until: String,
    pub revoked_at: Option<String>,
    /// `device_login` or `administrator`.
    pub revoke_reason: Option<String>,
    pub last_used_at: Option<String>,
    /// Valid now: not revoked and not past its end.
    pub in_force: bool,
}

/// A permit's length in days: 1 to 5 from issue (manual 5.4).
pub fn permit_days(days: i64) -> Result<i64> {
    if (1..=5).contains(&days) {
        Ok(days)
    } else {
        Err(Error::field("days", "permit.days_range"))
    }
}

/// The reason is required and short enough to read in a log.
pub fn permit_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::field("reason", "permit.reason_required"));
    }
    Ok(reason.to_string())
}

type PermitRow = (
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

const PERMIT_COLUMNS: &str = "p.id, p.reason, b.login || '@' || bt.code, p.issued_at, p.valid_until, \
     p.revoked_at, p.revoke_reason, p.last_used_at \
     FROM temporary_permits p JOIN users b ON b.id = p.issued_by JOIN tenants bt ON bt.id = b.tenant_id";

fn view(row: PermitRow, now: i64) -> TemporaryPermit {
    let (id, reason, issued_by, issued_at, valid_until, revoked_at, revoke_reason, last_used) = row;
    TemporaryPermit {
        id,
        reason,
        issued_by,
        issued_at: time_fmt::rfc3339(issued_at),
        valid_until: time_fmt::rfc3339(valid_until),
        in_force: revoked_at.is_none() && valid_until > now,
        revoked_at: revoked_at.map(time_fmt::rfc3339),
        revoke_reason,
        last_used_at: last_used.map(time_fmt::rfc3339),
    }
}

impl Kapu {
    /// A user's permits, newest first.
    pub(crate) async fn permits_of(&self, user_id: &str) -> Result<Vec<TemporaryPermit>> {
        let sql = format!("SELECT {PERMIT_COLUMNS} WHERE p.user_id = $1 ORDER BY p.issued_at DESC");
        let rows: Vec<PermitRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(self.db().pool())
            .await?;
        let now = self.now();
        Ok(rows.into_iter().map(|r| view(r, now)).collect())
    }

    async fn permit(&self, user_id: &str, id: &str) -> Result<TemporaryPermit> {
        let sql = format!("SELECT {PERMIT_COLUMNS} WHERE p.user_id = $1 AND p.id = $2");
        let row: Option<PermitRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?;
        row.map(|r| view(r, self.now())).ok_or(Error::NotFound)
    }

    /// Issues a permit; the user is told by e-mail. One permit is in force at a time.
    pub async fn issue_permit(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        days: i64,
        reason: &str,
    ) -> Result<TemporaryPermit> {
        let user = self
            .target_user(actor, tenant_code, login, policy::issue_permits)
            .await?;
        let (days, reason) = match (permit_days(days), permit_reason(reason)) {
            (Ok(d), Ok(r)) => (d, r),
            (Err(Error::Validation(mut a)), Err(Error::Validation(b))) => {
                a.extend(b);
                return Err(Error::Validation(a));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let now = self.now();
        let until = now + days * DAY;
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db().write().await?;
        let in_force: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM temporary_permits WHERE user_id = $1 AND revoked_at IS NULL AND valid_until > $2",
        )
        .bind(&user.id)
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        if in_force > 0 {
            return Err(Error::Conflict("conflict.permit_in_force"));
        }
        sqlx::query(
            "INSERT INTO temporary_permits (id, user_id, tenant_id, reason, issued_by, issued_at, valid_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&user.id)
        .bind(&user.tenant_id)
        .bind(&reason)
        .bind(actor.session_user_id())
        .bind(now)
        .bind(until)
        .execute(tx.conn())
        .await?;
        let text = mail_text::temporary_permit(
            &user.full_name,
            &user.full_login(),
            &time_fmt::short(until),
        );
        mail::enqueue(
            &mut tx,
            Some(&user.tenant_id),
            &user.email,
            &text.subject,
            &text.body,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("permit.issue", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"permit": id, "days": days, "valid_until": time_fmt::rfc3339(until), "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        self.permit(&user.id, &id).await
    }

    /// Ends a permit before its time.
    pub async fn revoke_permit(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        id: &str,
    ) -> Result<TemporaryPermit> {
        let user = self
            .target_user(actor, tenant_code, login, policy::issue_permits)
            .await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let done = sqlx::query(
            "UPDATE temporary_permits SET revoked_at = $1, revoked_by = $2, revoke_reason = 'administrator' \
             WHERE id = $3 AND user_id = $4 AND revoked_at IS NULL AND valid_until > $1",
        )
        .bind(now)
        .bind(actor.session_user_id())
        .bind(id)
        .bind(&user.id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() != 1 {
            drop(tx);
            // Unknown, or no longer in force: tell which.
            self.permit(&user.id, id).await?;
            return Err(Error::Conflict("conflict.permit_not_in_force"));
        }
        revoke_permit_logins(&mut tx, &user.id, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("permit.revoke", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"permit": id, "reason": "administrator"})),
        )
        .await?;
        tx.commit().await?;
        self.permit(&user.id, id).await
    }
}

/// Passes the second step on a permit in force, recording its use; the permit's end,
/// which is the end of the login it opens.
pub(crate) async fn use_permit(
    tx: &mut WriteTx,
    ctx: &RequestCtx,
    user: &UserRow,
    now: i64,
) -> Result<Option<i64>> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "UPDATE temporary_permits SET last_used_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND valid_until > $1 RETURNING id, valid_until",
    )
    .bind(now)
    .bind(&user.id)
    .fetch_optional(tx.conn())
    .await?;
    let Some((id, valid_until)) = row else {
        return Ok(None);
    };
    audit::record(
        tx,
        now,
        &user_actor(user),
        ctx,
        AuditEvent::new("permit.use", "success")
            .tenant(&user.tenant_id)
            .target("user", &user.id, &user.full_login())
            .details(json!({"permit": id})),
    )
    .await?;
    Ok(Some(valid_until))
}

/// Whether the permit this login stands on has had its replacement device bound.
pub(crate) async fn replacement_bound(db: &Db, actor: &Actor) -> Result<bool> {
    let bound: Option<i64> = sqlx::query_scalar(
        "SELECT replacement_bound_at FROM temporary_permits \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY issued_at DESC LIMIT 1",
    )
    .bind(actor.session_user_id())
    .fetch_optional(db.pool())
    .await?
    .flatten();
    Ok(bound.is_some())
}

/// In a login on a permit, takes the permit's one replacement device (atomically, so two
/// binds at once cannot both pass); any other session binds freely.
pub(crate) async fn claim_replacement(tx: &mut WriteTx, actor: &Actor, now: i64) -> Result<()> {
    if !actor.on_permit() {
        return Ok(());
    }
    let claimed = sqlx::query(
        "UPDATE temporary_permits SET replacement_bound_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND valid_until > $1 AND replacement_bound_at IS NULL",
    )
    .bind(now)
    .bind(actor.session_user_id())
    .execute(tx.conn())
    .await?;
    if claimed.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::PermitSession)
    }
}

/// The first login with a device ends the user's permit: it was only a bridge to one.
pub(crate) async fn end_permit_on_device_login(
    tx: &mut WriteTx,
    ctx: &RequestCtx,
    user: &UserRow,
    now: i64,
) -> Result<()> {
    let ended: Option<String> = sqlx::query_scalar(
        "UPDATE temporary_permits SET revoked_at = $1, revoke_reason = 'device_login' \
         WHERE user_id = $2 AND revoked_at IS NULL AND valid_until > $1 RETURNING id",
    )
    .bind(now)
    .bind(&user.id)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = ended {
        revoke_permit_logins(tx, &user.id, now).await?;
        audit::record(
            tx,
            now,
            &user_actor(user),
            ctx,
            AuditEvent::new("permit.revoke", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"permit": id, "reason": "device_login"})),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_last_one_to_five_days() {
        assert!(permit_days(0).is_err());
        assert_eq!(permit_days(1).ok(), Some(1));
        assert_eq!(permit_days(5).ok(), Some(5));
        assert!(permit_days(6).is_err());
        assert!(permit_days(-1).is_err());
    }

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert!(permit_reason("  ").is_err());
        assert_eq!(
            permit_reason(" lost card ").ok().as_deref(),
            Some("lost card")
        );
        assert!(permit_reason(&"x".repeat(501)).is_err());
    }
}
