//! Services (szakrendszerek), their role catalogues, and tenant contracts.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::{Actor, guard, policy};
use crate::Kapu;
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::fold::fold;
use crate::platform::list::{ListQuery, Page};
use crate::platform::names;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Service {
    pub code: String,
    pub name: String,
    pub launch_url: String,
    pub builtin: bool,
    pub roles: Vec<ServiceRole>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceRole {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    pub code: String,
    pub name: Option<String>,
    pub launch_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub code: String,
    pub name: String,
    pub description: String,
}

/// Service and role codes: lower-case ASCII letters, digits and `_`.
pub fn parse_code(s: &str) -> std::result::Result<String, &'static str> {
    let s = s.trim();
    if s.len() < 2 || s.len() > 40 {
        return Err("service.code_length");
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase())
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err("service.code_format");
    }
    Ok(s.to_string())
}

/// A launch address: an absolute `https://` URL with a host name, or `http://` on the local
/// machine (development). Paths, scheme-relative forms (`//host`, `/\\host`), user names in
/// the address and anything with spaces or control characters are refused.
pub fn parse_launch_url(s: &str) -> std::result::Result<String, &'static str> {
    let s = s.trim();
    let (rest, local_only) = if let Some(r) = s.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = s.strip_prefix("http://") {
        (r, true)
    } else {
        return Err("service.url_format");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || h.starts_with('[') => {
            if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                return Err("service.url_format");
            }
            h
        }
        _ => authority,
    };
    let host_ok = !host.is_empty()
        && (host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            || host == "[::1]");
    let ok = s.len() <= 500
        && host_ok
        && !s.contains('\\')
        && s.chars().all(|c| c.is_ascii_graphic())
        && (!local_only || matches!(host, "localhost" | "127.0.0.1" | "[::1]"));
    if ok {
        Ok(s.to_string())
    } else {
        Err("service.url_format")
    }
}

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("code") {
        "code" => "code",
        "name" => "name",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

impl Kapu {
    async fn service_row(&self, code: &str) -> Result<(String, Service)> {
        let row =
            sqlx::query("SELECT id, code, name, launch_url, builtin FROM services WHERE code = $1")
                .bind(code)
                .fetch_optional(self.db().pool())
                .await?
                .ok_or(Error::NotFound)?;
        let id: String = row.try_get("id")?;
        let roles = sqlx::query(
            "SELECT id, code, name, description FROM roles WHERE service_id = $1 ORDER BY code",
        )
        .bind(&id)
        .fetch_all(self.db().pool())
        .await?
        .iter()
        .map(|r| {
            Ok(ServiceRole {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let builtin: i64 = row.try_get("builtin")?;
        Ok((
            id,
            Service {
                code: row.try_get("code")?,
                name: row.try_get("name")?,
                launch_url: row.try_get("launch_url")?,
                builtin: builtin != 0,
                roles,
            },
        ))
    }

    /// Every service in the catalogue (any signed-in user may read it).
    pub async fn list_services(&self, _actor: &Actor, q: &ListQuery) -> Result<Page<Service>> {
        let (page, per_page, offset) = q.window(1000);
        let order = sort_column(q.sort.as_deref())?;
        let dir = if q.desc { "DESC" } else { "ASC" };
        let cond =
            "($1 IS NULL OR LOWER(code) LIKE $1 ESCAPE '\\' OR name_key LIKE $1 ESCAPE '\\')";
        let pattern = q.like_pattern();
        let codes: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT code FROM services WHERE {cond} ORDER BY {order} {dir}, code LIMIT $2 OFFSET $3"
        )))
        .bind(pattern.as_deref())
        .bind(per_page)
        .bind(offset)
        .fetch_all(self.db().pool())
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM services WHERE {cond}"
        )))
        .bind(pattern.as_deref())
        .fetch_one(self.db().pool())
        .await?;
        let mut items = Vec::with_capacity(codes.len());
        for c in codes {
            items.push(self.service_row(&c).await?.1);
        }
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    pub async fn get_service(&self, _actor: &Actor, code: &str) -> Result<Service> {
        Ok(self.service_row(code).await?.1)
    }

    pub async fn create_service(
        &self,
        actor: &Actor,
        input: &ServiceInput,
        roles: &[RoleInput],
    ) -> Result<Service> {
        policy::manage_catalog(actor)?;
        let mut tx = self.db().write().await?;
        let (_, code) = self
            .insert_service(&mut tx, actor, input, roles, self.now())
            .await?;
        tx.commit().await?;
        self.get_service(actor, &code).await
    }

    /// Checks and inserts a service with its roles, audited, inside the caller's
    /// transaction; returns its id and code.
    pub(crate) async fn insert_service(
        &self,
        tx: &mut crate::platform::db::WriteTx,
        actor: &Actor,
        input: &ServiceInput,
        roles: &[RoleInput],
        now: i64,
    ) -> Result<(String, String)> {
        let mut errors = Vec::new();
        let code = parse_code(&input.code).map_err(|k| errors.push(FieldError::new("code", k)));
        let name = names::tenant_name(input.name.as_deref().unwrap_or(""))
            .map_err(|_| errors.push(FieldError::new("name", "service.name_required")));
        let url = parse_launch_url(input.launch_url.as_deref().unwrap_or(""))
            .map_err(|k| errors.push(FieldError::new("launch_url", k)));
        let parsed_roles = parse_roles(roles, &mut errors);
        let (Ok(code), Ok(name), Ok(url), true) = (code, name, url, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO services (id, code, name, launch_url, builtin, created_at, updated_at, name_key) VALUES ($1, $2, $3, $4, 0, $5, $5, $6)",
        )
        .bind(&id)
        .bind(&code)
        .bind(&name)
        .bind(&url)
        .bind(now)
        .bind(fold(&name))
        .execute(tx.conn())
        .await
        .map_err(|e| Error::on_unique(e, "conflict.service_code_taken"))?;
        for r in &parsed_roles {
            insert_role(tx, &id, &code, r, now).await?;
        }
        audit::record(
            tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("service.create", "success")
                .target("service", &id, &code)
                .details(json!({"name": name, "launch_url": url, "roles": parsed_roles.iter().map(|r| &r.code).collect::<Vec<_>>()})),
        )
        .await?;
        Ok((id, code))
    }

    /// Changes a service's name or address and adds or renames roles (roles are never
    /// removed: grants refer to them).
    pub async fn update_service(
        &self,
        actor: &Actor,
        code: &str,
        input: &ServiceInput,
        roles: &[RoleInput],
    ) -> Result<Service> {
        policy::manage_catalog(actor)?;
        let (id, current) = self.service_row(code).await?;
        if current.builtin {
            return Err(Error::Conflict("conflict.builtin_service"));
        }
        let mut errors = Vec::new();
        let name = match &input.name {
            Some(n) => names::tenant_name(n)
                .map_err(|_| errors.push(FieldError::new("name", "service.name_required")))
                .ok(),
            None => Some(current.name.clone()),
        };
        let url = match &input.launch_url {
            Some(u) => parse_launch_url(u)
                .map_err(|k| errors.push(FieldError::new("launch_url", k)))
                .ok(),
            None => Some(current.launch_url.clone()),
        };
        let parsed_roles = parse_roles(roles, &mut errors);
        let (Some(name), Some(url), true) = (name, url, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE services SET name = $1, launch_url = $2, updated_at = $3, name_key = $5 WHERE id = $4",
        )
        .bind(&name)
        .bind(&url)
        .bind(now)
        .bind(&id)
        .bind(fold(&name))
        .execute(tx.conn())
        .await?;
        for r in &parsed_roles {
            if current.roles.iter().any(|c| c.code == r.code) {
                sqlx::query("UPDATE roles SET name = $1, description = $2, name_key = $5 WHERE service_id = $3 AND code = $4")
                    .bind(&r.name)
                    .bind(&r.description)
                    .bind(&id)
                    .bind(&r.code)
                    .bind(fold(&r.name))
                    .execute(tx.conn())
                    .await?;
            } else {
                insert_role(&mut tx, &id, code, r, now).await?;
            }
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("service.update", "success")
                .target("service", &id, code)
                .details(json!({"name": name, "launch_url": url, "roles": parsed_roles.iter().map(|r| &r.code).collect::<Vec<_>>()})),
        )
        .await?;
        tx.commit().await?;
        self.get_service(actor, code).await
    }

    /// The services in a tenant's contract (Kapu's own is always in effect and not listed).
    pub async fn tenant_services(&self, actor: &Actor, tenant_code: &str) -> Result<Vec<Service>> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_tenant(actor, &tenant.id)?;
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT s.code FROM tenant_services ts JOIN services s ON s.id = ts.service_id WHERE ts.tenant_id = $1 ORDER BY s.code",
        )
        .bind(&tenant.id)
        .fetch_all(self.db().pool())
        .await?;
        let mut out = Vec::with_capacity(codes.len());
        for c in codes {
            out.push(self.service_row(&c).await?.1);
        }
        Ok(out)
    }

    /// Replaces a tenant's contract. Grants of a service that leaves the contract are kept
    /// but stop counting, at once, in open sessions too; they count again if it returns.
    pub async fn set_tenant_services(
        &self,
        actor: &Actor,
        tenant_code: &str,
        services: &[String],
    ) -> Result<Vec<Service>> {
        policy::manage_tenants(actor)?;
        let tenant = self.tenant_by_code(tenant_code).await?;
        let mut ids = Vec::with_capacity(services.len());
        for code in services {
            let row = sqlx::query("SELECT id, builtin FROM services WHERE code = $1")
                .bind(code)
                .fetch_optional(self.db().pool())
                .await?
                .ok_or_else(|| Error::field("services", "service.unknown"))?;
            let builtin: i64 = row.try_get("builtin")?;
            if builtin == 0 {
                ids.push(row.try_get::<String, _>("id")?);
            }
        }
        ids.sort();
        ids.dedup();
        let now = self.now();
        let mut tx = self.db().write().await?;
        let maintainers = guard::user_maintainers(&mut tx, &tenant.id).await?;
        sqlx::query("DELETE FROM tenant_services WHERE tenant_id = $1")
            .bind(&tenant.id)
            .execute(tx.conn())
            .await?;
        for id in &ids {
            sqlx::query("INSERT INTO tenant_services (tenant_id, service_id, created_at) VALUES ($1, $2, $3)")
                .bind(&tenant.id)
                .bind(id)
                .bind(now)
                .execute(tx.conn())
                .await?;
        }
        guard::user_maintainer_remains(&mut tx, &tenant.id, maintainers).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("tenant.contract", "success")
                .tenant(&tenant.id)
                .target("tenant", &tenant.id, &tenant.code)
                .details(json!({"services": services})),
        )
        .await?;
        tx.commit().await?;
        self.tenant_services(actor, tenant_code).await
    }
}

