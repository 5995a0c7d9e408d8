//! Lockout after consecutive wrong passwords, and per-address throttling windows (the
//! counting itself is in `signon::attempts`).

use crate::platform::clock::MINUTE;

/// Seconds until a temporary lock lifts, if it is still on.
pub fn lock_remaining_secs(locked_until: Option<i64>, now: i64) -> Option<i64> {
    match locked_until {
        Some(until) if until > now => Some((until - now + 999) / 1000),
        _ => None,
    }
}

/// The fixed one-minute window a moment falls in.
pub fn throttle_window(now: i64) -> i64 {
    now - now.rem_euclid(MINUTE)
}

pub fn throttle_retry_after_secs(now: i64) -> i64 {
    (throttle_window(now) + MINUTE - now + 999) / 1000
}

/// The account state shown in lists.
pub fn lock_state(
    admin_locked: bool,
    locked_until: Option<i64>,
    activated: bool,
    now: i64,
) -> &'static str {
    if admin_locked {
        "locked"
    } else if lock_remaining_secs(locked_until, now).is_some() {
        "temporarily_locked"
    } else if !activated {
        "pending_activation"
    } else {
        "active"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_lifts_at_its_moment() {
        assert_eq!(lock_remaining_secs(Some(601_000), 1_000), Some(600));
        assert_eq!(lock_remaining_secs(Some(601_000), 601_000), None);
        assert_eq!(lock_remaining_secs(None, 1_000), None);
    }

    #[test]
    fn throttle_windows_are_whole_minutes() {
        assert_eq!(throttle_window(125_000), 120_000);
        assert_eq!(throttle_retry_after_secs(125_000), 55);
    }
}
