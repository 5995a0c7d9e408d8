//! Setting and changing passwords: own change, administrator's reset, activation and the
//! forgotten-password link.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::links::{self, Purpose};
use super::mail_text;
use super::names::FullLogin;
use super::password_policy::{ABSOLUTE_MAX_LEN, ExpiryStatus, PasswordPolicy};
use super::revocation::{revoke_all_but, revoke_all_of};
use super::users::UserRow;
use crate::Kapu;
use crate::actor::{Actor, RequestCtx, policy};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditActor, AuditEvent};
use crate::platform::clock::{HOUR, MINUTE};
use crate::platform::db::WriteTx;
use crate::platform::{mail, rate_limit};

/// What a one-time link leads to, shown before the user types a new password.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkTarget {
    pub full_login: String,
    pub full_name: String,
}

/// The actor's own password situation, for `/me` and the login warning.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PasswordState {
    pub expiry: ExpiryStatus,
    pub expires_at: Option<String>,
}

/// Tells the owner that their password changed, so a change they did not make is noticed.
async fn queue_changed_notice(tx: &mut WriteTx, user: &UserRow, now: i64) -> Result<()> {
    let text = mail_text::password_changed(&user.full_name, &user.full_login());
    mail::enqueue(
        tx,
        Some(&user.tenant_id),
        &user.email,
        &text.subject,
        &text.body,
        now,
    )
    .await?;
    Ok(())
}

/// What a user's password state is worked out from, kept while no change is heard of.
#[derive(Clone)]
pub(crate) struct PasswordFacts {
    tenant_id: String,
    changed_at: i64,
    silenced_for: Option<i64>,
}

impl Kapu {
    /// Whether `password` is the user's, at the same cost whether or not the user has a
    /// password or the input is absurdly long, so timing tells nothing.
    pub(crate) async fn password_matches(&self, user: &UserRow, password: &str) -> Result<bool> {
        match (&user.password_hash, password.len() <= ABSOLUTE_MAX_LEN) {
            (Some(hash), true) => self.hasher().verify(password, hash).await,
            _ => self.hasher().verify_dummy(password).await,
        }
    }

    pub(super) async fn policy_for(&self, tenant_id: &str) -> Result<PasswordPolicy> {
        Ok(PasswordPolicy::from_settings(
            &*self.settings().snapshot(tenant_id).await?,
        ))
    }

    /// Policy rules, then the history of earlier passwords.
    pub(super) async fn check_new_password(
        &self,
        user: &UserRow,
        password: &str,
        policy: &PasswordPolicy,
    ) -> Result<()> {
        if password.len() > ABSOLUTE_MAX_LEN {
            return Err(Error::field("new_password", "password.too_long"));
        }
        let broken = policy.check(password);
        if !broken.is_empty() {
            return Err(Error::Validation(
                broken
                    .into_iter()
                    .map(|k| FieldError::new("new_password", k))
                    .collect(),
            ));
        }
        if policy.history > 0 {
            let rows = sqlx::query(
                "SELECT hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
            )
            .bind(&user.id)
            .bind(policy.history as i64)
            .fetch_all(self.db().pool())
            .await?;
            for row in rows {
                let hash: String = row.try_get("hash")?;
                if self.hasher().verify(password, &hash).await? {
                    return Err(Error::field("new_password", "password.reused"));
                }
            }
        }
        Ok(())
    }

    pub(super) async fn store_password(
        &self,
        tx: &mut WriteTx,
        user_id: &str,
        hash: &str,
        by_admin: bool,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_changed_at = $2, password_set_by_admin = $3, \
             warning_silenced_for = NULL, failed_count = 0, locked_until = NULL, updated_at = $2 WHERE id = $4",
        )
        .bind(hash)
        .bind(now)
        .bind(crate::platform::db::flag(by_admin))
        .bind(user_id)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO password_history (id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(tx.conn())
        .await?;
        // Keep what the largest allowed history setting can ask for, and no more.
        sqlx::query(
            "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
             (SELECT id FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT 24)",
        )
        .bind(user_id)
        .execute(tx.conn())
        .await?;
        // A link mailed before this change must not set the password again.
        links::revoke_all(tx, user_id, now).await?;
        Ok(())
    }

