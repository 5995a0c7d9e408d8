//! Password rules (manual chapter 5–6), as pure functions of values and the current time.

use crate::platform::clock::DAY;
use crate::platform::settings::Snapshot;

/// Anything longer is refused before hashing, whatever the policy says.
pub const ABSOLUTE_MAX_LEN: usize = 256;

#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_len: usize,
    pub max_len: usize,
    pub lower: bool,
    pub upper: bool,
    pub digit: bool,
    pub max_age_days: i64,
    pub warn_days: i64,
    pub warn_mandatory_days: i64,
    pub history: usize,
    pub min_age_ms: i64,
}

impl PasswordPolicy {
    pub fn from_settings(s: &Snapshot) -> Self {
        PasswordPolicy {
            min_len: s.number("password_min_length").max(1) as usize,
            max_len: (s.number("password_max_length") as usize).min(ABSOLUTE_MAX_LEN),
            lower: s.flag("password_require_lower"),
            upper: s.flag("password_require_upper"),
            digit: s.flag("password_require_digit"),
            max_age_days: s.number("password_max_age_days"),
            warn_days: s.number("password_warn_days"),
            warn_mandatory_days: s.number("password_warn_mandatory_days"),
            history: s.number("password_history_count").max(0) as usize,
            min_age_ms: s.duration_ms("password_min_age"),
        }
    }

    /// Every rule the password breaks, as message keys.
    pub fn check(&self, password: &str) -> Vec<&'static str> {
        let mut broken = Vec::new();
        let len = password.chars().count();
        if len < self.min_len {
            broken.push("password.too_short");
        }
        if len > self.max_len {
            broken.push("password.too_long");
        }
        if self.lower && !password.chars().any(char::is_lowercase) {
            broken.push("password.needs_lower");
        }
        if self.upper && !password.chars().any(char::is_uppercase) {
            broken.push("password.needs_upper");
        }
        if self.digit && !password.chars().any(|c| c.is_ascii_digit()) {
            broken.push("password.needs_digit");
        }
        if password.chars().any(char::is_control) {
            broken.push("text.control_chars");
        }
        broken
    }

    pub fn expires_at(&self, changed_at: i64) -> i64 {
        changed_at + self.max_age_days * DAY
    }

    pub fn status(&self, changed_at: i64, silenced: bool, now: i64) -> ExpiryStatus {
        let expires_at = self.expires_at(changed_at);
        if now >= expires_at {
            return ExpiryStatus::Expired;
        }
        // Whole days left, rounded up: 1 ms left still counts as a day.
        let days_left = (expires_at - now + DAY - 1) / DAY;
        if days_left <= self.warn_mandatory_days {
            ExpiryStatus::Warning {
                days_left,
                mandatory: true,
            }
        } else if days_left <= self.warn_days && !silenced {
            ExpiryStatus::Warning {
                days_left,
                mandatory: false,
            }
        } else {
            ExpiryStatus::Valid { days_left }
        }
    }

    /// Milliseconds until the holder may change the password again; zero when allowed now.
    pub fn wait_before_change(&self, changed_at: Option<i64>, now: i64) -> i64 {
        match changed_at {
            Some(at) => (at + self.min_age_ms - now).max(0),
            None => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExpiryStatus {
    Valid { days_left: i64 },
    Warning { days_left: i64, mandatory: bool },
    Expired,
}

impl ExpiryStatus {
    pub fn days_left(&self) -> i64 {
        match self {
            ExpiryStatus::Valid { days_left } | ExpiryStatus::Warning { days_left, .. } => {
                *days_left
            }
            ExpiryStatus::Expired => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::from_settings(&Snapshot::defaults())
    }

    #[test]
    fn the_manual_defaults_require_8_to_20_mixed_characters() {
        let p = policy();
        assert!(p.check("Jelszo123").is_empty());
        assert_eq!(p.check("Jel1"), vec!["password.too_short"]);
        assert_eq!(p.check("Jelszo123456789012345"), vec!["password.too_long"]);
        assert_eq!(p.check("jelszo123"), vec!["password.needs_upper"]);
        assert_eq!(p.check("JELSZO123"), vec!["password.needs_lower"]);
        assert_eq!(p.check("Jelszoabc"), vec!["password.needs_digit"]);
        assert!(p.check("Árvíztűrő1").is_empty());
    }

    #[test]
    fn expiry_warns_from_ten_days_and_insists_from_five() {
        let p = policy();
        let changed = 0;
        let at = |days_before_expiry: i64| p.expires_at(changed) - days_before_expiry * DAY;
        assert_eq!(
            p.status(changed, false, at(11)),
            ExpiryStatus::Valid { days_left: 11 }
        );
        assert_eq!(
            p.status(changed, false, at(10)),
            ExpiryStatus::Warning {
                days_left: 10,
                mandatory: false
            }
        );
        assert_eq!(
            p.status(changed, true, at(10)),
            ExpiryStatus::Valid { days_left: 10 }
        );
        assert_eq!(
            p.status(changed, true, at(5)),
            ExpiryStatus::Warning {
                days_left: 5,
                mandatory: true
            }
        );
        assert_eq!(p.status(changed, false, at(0)), ExpiryStatus::Expired);
        assert_eq!(
            p.status(changed, false, p.expires_at(changed) + 1),
            ExpiryStatus::Expired
        );
    }

    #[test]
    fn a_password_changes_at_most_once_a_day() {
        let p = policy();
        assert_eq!(p.wait_before_change(Some(0), DAY), 0);
        assert_eq!(p.wait_before_change(Some(0), DAY - 1000), 1000);
        assert_eq!(p.wait_before_change(None, 0), 0);
    }
}
