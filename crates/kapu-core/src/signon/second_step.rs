//! The second step of a login: after a correct password, a short-lived challenge that a
//! factor completes. Wrong codes count apart from wrong passwords: they end the challenge
//! and lock the account's second step for a while, and never lock its password login.

use serde::Serialize;
use serde_json::{Value, json};

use super::login::{
    AMR_CERT, AMR_HWK, AMR_OTP, AMR_PERMIT, Identity, LoginResult, Opening, user_actor,
};
use super::{certificates, permits, recovery_codes, totp};
use crate::Kapu;
use crate::access::grants::effective_role_ids;
use crate::actor::{Mode, RequestCtx};
use crate::error::{Error, Result, WrongAnswer};
use crate::identity::attempts::{self, Attempt, Counter};
use crate::identity::lockout::lock_remaining_secs;
use crate::identity::users::UserRow;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::crypto::{random_token, token_digest};
use crate::platform::db::flag;

type ChallengeRow = (String, String, Option<String>, i64, Option<String>);

/// How long a challenge waits for its factor.
const CHALLENGE_TTL_MS: i64 = 5 * 60_000;

/// A factor a user can complete the second step with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    /// A code of an authenticator app (RFC 6238).
    Totp,
    /// A security key or passkey (WebAuthn).
    Webauthn,
    /// A client certificate bound to the user, presented on the connection.
    Certificate,
    /// One of the one-time recovery codes.
    RecoveryCode,
    /// A central administrator's temporary permit, in place of a lost device.
    TemporaryPermit,
}

impl FactorKind {
    /// The name kept in the database and sent in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Webauthn => "webauthn",
            FactorKind::Certificate => "certificate",
            FactorKind::RecoveryCode => "recovery_code",
            FactorKind::TemporaryPermit => "temporary_permit",
        }
    }

    pub fn parse(s: &str) -> Option<FactorKind> {
        match s {
            "totp" => Some(FactorKind::Totp),
            "webauthn" => Some(FactorKind::Webauthn),
            "certificate" => Some(FactorKind::Certificate),
            "recovery_code" => Some(FactorKind::RecoveryCode),
            "temporary_permit" => Some(FactorKind::TemporaryPermit),
            _ => None,
        }
    }

    /// How a session opened with it is described (RFC 8176; `permit` is Kapu's own).
    fn amr(self) -> &'static str {
        match self {
            FactorKind::Totp | FactorKind::RecoveryCode => AMR_OTP,
            FactorKind::Webauthn => AMR_HWK,
            FactorKind::Certificate => AMR_CERT,
            FactorKind::TemporaryPermit => AMR_PERMIT,
        }
    }

    /// A device proves possession; its first use ends a temporary permit.
    fn is_device(self) -> bool {
        matches!(
            self,
            FactorKind::Totp | FactorKind::Webauthn | FactorKind::Certificate
        )
    }
}

/// What answers a second step.
#[derive(Debug, Clone)]
pub enum FactorAnswer {
    Totp(String),
    RecoveryCode(String),
    /// The `PublicKeyCredential` of `navigator.credentials.get()`, as JSON.
    Webauthn(Value),
    /// The certificate the connection presents.
    Certificate,
    TemporaryPermit,
}

impl FactorAnswer {
    /// Reads an answer as the doors receive it: a method with a code or a credential.
    pub fn parse(method: &str, code: Option<&str>, credential: Option<&Value>) -> Result<Self> {
        let kind = FactorKind::parse(method)
            .ok_or_else(|| Error::field("method", "factor.method_unknown"))?;
        let code = || {
            code.filter(|c| !c.trim().is_empty())
                .map(str::to_string)
                .ok_or_else(|| Error::field("code", "factor.code_required"))
        };
        Ok(match kind {
            FactorKind::Totp => FactorAnswer::Totp(code()?),
            FactorKind::RecoveryCode => FactorAnswer::RecoveryCode(code()?),
            FactorKind::Webauthn => FactorAnswer::Webauthn(
                credential
                    .cloned()
                    .ok_or_else(|| Error::field("credential", "factor.credential_required"))?,
            ),
            FactorKind::Certificate => FactorAnswer::Certificate,
            FactorKind::TemporaryPermit => FactorAnswer::TemporaryPermit,
        })
    }

