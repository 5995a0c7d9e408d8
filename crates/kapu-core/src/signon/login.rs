//! Password login, with lockout per account and throttling per client address.

use serde_json::json;

use super::factor_policy::FactorPolicy;
use super::sessions::{self, SessionStart};
use crate::Kapu;
use crate::access::grants::effective_role_ids;
use crate::actor::{Actor, Mode, RequestCtx};
use crate::error::{Error, Result};
use crate::identity::attempts::{self, Attempt, Counter};
use crate::identity::names::FullLogin;
use crate::identity::names::LoginName;
use crate::identity::password_policy::{ExpiryStatus, PasswordPolicy};
use crate::identity::users::UserRow;
use crate::platform::audit::{self, AuditActor, AuditEvent};
use crate::platform::settings::Snapshot;

#[derive(Debug)]
pub struct LoginResult {
    pub token: String,
    pub csrf: String,
    pub session_id: String,
    pub full_login: String,
    pub full_name: String,
    pub mode: Mode,
    pub expiry: ExpiryStatus,
    /// The password has expired: the session may only change it.
    pub password_change_required: bool,
    /// The user is a deputy and still chooses whose identity to act in.
    pub identity_pending: bool,
    /// `name@tenant` of the principal this session acts for.
    pub acting_for: Option<String>,
    /// How the session was opened (RFC 8176 values).
    pub amr: Vec<String>,
    /// The user must have a second factor and has none: the session may only enrol one.
    pub enrol_only: bool,
}

/// Where a correct password leads: a session, or a second step.
#[derive(Debug)]
pub enum LoginStep {
    Session(LoginResult),
    SecondFactor(super::second_step::SecondFactorChallenge),
}

/// How a session was opened, as its `amr` is written.
pub(crate) const AMR_PASSWORD: &str = "pwd";
pub(crate) const AMR_OTP: &str = "pwd otp mfa";
pub(crate) const AMR_HWK: &str = "pwd hwk mfa";
pub(crate) const AMR_CERT: &str = "pwd swk mfa";
/// A temporary permit stood in for the device: not a second factor.
pub(crate) const AMR_PERMIT: &str = "pwd permit";

/// Whose identity a login acts in.
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    Own,
    /// A principal, as `name` or `name@tenant` (the deputy's tenant).
    ActFor(&'a str),
    /// Decide on a following page (browsers), when there is anyone to act for.
    ChooseLater,
}

/// How a login goes on once its factors are proven.
pub(crate) struct Opening<'a> {
    pub mode: Mode,
    pub identity: Identity<'a>,
    pub own_roles: Vec<String>,
    pub amr: &'static str,
    pub enrol_only: bool,
    /// A login on a temporary permit ends with the permit.
    pub ends_at: Option<i64>,
}

pub(crate) fn user_actor(u: &UserRow) -> AuditActor {
    AuditActor {
        user_id: Some(u.id.clone()),
        login: Some(u.full_login()),
        on_behalf_of: None,
    }
}

impl Kapu {
    pub async fn login(
        &self,
        ctx: &RequestCtx,
        login: &str,
        password: &str,
        mode: Mode,
        identity: Identity<'_>,
    ) -> Result<LoginStep> {
        let now = self.now();
        let global = self.settings().snapshot("").await?;
        self.check_login_throttle(ctx, &global, mode, now).await?;
        let step = self
            .login_counted(ctx, login, password, mode, identity, &global, now)
            .await;
        if step.is_ok() {
            self.give_back_address_attempt(&ctx.client_addr, now)
                .await?;
        }
        step
    }

