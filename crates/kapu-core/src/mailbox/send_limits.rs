//! How much one account may send: messages per hour and bytes per day, with lower limits for
//! self-registered citizens than for officials. A send is counted in its filing transaction
//! before it is judged (`… SET sends = sends + 1 … RETURNING sends`), so that parallel sends
//! each see the others; a look before the documents stream in refuses an account that is
//! over its limit already, without storing anything.

use crate::error::{Error, Result};
use crate::platform::db::{Db, WriteTx};
use crate::platform::settings::Snapshot;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const MIB: i64 = 1024 * 1024;

/// One account's limits, read from the system variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendLimits {
    pub per_hour: i64,
    pub bytes_per_day: i64,
}

impl SendLimits {
    /// The limits of an account of the given tenant: the citizens' own, or everyone else's.
    pub(crate) fn of(settings: &Snapshot, citizen: bool) -> SendLimits {
        let (sends, volume) = if citizen {
            (
                "mailbox_citizen_sends_per_hour",
                "mailbox_citizen_mb_per_day",
            )
        } else {
            ("mailbox_sends_per_hour", "mailbox_mb_per_day")
        };
        SendLimits {
            per_hour: settings.number(sends),
            bytes_per_day: settings.number(volume).saturating_mul(MIB),
        }
    }
}

fn hour_of(now: i64) -> i64 {
    now - now.rem_euclid(HOUR_MS)
}

/// Seconds until the current hour's count starts again.
fn until_next_hour(now: i64) -> i64 {
    (hour_of(now) + HOUR_MS - now).div_euclid(1000).max(1)
}

/// Judges an account's totals after this send (`sends` this hour, `bytes` in a day).
pub(crate) fn judge(limits: SendLimits, sends: i64, bytes: i64, now: i64) -> Result<()> {
    if sends > limits.per_hour {
        return Err(Error::SendLimit {
            retry_after_secs: until_next_hour(now),
            volume: false,
        });
    }
    if bytes > limits.bytes_per_day {
        return Err(Error::SendLimit {
            retry_after_secs: until_next_hour(now),
            volume: true,
        });
    }
    Ok(())
}

async fn day_bytes<'c, E>(conn: E, user_id: &str, now: i64) -> Result<i64>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM send_counts WHERE user_id = $1 AND hour > $2",
    )
    .bind(user_id)
    .bind(hour_of(now) - DAY_MS)
    .fetch_one(conn)
    .await?)
}

/// Counts one send of `size` bytes and judges the account's totals with it; on refusal the
/// caller's transaction rolls the count back.
pub(crate) async fn count_send(
    tx: &mut WriteTx,
    user_id: &str,
    size: i64,
    limits: SendLimits,
    now: i64,
) -> Result<()> {
    let sends: i64 = sqlx::query_scalar(
        "INSERT INTO send_counts (user_id, hour, sends, bytes) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (user_id, hour) DO UPDATE SET sends = send_counts.sends + 1, \
         bytes = send_counts.bytes + excluded.bytes RETURNING sends",
    )
    .bind(user_id)
    .bind(hour_of(now))
    .bind(size)
    .fetch_one(tx.conn())
    .await?;
    let bytes = day_bytes(tx.conn(), user_id, now).await?;
    judge(limits, sends, bytes, now)
}

/// Before any document is stored: refuses an account already at its limit.
pub(crate) async fn look(db: &Db, user_id: &str, limits: SendLimits, now: i64) -> Result<()> {
    let sends: Option<i64> =
        sqlx::query_scalar("SELECT sends FROM send_counts WHERE user_id = $1 AND hour = $2")
            .bind(user_id)
            .bind(hour_of(now))
            .fetch_optional(db.pool())
            .await?;
    let bytes = day_bytes(db.pool(), user_id, now).await?;
    // One more send, of no size yet, must still fit.
    judge(limits, sends.unwrap_or(0) + 1, bytes, now)
}

/// Forgets counts older than a day; the mailbox worker calls it.
pub(crate) async fn sweep(db: &Db, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM send_counts WHERE hour <= $1")
        .bind(hour_of(now) - DAY_MS)
        .execute(db.pool())
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SendLimits = SendLimits {
        per_hour: 3,
        bytes_per_day: 10,
    };

    #[test]
    fn the_send_over_a_limit_is_refused_and_told_when_to_retry() {
        let now = 5 * HOUR_MS + 15 * 60_000;
        assert!(judge(LIMITS, 3, 10, now).is_ok());
        match judge(LIMITS, 4, 0, now) {
            Err(Error::SendLimit {
                retry_after_secs,
                volume: false,
            }) => assert_eq!(retry_after_secs, 45 * 60),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge(LIMITS, 1, 11, now),
            Err(Error::SendLimit { volume: true, .. })
        ));
    }

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(hour_of(HOUR_MS + 1), HOUR_MS);
        assert_eq!(until_next_hour(HOUR_MS - 1), 1);
    }
}
