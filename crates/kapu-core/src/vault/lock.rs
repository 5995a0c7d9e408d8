//! The vault's own lock, on top of the login: a session opens the vault with the user's
//! password or vault PIN, and it locks again after the idle time. Where the tenant asks for
//! it, a browser not seen before also gives a code sent by e-mail, and is then remembered.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::identity::mail_text;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::clock::{DAY, MINUTE, SECOND};
use crate::platform::crypto::{constant_time_eq, random_token, token_digest};
use crate::platform::master_key::random_bytes;
use crate::platform::{mail, rate_limit};

/// Wrong PINs before only the password opens the vault.
pub const MAX_PIN_FAILURES: i64 = 5;
/// Wrong e-mail codes before the half-open unlock is dropped.
const MAX_CODE_FAILURES: i64 = 5;
const EMAIL_CODE_TTL: i64 = 10 * MINUTE;
/// `last_seen` is written at most this often: enough for a timeout counted in minutes.
const TOUCH_EVERY: i64 = 10 * SECOND;
/// Wrong passwords and PINs a user may give in a quarter of an hour.
const MAX_UNLOCK_FAILURES: i64 = 10;
const FAILURE_WINDOW: i64 = 15 * MINUTE;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VaultState {
    pub unlocked: bool,
    /// The password or PIN was right; the code sent by e-mail is still to come.
    pub email_code_pending: bool,
    pub pin_set: bool,
    /// Too many wrong PINs: only the password opens the vault.
    pub pin_locked: bool,
    pub idle_timeout_seconds: i64,
    /// After an e-mail check: what identifies this browser from now on (the pages keep it
    /// in a cookie; API clients send it back as `browser_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UnlockInput {
    /// The user's own password…
    pub password: Option<String>,
    /// …or their vault PIN.
    pub pin: Option<String>,
    /// A browser that passed the e-mail check before.
    pub browser_token: Option<String>,
}

/// A PIN is 6 to 12 digits, not one digit repeated nor a plain run (`123456`).
pub fn check_pin(pin: &str) -> std::result::Result<(), &'static str> {
    let digits: Vec<u32> = pin.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != pin.chars().count() || !(6..=12).contains(&digits.len()) {
        return Err("vault.pin_format");
    }
    let steps: Vec<i64> = digits
        .windows(2)
        .map(|w| i64::from(w[1]) - i64::from(w[0]))
        .collect();
    if steps.iter().all(|s| *s == 0)
        || steps.iter().all(|s| *s == 1)
        || steps.iter().all(|s| *s == -1)
    {
        return Err("vault.pin_trivial");
    }
    Ok(())
}

/// A six-digit code for the e-mail check.
fn email_code() -> Result<String> {
    let n = u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000;
    Ok(format!("{n:06}"))
}

type UnlockRow = (i64, i64, Option<String>, Option<i64>, i64);

impl Kapu {
    async fn idle_timeout_ms(&self, actor: &Actor) -> Result<i64> {
        Ok(self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .duration_ms("vault_idle_timeout"))
    }

