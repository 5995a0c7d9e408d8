//! Substitutions (helyettesítés): a deputy acts for a principal in chosen roles, for a time.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::grants::effective_role_ids;
use super::substitution_rules::{check_window, choosable, intersect, is_active};
use super::{Actor, policy};
use crate::Kapu;
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::list::{ListQuery, Page};
use crate::platform::time_fmt;

#[derive(Debug, Clone, Default)]
pub struct SubstitutionInput {
    /// Login names within the tenant.
    pub deputy: String,
    pub principal: String,
    /// Individual roles, or…
    pub roles: Option<Vec<String>>,
    /// …a group whose qualifying roles the substitution carries.
    pub group: Option<String>,
    /// Defaults to now.
    pub starts_at: Option<i64>,
    /// Open-ended when empty.
    pub ends_at: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct SubstitutionChanges {
    pub starts_at: Option<i64>,
    /// `Some(None)` makes it open-ended.
    pub ends_at: Option<Option<i64>>,
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Substitution {
    pub id: String,
    pub tenant: String,
    pub deputy: String,
    pub deputy_name: String,
    pub principal: String,
    pub principal_name: String,
    pub group: Option<String>,
    pub roles: Vec<String>,
    pub starts_at: String,
    pub ends_at: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SubstitutionFilter {
    pub deputy: Option<String>,
    pub principal: Option<String>,
    /// Only those in force now.
    pub active: bool,
}

/// Whom a deputy may act for, as offered at login.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub login: String,
    pub full_name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MySubstitutions {
    /// Where I am the deputy.
    pub i_act_for: Vec<Substitution>,
    /// Where I am the principal.
    pub my_deputies: Vec<Substitution>,
}

const SELECT: &str = "SELECT s.id, t.code AS tenant, d.login AS deputy, d.full_name AS deputy_name, \
     p.login AS principal, p.full_name AS principal_name, g.code AS group_code, s.starts_at, s.ends_at \
     FROM substitutions s JOIN tenants t ON t.id = s.tenant_id JOIN users d ON d.id = s.deputy_id \
     JOIN users p ON p.id = s.principal_id LEFT JOIN user_groups g ON g.id = s.group_id";

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("starts_at") {
        "starts_at" => "s.starts_at",
        "ends_at" => "s.ends_at",
        "deputy" => "d.login",
        "principal" => "p.login",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

impl Kapu {
    async fn substitution_rows(
        &self,
        cond: &str,
        binds: &[Option<&str>],
        now: i64,
        order: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Substitution>> {
        let sql =
            format!("{SELECT} WHERE {cond} ORDER BY {order}, s.id LIMIT {limit} OFFSET {offset}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(*b);
        }
        let rows = q.bind(now).fetch_all(self.db().pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get("id")?;
            let roles: Vec<String> =
                sqlx::query_scalar("SELECT role_id FROM substitution_roles WHERE substitution_id = $1 ORDER BY role_id")
                    .bind(&id)
                    .fetch_all(self.db().pool())
                    .await?;
            let tenant: String = r.try_get("tenant")?;
            let starts_at: i64 = r.try_get("starts_at")?;
            let ends_at: Option<i64> = r.try_get("ends_at")?;
            let deputy: String = r.try_get("deputy")?;
            let principal: String = r.try_get("principal")?;
            out.push(Substitution {
                id,
                deputy: format!("{deputy}@{tenant}"),
                deputy_name: r.try_get("deputy_name")?,
                principal: format!("{principal}@{tenant}"),
                principal_name: r.try_get("principal_name")?,
                group: r.try_get("group_code")?,
                roles,
                starts_at: time_fmt::rfc3339(starts_at),
                ends_at: ends_at.map(time_fmt::rfc3339),
                active: is_active(starts_at, ends_at, now),
                tenant,
            });
        }
        Ok(out)
    }

    /// Roles the principal holds and the deputy lacks, now.
    /// Roles the principal holds and the deputy lacks (both users of `tenant_id`).
    async fn choosable_roles(
        &self,
        tenant_id: &str,
        deputy_id: &str,
        principal_id: &str,
    ) -> Result<Vec<String>> {
        let p = effective_role_ids(self.db(), principal_id, tenant_id).await?;
        let d = effective_role_ids(self.db(), deputy_id, tenant_id).await?;
        Ok(choosable(&p, &d))
    }

    pub async fn create_substitution(
        &self,
        actor: &Actor,
        tenant_code: &str,
        input: &SubstitutionInput,
    ) -> Result<Substitution> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        let mut errors = Vec::new();
        let deputy = self.user_by_login(&tenant.code, &input.deputy).await?;
        let principal = self.user_by_login(&tenant.code, &input.principal).await?;
        if deputy.is_none() {
            errors.push(FieldError::new("deputy", "substitution.unknown_user"));
        }
        if principal.is_none() {
            errors.push(FieldError::new("principal", "substitution.unknown_user"));
        }
        let (Some(deputy), Some(principal)) = (deputy, principal) else {
            return Err(Error::Validation(errors));
        };
        if deputy.id == principal.id {
            return Err(Error::field("principal", "substitution.self"));
        }
        // A program acts for nobody, and nobody acts for a program.
        for (field, who) in [("deputy", &deputy), ("principal", &principal)] {
            if self.is_technical(&who.id).await? {
                return Err(Error::field(field, "substitution.technical"));
            }
        }
        let now = self.now();
        let starts_at = input.starts_at.unwrap_or(now);
        check_window(starts_at, input.ends_at).map_err(|k| Error::field("ends_at", k))?;
        let allowed = self
            .choosable_roles(&tenant.id, &deputy.id, &principal.id)
            .await?;
        let (roles, group_id) = match (&input.group, &input.roles) {
            (Some(code), _) => {
                let group =
                    self.get_group(actor, tenant_code, code)
                        .await
                        .map_err(|e| match e {
                            Error::NotFound => Error::field("group", "group.unknown"),
                            other => other,
                        })?;
                let carried = intersect(&group.roles, &allowed);
                if carried.is_empty() {
                    return Err(Error::field("group", "substitution.group_no_roles"));
                }
                let gid: String = sqlx::query_scalar(
                    "SELECT id FROM user_groups WHERE tenant_id = $1 AND code = $2",
                )
                .bind(&tenant.id)
                .bind(code)
                .fetch_one(self.db().pool())
                .await?;
                (carried, Some(gid))
            }
            (None, Some(roles)) if !roles.is_empty() => {
                if roles.iter().any(|r| !allowed.contains(r)) {
                    return Err(Error::field("roles", "substitution.role_not_allowed"));
                }
                (intersect(roles, roles), None)
            }
            _ => return Err(Error::field("roles", "substitution.roles_required")),
        };
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "INSERT INTO substitutions (id, tenant_id, deputy_id, principal_id, group_id, starts_at, ends_at, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(&tenant.id)
        .bind(&deputy.id)
        .bind(&principal.id)
        .bind(group_id.as_deref())
        .bind(starts_at)
        .bind(input.ends_at)
        .bind(actor.audit().user_id.unwrap_or_default())
        .bind(now)
        .execute(tx.conn())
        .await?;
        replace_roles(&mut tx, &id, &roles).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("substitution.create", "success")
                .tenant(&tenant.id)
                .target("substitution", &id, &format!("{} → {}", deputy.full_login(), principal.full_login()))
                .details(json!({"roles": roles, "group": input.group, "starts_at": starts_at, "ends_at": input.ends_at})),
        )
        .await?;
        tx.commit().await?;
        self.get_substitution(actor, tenant_code, &id).await
    }

    pub async fn get_substitution(
        &self,
        actor: &Actor,
        tenant_code: &str,
        id: &str,
    ) -> Result<Substitution> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        self.substitution_rows(
            "s.id = $1 AND s.tenant_id = $2 AND s.deleted_at IS NULL AND $3 = $3",
            &[Some(id), Some(&tenant.id)],
            self.now(),
            "s.starts_at",
            1,
            0,
        )
        .await?
        .pop()
        .ok_or(Error::NotFound)
    }

    pub async fn list_substitutions(
        &self,
        actor: &Actor,
        tenant_code: &str,
        filter: &SubstitutionFilter,
        q: &ListQuery,
    ) -> Result<Page<Substitution>> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        let max = self
            .settings()
            .snapshot(&tenant.id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = q.window(max);
        let order = format!(
            "{} {}",
            sort_column(q.sort.as_deref())?,
            if q.desc { "DESC" } else { "ASC" }
        );
        let active = if filter.active {
            "s.starts_at <= $5 AND (s.ends_at IS NULL OR s.ends_at > $5)"
        } else {
            "$5 = $5"
        };
        let pattern = q.like_pattern();
        let cond = format!(
            "s.tenant_id = $1 AND s.deleted_at IS NULL AND ($2 IS NULL OR d.login = $2) AND ($3 IS NULL OR p.login = $3) \
             AND ($4 IS NULL OR d.login LIKE $4 ESCAPE '\\' OR p.login LIKE $4 ESCAPE '\\' OR d.full_name_key LIKE $4 ESCAPE '\\' \
             OR p.full_name_key LIKE $4 ESCAPE '\\') AND {active}"
        );
        let binds = [
            Some(tenant.id.as_str()),
            filter.deputy.as_deref(),
            filter.principal.as_deref(),
            pattern.as_deref(),
        ];
        let now = self.now();
        let items = self
            .substitution_rows(&cond, &binds, now, &order, per_page, offset)
            .await?;
        let mut count = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM substitutions s JOIN users d ON d.id = s.deputy_id JOIN users p ON p.id = s.principal_id WHERE {cond}"
        )));
        for b in binds {
            count = count.bind(b);
        }
        let total: i64 = count.bind(now).fetch_one(self.db().pool()).await?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    pub async fn update_substitution(
        &self,
        actor: &Actor,
        tenant_code: &str,
        id: &str,
        changes: &SubstitutionChanges,
    ) -> Result<Substitution> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        let row = sqlx::query("SELECT deputy_id, principal_id, starts_at, ends_at FROM substitutions WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL")
            .bind(id)
            .bind(&tenant.id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(Error::NotFound)?;
        let starts_at = changes.starts_at.unwrap_or(row.try_get("starts_at")?);
        let ends_at = match changes.ends_at {
            Some(e) => e,
            None => row.try_get("ends_at")?,
        };
        check_window(starts_at, ends_at).map_err(|k| Error::field("ends_at", k))?;
        if let Some(roles) = &changes.roles {
            let deputy: String = row.try_get("deputy_id")?;
            let principal: String = row.try_get("principal_id")?;
            let allowed = self
                .choosable_roles(&tenant.id, &deputy, &principal)
                .await?;
            if roles.is_empty() {
                return Err(Error::field("roles", "substitution.roles_required"));
            }
            if roles.iter().any(|r| !allowed.contains(r)) {
                return Err(Error::field("roles", "substitution.role_not_allowed"));
            }
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "UPDATE substitutions SET starts_at = $1, ends_at = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(starts_at)
        .bind(ends_at)
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        if let Some(roles) = &changes.roles {
            replace_roles(&mut tx, id, roles).await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("substitution.update", "success")
                .tenant(&tenant.id)
                .target("substitution", id, id)
                .details(
                    json!({"starts_at": starts_at, "ends_at": ends_at, "roles": changes.roles}),
                ),
        )
        .await?;
        tx.commit().await?;
        self.get_substitution(actor, tenant_code, id).await
    }

    pub async fn delete_substitution(
        &self,
        actor: &Actor,
        tenant_code: &str,
        id: &str,
    ) -> Result<()> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::write_users(actor, &tenant.id)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let n = sqlx::query("UPDATE substitutions SET deleted_at = $1 WHERE id = $2 AND tenant_id = $3 AND deleted_at IS NULL")
            .bind(now)
            .bind(id)
            .bind(&tenant.id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::NotFound);
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("substitution.delete", "success")
                .tenant(&tenant.id)
                .target("substitution", id, id),
        )
        .await?;
        tx.commit().await
    }

    /// The actor's own substitutions, both ways, current and future.
    pub async fn my_substitutions(&self, actor: &Actor) -> Result<MySubstitutions> {
        let me = actor.session_user_id();
        let now = self.now();
        let live = "s.deleted_at IS NULL AND (s.ends_at IS NULL OR s.ends_at > $2)";
        Ok(MySubstitutions {
            i_act_for: self
                .substitution_rows(
                    &format!("s.deputy_id = $1 AND {live}"),
                    &[Some(me)],
                    now,
                    "s.starts_at",
                    1000,
                    0,
                )
                .await?,
            my_deputies: self
                .substitution_rows(
                    &format!("s.principal_id = $1 AND {live}"),
                    &[Some(me)],
                    now,
                    "s.starts_at",
                    1000,
                    0,
                )
                .await?,
        })
    }

    /// Principals the user can act for now: some substitution is in force and still carries
    /// a role the principal holds.
    pub(crate) async fn principals_for(
        &self,
        deputy_id: &str,
        tenant_id: &str,
    ) -> Result<Vec<Principal>> {
        let now = self.now();
        let rows = sqlx::query(
            "SELECT DISTINCT p.id, p.login, p.full_name, p.full_name_key FROM substitutions s JOIN users p ON p.id = s.principal_id \
             WHERE s.deputy_id = $1 AND s.tenant_id = $2 AND s.deleted_at IS NULL AND s.starts_at <= $3 \
             AND (s.ends_at IS NULL OR s.ends_at > $3) AND p.deleted_at IS NULL AND p.admin_locked = 0 ORDER BY p.full_name_key",
        )
        .bind(deputy_id)
        .bind(tenant_id)
        .bind(now)
        .fetch_all(self.db().pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let pid: String = r.try_get("id")?;
            if !self
                .acting_roles(deputy_id, &pid, tenant_id)
                .await?
                .is_empty()
            {
                out.push(Principal {
                    login: r.try_get("login")?,
                    full_name: r.try_get("full_name")?,
                });
            }
        }
        Ok(out)
    }

    /// The roles a deputy has when acting for a principal now: those of the substitutions in
    /// force that the principal still holds.
    pub(crate) async fn acting_roles(
        &self,
        deputy_id: &str,
        principal_id: &str,
        tenant_id: &str,
    ) -> Result<Vec<String>> {
        let substituted: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT sr.role_id FROM substitutions s JOIN substitution_roles sr ON sr.substitution_id = s.id \
             WHERE s.deputy_id = $1 AND s.principal_id = $2 AND s.deleted_at IS NULL AND s.starts_at <= $3 \
             AND (s.ends_at IS NULL OR s.ends_at > $3)",
        )
        .bind(deputy_id)
        .bind(principal_id)
        .bind(self.now())
        .fetch_all(self.db().pool())
        .await?;
        if substituted.is_empty() {
            return Ok(substituted);
        }
        let held = effective_role_ids(self.db(), principal_id, tenant_id).await?;
        Ok(intersect(&substituted, &held))
    }
}

impl Kapu {
    /// The next moment a substitution of this deputy for this principal starts or ends
    /// (`i64::MAX` when none will): until then, time alone does not change what the deputy
    /// may do.
    pub(crate) async fn substitution_boundary(
        &self,
        deputy_id: &str,
        principal_id: &str,
        now: i64,
    ) -> Result<i64> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN starts_at > $3 THEN starts_at ELSE ends_at END) FROM substitutions \
             WHERE deputy_id = $1 AND principal_id = $2 AND deleted_at IS NULL \
             AND (starts_at > $3 OR ends_at > $3)",
        )
        .bind(deputy_id)
        .bind(principal_id)
        .bind(now)
        .fetch_one(self.db().pool())
        .await?;
        Ok(next.unwrap_or(i64::MAX))
    }
}

async fn replace_roles(tx: &mut WriteTx, id: &str, roles: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM substitution_roles WHERE substitution_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    for r in roles {
        sqlx::query("INSERT INTO substitution_roles (substitution_id, role_id) VALUES ($1, $2)")
            .bind(id)
            .bind(r)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}
