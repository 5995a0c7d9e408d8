//! Rendering stored UTC milliseconds for people and machines.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM` in UTC, for pages.
pub fn short(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 instant or a bare `YYYY-MM-DD` date (its midnight, UTC).
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// An optional instant from a form or query field: empty means none, anything unreadable is
/// a `query.bad_date` error on that field.
pub fn optional_instant(field: &'static str, raw: Option<&str>) -> crate::Result<Option<i64>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_instant(s)
            .map(Some)
            .ok_or_else(|| crate::Error::field(field, "query.bad_date")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_parse_to_the_same_millisecond_scale() {
        assert_eq!(parse_instant("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_instant("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(rfc3339(1000), "1970-01-01T00:00:01Z");
        assert_eq!(optional_instant("from", Some("  ")).unwrap(), None);
        assert!(optional_instant("from", Some("tegnap")).is_err());
    }
}
