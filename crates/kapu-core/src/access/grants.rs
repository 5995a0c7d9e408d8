//! Effective roles: individual grants and group roles, counted only for services the
//! tenant's contract includes; and the administrators' changes to them.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::{Actor, Role, guard, policy};
use crate::Kapu;
use crate::error::{Error, FieldError, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::{Db, WriteTx};

/// Where an effective role comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Automatic,
    Individual,
    Group { group: String },
    Substitution { principal: String },
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EffectiveRole {
    pub role: String,
    pub service: String,
    pub code: String,
    pub name: String,
    pub source: Source,
}

/// A role is in effect only while its service is Kapu's own or in the tenant's contract.
const CONTRACTED: &str = "(s.builtin = 1 OR EXISTS (SELECT 1 FROM tenant_services ts \
     WHERE ts.tenant_id = $2 AND ts.service_id = s.id))";

/// Every effective role of a user with its source (a role may appear more than once).
pub(crate) async fn effective_roles(
    db: &Db,
    user_id: &str,
    tenant_id: &str,
) -> Result<Vec<EffectiveRole>> {
    let sql = format!(
        "SELECT r.id, s.code AS service, r.code, r.name, '' AS via FROM user_roles ur \
         JOIN roles r ON r.id = ur.role_id JOIN services s ON s.id = r.service_id \
         WHERE ur.user_id = $1 AND {CONTRACTED} \
         UNION ALL \
         SELECT r.id, s.code AS service, r.code, r.name, g.code AS via FROM group_members gm \
         JOIN user_groups g ON g.id = gm.group_id JOIN group_roles gr ON gr.group_id = g.id \
         JOIN roles r ON r.id = gr.role_id JOIN services s ON s.id = r.service_id \
         WHERE gm.user_id = $1 AND {CONTRACTED}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let via: String = r.try_get("via")?;
        out.push(EffectiveRole {
            role: r.try_get("id")?,
            service: r.try_get("service")?,
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            source: if via.is_empty() {
                Source::Individual
            } else {
                Source::Group { group: via }
            },
        });
    }
    Ok(out)
}

/// The distinct ids of a user's effective roles, sorted.
pub(crate) async fn effective_role_ids(
    db: &Db,
    user_id: &str,
    tenant_id: &str,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT r.id FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN services s ON s.id = r.service_id \
         WHERE ur.user_id = $1 AND {CONTRACTED} \
         UNION \
         SELECT gr.role_id FROM group_members gm JOIN group_roles gr ON gr.group_id = gm.group_id \
         JOIN roles r ON r.id = gr.role_id JOIN services s ON s.id = r.service_id \
         WHERE gm.user_id = $1 AND {CONTRACTED}"
    );
    let mut ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .bind(tenant_id)
        .fetch_all(db.pool())
        .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// A role that may be granted in a tenant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GrantableRole {
    pub id: String,
    pub service: String,
    pub service_name: String,
    pub code: String,
    pub name: String,
    pub description: String,
}

/// One user's rights as the rights page shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserRights {
    pub individual: Vec<String>,
    pub groups: Vec<String>,
    pub effective: Vec<EffectiveRole>,
    pub available_roles: Vec<GrantableRole>,
    /// `[code, name]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub available_groups: Vec<(String, String)>,
}

impl Kapu {
    /// Roles of Kapu's own service and of the services in the tenant's contract, except the
    /// automatic framework-user role.
    pub async fn grantable_roles(&self, tenant_id: &str) -> Result<Vec<GrantableRole>> {
        let sql = format!(
            "SELECT r.id, s.code AS service, s.name AS service_name, r.code, r.name, r.description \
             FROM roles r JOIN services s ON s.id = r.service_id \
             WHERE r.id <> 'kapu.framework_user' AND (r.tenant_id IS NULL OR r.tenant_id = $1) \
             AND {} ORDER BY s.builtin DESC, s.code, r.code",
            CONTRACTED.replace("$2", "$1")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .fetch_all(self.db().pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(GrantableRole {
                    id: r.try_get("id")?,
                    service: r.try_get("service")?,
                    service_name: r.try_get("service_name")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                })
            })
            .collect()
    }

    /// Checks that every role id may be granted in the tenant.
    pub(crate) async fn check_grantable(
        &self,
        tenant_id: &str,
        role_ids: &[String],
        field: &'static str,
    ) -> Result<()> {
        let grantable = self.grantable_roles(tenant_id).await?;
        for id in role_ids {
            if !grantable.iter().any(|g| &g.id == id) {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT id FROM roles WHERE id = $1")
                        .bind(id)
                        .fetch_optional(self.db().pool())
                        .await?;
                let key = if exists.is_some() {
                    "role.not_contracted"
                } else {
                    "role.unknown"
                };
                return Err(Error::Validation(vec![FieldError::new(field, key)]));
            }
        }
        Ok(())
    }

