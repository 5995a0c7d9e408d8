//! System variables (manual chapter 11): typed, with a central value and, for overridable
//! variables, per-tenant values. Every rule reads its numbers from here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::Row;

use super::db::{Db, WriteTx};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Number,
    Text,
    Bool,
    /// Written with a unit: `90s`, `10m`, `24h`, `7d`.
    Duration,
    /// `YYYY-MM-DD`.
    Date,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Definition {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub overridable: bool,
    /// Inclusive bounds for numbers and durations (seconds).
    #[serde(skip)]
    pub range: (i64, i64),
    pub display_hu: &'static str,
    pub display_en: &'static str,
    pub description_hu: &'static str,
    pub description_en: &'static str,
}

macro_rules! var {
    ($name:literal, $kind:ident, $default:literal, $over:literal, $range:expr, $hu:literal, $en:literal, $dhu:literal, $den:literal) => {
        Definition {
            name: $name,
            kind: Kind::$kind,
            default: $default,
            overridable: $over,
            range: $range,
            display_hu: $hu,
            display_en: $en,
            description_hu: $dhu,
            description_en: $den,
        }
    };
}

const DAY_S: i64 = 86_400;

pub const DEFINITIONS: &[Definition] = &[
    var!(
        "password_min_length",
        Number,
        "8",
        false,
        (4, 128),
        "Jelszó minimális hossza",
        "Minimum password length",
        "A jelszó legalább ennyi karakterből áll.",
        "A password has at least this many characters."
    ),
    var!(
        "password_max_length",
        Number,
        "20",
        false,
        (8, 128),
        "Jelszó maximális hossza",
        "Maximum password length",
        "A jelszó legfeljebb ennyi karakterből áll.",
        "A password has at most this many characters."
    ),
    var!(
        "password_require_lower",
        Bool,
        "true",
        false,
        (0, 0),
        "Kisbetű kötelező",
        "Lower-case letter required",
        "A jelszóban legyen kisbetű.",
        "A password contains a lower-case letter."
    ),
    var!(
        "password_require_upper",
        Bool,
        "true",
        false,
        (0, 0),
        "Nagybetű kötelező",
        "Upper-case letter required",
        "A jelszóban legyen nagybetű.",
        "A password contains an upper-case letter."
    ),
    var!(
        "password_require_digit",
        Bool,
        "true",
        false,
        (0, 0),
        "Számjegy kötelező",
        "Digit required",
        "A jelszóban legyen számjegy.",
        "A password contains a digit."
    ),
    var!(
        "password_max_age_days",
        Number,
        "120",
        false,
        (1, 3650),
        "Jelszó lejárati ideje (nap)",
        "Password lifetime (days)",
        "Ennyi nap után a jelszót meg kell változtatni.",
        "After this many days the password must be changed."
    ),
    var!(
        "password_warn_days",
        Number,
        "10",
        true,
        (0, 365),
        "Lejárati figyelmeztetés (nap)",
        "Expiry warning (days)",
        "A lejárat előtt ennyi nappal figyelmeztet a rendszer; a figyelmeztetés elhallgattatható.",
        "From this many days before expiry a login shows a warning the user may silence."
    ),
    var!(
        "password_warn_mandatory_days",
        Number,
        "5",
        true,
        (0, 365),
        "Kötelező figyelmeztetés (nap)",
        "Mandatory warning (days)",
        "A lejárat előtt ennyi nappal minden belépéskor figyelmeztet a rendszer.",
        "From this many days before expiry every login shows the warning."
    ),
    var!(
        "password_history_count",
        Number,
        "3",
        false,
        (0, 24),
        "Jelszóelőzmények száma",
        "Password history",
        "Az új jelszó nem egyezhet az utolsó ennyi jelszóval.",
        "A new password may not equal any of this many last ones."
    ),
    var!(
        "password_min_age",
        Duration,
        "24h",
        false,
        (0, 30 * DAY_S),
        "Jelszóváltás gyakorisága",
        "Minimum password age",
        "A jelszó ennyi időn belül csak egyszer változtatható.",
        "A password can be changed at most once within this time."
    ),
    var!(
        "lockout_threshold",
        Number,
        "5",
        false,
        (1, 100),
        "Hibás próbálkozások zárolásig",
        "Failed attempts before lock",
        "Ennyi egymást követő hibás jelszó után a fiók zárolódik.",
        "This many consecutive wrong passwords lock the account."
    ),
    var!(
        "lockout_duration",
        Duration,
        "10m",
        false,
        (60, DAY_S),
        "Zárolás időtartama",
        "Lock duration",
        "A hibás jelszavak miatti zárolás ennyi idő után magától feloldódik.",
        "A lock after wrong passwords lifts by itself after this time."
    ),
    var!(
        "login_throttle_per_minute",
        Number,
        "30",
        false,
        (1, 100_000),
        "Sikertelen belépések címenként (perc)",
        "Failed logins per address (minute)",
        "Egy címről percenként legfeljebb ennyi sikertelen belépés fogadható.",
        "Failed logins accepted from one address per minute."
    ),
    var!(
        "session_idle_timeout",
        Duration,
        "30m",
        true,
        (60, DAY_S),
        "Tétlenségi időkorlát",
        "Idle timeout",
        "Ennyi tétlenség után a munkamenet lejár.",
        "A session ends after this much inactivity."
    ),
    var!(
        "session_absolute_timeout",
        Duration,
        "12h",
        true,
        (300, 7 * DAY_S),
        "Munkamenet maximális hossza",
        "Absolute session timeout",
        "A munkamenet legfeljebb ennyi ideig tart.",
        "A session lasts at most this long."
    ),
    var!(
        "activation_link_validity",
        Duration,
        "24h",
        false,
        (300, 30 * DAY_S),
        "Aktiváló hivatkozás érvényessége",
        "Activation link validity",
        "Az aktiváló hivatkozás ennyi ideig érvényes.",
        "An activation link is valid this long."
    ),
    var!(
        "password_reset_link_validity",
        Duration,
        "1h",
        false,
        (300, 7 * DAY_S),
        "Jelszó-visszaállító hivatkozás érvényessége",
        "Password reset link validity",
        "Az elfelejtett jelszóhoz küldött hivatkozás ennyi ideig érvényes.",
        "A forgotten-password link is valid this long."
    ),
    var!(
        "list_max_page_size",
        Number,
        "100",
        true,
        (10, 1000),
        "Listák legnagyobb oldalmérete",
        "Largest list page size",
        "Egy listaoldalon legfeljebb ennyi sor jelenik meg.",
        "A list page shows at most this many rows."
    ),
    var!(
        "system_notice",
        Text,
        "",
        false,
        (0, 500),
        "Rendszerüzenet",
        "System notice",
        "A bejelentkezési oldalon megjelenő közlemény.",
        "A notice shown on the login page."
    ),
    var!(
        "system_notice_until",
        Date,
        "",
        false,
        (0, 0),
        "Rendszerüzenet vége",
        "System notice end",
        "Eddig a napig látszik a közlemény (üres: korlátlanul).",
        "The notice shows until this day (empty: always)."
    ),
];