fn parse_roles(roles: &[RoleInput], errors: &mut Vec<FieldError>) -> Vec<RoleInput> {
    let mut out: Vec<RoleInput> = Vec::with_capacity(roles.len());
    for r in roles {
        match (parse_code(&r.code), names::tenant_name(&r.name)) {
            (Ok(code), Ok(name)) if !out.iter().any(|o| o.code == code) => out.push(RoleInput {
                code,
                name,
                description: r
                    .description
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(1000)
                    .collect(),
            }),
            _ => {
                errors.push(FieldError::new("roles", "service.role_invalid"));
                break;
            }
        }
    }
    out
}

async fn insert_role(
    tx: &mut crate::platform::db::WriteTx,
    service_id: &str,
    service_code: &str,
    r: &RoleInput,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO roles (id, service_id, code, name, description, created_at, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(format!("{service_code}.{}", r.code))
        .bind(service_id)
        .bind(&r.code)
        .bind(&r.name)
        .bind(&r.description)
        .bind(now)
        .bind(fold(&r.name))
        .execute(tx.conn())
        .await
        .map_err(|e| Error::on_unique(e, "conflict.role_code_taken"))?;
    Ok(())
}

impl Kapu {
    /// The launchpad's services: contracted ones in which the actor holds a role.
    pub async fn launchpad_services(&self, actor: &Actor) -> Result<Vec<Service>> {
        // Every page shows them: kept per tenant while no change is heard of.
        let services = self
            .inner
            .contracted
            .get_or_read(&actor.tenant_code, self.db().changes(), || async {
                Ok(Arc::new(
                    self.tenant_services(actor, &actor.tenant_code).await?,
                ))
            })
            .await?;
        Ok(services
            .iter()
            .filter(|s| s.roles.iter().any(|r| actor.role_ids.contains(&r.id)))
            .cloned()
            .collect())
    }
}

/// One role of the catalogue, as the roles list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueRole {
    pub id: String,
    pub service: String,
    pub service_name: String,
    pub code: String,
    pub name: String,
    pub description: String,
}

