//! Folders and delegation: who may use an entry, or every entry of a folder, at which level.
//! Grants go to users or groups of the same tenant; deputies use them through the identity
//! they act in, like every other right.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::levels::{self, Level};
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::names::FullLogin;
use crate::platform::time_fmt;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VaultFolder {
    pub id: String,
    pub name: String,
    pub entries: i64,
    /// What the caller may do with the folder's entries through the folder.
    pub level: Option<Level>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VaultGrant {
    pub id: String,
    /// `user` or `group`.
    pub holder_type: String,
    /// `name@tenant` for a user, the group's code for a group.
    pub holder: String,
    pub holder_name: String,
    pub level: Level,
    pub granted_at: String,
}

/// Whom to delegate to: exactly one of `user` (`name@tenant`) and `group` (its code).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GrantInput {
    pub user: Option<String>,
    pub group: Option<String>,
    pub level: Level,
}

/// What a grant is on.
#[derive(Debug, Clone, Copy)]
pub enum GrantOn<'a> {
    Entry(&'a str),
    Folder(&'a str),
}

impl GrantOn<'_> {
    fn column(self) -> &'static str {
        match self {
            GrantOn::Entry(_) => "entry_id",
            GrantOn::Folder(_) => "folder_id",
        }
    }
    fn id(self) -> String {
        match self {
            GrantOn::Entry(id) | GrantOn::Folder(id) => id.to_string(),
        }
    }
}

const MAX_FOLDER_NAME: usize = 100;

impl Kapu {
    pub(crate) async fn folder_name(&self, tenant_id: &str, id: &str) -> Result<String> {
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM vault_folders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(self.db().pool())
                .await?;
        name.ok_or(Error::NotFound)
    }