    pub fn kind(&self) -> FactorKind {
        match self {
            FactorAnswer::Totp(_) => FactorKind::Totp,
            FactorAnswer::RecoveryCode(_) => FactorKind::RecoveryCode,
            FactorAnswer::Webauthn(_) => FactorKind::Webauthn,
            FactorAnswer::Certificate => FactorKind::Certificate,
            FactorAnswer::TemporaryPermit => FactorKind::TemporaryPermit,
        }
    }
}

/// What a login needs next: the challenge to answer and the factors that can answer it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecondFactorChallenge {
    /// Send back with the code; valid for 5 minutes, for one successful answer.
    pub challenge: String,
    pub factors: Vec<FactorKind>,
    /// RFC 3339.
    pub expires_at: String,
    /// For a security key: `CredentialRequestOptions` for `navigator.credentials.get()`
    /// (WebAuthn Level 3 JSON), bound to this challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub webauthn: Option<Value>,
}

impl Kapu {
    /// The factors a user can complete a login with (only confirmed ones; recovery codes
    /// only while some are unused).
    pub(crate) async fn usable_factors(&self, user_id: &str, now: i64) -> Result<Vec<FactorKind>> {
        let (totp, keys, certs, codes, permits): (i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NOT NULL), \
             (SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND kind = 'webauthn'), \
             (SELECT COUNT(*) FROM second_factors WHERE user_id = $1 AND kind = 'certificate'), \
             (SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL), \
             (SELECT COUNT(*) FROM temporary_permits WHERE user_id = $1 AND revoked_at IS NULL AND valid_until > $2)",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(self.db().pool())
        .await?;
        let mut kinds = Vec::new();
        // Offered even where the relying party is gone (a public address without a host
        // name): the keys then answer nothing, and the login must not pass without them.
        if keys > 0 {
            kinds.push(FactorKind::Webauthn);
        }
        if certs > 0 {
            kinds.push(FactorKind::Certificate);
        }
        if totp > 0 {
            kinds.push(FactorKind::Totp);
        }
        if codes > 0 && !kinds.is_empty() {
            kinds.push(FactorKind::RecoveryCode);
        }
        if permits > 0 {
            kinds.push(FactorKind::TemporaryPermit);
        }
        Ok(kinds)
    }

