//! Rendering stored UTC milliseconds for people and machines: RFC 3339 UTC for the API, and
//! the installation's time zone in the page language's usual form for pages.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

use super::i18n::Lang;

/// The installation's zone when the system variable is unset or unreadable.
pub const DEFAULT_ZONE: Tz = chrono_tz::Europe::Budapest;

pub fn parse_zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

/// A moment for a page: `2026.11.22. 21:22` in Hungarian, `22 Nov 2026, 21:22` in English,
/// in `zone` with its daylight-saving time.
pub fn local(ms: i64, zone: Tz, lang: Lang) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ms) else {
        return String::new();
    };
    let t = t.with_timezone(&zone);
    match lang {
        Lang::Hu => t.format("%Y.%m.%d. %H:%M").to_string(),
        Lang::En => t.format("%-d %b %Y, %H:%M").to_string(),
    }
}

/// [`local`] for a time the service layer gave as RFC 3339; other text is shown unchanged.
pub fn local_rfc3339(s: &str, zone: Tz, lang: Lang) -> String {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => local(t.timestamp_millis(), zone, lang),
        Err(_) => s.to_string(),
    }
}

/// What a person may type as a time on a page: the forms [`local`] shows (`2026.11.22.`,
/// `2026.11.22. 21:22`, `22 Nov 2026`, `22 Nov 2026, 21:22`), ISO dates with or without a
/// time, or RFC 3339. Forms without a zone are times in `zone`; a bare date is its midnight.
pub fn parse_local(s: &str, zone: Tz) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    const DATE_TIMES: [&str; 6] = [
        "%Y.%m.%d. %H:%M",
        "%Y.%m.%d %H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%d %b %Y, %H:%M",
        "%d %b %Y %H:%M",
    ];
    const DATES: [&str; 4] = ["%Y.%m.%d.", "%Y.%m.%d", "%Y-%m-%d", "%d %b %Y"];
    let naive = DATE_TIMES
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            DATES
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    // A time skipped by the clock change does not exist; one repeated by it is the earlier.
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// [`optional_instant`] for page fields, read in the installation's zone.
pub fn optional_local_instant(
    field: &'static str,
    raw: Option<&str>,
    zone: Tz,
) -> crate::Result<Option<i64>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_local(s, zone)
            .map(Some)
            .ok_or_else(|| crate::Error::field(field, "query.bad_date")),
    }
}

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

    #[test]
    fn pages_show_budapest_time_in_summer_and_in_winter() {
        // 2026-07-01 10:00 UTC is 12:00 summer time; 2026-12-01 10:00 UTC is 11:00 winter time.
        let summer = parse_instant("2026-07-01T10:00:00Z").unwrap_or_default();
        let winter = parse_instant("2026-12-01T10:00:00Z").unwrap_or_default();
        assert_eq!(local(summer, DEFAULT_ZONE, Lang::Hu), "2026.07.01. 12:00");
        assert_eq!(local(winter, DEFAULT_ZONE, Lang::Hu), "2026.12.01. 11:00");
        assert_eq!(local(summer, DEFAULT_ZONE, Lang::En), "1 Jul 2026, 12:00");
        assert_eq!(local(winter, DEFAULT_ZONE, Lang::En), "1 Dec 2026, 11:00");
        assert_eq!(
            local_rfc3339("2026-12-01T10:00:00Z", DEFAULT_ZONE, Lang::Hu),
            "2026.12.01. 11:00"
        );
    }

    #[test]
    fn page_inputs_accept_the_shown_forms_in_the_installation_zone() {
        let winter = parse_instant("2026-12-01T10:00:00Z");
        for typed in [
            "2026.12.01. 11:00",
            "1 Dec 2026, 11:00",
            "2026-12-01 11:00",
            "2026-12-01T10:00:00Z",
        ] {
            assert_eq!(parse_local(typed, DEFAULT_ZONE), winter, "{typed}");
        }
        let summer_midnight = parse_instant("2026-06-30T22:00:00Z");
        for typed in ["2026.07.01.", "2026-07-01", "1 Jul 2026"] {
            assert_eq!(parse_local(typed, DEFAULT_ZONE), summer_midnight, "{typed}");
        }
        // 02:30 on the spring-forward night does not exist in Budapest.
        assert_eq!(parse_local("2026.03.29. 02:30", DEFAULT_ZONE), None);
        assert_eq!(parse_local("holnap", DEFAULT_ZONE), None);
        assert_eq!(parse_zone("Europe/London"), Some(chrono_tz::Europe::London));
        assert_eq!(parse_zone("Mars/Olympus"), None);
    }
}
