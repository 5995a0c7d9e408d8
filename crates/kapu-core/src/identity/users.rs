//! User accounts: create, list, read, change, lock, unlock, soft-delete.

use serde::Serialize;
use serde_json::json;

use super::links::{self, Purpose};
use super::lockout::lock_state;
use super::names::{self, LoginName};
use super::tenants::Tenant;
use super::{ListQuery, Page, mail_text};
use crate::Kapu;
use crate::access::grants::effective_role_ids;
use crate::access::guard;
use crate::actor::{Actor, Role, policy};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::{mail, time_fmt};

/// A stored account, as the services see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_code: String,
    pub login: String,
    pub full_name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<i64>,
    pub warning_silenced_for: Option<i64>,
    pub admin_locked: i64,
    pub failed_count: i64,
    pub locked_until: Option<i64>,
    pub last_login_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const USER_COLUMNS: &str = "u.id, u.tenant_id, t.code AS tenant_code, u.login, u.full_name, u.email, \
    u.password_hash, u.password_changed_at, u.warning_silenced_for, u.admin_locked, u.failed_count, \
    u.locked_until, u.last_login_at, u.deleted_at, u.created_at, u.updated_at";

impl UserRow {
    pub fn full_login(&self) -> String {
        format!("{}@{}", self.login, self.tenant_code)
    }
}

/// A user as shown to administrators and clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub tenant: String,
    pub login: String,
    pub full_login: String,
    pub full_name: String,
    pub email: String,
    /// `active`, `locked`, `temporarily_locked` or `pending_activation`.
    #[schema(value_type = String, pattern = "^(active|locked|temporarily_locked|pending_activation)$")]
    pub status: &'static str,
    pub locked: bool,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub last_login_at: Option<String>,
    pub password_changed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

