//! Tenants: created and renamed by central administrators, never deleted.

use serde::Serialize;
use serde_json::json;

use super::names::{self, TenantCode};
use super::users::{NewUser, User};
use super::{ListQuery, Page};
use crate::Kapu;
use crate::actor::{Actor, Role, policy};
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::time_fmt;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub is_central: i64,
    pub is_test: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    #[serde(skip)]
    pub id: String,
    pub code: String,
    pub name: String,
    pub central: bool,
    /// A test tenant: services in their test state take its users' logins.
    pub test: bool,
    pub created_at: String,
}

impl From<TenantRow> for Tenant {
    fn from(r: TenantRow) -> Self {
        Tenant {
            id: r.id,
            code: r.code,
            name: r.name,
            central: r.is_central != 0,
            test: r.is_test != 0,
            created_at: time_fmt::rfc3339(r.created_at),
        }
    }
}

pub const CENTRAL_CODE: &str = "kozpont";

/// A new tenant together with its primary user administrator (manual 4.6).
#[derive(Debug, Clone, Default)]
pub struct NewTenant {
    pub code: String,
    pub name: String,
    pub admin: NewUser,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub admin: User,
}

const TENANT_COLUMNS: &str = "id, code, name, is_central, is_test, created_at, updated_at";

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("code") {
        "code" => "code",
        "name" => "name",
        "created_at" => "created_at",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

impl Kapu {
    pub async fn tenant_by_code(&self, code: &str) -> Result<Tenant> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE code = $1");
        sqlx::query_as::<_, TenantRow>(sqlx::AssertSqlSafe(sql))
            .bind(code)
            .fetch_optional(self.db().pool())
            .await?
            .map(Tenant::from)
            .ok_or(Error::NotFound)
    }

    pub async fn central_tenant_exists(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE is_central = 1")
            .fetch_one(self.db().pool())
            .await?;
        Ok(n > 0)
    }

    pub async fn get_tenant(&self, actor: &Actor, code: &str) -> Result<Tenant> {
        let tenant = self.tenant_by_code(code).await?;
        policy::read_tenant(actor, &tenant.id)?;
        Ok(tenant)
    }

    /// Central administrators see every tenant; anyone else only their own.
    pub async fn list_tenants(&self, actor: &Actor, query: &ListQuery) -> Result<Page<Tenant>> {
        let max = self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = query.window(max);
        let order = sort_column(query.sort.as_deref())?;
        let dir = if query.desc { "DESC" } else { "ASC" };
        let only: Option<&str> = (!actor.central).then_some(actor.tenant_id.as_str());
        let cond = "($1 IS NULL OR id = $1) AND ($2 IS NULL OR LOWER(code) LIKE $2 ESCAPE '\\' OR name_key LIKE $2 ESCAPE '\\')";
        let pattern = query.like_pattern();
        let rows = sqlx::query_as::<_, TenantRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE {cond} ORDER BY {order} {dir}, code LIMIT $3 OFFSET $4"
        )))
        .bind(only)
        .bind(pattern.as_deref())
        .bind(per_page)
        .bind(offset)
        .fetch_all(self.db().pool())
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM tenants WHERE {cond}"
        )))
        .bind(only)
        .bind(pattern.as_deref())
        .fetch_one(self.db().pool())
        .await?;
        Ok(Page {
            items: rows.into_iter().map(Tenant::from).collect(),
            total,
            page,
            per_page,
        })
    }

    pub async fn create_tenant(&self, actor: &Actor, input: &NewTenant) -> Result<CreatedTenant> {
        policy::manage_tenants(actor)?;
        let mut errors = Vec::new();
        let code =
            TenantCode::parse(&input.code).map_err(|k| errors.push(FieldError::new("code", k)));
        let name =
            names::tenant_name(&input.name).map_err(|k| errors.push(FieldError::new("name", k)));
        if let Err(Error::Validation(admin_errors)) = input.admin.parse() {
            errors.extend(
                admin_errors
                    .into_iter()
                    .map(|e| FieldError::new(admin_field(e.field), e.key)),
            );
        }
        let (Ok(code), Ok(name), true) = (code, name, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        let tenant = insert_tenant(&mut tx, &code, &name, false, now).await?;
        let admin = self
            .insert_user(&mut tx, &tenant, &input.admin, &Role::PRIMARY_ADMIN, now)
            .await?;
        self.send_activation(&mut tx, &admin, now).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("tenant.create", "success")
                .tenant(&tenant.id)
                .target("tenant", &tenant.id, &tenant.code)
                .details(json!({"name": tenant.name, "primary_admin": admin.full_login()})),
        )
        .await?;
        tx.commit().await?;
        self.mailer().wake();
        let roles = Some(Role::PRIMARY_ADMIN.iter().map(|r| r.id()).collect());
        Ok(CreatedTenant {
            admin: User::from_row(&admin, now, roles),
            tenant,
        })
    }

    pub async fn rename_tenant(&self, actor: &Actor, code: &str, name: &str) -> Result<Tenant> {
        policy::manage_tenants(actor)?;
        let tenant = self.tenant_by_code(code).await?;
        let name = names::tenant_name(name).map_err(|k| Error::field("name", k))?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE tenants SET name = $1, updated_at = $2, name_key = $4 WHERE id = $3")
            .bind(&name)
            .bind(now)
            .bind(&tenant.id)
            .bind(super::names::fold(&name))
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("tenant.rename", "success")
                .tenant(&tenant.id)
                .target("tenant", &tenant.id, &tenant.code)
                .details(json!({"old": tenant.name, "new": name})),
        )
        .await?;
        tx.commit().await?;
        Ok(Tenant { name, ..tenant })
    }

    /// Marks a tenant as a test tenant (or not): central administrators only.
    pub async fn set_tenant_test(&self, actor: &Actor, code: &str, test: bool) -> Result<Tenant> {
        policy::manage_tenants(actor)?;
        let tenant = self.tenant_by_code(code).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query("UPDATE tenants SET is_test = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(test))
            .bind(now)
            .bind(&tenant.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("tenant.test", "success")
                .tenant(&tenant.id)
                .target("tenant", &tenant.id, &tenant.code)
                .details(json!({"test": test})),
        )
        .await?;
        tx.commit().await?;
        Ok(Tenant { test, ..tenant })
    }
}

fn admin_field(field: &'static str) -> &'static str {
    match field {
        "login" => "admin_login",
        "full_name" => "admin_full_name",
        "email" => "admin_email",
        other => other,
    }
}

pub(crate) async fn insert_tenant(
    tx: &mut crate::platform::db::WriteTx,
    code: &TenantCode,
    name: &str,
    central: bool,
    now: i64,
) -> Result<Tenant> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO tenants (id, code, name, is_central, created_at, updated_at, name_key) VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(&id)
    .bind(code.as_str())
    .bind(name)
    .bind(crate::platform::db::flag(central))
    .bind(now)
    .bind(super::names::fold(name))
    .execute(tx.conn())
    .await
    .map_err(|e| Error::on_unique(e, if central { "conflict.already_bootstrapped" } else { "conflict.tenant_code_taken" }))?;
    Ok(Tenant {
        id,
        code: code.as_str().to_string(),
        name: name.to_string(),
        central,
        test: false,
        created_at: time_fmt::rfc3339(now),
    })
}
