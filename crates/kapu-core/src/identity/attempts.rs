//! Attempts are counted before they are judged. A wrong password or code is counted in one
//! statement that returns the new count (`UPDATE … SET n = n + 1 … RETURNING n`) and is
//! committed before the password is hashed or the code compared: N parallel attempts each
//! see a count that includes the others, so no more than the threshold are ever checked.
//! A right answer then clears the account's counter and gives the address its attempt back.

use crate::Kapu;
use crate::error::{Error, Result};
use crate::identity::lockout::{throttle_retry_after_secs, throttle_window};
use crate::identity::users::UserRow;
use crate::platform::db::WriteTx;

/// An account's counter of consecutive wrong answers, and the lock it leads to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    /// Passwords (and password re-checks of a logged-in person).
    Password,
    /// Second-step answers (codes, recovery codes, security keys).
    SecondFactor,
}

impl Counter {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Counter::Password => ("failed_count", "locked_until"),
            Counter::SecondFactor => ("factor_failed_count", "factor_locked_until"),
        }
    }
}

/// What counting an attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The account is locked (by an administrator, or for a while): nothing is checked.
    Locked,
    /// The attempt's number among the consecutive ones, this one included: judge it.
    Numbered(i64),
    /// As many attempts as the threshold are being judged already: this one is given back
    /// and not judged (the caller answers "try again in a moment"). Parallel guesses stop
    /// here; parallel right answers of one account are only delayed, never locked out.
    Crowded,
}

/// Whether the attempt numbered `n` may be judged at all: one past the threshold would be a
/// guess beyond what a lock allows.
pub(crate) fn within(n: i64, threshold: i64) -> bool {
    n <= threshold.max(1)
}

/// Whether a wrong answer of attempt `n` locks the account.
pub(crate) fn locks(n: i64, threshold: i64) -> bool {
    n >= threshold.max(1)
}

/// The answer to a crowded attempt.
pub(crate) fn crowded() -> Error {
    Error::Throttled {
        retry_after_secs: 1,
    }
}

impl Kapu {
    /// Counts an attempt at `user_id`'s counter, committed before any judging.
    pub(crate) async fn count_attempt(
        &self,
        counter: Counter,
        user_id: &str,
        threshold: i64,
        now: i64,
    ) -> Result<Attempt> {
        let (count, until) = counter.columns();
        let admin = match counter {
            Counter::Password => " AND admin_locked = 0",
            Counter::SecondFactor => "",
        };
        let sql = format!(
            "UPDATE users SET {count} = {count} + 1 \
             WHERE id = $1 AND ({until} IS NULL OR {until} <= $2){admin} RETURNING {count}"
        );
        let mut tx = self.db().write_unaudited().await?;
        let n: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
        let attempt = match n {
            None => Attempt::Locked,
            Some(n) if within(n, threshold) => Attempt::Numbered(n),
            Some(_) => {
                let back = format!("UPDATE users SET {count} = {count} - 1 WHERE id = $1");
                sqlx::query(sqlx::AssertSqlSafe(back))
                    .bind(user_id)
                    .execute(tx.conn())
                    .await?;
                Attempt::Crowded
            }
        };
        tx.commit().await?;
        Ok(attempt)
    }

    /// Counts an attempt under a name that has no account, exactly as an account's would
    /// be, so that no answer tells which accounts exist.
    pub(crate) async fn count_name_attempt(
        &self,
        name: &str,
        threshold: i64,
        now: i64,
    ) -> Result<Attempt> {
        let mut tx = self.db().write_unaudited().await?;
        let n: Option<i64> = sqlx::query_scalar(
            "INSERT INTO login_name_failures (login, failed_count, locked_until) VALUES ($1, 1, NULL) \
             ON CONFLICT (login) DO UPDATE SET failed_count = login_name_failures.failed_count + 1 \
             WHERE login_name_failures.locked_until IS NULL OR login_name_failures.locked_until <= $2 \
             RETURNING failed_count",
        )
        .bind(name)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        let attempt = match n {
            None => Attempt::Locked,
            Some(n) if within(n, threshold) => Attempt::Numbered(n),
            Some(_) => {
                sqlx::query(
                    "UPDATE login_name_failures SET failed_count = failed_count - 1 WHERE login = $1",
                )
                .bind(name)
                .execute(tx.conn())
                .await?;
                Attempt::Crowded
            }
        };
        // Names whose lock has lifted and that have not failed since are forgotten.
        sqlx::query("DELETE FROM login_name_failures WHERE locked_until < $1 AND failed_count = 0")
            .bind(now)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(attempt)
    }

