//! Arrival numbers (érkeztetési szám): one counter for the whole installation, shown in two
//! forms. The human form of the central system, `<system id>-<yyyy.MM.dd. HH:mm>-<sequence>`
//! (local time), and a 27-digit machine form, `<system id><yyyyMMddHHmmss><counter>` (UTC,
//! so that a clock change never repeats a second), whose second never goes back and whose
//! 4-digit counter counts arrivals within that second.

use chrono::{TimeZone as _, Utc};
use chrono_tz::Tz;

/// The counter's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub seq: i64,
    /// Unix seconds of the last machine-form number.
    pub second: i64,
    pub in_second: i64,
}

const PER_SECOND: i64 = 9999;

/// The state after one more arrival at `now_second`.
pub fn next(c: Counter, now_second: i64) -> Counter {
    let (second, in_second) = if now_second > c.second {
        (now_second, 1)
    } else if c.in_second >= PER_SECOND {
        // More than 9,999 arrivals in one second: borrow the next second.
        (c.second + 1, 1)
    } else {
        (c.second, c.in_second + 1)
    };
    Counter {
        seq: c.seq + 1,
        second,
        in_second,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivalNumber {
    pub human: String,
    pub machine: String,
}

pub fn format(system_id: i64, c: Counter, arrived_at_ms: i64, zone: Tz) -> ArrivalNumber {
    let local = zone
        .timestamp_millis_opt(arrived_at_ms)
        .single()
        .map(|t| t.format("%Y.%m.%d. %H:%M").to_string())
        .unwrap_or_default();
    let utc = Utc
        .timestamp_opt(c.second, 0)
        .single()
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_else(|| "0".repeat(14));
    ArrivalNumber {
        human: format!("{system_id:09}-{local}-{}", c.seq),
        machine: format!("{system_id:09}{utc}{:04}", c.in_second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_match_the_central_systems_layout() {
        // 2009-06-10 12:53:45 UTC is 14:53:45 in Budapest (summer time).
        let at = 1_244_638_425_000;
        let c = Counter {
            seq: 797_502,
            second: at / 1000,
            in_second: 3,
        };
        let n = format(12_344_555, c, at, chrono_tz::Europe::Budapest);
        assert_eq!(n.human, "012344555-2009.06.10. 14:53-797502");
        assert_eq!(n.machine, "012344555200906101253450003");
        assert_eq!(n.machine.len(), 27);
    }

    #[test]
    fn the_counter_only_goes_forward_even_when_the_clock_goes_back() {
        let c = Counter {
            seq: 10,
            second: 1000,
            in_second: 5,
        };
        assert_eq!(
            next(c, 1001),
            Counter {
                seq: 11,
                second: 1001,
                in_second: 1
            }
        );
        assert_eq!(
            next(c, 1000),
            Counter {
                seq: 11,
                second: 1000,
                in_second: 6
            }
        );
        // The clock went back: the second stays, the counter goes on.
        assert_eq!(
            next(c, 990),
            Counter {
                seq: 11,
                second: 1000,
                in_second: 6
            }
        );
        let full = Counter {
            seq: 1,
            second: 1000,
            in_second: 9999,
        };
        assert_eq!(
            next(full, 1000),
            Counter {
                seq: 2,
                second: 1001,
                in_second: 1
            }
        );
    }
}