    /// Folders of the tenant: all for vault administrators, else those a grant reaches.
    pub async fn vault_folders(&self, actor: &Actor) -> Result<Vec<VaultFolder>> {
        self.vault_gate(actor).await?;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT f.id, f.name, (SELECT COUNT(*) FROM vault_entries e WHERE e.folder_id = f.id) \
             FROM vault_folders f WHERE f.tenant_id = $1 ORDER BY f.name",
        )
        .bind(&actor.tenant_id)
        .fetch_all(self.db().pool())
        .await?;
        let admin = levels::is_vault_admin(actor);
        // One read of the actor's grants serves every folder.
        let grants = if admin {
            Vec::new()
        } else {
            self.my_grants(actor).await?
        };
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, entries)| {
                let level = if admin {
                    Some(Level::Manage)
                } else {
                    levels::held_on_folder(&grants, &id)
                };
                (admin || level.is_some()).then_some(VaultFolder {
                    id,
                    name,
                    entries,
                    level,
                })
            })
            .collect())
    }

    /// A new folder. Vault administrators only.
    pub async fn create_vault_folder(&self, actor: &Actor, name: &str) -> Result<VaultFolder> {
        self.vault_gate(actor).await?;
        levels::secure_for(actor, Level::Manage)?;
        if !levels::is_vault_admin(actor) {
            return Err(Error::Forbidden);
        }
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_FOLDER_NAME
            || name.chars().any(char::is_control)
        {
            return Err(Error::field("name", "vault.folder_name_invalid"));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.now();
        let mut tx = self.db().write().await?;
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM vault_folders WHERE tenant_id = $1 AND name = $2",
        )
        .bind(&actor.tenant_id)
        .bind(name)
        .fetch_one(tx.conn())
        .await?;
        if taken > 0 {
            return Err(Error::Conflict("conflict.vault_folder_taken"));
        }
        sqlx::query(
            "INSERT INTO vault_folders (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&actor.tenant_id)
        .bind(name)
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.folder_create", "success")
                .tenant(&actor.tenant_id)
                .target("vault_folder", &id, name),
        )
        .await?;
        tx.commit().await?;
        Ok(VaultFolder {
            id,
            name: name.to_string(),
            entries: 0,
            level: Some(Level::Manage),
        })
    }

    /// Deletes a folder; its entries stay, outside any folder. Vault administrators only.
    pub async fn delete_vault_folder(&self, actor: &Actor, id: &str) -> Result<()> {
        self.vault_gate(actor).await?;
        levels::secure_for(actor, Level::Manage)?;
        if !levels::is_vault_admin(actor) {
            return Err(Error::NotFound);
        }
        let name = self.folder_name(&actor.tenant_id, id).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        for sql in [
            "UPDATE vault_entries SET folder_id = NULL WHERE folder_id = $1",
            "DELETE FROM vault_grants WHERE folder_id = $1",
            "DELETE FROM vault_folders WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(tx.conn()).await?;
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.folder_delete", "success")
                .tenant(&actor.tenant_id)
                .target("vault_folder", id, &name),
        )
        .await?;
        tx.commit().await
    }

    /// Checks that the actor manages what the grant is on; returns its label.
    async fn manage_target(&self, actor: &Actor, on: GrantOn<'_>) -> Result<String> {
        match on {
            GrantOn::Entry(id) => Ok(self.entry_for(actor, id, Level::Manage).await?.0.label()),
            GrantOn::Folder(id) => {
                self.vault_gate(actor).await?;
                levels::secure_for(actor, Level::Manage)?;
                let name = self.folder_name(&actor.tenant_id, id).await?;
                levels::require(self.folder_level(actor, id).await?, Level::Manage)?;
                Ok(name)
            }
        }
    }

    pub async fn vault_grants(&self, actor: &Actor, on: GrantOn<'_>) -> Result<Vec<VaultGrant>> {
        self.manage_target(actor, on).await?;
        let sql = format!(
            "SELECT g.id, CASE WHEN g.user_id IS NULL THEN 'group' ELSE 'user' END, \
             COALESCE(u.login || '@' || t.code, ug.code), COALESCE(u.full_name, ug.name), g.level, g.granted_at \
             FROM vault_grants g LEFT JOIN users u ON u.id = g.user_id LEFT JOIN tenants t ON t.id = u.tenant_id \
             LEFT JOIN user_groups ug ON ug.id = g.group_id WHERE g.{} = $1 ORDER BY g.granted_at",
            on.column()
        );
        let rows: Vec<(String, String, String, String, i64, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(on.id())
                .fetch_all(self.db().pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, holder_type, holder, holder_name, level, at)| VaultGrant {
                    id,
                    holder_type,
                    holder,
                    holder_name,
                    level: Level::from_i64(level).unwrap_or(Level::Code),
                    granted_at: time_fmt::rfc3339(at),
                },
            )
            .collect())
    }

    /// Delegates (or changes the level of a delegation) to a user or group of the tenant.
    pub async fn grant_vault(
        &self,
        actor: &Actor,
        on: GrantOn<'_>,
        input: &GrantInput,
    ) -> Result<Vec<VaultGrant>> {
        let label = self.manage_target(actor, on).await?;
        let (user_id, group_id, holder) = match (&input.user, &input.group) {
            (Some(user), None) => {
                let login = FullLogin::parse(user).map_err(|k| Error::field("user", k))?;
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id \
                     WHERE t.code = $1 AND u.login = $2 AND u.deleted_at IS NULL AND u.tenant_id = $3",
                )
                .bind(login.tenant.as_str())
                .bind(login.login.as_str())
                .bind(&actor.tenant_id)
                .fetch_optional(self.db().pool())
                .await?;
                (
                    Some(id.ok_or(Error::field("user", "vault.holder_unknown"))?),
                    None,
                    user.clone(),
                )
            }
            (None, Some(group)) => {
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM user_groups WHERE tenant_id = $1 AND code = $2",
                )
                .bind(&actor.tenant_id)
                .bind(group)
                .fetch_optional(self.db().pool())
                .await?;
                (
                    None,
                    Some(id.ok_or(Error::field("group", "vault.holder_unknown"))?),
                    group.clone(),
                )
            }
            _ => return Err(Error::field("user", "vault.holder_one")),
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        let holder_col = if user_id.is_some() {
            "user_id"
        } else {
            "group_id"
        };
        let holder_id = user_id.clone().or(group_id.clone()).unwrap_or_default();
        let sql = format!(
            "DELETE FROM vault_grants WHERE {} = $1 AND {holder_col} = $2",
            on.column()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(on.id())
            .bind(&holder_id)
            .execute(tx.conn())
            .await?;
        let (entry_id, folder_id) = match on {
            GrantOn::Entry(id) => (Some(id), None),
            GrantOn::Folder(id) => (None, Some(id)),
        };
        sqlx::query(
            "INSERT INTO vault_grants (id, tenant_id, entry_id, folder_id, user_id, group_id, level, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&actor.tenant_id)
        .bind(entry_id)
        .bind(folder_id)
        .bind(user_id.as_deref())
        .bind(group_id.as_deref())
        .bind(input.level.as_i64())
        .bind(actor.session_user_id())
        .bind(now)
        .execute(tx.conn())
        .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.grant", "success")
                .tenant(&actor.tenant_id)
                .target(target_type(on), &on.id(), &label)
                .details(json!({"holder": holder, "level": input.level.as_str()})),
        )
        .await?;
        tx.commit().await?;
        self.vault_grants(actor, on).await
    }

    pub async fn revoke_vault_grant(
        &self,
        actor: &Actor,
        on: GrantOn<'_>,
        grant_id: &str,
    ) -> Result<()> {
        let label = self.manage_target(actor, on).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let sql = format!(
            "DELETE FROM vault_grants WHERE id = $1 AND {} = $2",
            on.column()
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(grant_id)
            .bind(on.id())
            .execute(tx.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("vault.revoke", "success")
                .tenant(&actor.tenant_id)
                .target(target_type(on), &on.id(), &label)
                .details(json!({"grant": grant_id})),
        )
        .await?;
        tx.commit().await
    }
}

fn target_type(on: GrantOn<'_>) -> &'static str {
    match on {
        GrantOn::Entry(_) => "vault_entry",
        GrantOn::Folder(_) => "vault_folder",
    }
}
