//! The first tenant and its first administrator.

use serde_json::json;

use super::names::{self, FullLogin, LoginName, TenantCode};
use super::tenants::{CENTRAL_CODE, insert_tenant};
use super::users::NewUser;
use crate::Kapu;
use crate::actor::{RequestCtx, Role};
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditActor, AuditEvent};

pub struct Bootstrap {
    pub tenant: String,
    pub login: String,
    pub email: String,
    pub full_name: String,
    /// With a password the administrator can log in at once; without one, a setup link
    /// is issued.
    pub password: Option<String>,
}

pub struct Bootstrapped {
    pub full_login: String,
    pub setup_link: Option<String>,
}

impl Kapu {
    /// Creates the central tenant and its administrator with every administrative role.
    /// Refused when a central tenant exists.
    pub async fn bootstrap(&self, input: &Bootstrap) -> Result<Bootstrapped> {
        let code = TenantCode::parse(&input.tenant).map_err(|k| Error::field("tenant", k))?;
        LoginName::parse(&input.login).map_err(|k| Error::field("login", k))?;
        names::email(&input.email).map_err(|k| Error::field("email", k))?;
        if self.central_tenant_exists().await? {
            return Err(Error::Conflict("conflict.already_bootstrapped"));
        }
        let hash = match &input.password {
            Some(p) => {
                let policy = super::password_policy::PasswordPolicy::from_settings(
                    &crate::platform::settings::Snapshot::defaults(),
                );
                let broken = policy.check(p);
                if let Some(first) = broken.first() {
                    return Err(Error::field("password", first));
                }
                Some(self.hasher().hash(p).await?)
            }
            None => None,
        };
        let now = self.now();
        let ctx = RequestCtx {
            client_addr: "console".into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            client_cert: None,
        };
        let mut tx = self.db().write().await?;
        let tenant = insert_tenant(&mut tx, &code, "Központ", true, now).await?;
        super::registration::ensure_citizen_tenant(&mut tx, now).await?;
        let new_user = NewUser {
            login: input.login.clone(),
            full_name: input.full_name.clone(),
            email: input.email.clone(),
        };
        let user = self
            .insert_user(&mut tx, &tenant, &new_user, &Role::CENTRAL_ADMIN, now)
            .await?;
        let setup_link = match &hash {
            Some(h) => {
                sqlx::query(
                    "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
                )
                .bind(h)
                .bind(now)
                .bind(&user.id)
                .execute(tx.conn())
                .await?;
                sqlx::query("INSERT INTO password_history (id, user_id, hash, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(&user.id)
                    .bind(h)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                None
            }
            None => Some(self.send_activation(&mut tx, &user, now).await?),
        };
        audit::record(
            &mut tx,
            now,
            &AuditActor::default(),
            &ctx,
            AuditEvent::new("system.bootstrap", "success")
                .tenant(&tenant.id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"tenant": tenant.code, "with_password": hash.is_some()})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(Bootstrapped {
            full_login: user.full_login(),
            setup_link,
        })
    }

    /// On a first start with an empty database: the central tenant, `admin@kozpont`, and a
    /// one-time setup link for the console. `None` when the system is already set up.
    pub async fn first_start(&self) -> Result<Option<Bootstrapped>> {
        if self.central_tenant_exists().await? {
            self.upgrade_citizen_tenant().await?;
            return Ok(None);
        }
        match self
            .bootstrap(&Bootstrap {
                tenant: CENTRAL_CODE.into(),
                login: "admin".into(),
                email: "admin@localhost.localdomain".into(),
                full_name: "Rendszergazda".into(),
                password: None,
            })
            .await
        {
            Ok(b) => Ok(Some(b)),
            // Another node won the race.
            Err(Error::Conflict(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Installations set up before citizens could register get their citizen tenant here.
    async fn upgrade_citizen_tenant(&self) -> Result<()> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        if super::registration::ensure_citizen_tenant(&mut tx, now).await? {
            audit::record(
                &mut tx,
                now,
                &AuditActor::default(),
                &RequestCtx {
                    client_addr: "system".into(),
                    request_id: uuid::Uuid::now_v7().to_string(),
                    client_cert: None,
                },
                AuditEvent::new("system.citizen_tenant", "success")
                    .details(json!({"tenant": super::registration::CITIZEN_CODE})),
            )
            .await?;
        }
        tx.commit().await
    }

    /// From the console: a new one-time link for someone who lost theirs, the first
    /// administrator included. Before the first password it is a setup (activation) link,
    /// after it a forgotten-password link; it is also mailed, and audited.
    pub async fn console_reset_link(&self, login: &str) -> Result<Bootstrapped> {
        let full = FullLogin::parse(login).map_err(|k| Error::field("login", k))?;
        let user = self
            .user_by_login(full.tenant.as_str(), full.login.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        let now = self.now();
        let ctx = RequestCtx {
            client_addr: "console".into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            client_cert: None,
        };
        let mut tx = self.db().write().await?;
        let (link, kind) = if user.password_hash.is_none() {
            (
                self.send_activation(&mut tx, &user, now).await?,
                "activation",
            )
        } else {
            (
                self.send_reset(&mut tx, &user, now).await?,
                "password_reset",
            )
        };
        audit::record(
            &mut tx,
            now,
            &AuditActor::default(),
            &ctx,
            AuditEvent::new("password.link_issued", "success")
                .tenant(&user.tenant_id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"kind": kind, "by": "console"})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(Bootstrapped {
            full_login: user.full_login(),
            setup_link: Some(link),
        })
    }
}