    /// A user's password dates, as every `/me` and every token refresh reads them.
    async fn password_facts(&self, user_id: &str) -> Result<PasswordFacts> {
        self.inner
            .password_facts
            .get_or_read(user_id, self.db().changes(), || async {
                let user = self.user_by_id(user_id).await?;
                Ok(PasswordFacts {
                    tenant_id: user.tenant_id,
                    changed_at: user.password_changed_at.unwrap_or(user.created_at),
                    silenced_for: user.warning_silenced_for,
                })
            })
            .await
    }

    /// The user's password is past its age: the account may do nothing but change it.
    pub(crate) async fn password_expired(&self, user_id: &str) -> Result<bool> {
        let facts = self.password_facts(user_id).await?;
        let policy = self.policy_for(&facts.tenant_id).await?;
        Ok(policy.status(facts.changed_at, false, self.now()) == ExpiryStatus::Expired)
    }

    pub async fn password_state(&self, actor: &Actor) -> Result<PasswordState> {
        let facts = self.password_facts(actor.session_user_id()).await?;
        let policy = self.policy_for(&facts.tenant_id).await?;
        let changed_at = facts.changed_at;
        let silenced = facts.silenced_for == Some(changed_at);
        Ok(PasswordState {
            expiry: policy.status(changed_at, silenced, self.now()),
            expires_at: Some(crate::platform::time_fmt::rfc3339(
                policy.expires_at(changed_at),
            )),
        })
    }