    pub async fn user_rights(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
    ) -> Result<UserRights> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::read_users(actor, &tenant.id)?;
        let user = self
            .user_by_login(&tenant.code, login)
            .await?
            .ok_or(Error::NotFound)?;
        let individual: Vec<String> = sqlx::query_scalar(
            "SELECT role_id FROM user_roles WHERE user_id = $1 ORDER BY role_id",
        )
        .bind(&user.id)
        .fetch_all(self.db().pool())
        .await?;
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT g.code FROM group_members gm JOIN user_groups g ON g.id = gm.group_id WHERE gm.user_id = $1 ORDER BY g.code",
        )
        .bind(&user.id)
        .fetch_all(self.db().pool())
        .await?;
        let available_groups = sqlx::query_as::<_, (String, String)>(
            "SELECT code, name FROM user_groups WHERE tenant_id = $1 ORDER BY name_key",
        )
        .bind(&tenant.id)
        .fetch_all(self.db().pool())
        .await?;
        Ok(UserRights {
            individual,
            groups,
            effective: effective_roles(self.db(), &user.id, &tenant.id).await?,
            available_roles: self.grantable_roles(&tenant.id).await?,
            available_groups,
        })
    }

    /// Replaces a user's individual roles and group memberships in one change.
    pub async fn set_user_rights(
        &self,
        actor: &Actor,
        tenant_code: &str,
        login: &str,
        roles: Option<&[String]>,
        groups: Option<&[String]>,
    ) -> Result<UserRights> {
        let tenant = self.tenant_by_code(tenant_code).await?;
        policy::manage_rights(actor, &tenant.id)?;
        let user = self
            .user_by_login(&tenant.code, login)
            .await?
            .ok_or(Error::NotFound)?;
        if let Some(roles) = roles {
            self.check_grantable(&tenant.id, roles, "roles").await?;
        }
        let group_ids = match groups {
            Some(codes) => Some(self.group_ids(&tenant.id, codes).await?),
            None => None,
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        let maintainers = guard::user_maintainers(&mut tx, &tenant.id).await?;
        if let Some(roles) = roles {
            replace_user_roles(&mut tx, &user.id, roles, now).await?;
        }
        if let Some(ids) = &group_ids {
            sqlx::query("DELETE FROM group_members WHERE user_id = $1")
                .bind(&user.id)
                .execute(tx.conn())
                .await?;
            for gid in ids {
                sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                    .bind(gid)
                    .bind(&user.id)
                    .execute(tx.conn())
                    .await?;
            }
        }
        guard::user_maintainer_remains(&mut tx, &tenant.id, maintainers).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("user.rights", "success")
                .tenant(&tenant.id)
                .target("user", &user.id, &user.full_login())
                .details(json!({"roles": roles, "groups": groups})),
        )
        .await?;
        tx.commit().await?;
        self.user_rights(actor, tenant_code, login).await
    }

    /// Group ids for codes in a tenant; an unknown code is a field error.
    pub(crate) async fn group_ids(&self, tenant_id: &str, codes: &[String]) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(codes.len());
        for code in codes {
            let id: Option<String> =
                sqlx::query_scalar("SELECT id FROM user_groups WHERE tenant_id = $1 AND code = $2")
                    .bind(tenant_id)
                    .bind(code)
                    .fetch_optional(self.db().pool())
                    .await?;
            ids.push(id.ok_or_else(|| Error::field("groups", "group.unknown"))?);
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

pub(crate) async fn replace_user_roles(
    tx: &mut WriteTx,
    user_id: &str,
    roles: &[String],
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role_id, granted_at) VALUES ($1, $2, $3)")
            .bind(user_id)
            .bind(role)
            .bind(now)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Kapu's own roles among role ids.
pub fn kapu_roles(ids: &[String]) -> Vec<Role> {
    ids.iter().filter_map(|id| Role::from_id(id)).collect()
}

impl Kapu {
    /// The actor's roles in this session with where each comes from: automatic, individual,
    /// a group, or a substitution.
    pub async fn my_roles(&self, actor: &Actor) -> Result<Vec<EffectiveRole>> {
        let mut out = vec![EffectiveRole {
            role: Role::FrameworkUser.id(),
            service: super::KAPU_SERVICE.into(),
            code: Role::FrameworkUser.code().into(),
            name: "Keretrendszeri felhasználó".into(),
            source: Source::Automatic,
        }];
        let all = effective_roles(self.db(), &actor.user_id, &actor.tenant_id).await?;
        match &actor.deputy {
            Some(_) => {
                for id in &actor.role_ids {
                    if let Some(r) = all.iter().find(|r| &r.role == id) {
                        out.push(EffectiveRole {
                            source: Source::Substitution {
                                principal: actor.full_login(),
                            },
                            ..r.clone()
                        });
                    }
                }
            }
            None => out.extend(all.into_iter().filter(|r| actor.role_ids.contains(&r.role))),
        }
        Ok(out)
    }
}
