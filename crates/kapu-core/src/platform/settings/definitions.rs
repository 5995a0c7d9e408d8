//! The system variables Kapu knows: name, type, default, bounds and texts.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = VariableKind)]
pub enum Kind {
    Number,
    Text,
    Bool,
    /// Written with a unit: `90s`, `10m`, `24h`, `7d`.
    Duration,
    /// `YYYY-MM-DD`.
    Date,
    /// A time-zone database name: `Europe/Budapest`.
    Zone,
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
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

pub use super::catalogue::DEFINITIONS;

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
        "d" => 86_400,
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
        Kind::Zone => crate::platform::time_fmt::parse_zone(raw)
            .map(|z| z.name().to_string())
            .ok_or("setting.not_a_zone"),
        Kind::Text => {
            if raw.chars().count() as i64 > def.range.1 || raw.chars().any(|c| c.is_control()) {
                return Err("setting.text_invalid");
            }
            Ok(raw.to_string())
        }
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
}
