//! Lockout after consecutive wrong passwords, and per-address throttling windows.

use crate::platform::clock::MINUTE;

/// What one more wrong password does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    pub failed_count: i64,
    pub locked_until: Option<i64>,
}

pub fn after_failure(failed_count: i64, threshold: i64, lock_ms: i64, now: i64) -> AfterFailure {
    let failed_count = failed_count + 1;
    if failed_count >= threshold {
        // The counter starts again once the lock lifts.
        AfterFailure {
            failed_count: 0,
            locked_until: Some(now + lock_ms),
        }
    } else {
        AfterFailure {
            failed_count,
            locked_until: None,
        }
    }
}

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
    fn the_fifth_wrong_password_locks_for_ten_minutes() {
        let mut count = 0;
        for _ in 0..4 {
            let a = after_failure(count, 5, 600_000, 1_000);
            assert_eq!(a.locked_until, None);
            count = a.failed_count;
        }
        let a = after_failure(count, 5, 600_000, 1_000);
        assert_eq!(a.locked_until, Some(601_000));
        assert_eq!(lock_remaining_secs(a.locked_until, 1_000), Some(600));
        assert_eq!(lock_remaining_secs(a.locked_until, 601_000), None);
    }

    #[test]
    fn throttle_windows_are_whole_minutes() {
        assert_eq!(throttle_window(125_000), 120_000);
        assert_eq!(throttle_retry_after_secs(125_000), 55);
    }
}
