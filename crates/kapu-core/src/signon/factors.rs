//! A user's own second factors: authenticator-app (TOTP) enrolment and removal, and the
//! one-time recovery codes. Factors belong to the person who logs in (a deputy's own, never
//! the principal's).

use serde::Serialize;
use serde_json::json;

use super::factor_policy::FactorPolicy;
use super::login::AMR_OTP;
use super::permits::TemporaryPermit;
use super::second_step::FactorKind;
use super::{recovery_codes, totp};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::identity::users::UserRow;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::time_fmt;

/// How long an unconfirmed enrolment waits for its first code.
const ENROLMENT_TTL_MS: i64 = 10 * 60_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FactorView {
    pub id: String,
    pub kind: FactorKind,
    pub name: String,
    /// RFC 3339: when it was bound.
    pub created_at: String,
    /// `name@tenant` of who bound it: the user, or a user maintainer.
    pub bound_by: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyFactors {
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: i64,
    /// The user may add and remove factors here.
    pub self_enrolment: bool,
    /// The tenant's policy makes a second factor necessary for this user in secure mode.
    pub required_for_secure_mode: bool,
    /// A temporary permit in force, if any.
    pub temporary_permit: Option<TemporaryPermit>,
}

/// A TOTP enrolment waiting for its first code: what the user's app needs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    pub id: String,
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/...`
    pub uri: String,
    /// The address as a QR code (SVG).
    pub qr_svg: String,
}

/// What confirming an enrolment gave: new recovery codes when the user had none.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    pub factor: FactorView,
    /// Shown once; store them apart from the device.
    pub recovery_codes: Option<Vec<String>>,
}

impl Kapu {
    pub async fn my_factors(&self, actor: &Actor) -> Result<MyFactors> {
        let user_id = actor.session_user_id();
        let policy = self.factor_policy(actor).await?;
        Ok(MyFactors {
            factors: self.factor_views(user_id).await?,
            recovery_codes_left: recovery_codes_left(self.db().pool(), user_id).await?,
            self_enrolment: policy.self_enrolment,
            required_for_secure_mode: policy.requires(crate::actor::Mode::Secure, &actor.role_ids),
            temporary_permit: self
                .permits_of(user_id)
                .await?
                .into_iter()
                .find(|p| p.in_force),
        })
    }

    /// A user's confirmed factors, oldest first.
    pub(crate) async fn factor_views(&self, user_id: &str) -> Result<Vec<FactorView>> {
        let rows: Vec<FactorRow> = sqlx::query_as(
            "SELECT f.id, f.kind, f.name, f.created_at, b.login || '@' || bt.code, f.last_used_at \
             FROM second_factors f LEFT JOIN users b ON b.id = f.created_by \
             LEFT JOIN tenants bt ON bt.id = b.tenant_id \
             WHERE f.user_id = $1 AND f.confirmed_at IS NOT NULL ORDER BY f.created_at",
        )
        .bind(user_id)
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows.into_iter().filter_map(view).collect())
    }

    async fn factor_policy(&self, actor: &Actor) -> Result<FactorPolicy> {
        let snapshot = self.settings().snapshot(&actor.tenant_id).await?;
        Ok(FactorPolicy::from_settings(&snapshot))
    }

    /// Self-enrolment must be allowed, except for a session that may do nothing else; a
    /// login on a temporary permit binds one replacement device at most.
    pub(crate) async fn may_enrol(&self, actor: &Actor) -> Result<()> {
        if actor.on_permit() && super::permits::replacement_bound(self.db(), actor).await? {
            return Err(Error::PermitSession);
        }
        if actor.enrol_only || self.factor_policy(actor).await?.self_enrolment {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// A fresh check of the session user's password before a factor changes.
    /// A logged-in person's password asked again (factor changes, recovery codes, export,
    /// the vault): counted against the account like a login's, before it is checked, so a
    /// stolen session cannot guess its way through.
    pub(crate) async fn recheck_password(&self, actor: &Actor, password: &str) -> Result<()> {
        let user = self.user_by_id(actor.session_user_id()).await?;
        if self.recheck_counted(&user, password).await? {
            Ok(())
        } else {
            Err(Error::field("password", "password.current_wrong"))
        }
    }

    /// Starts an authenticator-app enrolment; it counts once its first code is confirmed.
    pub async fn begin_totp(&self, actor: &Actor, password: &str) -> Result<TotpEnrolment> {
        self.may_enrol(actor).await?;
        self.recheck_password(actor, password).await?;
        let user_id = actor.session_user_id();
        let now = self.now();
        let existing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NOT NULL",
        )
        .bind(user_id)
        .fetch_one(self.db().pool())
        .await?;
        // On a permit, the new app replaces the lost one when its first code confirms it.
        if existing > 0 && !actor.on_permit() {
            return Err(Error::Conflict("conflict.totp_enrolled"));
        }
        let secret = crate::platform::master_key::random_bytes::<{ totp::SECRET_BYTES }>()?;
        let id = uuid::Uuid::now_v7().to_string();
        let account = match &actor.deputy {
            Some(d) => d.login.clone(),
            None => actor.full_login(),
        };
        let uri = totp::otpauth_uri(&secret, "Kapu", &account)?;
        let mut tx = self.db().write().await?;
        sqlx::query(
            "DELETE FROM second_factors WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NULL",
        )
        .bind(user_id)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO second_factors (id, user_id, tenant_id, kind, name, secret, created_at, created_by) \
             VALUES ($1, $2, $3, 'totp', $4, $5, $6, $2)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(&actor.tenant_id)
        .bind("TOTP")
        .bind(self.master_key().seal(&secret, &id)?)
        .bind(now)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(TotpEnrolment {
            id,
            secret: totp::secret_base32(&secret),
            qr_svg: totp::qr_svg(&uri)?,
            uri,
        })
    }

    /// Confirms an enrolment with a first code of the app. An enrol-only session becomes a
    /// full one: the code proved the factor.
    pub async fn confirm_totp(&self, actor: &Actor, id: &str, code: &str) -> Result<Confirmed> {
        self.may_enrol(actor).await?;
        let user_id = actor.session_user_id();
        let now = self.now();
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT secret, created_at FROM second_factors \
             WHERE id = $1 AND user_id = $2 AND kind = 'totp' AND confirmed_at IS NULL",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(self.db().pool())
        .await?;
        let Some((sealed, created_at)) = row else {
            return Err(Error::NotFound);
        };
        if now - created_at > ENROLMENT_TTL_MS {
            return Err(Error::Gone("gone.enrolment_expired"));
        }
        let secret = self.master_key().open(&sealed, id)?;
        let step = totp::accept(&secret, code, u64::try_from(now / 1000).unwrap_or(0), None)
            .ok_or_else(|| Error::field("code", "factor.code_wrong"))?;
        let mut tx = self.db().write().await?;
        let done = sqlx::query(
            "UPDATE second_factors SET confirmed_at = $1, last_step = $2, last_used_at = $1 \
             WHERE id = $3 AND confirmed_at IS NULL",
        )
        .bind(now)
        .bind(i64::try_from(step).unwrap_or(i64::MAX))
        .bind(id)
        .execute(tx.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::NotFound);
        }
        super::permits::claim_replacement(&mut tx, actor, now).await?;
        let replaced = sqlx::query(
            "DELETE FROM second_factors WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NOT NULL AND id <> $2",
        )
        .bind(user_id)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        let codes = if actor.on_permit() {
            None
        } else {
            issue_recovery_codes_if_none(&mut tx, user_id, now).await?
        };
        super::devices::lift_enrol_only(&mut tx, actor, AMR_OTP).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("factor.enrol", "success")
                .tenant(&actor.tenant_id)
                .target("factor", id, "totp")
                .details(json!({"kind": "totp", "user": user_id, "recovery_codes_issued": codes.is_some(), "replaced": replaced})),
        )
        .await?;
        tx.commit().await?;
        Ok(Confirmed {
            factor: FactorView {
                id: id.to_string(),
                kind: FactorKind::Totp,
                name: "TOTP".into(),
                created_at: time_fmt::rfc3339(created_at),
                bound_by: Some(actor.full_login()),
                last_used_at: Some(time_fmt::rfc3339(now)),
            },
            recovery_codes: codes,
        })
    }

    /// Removes one of one's own factors. The session must have been opened with a second
    /// factor: a stolen password alone cannot take the factor away.
    pub async fn remove_my_factor(&self, actor: &Actor, id: &str) -> Result<()> {
        self.may_enrol(actor).await?;
        if !actor.amr.iter().any(|a| a == "mfa") {
            return Err(Error::Forbidden);
        }
        let user = self.user_by_id(actor.session_user_id()).await?;
        self.remove_factor(actor, &user, id).await
    }

    /// Removes a confirmed factor of the user, with its record in the business log.
    pub(crate) async fn remove_factor(
        &self,
        actor: &Actor,
        user: &UserRow,
        id: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let removed: Option<(String, String)> = sqlx::query_as(
            "DELETE FROM second_factors WHERE id = $1 AND user_id = $2 AND confirmed_at IS NOT NULL \
             RETURNING kind, name",
        )
        .bind(id)
        .bind(&user.id)
        .fetch_optional(tx.conn())
        .await?;
        let Some((kind, name)) = removed else {
            return Err(Error::NotFound);
        };
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL",
        )
        .bind(&user.id)
        .fetch_one(tx.conn())
        .await?;
        if left == 0 {
            // Recovery codes stand in for a factor; without any they would be a factor alone.
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(&user.id)
                .execute(tx.conn())
                .await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("factor.remove", "success")
                .tenant(&user.tenant_id)
                .target("factor", id, &name)
                .details(json!({"kind": kind, "user": user.full_login(), "factors_left": left})),
        )
        .await?;
        tx.commit().await
    }

    /// New recovery codes in place of the old ones, after a fresh password check.
    pub async fn regenerate_recovery_codes(
        &self,
        actor: &Actor,
        password: &str,
    ) -> Result<Vec<String>> {
        if actor.on_permit() {
            return Err(Error::PermitSession);
        }
        self.may_enrol(actor).await?;
        self.recheck_password(actor, password).await?;
        let user_id = actor.session_user_id();
        let now = self.now();
        let mut tx = self.db().write().await?;
        let factors: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL",
        )
        .bind(user_id)
        .fetch_one(tx.conn())
        .await?;
        if factors == 0 {
            return Err(Error::Conflict("conflict.no_second_factor"));
        }
        let codes = replace_recovery_codes(&mut tx, user_id, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("factor.recovery_codes", "success")
                .tenant(&actor.tenant_id)
                .target("user", user_id, &actor.full_login()),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }
}

type FactorRow = (String, String, String, i64, Option<String>, Option<i64>);

fn view(row: FactorRow) -> Option<FactorView> {
    let (id, kind, name, created_at, bound_by, last_used_at) = row;
    Some(FactorView {
        id,
        kind: FactorKind::parse(&kind)?,
        name,
        created_at: time_fmt::rfc3339(created_at),
        bound_by,
        last_used_at: last_used_at.map(time_fmt::rfc3339),
    })
}

pub(crate) async fn recovery_codes_left<'c, E>(conn: E, user_id: &str) -> Result<i64>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

/// The first factor brings recovery codes; later ones keep those the user has.
pub(crate) async fn issue_recovery_codes_if_none(
    tx: &mut WriteTx,
    user_id: &str,
    now: i64,
) -> Result<Option<Vec<String>>> {
    if recovery_codes_left(tx.conn(), user_id).await? > 0 {
        return Ok(None);
    }
    replace_recovery_codes(tx, user_id, now).await.map(Some)
}

async fn replace_recovery_codes(tx: &mut WriteTx, user_id: &str, now: i64) -> Result<Vec<String>> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    let codes = recovery_codes::generate()?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, digest, created_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(recovery_codes::digest(code))
            .bind(now)
            .execute(tx.conn())
            .await?;
    }
    Ok(codes)
}
