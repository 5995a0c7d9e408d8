//! Citizens register themselves in the citizen tenant (`ugyfelkapu`): name, e-mail, login
//! name and password; the account opens once the e-mail address is confirmed through a
//! one-time link. Registrations are throttled per address like failed logins.

use serde::Serialize;
use serde_json::json;

use super::links::{self, Purpose};
use super::names::TenantCode;
use super::password_policy::ABSOLUTE_MAX_LEN;
use super::tenants::insert_tenant;
use super::users::NewUser;
use crate::Kapu;
use crate::actor::{AuditActor, RequestCtx};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::{mail, rate_limit};

/// The tenant of self-registered citizens.
pub const CITIZEN_CODE: &str = "ugyfelkapu";
const MINUTE: i64 = 60_000;

#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub full_name: String,
    pub email: String,
    /// Without the tenant: `kovacs.janos`.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Registered {
    /// `name@ugyfelkapu`: the login name once the e-mail address is confirmed.
    pub login: String,
    /// Where the confirmation link went.
    pub email: String,
}

/// Makes the citizen tenant inside a bootstrap or upgrade transaction, if it is missing.
pub(crate) async fn ensure_citizen_tenant(tx: &mut WriteTx, now: i64) -> Result<bool> {
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM tenants WHERE code = $1")
        .bind(CITIZEN_CODE)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    let code = TenantCode::parse(CITIZEN_CODE).map_err(|k| Error::Internal(k.into()))?;
    insert_tenant(tx, &code, "Ügyfélkapu", false, now).await?;
    Ok(true)
}

fn verification_mail(full_name: &str, login: &str, link: &str, hours: i64) -> (String, String) {
    (
        "Kapu – e-mail cím megerősítése / confirm your e-mail address".into(),
        format!(
            "Kedves {full_name}!\n\n\
             Regisztrációja elkészült. Bejelentkezési neve: {login}\n\
             Erősítse meg e-mail címét az alábbi hivatkozáson ({hours} óráig érvényes); \
             utána bejelentkezhet:\n\n{link}\n\n\
             Ha nem Ön regisztrált, hagyja figyelmen kívül ezt a levelet.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             Your registration is ready. Your login name: {login}\n\
             Confirm your e-mail address at this link (valid for {hours} hours); then you can \
             log in:\n\n{link}\n\n\
             If you did not register, ignore this message.\n"
        ),
    )
}

impl Kapu {
    /// A citizen's own registration. The password is kept aside until the e-mail address is
    /// confirmed, so the account cannot be used before.
    pub async fn register(&self, ctx: &RequestCtx, input: &Registration) -> Result<Registered> {
        let now = self.now();
        let tenant = self.tenant_by_code(CITIZEN_CODE).await?;
        let global = self.settings().snapshot("").await?;
        // Throttled first, before any costly work.
        {
            let mut tx = self.db().write().await?;
            let hits = rate_limit::hit(
                &mut tx,
                &format!("register-addr:{}", ctx.client_addr),
                MINUTE,
                now,
            )
            .await?;
            tx.commit().await?;
            if hits > global.number("registration_per_address_per_minute") {
                metrics::counter!("kapu_throttled_requests_total", "what" => "registration")
                    .increment(1);
                return Err(Error::Throttled {
                    retry_after_secs: rate_limit::retry_after_secs(now, MINUTE),
                });
            }
        }
        let new_user = NewUser {
            login: input.login.clone(),
            full_name: input.full_name.clone(),
            email: input.email.clone(),
        };
        let mut errors = match new_user.parse() {
            Ok(_) => Vec::new(),
            Err(Error::Validation(f)) => f,
            Err(e) => return Err(e),
        };
        let policy = self.policy_for(&tenant.id).await?;
        if input.password.len() > ABSOLUTE_MAX_LEN {
            errors.push(FieldError::new("password", "password.too_long"));
        } else {
            errors.extend(
                policy
                    .check(&input.password)
                    .into_iter()
                    .map(|k| FieldError::new("password", k)),
            );
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let hash = self.hasher().hash(&input.password).await?;
        let mut tx = self.db().write().await?;
        let user = self
            .insert_user(&mut tx, &tenant, &new_user, &[], now)
            .await?;
        sqlx::query("UPDATE users SET pending_password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(&user.id)
            .execute(tx.conn())
            .await?;
        let valid = global.duration_ms("activation_link_validity");
        let token = links::issue(&mut tx, &user.id, Purpose::EmailVerification, now, valid).await?;
        let link = self.config().link(&format!(
            "{}?token={token}",
            Purpose::EmailVerification.path()
        ));
        let (subject, body) = verification_mail(
            &user.full_name,
            &user.full_login(),
            &link,
            valid / 3_600_000,
        );
        mail::enqueue(&mut tx, Some(&tenant.id), &user.email, &subject, &body, now).await?;
        audit::record(
            &mut tx,
            now,
            &AuditActor::default(),
            ctx,
            AuditEvent::new("user.register", "success")
                .tenant(&tenant.id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"email": user.email})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(Registered {
            login: user.full_login(),
            email: user.email,
        })
    }

    /// Confirms a registration's e-mail address: the chosen password starts to work.
    pub async fn verify_registration(&self, ctx: &RequestCtx, token: &str) -> Result<Registered> {
        let now = self.now();
        let user_id = links::peek(self.db(), token, Purpose::EmailVerification, now).await?;
        let user = self.user_by_id(&user_id).await?;
        let pending: Option<String> =
            sqlx::query_scalar("SELECT pending_password_hash FROM users WHERE id = $1")
                .bind(&user.id)
                .fetch_one(self.db().pool())
                .await?;
        let (Some(hash), None) = (pending, user.deleted_at) else {
            return Err(Error::LinkInvalid);
        };
        let mut tx = self.db().write().await?;
        if links::consume(&mut tx, token, Purpose::EmailVerification, now).await? != user.id {
            return Err(Error::LinkInvalid);
        }
        self.store_password(&mut tx, &user.id, &hash, false, now)
            .await?;
        sqlx::query("UPDATE users SET pending_password_hash = NULL WHERE id = $1")
            .bind(&user.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &AuditActor {
                user_id: Some(user.id.clone()),
                login: Some(user.full_login()),
                on_behalf_of: None,
            },
            ctx,
            AuditEvent::new("user.verify_email", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login()),
        )
        .await?;
        tx.commit().await?;
        Ok(Registered {
            login: user.full_login(),
            email: user.email,
        })
    }
}
