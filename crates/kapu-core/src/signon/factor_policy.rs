//! Who must prove a second factor: the tenant's policy (system variables) against a login's
//! mode and the user's roles. A user who has a factor is asked for it whatever the policy;
//! the policy decides who must have one.

use crate::actor::Mode;
use crate::platform::settings::Snapshot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorPolicy {
    /// Every secure-mode login.
    pub secure: bool,
    /// Every login.
    pub always: bool,
    /// Logins of users holding any of these roles (ids such as `kapu.user_maintainer`).
    pub roles: Vec<String>,
    /// Users may enrol their own factors.
    pub self_enrolment: bool,
}

impl FactorPolicy {
    pub fn from_settings(s: &Snapshot) -> FactorPolicy {
        FactorPolicy {
            secure: s.flag("second_factor_secure_mode"),
            always: s.flag("second_factor_every_login"),
            roles: parse_roles(s.text("second_factor_roles")),
            self_enrolment: s.flag("second_factor_self_enrolment"),
        }
    }

    /// Whether a login in `mode` by a user holding `role_ids` must pass a second step.
    pub fn requires(&self, mode: Mode, role_ids: &[String]) -> bool {
        self.always
            || (self.secure && mode == Mode::Secure)
            || role_ids.iter().any(|r| self.roles.contains(r))
    }
}

/// Role ids as written in the variable: separated by commas, spaces or new lines.
pub fn parse_roles(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(secure: bool, always: bool, roles: &str) -> FactorPolicy {
        FactorPolicy {
            secure,
            always,
            roles: parse_roles(roles),
            self_enrolment: true,
        }
    }

    #[test]
    fn the_default_asks_for_secure_mode_only() {
        let p = FactorPolicy::from_settings(&Snapshot::defaults());
        assert!(p.requires(Mode::Secure, &[]));
        assert!(!p.requires(Mode::Normal, &[]));
        assert!(p.self_enrolment);
    }

    #[test]
    fn every_login_or_given_roles_can_be_required() {
        assert!(policy(false, true, "").requires(Mode::Normal, &[]));
        let roles = policy(false, false, "kapu.user_maintainer, hkp.ABC.read");
        assert!(roles.requires(Mode::Normal, &["hkp.ABC.read".into()]));
        assert!(!roles.requires(Mode::Normal, &["hkp.ABC.send".into()]));
        assert!(!policy(false, false, "").requires(Mode::Secure, &[]));
    }
}