    /// Opens the second step after a correct password.
    pub(crate) async fn open_challenge(
        &self,
        ctx: &RequestCtx,
        user: &UserRow,
        mode: Mode,
        identity: Identity<'_>,
        factors: Vec<FactorKind>,
        now: i64,
    ) -> Result<SecondFactorChallenge> {
        let token = random_token()?;
        let webauthn = if factors.contains(&FactorKind::Webauthn) {
            self.webauthn_request(&user.id).await?
        } else {
            None
        };
        let (act_for, choose_later) = match identity {
            Identity::Own => (None, false),
            Identity::ActFor(p) => (Some(p), false),
            Identity::ChooseLater => (None, true),
        };
        let mut tx = self.db().write().await?;
        // The password was right: its failure count starts again.
        sqlx::query("UPDATE users SET failed_count = 0, locked_until = NULL WHERE id = $1")
            .bind(&user.id)
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM login_challenges WHERE expires_at < $1")
            .bind(now)
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO login_challenges (token_hash, user_id, mode, act_for, choose_later, client_addr, created_at, expires_at, webauthn_state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token_digest(&token))
        .bind(&user.id)
        .bind(mode.as_str())
        .bind(act_for)
        .bind(flag(choose_later))
        .bind(&ctx.client_addr)
        .bind(now)
        .bind(now + CHALLENGE_TTL_MS)
        .bind(webauthn.as_ref().map(|w| &w.1))
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &user_actor(user),
            ctx,
            AuditEvent::new("login", "second_factor_required")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"mode": mode.as_str(), "factors": factors})),
        )
        .await?;
        tx.commit().await?;
        Ok(SecondFactorChallenge {
            challenge: token,
            factors,
            expires_at: crate::platform::time_fmt::rfc3339(now + CHALLENGE_TTL_MS),
            webauthn: webauthn.map(|w| w.0),
        })
    }

    /// A challenge shown again (the browser's second page): its factors, and a fresh
    /// security-key request whose state replaces the kept one.
    pub async fn challenge_options(&self, challenge: &str) -> Result<SecondFactorChallenge> {
        let now = self.now();
        let digest = token_digest(challenge);
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT user_id, expires_at FROM login_challenges \
             WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2",
        )
        .bind(&digest)
        .bind(now)
        .fetch_optional(self.db().pool())
        .await?;
        let Some((user_id, expires_at)) = row else {
            return Err(Error::ChallengeInvalid);
        };
        let factors = self.usable_factors(&user_id, now).await?;
        let webauthn = if factors.contains(&FactorKind::Webauthn) {
            self.webauthn_request(&user_id).await?
        } else {
            None
        };
        if let Some((_, state)) = &webauthn {
            let mut tx = self.db().write().await?;
            sqlx::query("UPDATE login_challenges SET webauthn_state = $1 WHERE token_hash = $2")
                .bind(state)
                .bind(&digest)
                .execute(tx.conn())
                .await?;
            tx.commit().await?;
        }
        Ok(SecondFactorChallenge {
            challenge: challenge.to_string(),
            factors,
            expires_at: crate::platform::time_fmt::rfc3339(expires_at),
            webauthn: webauthn.map(|w| w.0),
        })
    }

    /// Completes a login's second step with the answer of one of the user's factors.
    pub async fn second_factor(
        &self,
        ctx: &RequestCtx,
        challenge: &str,
        answer: &FactorAnswer,
    ) -> Result<LoginResult> {
        let now = self.now();
        let global = self.settings().snapshot("").await?;
        let kind = answer.kind();
        if challenge.is_empty() || challenge.len() > 100 {
            return Err(Error::ChallengeInvalid);
        }
        let digest = token_digest(challenge);
        let row: Option<ChallengeRow> = sqlx::query_as(
            "SELECT user_id, mode, act_for, choose_later, webauthn_state FROM login_challenges \
             WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2",
        )
        .bind(&digest)
        .bind(now)
        .fetch_optional(self.db().pool())
        .await?;
        let Some((user_id, mode, act_for, choose_later, webauthn_state)) = row else {
            return Err(Error::ChallengeInvalid);
        };
        let mode = Mode::parse(&mode).unwrap_or(Mode::Normal);
        self.check_login_throttle(ctx, &global, mode, now).await?;
        let user = self.user_by_id(&user_id).await?;
        if user.admin_locked != 0 || user.deleted_at.is_some() {
            return Err(Error::ChallengeInvalid);
        }
        // Counted before the answer is judged: parallel answers each see the others.
        let threshold = global.number("second_factor_lockout_threshold");
        let lock_ms = global.duration_ms("second_factor_lockout_duration");
        let n = match self
            .count_attempt(Counter::SecondFactor, &user.id, threshold, now)
            .await?
        {
            Attempt::Numbered(n) => n,
            Attempt::Crowded => return Err(attempts::crowded()),
            Attempt::Locked => {
                let until: Option<i64> =
                    sqlx::query_scalar("SELECT factor_locked_until FROM users WHERE id = $1")
                        .bind(&user.id)
                        .fetch_one(self.db().pool())
                        .await?;
                return Err(Error::SecondFactorLocked {
                    retry_after_secs: lock_remaining_secs(until, now).unwrap_or(1),
                });
            }
        };
        let snapshot = self.settings().snapshot(&user.tenant_id).await?;
        let mut tx = self.db().write().await?;
        let mut ends_at = None;
        let accepted = match answer {
            FactorAnswer::Totp(code) => self.accept_totp(&mut tx, &user.id, code, now).await?,
            FactorAnswer::RecoveryCode(code) => {
                accept_recovery_code(&mut tx, &user.id, code, now).await?
            }
            FactorAnswer::Webauthn(credential) => {
                self.accept_webauthn(
                    &mut tx,
                    &user.id,
                    webauthn_state.as_deref(),
                    credential,
                    now,
                )
                .await?
            }
            FactorAnswer::Certificate => {
                certificates::accept_certificate(&mut tx, ctx, &user.id, now).await?
            }
            FactorAnswer::TemporaryPermit => {
                ends_at = permits::use_permit(&mut tx, ctx, &user, now).await?;
                ends_at.is_some()
            }
        };
        if !accepted {
            let locked = attempts::locks(n, threshold);
            let challenge_failures: i64 = sqlx::query_scalar(
                "UPDATE login_challenges SET failures = failures + 1 WHERE token_hash = $1 RETURNING failures",
            )
            .bind(&digest)
            .fetch_one(tx.conn())
            .await?;
            if locked || challenge_failures >= threshold {
                sqlx::query("UPDATE login_challenges SET ended_at = $1 WHERE token_hash = $2")
                    .bind(now)
                    .bind(&digest)
                    .execute(tx.conn())
                    .await?;
            }
            if locked {
                attempts::lock(&mut tx, Counter::SecondFactor, &user.id, now + lock_ms).await?;
            }
            let outcome = if locked {
                "second_factor_wrong_locked"
            } else {
                "second_factor_wrong"
            };
            audit::record(
                &mut tx,
                now,
                &user_actor(&user),
                ctx,
                AuditEvent::new("login", outcome)
                    .tenant(&user.tenant_id)
                    .target("user", &user.id, &user.full_login())
                    .details(
                        json!({"mode": mode.as_str(), "method": kind, "consecutive_failures": n}),
                    ),
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("kapu_logins_total", "outcome" => outcome, "mode" => mode.as_str())
                .increment(1);
            return Err(if locked {
                Error::SecondFactorLocked {
                    retry_after_secs: lock_remaining_secs(Some(now + lock_ms), now).unwrap_or(1),
                }
            } else {
                Error::SecondFactorInvalid(match kind {
                    FactorKind::Totp => WrongAnswer::Code,
                    FactorKind::RecoveryCode => WrongAnswer::RecoveryCode,
                    FactorKind::Webauthn => WrongAnswer::SecurityKey,
                    _ => WrongAnswer::Other,
                })
            });
        }
        // One answer per challenge: a second, racing one finds it ended.
        let ended = sqlx::query(
            "UPDATE login_challenges SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(&digest)
        .execute(tx.conn())
        .await?;
        if ended.rows_affected() != 1 {
            return Err(Error::ChallengeInvalid);
        }
        attempts::clear(&mut tx, Counter::SecondFactor, &user.id).await?;
        if kind.is_device() {
            permits::end_permit_on_device_login(&mut tx, ctx, &user, now).await?;
        }
        tx.commit().await?;
        let identity = match (&act_for, choose_later != 0) {
            (Some(p), _) => Identity::ActFor(p),
            (None, true) => Identity::ChooseLater,
            (None, false) => Identity::Own,
        };
        let own_roles = effective_role_ids(self.db(), &user.id, &user.tenant_id).await?;
        let done = self
            .finish_login(
                ctx,
                &user,
                &snapshot,
                Opening {
                    mode,
                    identity,
                    own_roles,
                    amr: kind.amr(),
                    enrol_only: false,
                    ends_at,
                },
                now,
            )
            .await?;
        self.give_back_address_attempt(&ctx.client_addr, now)
            .await?;
        Ok(done)
    }

    /// A TOTP code of the user's app, accepted once: the step it belongs to must be newer
    /// than the last accepted one, checked and written in one statement.
    async fn accept_totp(
        &self,
        tx: &mut crate::platform::db::WriteTx,
        user_id: &str,
        code: &str,
        now: i64,
    ) -> Result<bool> {
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, secret, last_step FROM second_factors \
             WHERE user_id = $1 AND kind = 'totp' AND confirmed_at IS NOT NULL",
        )
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?;
        let now_secs = u64::try_from(now / 1000).unwrap_or(0);
        for (id, sealed, last_step) in rows {
            let secret = self.master_key().open(&sealed, &id)?;
            let last = last_step.and_then(|s| u64::try_from(s).ok());
            if let Some(step) = totp::accept(&secret, code, now_secs, last) {
                let step = i64::try_from(step).unwrap_or(i64::MAX);
                let done = sqlx::query(
                    "UPDATE second_factors SET last_step = $1, last_used_at = $2 \
                     WHERE id = $3 AND (last_step IS NULL OR last_step < $1)",
                )
                .bind(step)
                .bind(now)
                .bind(&id)
                .execute(tx.conn())
                .await?;
                return Ok(done.rows_affected() == 1);
            }
        }
        Ok(false)
    }
}

async fn accept_recovery_code(
    tx: &mut crate::platform::db::WriteTx,
    user_id: &str,
    code: &str,
    now: i64,
) -> Result<bool> {
    if !recovery_codes::well_formed(code) {
        return Ok(false);
    }
    let used = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND digest = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(recovery_codes::digest(code))
    .execute(tx.conn())
    .await?;
    Ok(used.rows_affected() == 1)
}