    /// A login whose attempt this address has already been charged with.
    #[allow(clippy::too_many_arguments)]
    async fn login_counted(
        &self,
        ctx: &RequestCtx,
        login: &str,
        password: &str,
        mode: Mode,
        identity: Identity<'_>,
        global: &Snapshot,
        now: i64,
    ) -> Result<LoginStep> {
        let full = FullLogin::parse(login).map_err(|k| Error::field("login", k))?;
        let user = self
            .user_by_login(full.tenant.as_str(), full.login.as_str())
            .await?;
        let Some(user) = user else {
            return Err(self
                .unknown_name_failure(ctx, &full, password, mode, global, now)
                .await?);
        };

        // Counted before the password is checked; a locked account answers the same
        // whatever the password, and does not check it.
        let snapshot = self.settings().snapshot(&user.tenant_id).await?;
        let threshold = snapshot.number("lockout_threshold");
        let n = match self
            .count_attempt(Counter::Password, &user.id, threshold, now)
            .await?
        {
            Attempt::Numbered(n) => n,
            Attempt::Crowded => return Err(attempts::crowded()),
            Attempt::Locked => {
                self.record_login_failure(ctx, Some(&user), "locked", mode, json!({}), now)
                    .await?;
                return Err(Error::AccountLocked);
            }
        };

        let ok = self.password_matches(&user, password).await?;
        if !ok {
            let locked = attempts::locks(n, threshold);
            let mut tx = self.db().write().await?;
            if locked {
                attempts::lock(
                    &mut tx,
                    Counter::Password,
                    &user.id,
                    now + snapshot.duration_ms("lockout_duration"),
                )
                .await?;
            }
            let outcome = if locked {
                "wrong_password_locked"
            } else {
                "wrong_password"
            };
            audit::record(
                &mut tx,
                now,
                &user_actor(&user),
                ctx,
                AuditEvent::new("login", outcome)
                    .tenant(&user.tenant_id)
                    .target("user", &user.id, &user.full_login())
                    .details(json!({"mode": mode.as_str(), "consecutive_failures": n})),
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("kapu_logins_total", "outcome" => outcome, "mode" => mode.as_str())
                .increment(1);
            if locked {
                metrics::counter!("kapu_lockouts_total").increment(1);
            }
            return Err(if locked {
                Error::AccountLocked
            } else {
                Error::InvalidCredentials
            });
        }
        // The right password: the consecutive count starts again, whatever follows.
        let mut tx = self.db().write_unaudited().await?;
        attempts::clear(&mut tx, Counter::Password, &user.id).await?;
        tx.commit().await?;

        // A certificate bound to the user, presented on the connection, is the factor
        // already; a tenant may accept no password without one.
        if self.presents_bound_certificate(ctx, &user.id, now).await? {
            let mut tx = self.db().write().await?;
            super::certificates::accept_certificate(&mut tx, ctx, &user.id, now).await?;
            super::permits::end_permit_on_device_login(&mut tx, ctx, &user, now).await?;
            tx.commit().await?;
            let own_roles = effective_role_ids(self.db(), &user.id, &user.tenant_id).await?;
            return self
                .finish_login(
                    ctx,
                    &user,
                    &snapshot,
                    Opening {
                        mode,
                        identity,
                        own_roles,
                        amr: AMR_CERT,
                        enrol_only: false,
                        ends_at: None,
                    },
                    now,
                )
                .await
                .map(LoginStep::Session);
        }
        if snapshot.flag("client_certificate_required") {
            self.refuse_correct_password(ctx, &user, mode, "certificate_missing", now)
                .await?;
            return Err(Error::ClientCertificateRequired);
        }
        let factors = self.usable_factors(&user.id, now).await?;
        if !factors.is_empty() {
            return self
                .open_challenge(ctx, &user, mode, identity, factors, now)
                .await
                .map(LoginStep::SecondFactor);
        }
        let own_roles = effective_role_ids(self.db(), &user.id, &user.tenant_id).await?;
        let policy = FactorPolicy::from_settings(&snapshot);
        let enrol_only = policy.requires(mode, &own_roles);
        if enrol_only && !policy.self_enrolment {
            self.refuse_correct_password(ctx, &user, mode, "second_factor_missing", now)
                .await?;
            return Err(Error::SecondFactorEnrolmentRequired);
        }
        let identity = if enrol_only { Identity::Own } else { identity };
        self.finish_login(
            ctx,
            &user,
            &snapshot,
            Opening {
                mode,
                identity,
                own_roles,
                amr: AMR_PASSWORD,
                enrol_only,
                ends_at: None,
            },
            now,
        )
        .await
        .map(LoginStep::Session)
    }

    /// A login refused although its password was right: audited, but not counted as a guess.
    async fn refuse_correct_password(
        &self,
        ctx: &RequestCtx,
        user: &UserRow,
        mode: Mode,
        outcome: &'static str,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.db().write().await?;
        audit::record(
            &mut tx,
            now,
            &user_actor(user),
            ctx,
            AuditEvent::new("login", outcome)
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"mode": mode.as_str()})),
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("kapu_logins_total", "outcome" => outcome, "mode" => mode.as_str())
            .increment(1);
        Ok(())
    }

    /// Charges this address with one attempt of the current minute, and refuses it past the
    /// limit; a right answer gives it back.
    pub(crate) async fn check_login_throttle(
        &self,
        ctx: &RequestCtx,
        global: &Snapshot,
        mode: Mode,
        now: i64,
    ) -> Result<()> {
        let limit = global.number("login_throttle_per_minute");
        let counted = self
            .count_address_attempt(&ctx.client_addr, limit, now)
            .await;
        if let Err(Error::Throttled { .. }) = &counted {
            metrics::counter!("kapu_throttled_requests_total", "what" => "login").increment(1);
            metrics::counter!("kapu_logins_total", "outcome" => "throttled", "mode" => mode.as_str())
                .increment(1);
        }
        counted
    }

    /// Everything after the last factor: the password's expiry, whose identity the session
    /// acts in, its roles, the session itself and its audit record.
    pub(crate) async fn finish_login(
        &self,
        ctx: &RequestCtx,
        user: &UserRow,
        snapshot: &Snapshot,
        opening: Opening<'_>,
        now: i64,
    ) -> Result<LoginResult> {
        let Opening {
            mode,
            identity,
            own_roles,
            amr,
            enrol_only,
            ends_at,
        } = opening;
        let policy = PasswordPolicy::from_settings(snapshot);
        let changed_at = user.password_changed_at.unwrap_or(user.created_at);
        let silenced = user.warning_silenced_for == Some(changed_at);
        let expiry = policy.status(changed_at, silenced, now);
        let expired = expiry == ExpiryStatus::Expired;
        let (principal, roles, identity_pending) = match identity {
            Identity::Own => (None, own_roles, false),
            Identity::ChooseLater => {
                let choices = !expired
                    && !self
                        .principals_for(&user.id, &user.tenant_id)
                        .await?
                        .is_empty();
                (None, own_roles, choices)
            }
            Identity::ActFor(_) if expired => return Err(Error::PasswordExpired),
            Identity::ActFor(name) => {
                let principal = self.principal_in_tenant(user, name).await?;
                let roles = self
                    .acting_roles(&user.id, &principal.id, &user.tenant_id)
                    .await?;
                if roles.is_empty() {
                    return Err(Error::field("act_for", "substitution.none_valid"));
                }
                (Some(principal), roles, false)
            }
        };

        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE users SET failed_count = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&user.id)
            .execute(tx.conn())
            .await?;
        let start = SessionStart {
            user_id: &user.id,
            mode,
            restricted: expired,
            roles: &roles,
            acting_for: principal.as_ref().map(|p| p.id.as_str()),
            identity_pending,
            amr,
            enrol_only,
            ends_at,
        };
        let session = sessions::create(&mut tx, &start, &ctx.client_addr, now).await?;
        let mut actor = user_actor(user);
        actor.on_behalf_of = principal.as_ref().map(UserRow::full_login);
        audit::record(
            &mut tx,
            now,
            &actor,
            ctx,
            AuditEvent::new(
                "login",
                if expired {
                    "password_expired"
                } else {
                    "success"
                },
            )
            .tenant(&user.tenant_id)
            .target("user", &user.id, &user.full_login())
            .details(json!({"mode": mode.as_str(), "session": session.id, "amr": amr})),
        )
        .await?;
        tx.commit().await?;
        let outcome = if expired {
            "password_expired"
        } else {
            "success"
        };
        metrics::counter!("kapu_logins_total", "outcome" => outcome, "mode" => mode.as_str())
            .increment(1);
        Ok(LoginResult {
            token: session.token,
            csrf: session.csrf,
            session_id: session.id,
            full_login: user.full_login(),
            full_name: user.full_name.clone(),
            mode,
            expiry,
            password_change_required: expired,
            identity_pending,
            acting_for: principal.as_ref().map(UserRow::full_login),
            amr: amr.split(' ').map(str::to_string).collect(),
            enrol_only,
        })
    }

    /// A principal named by a deputy: a live user of the deputy's own tenant.
    async fn principal_in_tenant(&self, deputy: &UserRow, name: &str) -> Result<UserRow> {
        let login = match name.rsplit_once('@') {
            Some((login, tenant)) if tenant == deputy.tenant_code => login,
            Some(_) => return Err(Error::field("act_for", "substitution.none_valid")),
            None => name,
        };
        LoginName::parse(login).map_err(|_| Error::field("act_for", "substitution.none_valid"))?;
        self.user_by_login(&deputy.tenant_code, login)
            .await?
            .filter(|p| p.admin_locked == 0)
            .ok_or_else(|| Error::field("act_for", "substitution.none_valid"))
    }

    /// The deputy's choice right after login: their own identity (`None`) or a principal's.
    /// Made once; to choose again, the user logs out and in.
    pub async fn choose_identity(&self, actor: &Actor, principal: Option<&str>) -> Result<()> {
        if !actor.identity_pending || actor.deputy.is_some() {
            return Err(Error::Conflict("conflict.identity_fixed"));
        }
        let now = self.now();
        let me = self.user_by_id(&actor.user_id).await?;
        let chosen = match principal {
            Some(name) => {
                let p = self.principal_in_tenant(&me, name).await?;
                let roles = self.acting_roles(&me.id, &p.id, &me.tenant_id).await?;
                if roles.is_empty() {
                    return Err(Error::field("act_for", "substitution.none_valid"));
                }
                Some((p, roles))
            }
            None => None,
        };
        let mut tx = self.db().write().await?;
        match &chosen {
            Some((p, roles)) => {
                sqlx::query("UPDATE sessions SET acting_for = $1, roles_at_login = $2, identity_pending = 0 WHERE id = $3")
                    .bind(&p.id)
                    .bind(roles.join(","))
                    .bind(&actor.session_id)
                    .execute(tx.conn())
                    .await?;
            }
            None => {
                sqlx::query("UPDATE sessions SET identity_pending = 0 WHERE id = $1")
                    .bind(&actor.session_id)
                    .execute(tx.conn())
                    .await?;
            }
        }
        let mut audit_actor = actor.audit();
        audit_actor.on_behalf_of = chosen.as_ref().map(|(p, _)| p.full_login());
        audit::record(
            &mut tx,
            now,
            &audit_actor,
            &actor.ctx,
            AuditEvent::new("login.identity", "success")
                .tenant(&actor.tenant_id)
                .target("user", &actor.user_id, &actor.full_login())
                .details(json!({"acting_for": audit_actor.on_behalf_of, "roles": chosen.as_ref().map(|c| &c.1)})),
        )
        .await?;
        tx.commit().await
    }

    /// Whom the actor may act for (offered right after login).
    pub async fn identity_choices(
        &self,
        actor: &Actor,
    ) -> Result<Vec<crate::access::substitutions::Principal>> {
        self.principals_for(actor.session_user_id(), &actor.tenant_id)
            .await
    }

    /// A name with no account: failures are counted per name and lock it exactly as they
    /// would lock an account, at the same cost, so no answer tells which accounts exist.
    async fn unknown_name_failure(
        &self,
        ctx: &RequestCtx,
        full: &FullLogin,
        password: &str,
        mode: Mode,
        global: &Snapshot,
        now: i64,
    ) -> Result<Error> {
        let name = full.to_string();
        let threshold = global.number("lockout_threshold");
        let n = match self.count_name_attempt(&name, threshold, now).await? {
            Attempt::Numbered(n) => n,
            Attempt::Crowded => return Ok(attempts::crowded()),
            Attempt::Locked => {
                self.record_login_failure(
                    ctx,
                    None,
                    "unknown_account_locked",
                    mode,
                    json!({"login": name}),
                    now,
                )
                .await?;
                return Ok(Error::AccountLocked);
            }
        };
        // Same cost as a real check, so timing does not tell which accounts exist.
        self.hasher().verify_dummy(password).await?;
        let locked = attempts::locks(n, threshold);
        if locked {
            let mut tx = self.db().write_unaudited().await?;
            attempts::lock_name(&mut tx, &name, now + global.duration_ms("lockout_duration"))
                .await?;
            tx.commit().await?;
        }
        let outcome = if locked {
            metrics::counter!("kapu_lockouts_total").increment(1);
            "unknown_account_locked"
        } else {
            "unknown_account"
        };
        self.record_login_failure(ctx, None, outcome, mode, json!({"login": name}), now)
            .await?;
        Ok(if locked {
            Error::AccountLocked
        } else {
            Error::InvalidCredentials
        })
    }

    pub(crate) async fn record_login_failure(
        &self,
        ctx: &RequestCtx,
        user: Option<&UserRow>,
        outcome: &'static str,
        mode: Mode,
        details: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        metrics::counter!("kapu_logins_total", "outcome" => outcome, "mode" => mode.as_str())
            .increment(1);
        let mut tx = self.db().write().await?;
        let actor = user.map(user_actor).unwrap_or_default();
        let label = user.map(UserRow::full_login);
        let mut event = AuditEvent::new("login", outcome).details(details);
        if let (Some(u), Some(label)) = (user, label.as_deref()) {
            event = event.tenant(&u.tenant_id).target("user", &u.id, label);
        }
        audit::record(&mut tx, now, &actor, ctx, event).await?;
        tx.commit().await
    }
}