    async fn unlock_row(&self, session_id: &str) -> Result<Option<UnlockRow>> {
        Ok(sqlx::query_as(
            "SELECT unlocked, last_seen, code_digest, code_expires_at, code_failures FROM vault_unlocks WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_optional(self.db().pool())
        .await?)
    }

    /// Every vault operation passes here: the session's vault is open and was used within
    /// the idle time. Use keeps it open.
    pub(crate) async fn vault_gate(&self, actor: &Actor) -> Result<()> {
        let now = self.now();
        let idle = self.idle_timeout_ms(actor).await?;
        match self.unlock_row(&actor.session_id).await? {
            Some((1, last_seen, ..)) if now - last_seen <= idle => {
                if now - last_seen > TOUCH_EVERY {
                    sqlx::query("UPDATE vault_unlocks SET last_seen = $1 WHERE session_id = $2")
                        .bind(now)
                        .bind(&actor.session_id)
                        .execute(self.db().pool())
                        .await?;
                }
                Ok(())
            }
            Some((1, ..)) => {
                self.drop_unlock(&actor.session_id).await?;
                Err(Error::VaultLocked)
            }
            _ => Err(Error::VaultLocked),
        }
    }

    async fn drop_unlock(&self, session_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM vault_unlocks WHERE session_id = $1")
            .bind(session_id)
            .execute(self.db().pool())
            .await?;
        Ok(())
    }

    async fn pin_row(&self, user_id: &str) -> Result<Option<(String, i64, i64)>> {
        Ok(
            sqlx::query_as("SELECT pin_hash, failures, locked FROM vault_pins WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.db().pool())
                .await?,
        )
    }

    pub async fn vault_state(&self, actor: &Actor) -> Result<VaultState> {
        let now = self.now();
        let idle = self.idle_timeout_ms(actor).await?;
        let row = self.unlock_row(&actor.session_id).await?;
        let pin = self.pin_row(actor.session_user_id()).await?;
        Ok(VaultState {
            unlocked: matches!(row, Some((1, last_seen, ..)) if now - last_seen <= idle),
            email_code_pending: matches!(row, Some((0, _, Some(_), Some(until), _)) if until > now),
            pin_set: pin.is_some(),
            pin_locked: matches!(pin, Some((_, _, 1))),
            idle_timeout_seconds: idle / 1000,
            browser_token: None,
        })
    }

    async fn audit_unlock(&self, actor: &Actor, outcome: &str, method: &str) -> Result<()> {
        let mut tx = self.db().write().await?;
        audit::record(
            &mut tx,
            self.now(),
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.unlock", outcome)
                .tenant(&actor.tenant_id)
                .details(json!({"method": method})),
        )
        .await?;
        tx.commit().await
    }

    /// Checks the PIN; too many wrong ones lock PIN unlocking until a password unlock. The
    /// attempt is counted before the PIN is hashed, so parallel guesses each see the others.
    async fn check_vault_pin(&self, actor: &Actor, pin: &str) -> Result<()> {
        let user_id = actor.session_user_id();
        let mut tx = self.db().write_unaudited().await?;
        let counted: Option<(String, i64)> = sqlx::query_as(
            "UPDATE vault_pins SET failures = failures + 1 WHERE user_id = $1 AND locked = 0 \
             RETURNING pin_hash, failures",
        )
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        let Some((hash, n)) = counted else {
            return match self.pin_row(user_id).await? {
                None => Err(Error::field("pin", "vault.pin_not_set")),
                Some(_) => Err(Error::VaultPinLocked),
            };
        };
        if n > MAX_PIN_FAILURES {
            // As many PINs as may be tried are being judged: this one is given back unjudged.
            sqlx::query("UPDATE vault_pins SET failures = failures - 1 WHERE user_id = $1")
                .bind(user_id)
                .execute(self.db().pool())
                .await?;
            return Err(Error::Throttled {
                retry_after_secs: 1,
            });
        }
        if pin.len() <= 12 && self.hasher().verify(pin, &hash).await? {
            sqlx::query("UPDATE vault_pins SET failures = 0 WHERE user_id = $1")
                .bind(user_id)
                .execute(self.db().pool())
                .await?;
            return Ok(());
        }
        if n >= MAX_PIN_FAILURES {
            sqlx::query("UPDATE vault_pins SET locked = 1 WHERE user_id = $1")
                .bind(user_id)
                .execute(self.db().pool())
                .await?;
        }
        self.audit_unlock(actor, "failure", "pin").await?;
        if n >= MAX_PIN_FAILURES {
            Err(Error::VaultPinLocked)
        } else {
            Err(Error::field("pin", "vault.pin_wrong"))
        }
    }

    async fn browser_known(&self, user_id: &str, token: Option<&str>) -> Result<bool> {
        let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) else {
            return Ok(false);
        };
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT valid_until FROM vault_browsers WHERE token_digest = $1 AND user_id = $2",
        )
        .bind(token_digest(token))
        .bind(user_id)
        .fetch_optional(self.db().pool())
        .await?;
        Ok(until.is_some_and(|u| u > self.now()))
    }

