//! System variables (manual chapter 11): typed, with a central value and, for overridable
//! variables, per-tenant values. Every rule reads its numbers from here.

use std::collections::HashMap;
use std::sync::Arc;

use crate::platform::changes::StampedMap;

use serde::Serialize;
use sqlx::Row;

use super::db::{Db, WriteTx};
use crate::error::{Error, Result};

mod catalogue;
mod definitions;

pub use definitions::{DEFINITIONS, Definition, Kind, definition, normalise, parse_duration};

/// One variable as seen from a tenant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingView {
    #[serde(flatten)]
    pub definition: Definition,
    pub global_value: String,
    pub tenant_value: Option<String>,
    pub effective_value: String,
}

/// Stored values, cached while no change is heard of (see [`crate::platform::changes`]):
/// a change made on any node applies to the next request on every node.
#[derive(Clone)]
pub struct Settings {
    db: Db,
    /// Every stored value, under the one key `""`.
    stored: Arc<StampedMap<Values>>,
    /// Each tenant's effective values, by tenant id.
    snapshots: Arc<StampedMap<Arc<Snapshot>>>,
}

/// Stored values by `(name, tenant_id)`; `tenant_id` is empty for the central value.
type Values = Arc<HashMap<(String, String), String>>;

impl Settings {
    pub fn new(db: Db) -> Self {
        Settings {
            db,
            stored: Arc::new(StampedMap::new(1)),
            snapshots: Arc::new(StampedMap::new(10_000)),
        }
    }

    async fn values(&self) -> Result<Values> {
        self.stored
            .get_or_read("", self.db.changes(), || async {
                let rows = sqlx::query("SELECT name, tenant_id, value FROM settings")
                    .fetch_all(self.db.pool())
                    .await?;
                let mut map = HashMap::with_capacity(rows.len());
                for r in rows {
                    map.insert(
                        (r.try_get("name")?, r.try_get("tenant_id")?),
                        r.try_get("value")?,
                    );
                }
                Ok(Arc::new(map))
            })
            .await
    }

    /// The installation's time zone (a central-only variable), from the cache.
    pub async fn zone(&self) -> chrono_tz::Tz {
        let stored = match self.values().await {
            Ok(map) => map.get(&("time_zone".to_string(), String::new())).cloned(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the time zone");
                None
            }
        };
        stored
            .as_deref()
            .and_then(crate::platform::time_fmt::parse_zone)
            .unwrap_or(crate::platform::time_fmt::DEFAULT_ZONE)
    }

    pub fn invalidate(&self) {
        self.stored.forget("");
        self.db.changes().bump();
    }

    fn view_from(
        map: &HashMap<(String, String), String>,
        def: &'static Definition,
        tenant_id: Option<&str>,
    ) -> SettingView {
        let global_value = map
            .get(&(def.name.to_string(), String::new()))
            .cloned()
            .unwrap_or_else(|| def.default.to_string());
        let tenant_value = match tenant_id {
            Some(t) if def.overridable => map.get(&(def.name.to_string(), t.to_string())).cloned(),
            _ => None,
        };
        let effective_value = tenant_value.clone().unwrap_or_else(|| global_value.clone());
        SettingView {
            definition: *def,
            global_value,
            tenant_value,
            effective_value,
        }
    }

    pub async fn list(&self, tenant_id: Option<&str>) -> Result<Vec<SettingView>> {
        let map = self.values().await?;
        Ok(DEFINITIONS
            .iter()
            .map(|d| Self::view_from(&map, d, tenant_id))
            .collect())
    }

    pub async fn view(&self, name: &str, tenant_id: Option<&str>) -> Result<SettingView> {
        let def = definition(name).ok_or(Error::NotFound)?;
        let map = self.values().await?;
        Ok(Self::view_from(&map, def, tenant_id))
    }

    /// The effective values for one tenant, typed for the rules.
    pub async fn snapshot(&self, tenant_id: &str) -> Result<Arc<Snapshot>> {
        self.snapshots
            .get_or_read(tenant_id, self.db.changes(), || async {
                let map = self.values().await?;
                Ok(Arc::new(Snapshot {
                    values: DEFINITIONS
                        .iter()
                        .map(|d| {
                            (
                                d.name,
                                Self::view_from(&map, d, Some(tenant_id)).effective_value,
                            )
                        })
                        .collect(),
                }))
            })
            .await
    }

    /// Sets the central value. Tenant values of an overridable variable are overwritten by it
    /// (manual 11.3).
    pub async fn set_global(
        &self,
        tx: &mut WriteTx,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<()> {
        upsert(tx, name, "", value, now).await?;
        sqlx::query(
            "UPDATE settings SET value = $1, updated_at = $2 WHERE name = $3 AND tenant_id <> ''",
        )
        .bind(value)
        .bind(now)
        .bind(name)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    pub async fn set_tenant(
        &self,
        tx: &mut WriteTx,
        name: &str,
        tenant_id: &str,
        value: Option<&str>,
        now: i64,
    ) -> Result<()> {
        match value {
            Some(v) => upsert(tx, name, tenant_id, v, now).await,
            None => {
                sqlx::query("DELETE FROM settings WHERE name = $1 AND tenant_id = $2")
                    .bind(name)
                    .bind(tenant_id)
                    .execute(tx.conn())
                    .await?;
                Ok(())
            }
        }
    }
}

async fn upsert(
    tx: &mut WriteTx,
    name: &str,
    tenant_id: &str,
    value: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, tenant_id, value, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name, tenant_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(tenant_id)
    .bind(value)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Effective values of every variable for one tenant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    values: Vec<(&'static str, String)>,
}

impl Snapshot {
    pub fn defaults() -> Snapshot {
        Snapshot {
            values: DEFINITIONS
                .iter()
                .map(|d| (d.name, d.default.to_string()))
                .collect(),
        }
    }

    fn raw(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn default_of(name: &str) -> &'static str {
        definition(name).map(|d| d.default).unwrap_or("0")
    }

    pub fn number(&self, name: &str) -> i64 {
        self.raw(name)
            .parse()
            .or_else(|_| Self::default_of(name).parse())
            .unwrap_or(0)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.raw(name) == "true"
    }

    /// In milliseconds.
    pub fn duration_ms(&self, name: &str) -> i64 {
        parse_duration(self.raw(name))
            .or_else(|| parse_duration(Self::default_of(name)))
            .unwrap_or(0)
            * 1000
    }

    pub fn text(&self, name: &str) -> &str {
        self.raw(name)
    }

    /// The installation's time zone for pages.
    pub fn zone(&self) -> chrono_tz::Tz {
        crate::platform::time_fmt::parse_zone(self.raw("time_zone"))
            .unwrap_or(crate::platform::time_fmt::DEFAULT_ZONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_defaults_follow_the_manual() {
        let s = Snapshot::defaults();
        assert_eq!(s.number("password_max_age_days"), 120);
        assert_eq!(s.duration_ms("lockout_duration"), 600_000);
        assert!(s.flag("password_require_upper"));
    }
}