pub fn definition(name: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.name == name)
}

/// Parses a duration with a unit into seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => DAY_S,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Checks a value against its definition and returns its canonical text.
pub fn normalise(def: &Definition, raw: &str) -> std::result::Result<String, &'static str> {
    let raw = raw.trim();
    match def.kind {
        Kind::Number => {
            let n: i64 = raw.parse().map_err(|_| "setting.not_a_number")?;
            if n < def.range.0 || n > def.range.1 {
                return Err("setting.out_of_range");
            }
            Ok(n.to_string())
        }
        Kind::Bool => match raw {
            "true" | "1" | "igen" | "yes" => Ok("true".into()),
            "false" | "0" | "nem" | "no" => Ok("false".into()),
            _ => Err("setting.not_a_bool"),
        },
        Kind::Duration => {
            let secs = parse_duration(raw).ok_or("setting.not_a_duration")?;
            if secs < def.range.0 || secs > def.range.1 {
                return Err("setting.out_of_range");
            }
            Ok(raw.to_string())
        }
        Kind::Date => {
            if raw.is_empty() {
                return Ok(String::new());
            }
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| "setting.not_a_date")
        }
        Kind::Text => {
            if raw.chars().count() as i64 > def.range.1 || raw.chars().any(|c| c.is_control()) {
                return Err("setting.text_invalid");
            }
            Ok(raw.to_string())
        }
    }
}

/// One variable as seen from a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    #[serde(flatten)]
    pub definition: Definition,
    pub global_value: String,
    pub tenant_value: Option<String>,
    pub effective_value: String,
}

/// Stored values, cached for a few seconds: a change made on another node applies within
/// [`CACHE_TTL`]; a change made here applies at once.
#[derive(Clone)]
pub struct Settings {
    db: Db,
    cache: Arc<RwLock<Option<(Instant, Values)>>>,
}

/// Stored values by `(name, tenant_id)`; `tenant_id` is empty for the central value.
type Values = Arc<HashMap<(String, String), String>>;

const CACHE_TTL: Duration = Duration::from_secs(5);

impl Settings {
    pub fn new(db: Db) -> Self {
        Settings {
            db,
            cache: Arc::new(RwLock::new(None)),
        }
    }

    async fn values(&self) -> Result<Values> {
        if let Ok(guard) = self.cache.read()
            && let Some((at, map)) = guard.as_ref()
            && at.elapsed() < CACHE_TTL
        {
            return Ok(map.clone());
        }
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
        let map = Arc::new(map);
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some((Instant::now(), map.clone()));
        }
        Ok(map)
    }

    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
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
    pub async fn snapshot(&self, tenant_id: &str) -> Result<Snapshot> {
        let map = self.values().await?;
        Ok(Snapshot {
            values: DEFINITIONS
                .iter()
                .map(|d| {
                    (
                        d.name,
                        Self::view_from(&map, d, Some(tenant_id)).effective_value,
                    )
                })
                .collect(),
        })
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("m"), None);
    }

    #[test]
    fn values_are_checked_against_their_type_and_range() {
        let threshold = definition("lockout_threshold").unwrap();
        assert_eq!(normalise(threshold, " 7 ").unwrap(), "7");
        assert_eq!(normalise(threshold, "0"), Err("setting.out_of_range"));
        assert_eq!(normalise(threshold, "five"), Err("setting.not_a_number"));
        let until = definition("system_notice_until").unwrap();
        assert_eq!(normalise(until, "2026-13-01"), Err("setting.not_a_date"));
        let flag = definition("password_require_digit").unwrap();
        assert_eq!(normalise(flag, "nem").unwrap(), "false");
    }

    #[test]
    fn every_default_passes_its_own_check() {
        for d in DEFINITIONS {
            assert_eq!(
                normalise(d, d.default).as_deref(),
                Ok(d.default),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn snapshot_defaults_follow_the_manual() {
        let s = Snapshot::defaults();
        assert_eq!(s.number("password_max_age_days"), 120);
        assert_eq!(s.duration_ms("lockout_duration"), 600_000);
        assert!(s.flag("password_require_upper"));
    }
}