    /// Counts an attempt from this address in the current minute; refuses one past the
    /// limit. A right answer gives it back ([`Kapu::give_back_address_attempt`]), so the
    /// limit is one of wrong answers.
    pub(crate) async fn count_address_attempt(
        &self,
        addr: &str,
        limit: i64,
        now: i64,
    ) -> Result<()> {
        let window = throttle_window(now);
        let mut tx = self.db().write_unaudited().await?;
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (addr, window_start, failures) VALUES ($1, $2, 1) \
             ON CONFLICT (addr, window_start) DO UPDATE SET failures = login_throttle.failures + 1 \
             RETURNING failures",
        )
        .bind(addr)
        .bind(window)
        .fetch_one(tx.conn())
        .await?;
        if n > limit {
            // Refused unjudged, so it is not one of the address's attempts: a burst past the
            // limit does not keep the address out for the rest of the minute.
            sqlx::query(
                "UPDATE login_throttle SET failures = failures - 1 WHERE addr = $1 AND window_start = $2",
            )
            .bind(addr)
            .bind(window)
            .execute(tx.conn())
            .await?;
        }
        sqlx::query("DELETE FROM login_throttle WHERE window_start < $1")
            .bind(window)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        if n > limit {
            return Err(Error::Throttled {
                retry_after_secs: throttle_retry_after_secs(now),
            });
        }
        Ok(())
    }

    /// A logged-in person's password asked again (a password change, factor changes,
    /// recovery codes, an export, the vault): counted against the account like a login's,
    /// before it is checked, so a stolen session cannot guess its way through. `Ok(false)`
    /// for a wrong one that does not lock; a lock is `AccountLocked`.
    pub(crate) async fn recheck_counted(&self, user: &UserRow, password: &str) -> Result<bool> {
        let now = self.now();
        let snapshot = self.settings().snapshot(&user.tenant_id).await?;
        let threshold = snapshot.number("lockout_threshold");
        let until = now + snapshot.duration_ms("lockout_duration");
        let n = match self
            .count_attempt(Counter::Password, &user.id, threshold, now)
            .await?
        {
            Attempt::Numbered(n) => n,
            Attempt::Crowded => return Err(crowded()),
            Attempt::Locked => return Err(Error::AccountLocked),
        };
        let right = self.password_matches(user, password).await?;
        let locked = !right && locks(n, threshold);
        let mut tx = self.db().write_unaudited().await?;
        if right {
            clear(&mut tx, Counter::Password, &user.id).await?;
        } else if locked {
            lock(&mut tx, Counter::Password, &user.id, until).await?;
        }
        tx.commit().await?;
        if locked {
            return Err(Error::AccountLocked);
        }
        Ok(right)
    }

    pub(crate) async fn give_back_address_attempt(&self, addr: &str, now: i64) -> Result<()> {
        let mut tx = self.db().write_unaudited().await?;
        sqlx::query(
            "UPDATE login_throttle SET failures = failures - 1 \
             WHERE addr = $1 AND window_start = $2 AND failures > 0",
        )
        .bind(addr)
        .bind(throttle_window(now))
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }
}

/// Locks the account's counter until `until` and starts it again (it counts anew once the
/// lock lifts).
pub(crate) async fn lock(
    tx: &mut WriteTx,
    counter: Counter,
    user_id: &str,
    until: i64,
) -> Result<()> {
    let (count, locked) = counter.columns();
    let sql = format!("UPDATE users SET {count} = 0, {locked} = $1 WHERE id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(until)
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Locks a name without an account, as [`lock`] does an account.
pub(crate) async fn lock_name(tx: &mut WriteTx, name: &str, until: i64) -> Result<()> {
    sqlx::query(
        "UPDATE login_name_failures SET failed_count = 0, locked_until = $1 WHERE login = $2",
    )
    .bind(until)
    .bind(name)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A right answer: the consecutive count starts again.
pub(crate) async fn clear(tx: &mut WriteTx, counter: Counter, user_id: &str) -> Result<()> {
    let (count, _) = counter.columns();
    let sql = format!("UPDATE users SET {count} = 0 WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_at_the_threshold_is_judged_and_locks_and_the_next_is_not_judged() {
        for n in 1..=5 {
            assert!(within(n, 5));
        }
        assert!(!within(6, 5));
        assert!(!locks(4, 5));
        assert!(locks(5, 5));
        assert!(locks(9, 5));
        // A threshold of 0 would lock nothing; it is taken as 1.
        assert!(within(1, 0) && locks(1, 0));
    }
}