    /// Counts an unlock attempt of the user in the current window before it is judged;
    /// past the limit, unlocking waits for the window's end (a stolen session cannot guess
    /// the password here). A right answer gives the attempt back.
    async fn count_unlock_attempt(&self, user_id: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.db().write_unaudited().await?;
        let n = rate_limit::hit(
            &mut tx,
            &format!("vault-unlock:{user_id}"),
            FAILURE_WINDOW,
            now,
        )
        .await?;
        if n > MAX_UNLOCK_FAILURES {
            // Refused unjudged: not one of the window's attempts.
            rate_limit::give_back(
                &mut tx,
                &format!("vault-unlock:{user_id}"),
                FAILURE_WINDOW,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if n > MAX_UNLOCK_FAILURES {
            return Err(Error::Throttled {
                retry_after_secs: rate_limit::retry_after_secs(now, FAILURE_WINDOW),
            });
        }
        Ok(())
    }

    async fn give_back_unlock_attempt(&self, user_id: &str) -> Result<()> {
        let mut tx = self.db().write_unaudited().await?;
        rate_limit::give_back(
            &mut tx,
            &format!("vault-unlock:{user_id}"),
            FAILURE_WINDOW,
            self.now(),
        )
        .await?;
        tx.commit().await
    }

    /// Opens the vault for this session with the password or the PIN (and, where the
    /// tenant asks for it on an unknown browser, sends the e-mail code first).
    pub async fn unlock_vault(&self, actor: &Actor, input: &UnlockInput) -> Result<VaultState> {
        let user_id = actor.session_user_id();
        self.count_unlock_attempt(user_id).await?;
        let method = match (input.password.as_deref(), input.pin.as_deref()) {
            (Some(password), None) => {
                if let Err(e) = self.recheck_password(actor, password).await {
                    self.audit_unlock(actor, "failure", "password").await?;
                    return Err(e);
                }
                sqlx::query("UPDATE vault_pins SET failures = 0, locked = 0 WHERE user_id = $1")
                    .bind(actor.session_user_id())
                    .execute(self.db().pool())
                    .await?;
                "password"
            }
            (None, Some(pin)) => {
                if let Err(e) = self.check_vault_pin(actor, pin).await {
                    if matches!(e, Error::Validation(ref f) if f[0].key == "vault.pin_not_set") {
                        self.give_back_unlock_attempt(user_id).await?;
                    }
                    return Err(e);
                }
                "pin"
            }
            _ => {
                self.give_back_unlock_attempt(user_id).await?;
                return Err(Error::field("password", "vault.unlock_one"));
            }
        };
        self.give_back_unlock_attempt(user_id).await?;
        let now = self.now();
        let settings = self.settings().snapshot(&actor.tenant_id).await?;
        let needs_email = settings.flag("vault_email_verification")
            && !self
                .browser_known(actor.session_user_id(), input.browser_token.as_deref())
                .await?;
        let mut tx = self.db().write().await?;
        // This session's earlier unlock, and any left by sessions idle for a day.
        sqlx::query("DELETE FROM vault_unlocks WHERE session_id = $1 OR last_seen < $2")
            .bind(&actor.session_id)
            .bind(now - DAY)
            .execute(tx.conn())
            .await?;
        let (code_digest, code_expires) = if needs_email {
            let user = self.user_by_id(actor.session_user_id()).await?;
            let code = email_code()?;
            let text = mail_text::vault_code(&user.full_name, &code);
            mail::enqueue(
                &mut tx,
                Some(&user.tenant_id),
                &user.email,
                &text.subject,
                &text.body,
                now,
            )
            .await?;
            (Some(token_digest(&code)), Some(now + EMAIL_CODE_TTL))
        } else {
            (None, None)
        };
        sqlx::query(
            "INSERT INTO vault_unlocks (session_id, user_id, unlocked, last_seen, code_digest, code_expires_at, code_failures) \
             VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(&actor.session_id)
        .bind(actor.session_user_id())
        .bind(i64::from(!needs_email))
        .bind(now)
        .bind(code_digest)
        .bind(code_expires)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new(
                "vault.unlock",
                if needs_email { "pending" } else { "success" },
            )
            .tenant(&actor.tenant_id)
            .details(json!({"method": method, "email_code_sent": needs_email})),
        )
        .await?;
        tx.commit().await?;
        if needs_email {
            self.mailer().wake();
        }
        self.vault_state(actor).await
    }

    /// The second half of an unlock on a new browser: the code from the e-mail.
    pub async fn verify_vault_email(&self, actor: &Actor, code: &str) -> Result<VaultState> {
        let now = self.now();
        // Counted before the code is compared: parallel guesses each see the others.
        let mut tx = self.db().write_unaudited().await?;
        let counted: Option<(Option<String>, Option<i64>, i64)> = sqlx::query_as(
            "UPDATE vault_unlocks SET code_failures = code_failures + 1 \
             WHERE session_id = $1 AND unlocked = 0 RETURNING code_digest, code_expires_at, code_failures",
        )
        .bind(&actor.session_id)
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        let Some((Some(digest), Some(until), n)) = counted else {
            return Err(Error::VaultLocked);
        };
        if until <= now || n > MAX_CODE_FAILURES {
            self.drop_unlock(&actor.session_id).await?;
            return Err(Error::VaultLocked);
        }
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        if !constant_time_eq(token_digest(&code).as_bytes(), digest.as_bytes()) {
            return Err(Error::field("code", "vault.email_code_wrong"));
        }
        let days = self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .number("vault_browser_days");
        let token = random_token()?;
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE vault_unlocks SET unlocked = 1, last_seen = $1, code_digest = NULL, code_expires_at = NULL WHERE session_id = $2",
        )
        .bind(now)
        .bind(&actor.session_id)
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM vault_browsers WHERE user_id = $1 AND valid_until <= $2")
            .bind(actor.session_user_id())
            .bind(now)
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO vault_browsers (token_digest, user_id, verified_at, valid_until) VALUES ($1, $2, $3, $4)")
            .bind(token_digest(&token))
            .bind(actor.session_user_id())
            .bind(now)
            .bind(now + days * DAY)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.unlock", "success")
                .tenant(&actor.tenant_id)
                .details(json!({"method": "email_code"})),
        )
        .await?;
        tx.commit().await?;
        let mut state = self.vault_state(actor).await?;
        state.browser_token = Some(token);
        Ok(state)
    }

