//! Substitution rules as pure functions.

/// A substitution is in force from its start (inclusive) until its end (exclusive).
pub fn is_active(starts_at: i64, ends_at: Option<i64>, now: i64) -> bool {
    starts_at <= now && ends_at.is_none_or(|end| now < end)
}

/// An end, when given, comes after the start.
pub fn check_window(starts_at: i64, ends_at: Option<i64>) -> Result<(), &'static str> {
    match ends_at {
        Some(end) if end <= starts_at => Err("substitution.end_before_start"),
        _ => Ok(()),
    }
}

/// The roles a deputy may receive: held by the principal, not already held by the deputy,
/// and never the automatic framework-user role.
pub fn choosable(principal: &[String], deputy: &[String]) -> Vec<String> {
    principal
        .iter()
        .filter(|r| r.as_str() != "kapu.framework_user" && !deputy.contains(r))
        .cloned()
        .collect()
}

/// The ids present in both sorted-or-not lists, in the order of `a`, without repeats.
pub fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = a.iter().filter(|x| b.contains(x)).cloned().collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_substitution_runs_from_its_start_until_its_end() {
        assert!(!is_active(100, Some(200), 99));
        assert!(is_active(100, Some(200), 100));
        assert!(is_active(100, Some(200), 199));
        assert!(!is_active(100, Some(200), 200));
        assert!(is_active(100, None, i64::MAX));
        assert_eq!(
            check_window(100, Some(100)),
            Err("substitution.end_before_start")
        );
        assert!(check_window(100, None).is_ok());
    }

    #[test]
    fn only_roles_the_principal_has_and_the_deputy_lacks_can_be_chosen() {
        let principal = ids(&["kapu.log_reader", "gazd.konyvelo", "kapu.framework_user"]);
        let deputy = ids(&["kapu.log_reader"]);
        assert_eq!(choosable(&principal, &deputy), ids(&["gazd.konyvelo"]));
        assert_eq!(
            intersect(&ids(&["b", "a", "b"]), &ids(&["a", "b", "c"])),
            ids(&["a", "b"])
        );
    }
}