    /// Silences the early expiry warning for the current password. The late warning
    /// (the last days) cannot be silenced.
    pub async fn silence_expiry_warning(&self, actor: &Actor) -> Result<()> {
        let user = self.user_by_id(actor.session_user_id()).await?;
        let changed_at = user.password_changed_at.unwrap_or(user.created_at);
        // In a transaction, so that the change epoch it moves is seen here at once.
        let mut tx = self.db().write_unaudited().await?;
        sqlx::query("UPDATE users SET warning_silenced_for = $1 WHERE id = $2")
            .bind(changed_at)
            .bind(&user.id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// The actor changes their own password. Other sessions end; this one goes on, and an
    /// expired-password session becomes a full one.
    pub async fn change_own_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        // A deputy changes their own password in their own session, never the principal's.
        if actor.deputy.is_some() {
            return Err(Error::Forbidden);
        }
        let user = self.user_by_id(&actor.user_id).await?;
        if user.password_hash.is_none() {
            return Err(Error::InvalidCredentials);
        }
        if !self.recheck_counted(&user, current).await? {
            return Err(Error::field("current_password", "password.current_wrong"));
        }
        let now = self.now();
        let policy = self.policy_for(&user.tenant_id).await?;
        let wait = policy.wait_before_change(user.password_changed_at, now);
        if wait > 0 && !actor.restricted {
            return Err(Error::field("new_password", "password.too_soon"));
        }
        self.check_new_password(&user, new, &policy).await?;
        let new_hash = self.hasher().hash(new).await?;
        let mut tx = self.db().write().await?;
        self.store_password(&mut tx, &user.id, &new_hash, false, now)
            .await?;
        revoke_all_but(&mut tx, &user.id, Some(&actor.session_id), now).await?;
        sqlx::query("UPDATE sessions SET restricted = 0 WHERE id = $1")
            .bind(&actor.session_id)
            .execute(tx.conn())
            .await?;
        queue_changed_notice(&mut tx, &user, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("password.change", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"was_expired": actor.restricted})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(())
    }

    /// An administrator sets a user's password. The policy and history apply; the
    /// once-a-day rule does not. Every session of the user ends.
    pub async fn admin_set_password(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        new: &str,
    ) -> Result<()> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        let user = self
            .user_by_login(&tenant.code, login)
            .await?
            .ok_or(Error::NotFound)?;
        let policy = self.policy_for(&user.tenant_id).await?;
        self.check_new_password(&user, new, &policy).await?;
        let new_hash = self.hasher().hash(new).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        self.store_password(&mut tx, &user.id, &new_hash, true, now)
            .await?;
        revoke_all_of(&mut tx, &user.id, now).await?;
        queue_changed_notice(&mut tx, &user, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("password.admin_set", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login()),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(())
    }

    /// Asks for a forgotten-password link. Answers the same whether or not the account
    /// exists; only a live, unlocked, activated account gets an e-mail.
    pub async fn request_password_reset(&self, ctx: &RequestCtx, login: &str) -> Result<()> {
        let Ok(full) = FullLogin::parse(login) else {
            return Err(Error::field("login", "login.format"));
        };
        let now = self.now();
        let user = self
            .user_by_login(full.tenant.as_str(), full.login.as_str())
            .await?;
        let mut tx = self.db().write().await?;
        // Counted whether or not the account exists, and answered the same either way.
        let global = self.settings().snapshot("").await?;
        let by_addr = rate_limit::hit(
            &mut tx,
            &format!("reset-addr:{}", ctx.client_addr),
            MINUTE,
            now,
        )
        .await?;
        let by_login = rate_limit::hit(&mut tx, &format!("reset-login:{full}"), HOUR, now).await?;
        if by_addr > global.number("password_reset_per_address_per_minute")
            || by_login > global.number("password_reset_per_account_per_hour")
        {
            metrics::counter!("kapu_throttled_requests_total", "what" => "password_reset")
                .increment(1);
            audit::record(
                &mut tx,
                now,
                &AuditActor::default(),
                ctx,
                AuditEvent::new("password.reset_requested", "throttled")
                    .details(json!({"login": full.to_string()})),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        match user {
            Some(u) if u.admin_locked == 0 && u.password_hash.is_some() => {
                self.send_reset(&mut tx, &u, now).await?;
                audit::record(
                    &mut tx,
                    now,
                    &AuditActor::default(),
                    ctx,
                    AuditEvent::new("password.reset_requested", "success")
                        .tenant(&u.tenant_id)
                        .target("user", &u.id, &u.full_login()),
                )
                .await?;
            }
            _ => {
                audit::record(
                    &mut tx,
                    now,
                    &AuditActor::default(),
                    ctx,
                    AuditEvent::new("password.reset_requested", "no_eligible_account")
                        .details(json!({"login": full.to_string()})),
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.mailer().wake();
        Ok(())
    }

    /// Issues a forgotten-password link and queues the mail that carries it.
    pub(crate) async fn send_reset(
        &self,
        tx: &mut WriteTx,
        u: &UserRow,
        now: i64,
    ) -> Result<String> {
        let snapshot = self.settings().snapshot(&u.tenant_id).await?;
        let valid = snapshot.duration_ms("password_reset_link_validity");
        let token = links::issue(tx, &u.id, Purpose::PasswordReset, now, valid).await?;
        let link = self
            .config()
            .link(&format!("{}?token={token}", Purpose::PasswordReset.path()));
        let text = mail_text::password_reset(&u.full_name, &u.full_login(), &link, valid / 60_000);
        mail::enqueue(
            tx,
            Some(&u.tenant_id),
            &u.email,
            &text.subject,
            &text.body,
            now,
        )
        .await?;
        Ok(link)
    }

    pub async fn link_target(&self, token: &str, purpose: Purpose) -> Result<LinkTarget> {
        let user_id = links::peek(self.db(), token, purpose, self.now()).await?;
        let user = self.user_by_id(&user_id).await?;
        if user.deleted_at.is_some() {
            return Err(Error::LinkInvalid);
        }
        Ok(LinkTarget {
            full_login: user.full_login(),
            full_name: user.full_name,
        })
    }

    /// Sets a password through an activation or forgotten-password link, which is used up.
    pub async fn complete_link(
        &self,
        ctx: &RequestCtx,
        token: &str,
        purpose: Purpose,
        new: &str,
    ) -> Result<LinkTarget> {
        let user_id = links::peek(self.db(), token, purpose, self.now()).await?;
        let user = self.user_by_id(&user_id).await?;
        if user.deleted_at.is_some() {
            return Err(Error::LinkInvalid);
        }
        let policy = self.policy_for(&user.tenant_id).await?;
        self.check_new_password(&user, new, &policy).await?;
        let new_hash = self.hasher().hash(new).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        // Consumed inside the transaction: of two racing uses, one wins.
        let consumed = links::consume(&mut tx, token, purpose, now).await?;
        if consumed != user.id {
            return Err(Error::LinkInvalid);
        }
        self.store_password(&mut tx, &user.id, &new_hash, false, now)
            .await?;
        revoke_all_of(&mut tx, &user.id, now).await?;
        let action = match purpose {
            Purpose::Activation => "user.activate",
            Purpose::PasswordReset | Purpose::EmailVerification => "password.reset",
        };
        audit::record(
            &mut tx,
            now,
            &AuditActor {
                user_id: Some(user.id.clone()),
                login: Some(user.full_login()),
                on_behalf_of: None,
            },
            ctx,
            AuditEvent::new(action, "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login()),
        )
        .await?;
        tx.commit().await?;
        Ok(LinkTarget {
            full_login: user.full_login(),
            full_name: user.full_name,
        })
    }
}
