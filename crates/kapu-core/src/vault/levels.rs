//! What each delegation level allows, and who holds which level on an entry. Vault
//! administrators of a tenant manage all of its entries; everyone else holds what entry and
//! folder grants give them or a group of theirs; other tenants see nothing.

use serde::{Deserialize, Serialize};

use crate::Kapu;
use crate::actor::{Actor, Role};
use crate::error::{Error, Result};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[schema(as = VaultLevel)]
pub enum Level {
    /// The current code, and nothing else.
    Code,
    /// Also the secret, the recovery code and the key history.
    View,
    /// Also change, delegate, delete and export.
    Manage,
}

impl Level {
    pub fn as_i64(self) -> i64 {
        match self {
            Level::Code => 1,
            Level::View => 2,
            Level::Manage => 3,
        }
    }

    pub fn from_i64(n: i64) -> Option<Level> {
        match n {
            1 => Some(Level::Code),
            2 => Some(Level::View),
            3 => Some(Level::Manage),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Code => "code",
            Level::View => "view",
            Level::Manage => "manage",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "code" => Some(Level::Code),
            "view" => Some(Level::View),
            "manage" => Some(Level::Manage),
            _ => None,
        }
    }
}

/// Vault administrators manage every entry of their own tenant.
pub fn is_vault_admin(actor: &Actor) -> bool {
    actor.has(Role::VaultAdmin)
}

/// The level held, or "missing" (404) when it is below what is asked: an entry one may not
/// use is not shown to exist.
pub fn require(held: Option<Level>, needed: Level) -> Result<Level> {
    match held {
        Some(l) if l >= needed => Ok(l),
        Some(_) if needed > Level::Code => Err(Error::Forbidden),
        _ => Err(Error::NotFound),
    }
}

/// The grants that reach a user: their own and their groups'. `$1` is the tenant, `$2` the
/// user; the rows carry `entry_id`, `folder_id` and `level`.
pub(crate) const MY_GRANTS: &str = "SELECT entry_id, folder_id, level FROM vault_grants \
     WHERE tenant_id = $1 AND (user_id = $2 OR group_id IN (SELECT group_id FROM group_members WHERE user_id = $2))";

/// One grant reaching a user: on an entry or on a folder.
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    pub entry_id: Option<String>,
    pub folder_id: Option<String>,
    pub level: Level,
}

/// The strongest level the grants give on an entry in a folder (or none).
pub(crate) fn held(grants: &[Reach], entry_id: &str, folder_id: Option<&str>) -> Option<Level> {
    grants
        .iter()
        .filter(|g| {
            g.entry_id.as_deref() == Some(entry_id)
                || (g.folder_id.is_some() && g.folder_id.as_deref() == folder_id)
        })
        .map(|g| g.level)
        .max()
}

/// Seeing a key and every change (writes, delegations, imports) need a secure-mode login,
/// as an export does; the current code does not, so that staff get codes in normal mode.
pub(crate) fn needs_secure(level: Level) -> bool {
    level >= Level::View
}

pub(crate) fn secure_for(actor: &Actor, level: Level) -> Result<()> {
    if needs_secure(level) && actor.mode != crate::actor::Mode::Secure {
        return Err(crate::error::Error::SecureModeRequired);
    }
    Ok(())
}

/// The strongest level the grants give on a folder's entries through the folder.
pub(crate) fn held_on_folder(grants: &[Reach], folder_id: &str) -> Option<Level> {
    grants
        .iter()
        .filter(|g| g.folder_id.as_deref() == Some(folder_id))
        .map(|g| g.level)
        .max()
}

impl Kapu {
    /// Every grant that reaches the actor, their own and their groups'.
    pub(crate) async fn my_grants(&self, actor: &Actor) -> Result<Vec<Reach>> {
        let rows: Vec<(Option<String>, Option<String>, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(MY_GRANTS))
                .bind(&actor.tenant_id)
                .bind(&actor.user_id)
                .fetch_all(self.db().pool())
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(entry_id, folder_id, level)| {
                Some(Reach {
                    entry_id,
                    folder_id,
                    level: Level::from_i64(level)?,
                })
            })
            .collect())
    }

    /// The level the actor holds on one entry of their tenant, if any.
    pub(crate) async fn vault_level(
        &self,
        actor: &Actor,
        entry_id: &str,
        folder_id: Option<&str>,
    ) -> Result<Option<Level>> {
        if is_vault_admin(actor) {
            return Ok(Some(Level::Manage));
        }
        let sql = format!(
            "SELECT MAX(m.level) FROM ({MY_GRANTS}) m WHERE m.entry_id = $3 OR (m.folder_id IS NOT NULL AND m.folder_id = $4)"
        );
        let level: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&actor.tenant_id)
            .bind(&actor.user_id)
            .bind(entry_id)
            .bind(folder_id)
            .fetch_one(self.db().pool())
            .await?;
        Ok(level.and_then(Level::from_i64))
    }

    /// The level the actor holds on a folder (for adding entries to it), if any.
    pub(crate) async fn folder_level(
        &self,
        actor: &Actor,
        folder_id: &str,
    ) -> Result<Option<Level>> {
        if is_vault_admin(actor) {
            return Ok(Some(Level::Manage));
        }
        let sql = format!("SELECT MAX(m.level) FROM ({MY_GRANTS}) m WHERE m.folder_id = $3");
        let level: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(&actor.tenant_id)
            .bind(&actor.user_id)
            .bind(folder_id)
            .fetch_one(self.db().pool())
            .await?;
        Ok(level.and_then(Level::from_i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_of_entry_and_folder_grants_counts() {
        let reach = |e: Option<&str>, f: Option<&str>, level| Reach {
            entry_id: e.map(str::to_string),
            folder_id: f.map(str::to_string),
            level,
        };
        let grants = [
            reach(Some("e1"), None, Level::Code),
            reach(None, Some("f1"), Level::View),
            reach(Some("e2"), None, Level::Manage),
        ];
        assert_eq!(held(&grants, "e1", None), Some(Level::Code));
        assert_eq!(held(&grants, "e1", Some("f1")), Some(Level::View));
        assert_eq!(held(&grants, "e2", Some("f1")), Some(Level::Manage));
        assert_eq!(held(&grants, "e3", Some("f2")), None);
        assert_eq!(held(&grants, "e3", None), None);
        assert_eq!(held_on_folder(&grants, "f1"), Some(Level::View));
        assert_eq!(held_on_folder(&grants, "f2"), None);
    }

    #[test]
    fn levels_order_and_a_missing_level_is_not_found() {
        assert!(Level::Code < Level::View && Level::View < Level::Manage);
        assert_eq!(
            require(Some(Level::View), Level::Code).unwrap(),
            Level::View
        );
        assert!(matches!(require(None, Level::Code), Err(Error::NotFound)));
        assert!(matches!(require(None, Level::Manage), Err(Error::NotFound)));
        // Whoever may see an entry exists is told what they lack.
        assert!(matches!(
            require(Some(Level::Code), Level::View),
            Err(Error::Forbidden)
        ));
        for l in [Level::Code, Level::View, Level::Manage] {
            assert_eq!(Level::from_i64(l.as_i64()), Some(l));
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
    }
}