impl Kapu {
    /// Every role of every service: filtered, sorted and paged.
    pub async fn list_roles(&self, actor: &Actor, q: &ListQuery) -> Result<Page<CatalogueRole>> {
        let max = self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = q.window(max);
        let order = match q.sort.as_deref().unwrap_or("service") {
            "service" => "s.code",
            "code" => "r.code",
            "name" => "r.name",
            _ => return Err(Error::field("sort", "list.bad_sort")),
        };
        let dir = if q.desc { "DESC" } else { "ASC" };
        let cond = "($1 IS NULL OR LOWER(r.code) LIKE $1 ESCAPE '\\' OR r.name_key LIKE $1 ESCAPE '\\' \
                    OR LOWER(s.code) LIKE $1 ESCAPE '\\' OR s.name_key LIKE $1 ESCAPE '\\')";
        let pattern = q.like_pattern();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT r.id, s.code AS service, s.name AS service_name, r.code, r.name, r.description \
             FROM roles r JOIN services s ON s.id = r.service_id WHERE {cond} \
             ORDER BY {order} {dir}, r.id LIMIT $2 OFFSET $3"
        )))
        .bind(pattern.as_deref())
        .bind(per_page)
        .bind(offset)
        .fetch_all(self.db().pool())
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM roles r JOIN services s ON s.id = r.service_id WHERE {cond}"
        )))
        .bind(pattern.as_deref())
        .fetch_one(self.db().pool())
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(CatalogueRole {
                    id: r.try_get("id")?,
                    service: r.try_get("service")?,
                    service_name: r.try_get("service_name")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_addresses_are_absolute_https_or_local_http() {
        for ok in [
            "https://gazdalkodas.example.hu/start",
            "https://ado.example.hu:8443/?x=1",
            "http://localhost:3000/cb",
            "http://127.0.0.1/",
            "http://[::1]:8080/",
        ] {
            assert!(parse_launch_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "/admin/users",
            "/\\evil.example",
            "//evil.example",
            "javascript:alert(1)",
            "http://evil.example/",
            "https://",
            "https:///path",
            "https://user@evil.example/",
            "https://evil.example\\@good.hu/",
            "https://a b.hu/",
            "https://good.hu:/",
            "https://good.hu/a\tb",
        ] {
            assert_eq!(parse_launch_url(bad), Err("service.url_format"), "{bad}");
        }
        assert_eq!(parse_code("Gazd"), Err("service.code_format"));
    }
}
