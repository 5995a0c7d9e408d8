//! User groups: a tenant's named bundles of roles, given to their members.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::{Actor, guard, policy};
use crate::Kapu;
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;
use crate::platform::list::{ListQuery, Page};
use crate::platform::names::{self, LoginName};

/// A group code: ASCII letters, digits, `_`, `-` and `.`; no accents, no spaces.
pub fn parse_code(s: &str) -> std::result::Result<String, &'static str> {
    let s = s.trim();
    if s.len() < 2 || s.len() > 40 {
        return Err("group.code_length");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("group.code_format");
    }
    Ok(s.to_string())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub code: String,
    pub name: String,
    pub members: Vec<String>,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupSummary {
    pub code: String,
    pub name: String,
    pub members: i64,
    pub roles: i64,
}

#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub code: String,
    pub name: Option<String>,
    /// Login names (without tenant).
    pub members: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
}

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("code") {
        "code" => "g.code",
        "name" => "g.name_key",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

impl Kapu {
    async fn group_id(&self, tenant_id: &str, code: &str) -> Result<String> {
        sqlx::query_scalar("SELECT id FROM user_groups WHERE tenant_id = $1 AND code = $2")
            .bind(tenant_id)
            .bind(code)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn list_groups(
        &self,
        actor: &Actor,
        tenant_code: &str,
        q: &ListQuery,
    ) -> Result<Page<GroupSummary>> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        let max = self
            .settings()
            .snapshot(&tenant.id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = q.window(max);
        let order = sort_column(q.sort.as_deref())?;
        let dir = if q.desc { "DESC" } else { "ASC" };
        let cond = "g.tenant_id = $1 AND ($2 IS NULL OR LOWER(g.code) LIKE $2 ESCAPE '\\' OR g.name_key LIKE $2 ESCAPE '\\')";
        let pattern = q.like_pattern();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT g.code, g.name, \
             (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members, \
             (SELECT COUNT(*) FROM group_roles r WHERE r.group_id = g.id) AS roles \
             FROM user_groups g WHERE {cond} ORDER BY {order} {dir}, g.code LIMIT $3 OFFSET $4"
        )))
        .bind(&tenant.id)
        .bind(pattern.as_deref())
        .bind(per_page)
        .bind(offset)
        .fetch_all(self.db().pool())
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM user_groups g WHERE {cond}"
        )))
        .bind(&tenant.id)
        .bind(pattern.as_deref())
        .fetch_one(self.db().pool())
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(GroupSummary {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    members: r.try_get("members")?,
                    roles: r.try_get("roles")?,
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

    pub async fn get_group(&self, actor: &Actor, tenant_code: &str, code: &str) -> Result<Group> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        let row = sqlx::query(
            "SELECT id, code, name FROM user_groups WHERE tenant_id = $1 AND code = $2",
        )
        .bind(&tenant.id)
        .bind(code)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        let id: String = row.try_get("id")?;
        let members: Vec<String> = sqlx::query_scalar(
            "SELECT u.login FROM group_members m JOIN users u ON u.id = m.user_id \
             WHERE m.group_id = $1 AND u.deleted_at IS NULL ORDER BY u.login",
        )
        .bind(&id)
        .fetch_all(self.db().pool())
        .await?;
        let roles: Vec<String> = sqlx::query_scalar(
            "SELECT role_id FROM group_roles WHERE group_id = $1 ORDER BY role_id",
        )
        .bind(&id)
        .fetch_all(self.db().pool())
        .await?;
        Ok(Group {
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            members,
            roles,
        })
    }

    /// User ids for login names in a tenant; an unknown login is a field error.
    async fn member_ids(&self, tenant_code: &str, logins: &[String]) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(logins.len());
        for login in logins {
            LoginName::parse(login).map_err(|_| Error::field("members", "group.unknown_member"))?;
            let user = self.user_by_login(tenant_code, login).await?;
            ids.push(
                user.ok_or_else(|| Error::field("members", "group.unknown_member"))?
                    .id,
            );
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    pub async fn create_group(
        &self,
        actor: &Actor,
        tenant_code: &str,
        input: &GroupInput,
    ) -> Result<Group> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::manage_rights(actor, &tenant.id)?;
        let mut errors = Vec::new();
        let code = parse_code(&input.code).map_err(|k| errors.push(FieldError::new("code", k)));
        let name = names::full_name(input.name.as_deref().unwrap_or(""))
            .map_err(|_| errors.push(FieldError::new("name", "group.name_required")));
        let (Ok(code), Ok(name)) = (code, name) else {
            return Err(Error::Validation(errors));
        };
        let members = self
            .member_ids(&tenant.code, input.members.as_deref().unwrap_or(&[]))
            .await?;
        let roles = input.roles.clone().unwrap_or_default();
        self.check_grantable(&tenant.id, &roles, "roles").await?;
        let now = self.now();
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db().write().await?;
        sqlx::query(
            "INSERT INTO user_groups (id, tenant_id, code, name, name_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(&tenant.id)
        .bind(&code)
        .bind(&name)
        .bind(names::fold(&name))
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| Error::on_unique(e, "conflict.group_code_taken"))?;
        replace_members_and_roles(&mut tx, &id, Some(&members), Some(&roles)).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("group.create", "success")
                .tenant(&tenant.id)
                .target("group", &id, &code)
                .details(json!({"name": name, "members": input.members, "roles": roles})),
        )
        .await?;
        tx.commit().await?;
        self.get_group(actor, tenant_code, &code).await
    }

    /// Changes the name, the members or the roles; what is `None` stays.
    pub async fn update_group(
        &self,
        actor: &Actor,
        tenant_code: &str,
        code: &str,
        input: &GroupInput,
    ) -> Result<Group> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::manage_rights(actor, &tenant.id)?;
        let id = self.group_id(&tenant.id, code).await?;
        let name = match &input.name {
            Some(n) => {
                Some(names::full_name(n).map_err(|_| Error::field("name", "group.name_required"))?)
            }
            None => None,
        };
        let members = match &input.members {
            Some(m) => Some(self.member_ids(&tenant.code, m).await?),
            None => None,
        };
        if let Some(roles) = &input.roles {
            self.check_grantable(&tenant.id, roles, "roles").await?;
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let maintainers = guard::user_maintainers(&mut tx, &tenant.id).await?;
        if let Some(name) = &name {
            sqlx::query(
                "UPDATE user_groups SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(name)
            .bind(names::fold(name))
            .bind(now)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        }
        replace_members_and_roles(&mut tx, &id, members.as_deref(), input.roles.as_deref()).await?;
        guard::user_maintainer_remains(&mut tx, &tenant.id, maintainers).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("group.update", "success")
                .tenant(&tenant.id)
                .target("group", &id, code)
                .details(json!({"name": name, "members": input.members, "roles": input.roles})),
        )
        .await?;
        tx.commit().await?;
        self.get_group(actor, tenant_code, code).await
    }

    pub async fn delete_group(&self, actor: &Actor, tenant_code: &str, code: &str) -> Result<()> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::manage_rights(actor, &tenant.id)?;
        let id = self.group_id(&tenant.id, code).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let maintainers = guard::user_maintainers(&mut tx, &tenant.id).await?;
        replace_members_and_roles(&mut tx, &id, Some(&[]), Some(&[])).await?;
        // Group substitutions keep their copied roles; they only lose the group's name.
        sqlx::query("UPDATE substitutions SET group_id = NULL WHERE group_id = $1")
            .bind(&id)
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM user_groups WHERE id = $1")
            .bind(&id)
            .execute(tx.conn())
            .await?;
        guard::user_maintainer_remains(&mut tx, &tenant.id, maintainers).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("group.delete", "success")
                .tenant(&tenant.id)
                .target("group", &id, code),
        )
        .await?;
        tx.commit().await
    }
}

async fn replace_members_and_roles(
    tx: &mut WriteTx,
    group_id: &str,
    members: Option<&[String]>,
    roles: Option<&[String]>,
) -> Result<()> {
    if let Some(members) = members {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1")
            .bind(group_id)
            .execute(tx.conn())
            .await?;
        for m in members {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                .bind(group_id)
                .bind(m)
                .execute(tx.conn())
                .await?;
        }
    }
    if let Some(roles) = roles {
        sqlx::query("DELETE FROM group_roles WHERE group_id = $1")
            .bind(group_id)
            .execute(tx.conn())
            .await?;
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        for r in roles {
            sqlx::query("INSERT INTO group_roles (group_id, role_id) VALUES ($1, $2)")
                .bind(group_id)
                .bind(r)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_codes_have_no_accents_or_spaces() {
        assert!(parse_code("gazdalkodas_ugyintezo").is_ok());
        assert_eq!(parse_code("gazdálkodás"), Err("group.code_format"));
        assert_eq!(parse_code("ket szo"), Err("group.code_format"));
        assert_eq!(parse_code("x"), Err("group.code_length"));
    }
}