impl User {
    pub fn from_row(r: &UserRow, now: i64, roles: Option<Vec<String>>) -> User {
        User {
            id: r.id.clone(),
            tenant: r.tenant_code.clone(),
            login: r.login.clone(),
            full_login: r.full_login(),
            full_name: r.full_name.clone(),
            email: r.email.clone(),
            status: lock_state(
                r.admin_locked != 0,
                r.locked_until,
                r.password_hash.is_some(),
                now,
            ),
            locked: r.admin_locked != 0,
            locked_until: r.locked_until.filter(|u| *u > now).map(time_fmt::rfc3339),
            created_at: time_fmt::rfc3339(r.created_at),
            last_login_at: r.last_login_at.map(time_fmt::rfc3339),
            password_changed_at: r.password_changed_at.map(time_fmt::rfc3339),
            roles,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub full_name: String,
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub full_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    Active,
    Locked,
}

impl StatusFilter {
    pub fn parse(s: &str) -> Option<StatusFilter> {
        match s {
            "" | "all" => Some(StatusFilter::All),
            "active" => Some(StatusFilter::Active),
            "locked" => Some(StatusFilter::Locked),
            _ => None,
        }
    }
}

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("login") {
        "login" => "u.login",
        "full_name" => "u.full_name_key",
        "email" => "u.email",
        "created_at" => "u.created_at",
        "last_login_at" => "u.last_login_at",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

impl NewUser {
    /// Checks every field at once, so a form shows all its problems together.
    pub fn parse(&self) -> Result<(LoginName, String, String)> {
        let mut errors = Vec::new();
        let login =
            LoginName::parse(&self.login).map_err(|k| errors.push(FieldError::new("login", k)));
        let full_name = names::full_name(&self.full_name)
            .map_err(|k| errors.push(FieldError::new("full_name", k)));
        let email = names::email(&self.email).map_err(|k| errors.push(FieldError::new("email", k)));
        match (login, full_name, email) {
            (Ok(l), Ok(n), Ok(e)) => Ok((l, n, e)),
            _ => Err(Error::Validation(errors)),
        }
    }
}

impl Kapu {
    pub(crate) async fn user_by_id(&self, id: &str) -> Result<UserRow> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1"
        );
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(Error::NotFound)
    }

    /// A live (not deleted) user by tenant code and login name.
    pub(crate) async fn user_by_login(
        &self,
        tenant_code: &str,
        login: &str,
    ) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
             WHERE t.code = $1 AND u.login = $2 AND u.deleted_at IS NULL"
        );
        Ok(sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(tenant_code)
            .bind(login)
            .fetch_optional(self.db().pool())
            .await?)
    }

    /// Finds the target of an administrative operation after the actor passes `check` for
    /// its tenant. Another tenant's user is "not found".
    pub(crate) async fn target_user(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        check: fn(&Actor, &str) -> Result<()>,
    ) -> Result<UserRow> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        check(actor, &tenant.id)?;
        self.user_by_login(&tenant.code, login)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Inserts a user and queues its activation e-mail, inside the caller's transaction.
    pub(crate) async fn insert_user(
        &self,
        tx: &mut WriteTx,
        tenant: &Tenant,
        input: &NewUser,
        roles: &[Role],
        now: i64,
    ) -> Result<UserRow> {
        let (login, full_name, email) = input.parse()?;
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO users (id, tenant_id, login, full_name, full_name_key, email, created_at, updated_at, email_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
        )
        .bind(&id)
        .bind(&tenant.id)
        .bind(login.as_str())
        .bind(&full_name)
        .bind(names::fold(&full_name))
        .bind(&email)
        .bind(now)
        .bind(names::fold(&email))
        .execute(tx.conn())
        .await
        .map_err(|e| Error::on_unique(e, "conflict.login_taken"))?;
        for role in roles {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role_id, granted_at) VALUES ($1, $2, $3)",
            )
            .bind(&id)
            .bind(role.id())
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
        Ok(UserRow {
            id,
            tenant_id: tenant.id.clone(),
            tenant_code: tenant.code.clone(),
            login: login.as_str().to_string(),
            full_name,
            email,
            password_hash: None,
            password_changed_at: None,
            warning_silenced_for: None,
            admin_locked: 0,
            failed_count: 0,
            locked_until: None,
            last_login_at: None,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Issues an activation link and queues the e-mail that carries it.
    pub(crate) async fn send_activation(
        &self,
        tx: &mut WriteTx,
        user: &UserRow,
        now: i64,
    ) -> Result<String> {
        let snapshot = self.settings().snapshot(&user.tenant_id).await?;
        let valid = snapshot.duration_ms("activation_link_validity");
        let token = links::issue(tx, &user.id, Purpose::Activation, now, valid).await?;
        let link = self
            .config()
            .link(&format!("{}?token={token}", Purpose::Activation.path()));
        let text = mail_text::activation(
            &user.full_name,
            &user.full_login(),
            &link,
            valid / 3_600_000,
        );
        mail::enqueue(
            tx,
            Some(&user.tenant_id),
            &user.email,
            &text.subject,
            &text.body,
            now,
        )
        .await?;
        Ok(link)
    }

    pub async fn create_user(
        &self,
        actor: &Actor,
        tenant_code: &str,
        input: &NewUser,
    ) -> Result<User> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let user = self.insert_user(&mut tx, &tenant, input, &[], now).await?;
        self.send_activation(&mut tx, &user, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("user.create", "success")
                .tenant(&tenant.id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"full_name": user.full_name, "email": user.email})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(User::from_row(&user, now, Some(Vec::new())))
    }

    pub async fn list_users(
        &self,
        actor: &Actor,
        tenant_code: &str,
        query: &ListQuery,
        status: StatusFilter,
    ) -> Result<Page<User>> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        let now = self.now();
        let max = self
            .settings()
            .snapshot(&tenant.id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = query.window(max);
        let order = sort_column(query.sort.as_deref())?;
        let dir = if query.desc { "DESC" } else { "ASC" };
        let status_cond = match status {
            StatusFilter::All => "",
            StatusFilter::Active => {
                " AND u.admin_locked = 0 AND (u.locked_until IS NULL OR u.locked_until <= $3)"
            }
            StatusFilter::Locked => " AND (u.admin_locked = 1 OR u.locked_until > $3)",
        };
        let cond = format!(
            "u.tenant_id = $1 AND u.kind = 'person' AND u.deleted_at IS NULL AND ($2 IS NULL OR u.login LIKE $2 ESCAPE '\\' \
             OR u.full_name_key LIKE $2 ESCAPE '\\' OR u.email_key LIKE $2 ESCAPE '\\'){status_cond} AND $3 = $3"
        );
        let pattern = query.like_pattern();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE {cond} \
             ORDER BY {order} {dir}, u.login ASC LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(&tenant.id)
            .bind(pattern.as_deref())
            .bind(now)
            .bind(per_page)
            .bind(offset)
            .fetch_all(self.db().pool())
            .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM users u WHERE {cond}"
        )))
        .bind(&tenant.id)
        .bind(pattern.as_deref())
        .bind(now)
        .fetch_one(self.db().pool())
        .await?;
        Ok(Page {
            items: rows.iter().map(|r| User::from_row(r, now, None)).collect(),
            total,
            page,
            per_page,
        })
    }

    pub async fn get_user(&self, actor: &Actor, tenant_code: &str, login: &str) -> Result<User> {
        let row = self
            .target_user(actor, tenant_code, login, policy::read_users)
            .await?;
        let roles = effective_role_ids(self.db(), &row.id, &row.tenant_id).await?;
        Ok(User::from_row(&row, self.now(), Some(roles)))
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        changes: &UserChanges,
    ) -> Result<User> {
        let row = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        let mut errors = Vec::new();
        let full_name = match &changes.full_name {
            Some(n) => names::full_name(n)
                .map_err(|k| errors.push(FieldError::new("full_name", k)))
                .ok(),
            None => Some(row.full_name.clone()),
        };
        let email = match &changes.email {
            Some(e) => names::email(e)
                .map_err(|k| errors.push(FieldError::new("email", k)))
                .ok(),
            None => Some(row.email.clone()),
        };
        let (Some(full_name), Some(email)) = (full_name, email) else {
            return Err(Error::Validation(errors));
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE users SET full_name = $1, full_name_key = $2, email = $3, updated_at = $4, email_key = $6 WHERE id = $5")
            .bind(&full_name)
            .bind(names::fold(&full_name))
            .bind(&email)
            .bind(now)
            .bind(&row.id)
            .bind(names::fold(&email))
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("user.update", "success")
                .tenant(&row.tenant_id)
                .target("user", &row.id, &row.full_login())
                .details(json!({
                    "full_name": {"old": row.full_name, "new": full_name},
                    "email": {"old": row.email, "new": email},
                })),
        )
        .await?;
        tx.commit().await?;
        self.get_user(actor, tenant_code, login).await
    }

    /// Locks (or unlocks) an account. Unlocking also lifts a lock after wrong passwords.
    pub async fn set_user_locked(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        locked: bool,
    ) -> Result<User> {
        let row = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        if locked && row.id == actor.user_id {
            return Err(Error::Conflict("conflict.not_yourself"));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let maintainers = guard::user_maintainers(&mut tx, &row.tenant_id).await?;
        if locked {
            sqlx::query("UPDATE users SET admin_locked = 1, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&row.id)
                .execute(tx.conn())
                .await?;
            super::revocation::revoke_all_of(&mut tx, &row.id, now).await?;
            guard::user_maintainer_remains(&mut tx, &row.tenant_id, maintainers).await?;
        } else {
            sqlx::query(
                "UPDATE users SET admin_locked = 0, failed_count = 0, locked_until = NULL, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(&row.id)
            .execute(tx.conn())
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new(if locked { "user.lock" } else { "user.unlock" }, "success")
                .tenant(&row.tenant_id)
                .target("user", &row.id, &row.full_login()),
        )
        .await?;
        tx.commit().await?;
        self.get_user(actor, tenant_code, login).await
    }

    /// Soft delete: the account leaves every list and cannot log in; its history stays and
    /// its login name is never issued again in the tenant.
    pub async fn delete_user(&self, actor: &Actor, tenant_code: &str, login: &str) -> Result<()> {
        let row = self
            .target_user(actor, tenant_code, login, policy::delete_users)
            .await?;
        if row.id == actor.user_id {
            return Err(Error::Conflict("conflict.not_yourself"));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let maintainers = guard::user_maintainers(&mut tx, &row.tenant_id).await?;
        sqlx::query("UPDATE users SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now)
            .bind(&row.id)
            .execute(tx.conn())
            .await?;
        super::revocation::revoke_all_of(&mut tx, &row.id, now).await?;
        links::revoke_all(&mut tx, &row.id, now).await?;
        guard::user_maintainer_remains(&mut tx, &row.tenant_id, maintainers).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("user.delete", "success")
                .tenant(&row.tenant_id)
                .target("user", &row.id, &row.full_login()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a fresh activation link to a user who has not set a password yet.
    pub async fn resend_activation(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
    ) -> Result<()> {
        let row = self
            .target_user(actor, tenant_code, login, policy::write_users)
            .await?;
        if row.password_hash.is_some() {
            return Err(Error::Conflict("conflict.already_active"));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        self.send_activation(&mut tx, &row, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("user.activation_resent", "success")
                .tenant(&row.tenant_id)
                .target("user", &row.id, &row.full_login()),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        Ok(())
    }
}