    pub async fn lock_vault(&self, actor: &Actor) -> Result<()> {
        self.drop_unlock(&actor.session_id).await
    }

    /// Sets (or replaces) the user's vault PIN, after a fresh password check.
    pub async fn set_vault_pin(
        &self,
        actor: &Actor,
        password: &str,
        pin: &str,
    ) -> Result<VaultState> {
        check_pin(pin).map_err(|k| Error::field("pin", k))?;
        self.recheck_password(actor, password).await?;
        let hash = self.hasher().hash(pin).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("DELETE FROM vault_pins WHERE user_id = $1")
            .bind(actor.session_user_id())
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO vault_pins (user_id, pin_hash, failures, locked, set_at) VALUES ($1, $2, 0, 0, $3)")
            .bind(actor.session_user_id())
            .bind(&hash)
            .bind(now)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.pin_set", "success").tenant(&actor.tenant_id),
        )
        .await?;
        tx.commit().await?;
        self.vault_state(actor).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_to_twelve_digits_and_not_trivial() {
        assert!(check_pin("482915").is_ok());
        assert!(check_pin("482915730264").is_ok());
        assert_eq!(check_pin("48291"), Err("vault.pin_format"));
        assert_eq!(check_pin("4829157302641"), Err("vault.pin_format"));
        assert_eq!(check_pin("48291a"), Err("vault.pin_format"));
        assert_eq!(check_pin("000000"), Err("vault.pin_trivial"));
        assert_eq!(check_pin("123456"), Err("vault.pin_trivial"));
        assert_eq!(check_pin("987654"), Err("vault.pin_trivial"));
    }

    #[test]
    fn email_codes_have_six_digits() {
        let c = email_code().unwrap();
        assert_eq!(c.len(), 6);
        assert!(c.chars().all(|c| c.is_ascii_digit()));
    }
}
