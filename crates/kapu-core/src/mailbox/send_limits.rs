//! How much one account may send: messages per hour and bytes per day, with lower limits for
//! self-registered citizens than for officials. A send is counted in its filing transaction
//! before it is judged: the group's first send of an account locks the account's row of the
//! hour (an upsert) and reads its totals, each send of the group is judged against them with
//! the group's earlier sends added, and the group writes its additions once. Parallel sends
//! are filed one group after another, and a group on another node waits on the row, so each
//! sees the others. A look before the documents stream in refuses an account that is over
//! its limit already, without storing anything.

use std::collections::HashMap;

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

/// An account's totals in a filing group: as read (with its row locked) plus what the group
/// added so far.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    hour: i64,
    sends: i64,
    day_bytes: i64,
    added_sends: i64,
    added_bytes: i64,
}

/// Counts one send of `size` bytes and judges the account's totals with it; on refusal the
/// group's transaction rolls everything back.
pub(crate) async fn count_send(
    tx: &mut WriteTx,
    tallies: &mut HashMap<String, Tally>,
    user_id: &str,
    size: i64,
    limits: SendLimits,
    now: i64,
) -> Result<()> {
    if !tallies.contains_key(user_id) {
        let hour = hour_of(now);
        // Locks the hour's row for the rest of the transaction, made if missing.
        let sends: i64 = sqlx::query_scalar(
            "INSERT INTO send_counts (user_id, hour, sends, bytes) VALUES ($1, $2, 0, 0) \
             ON CONFLICT (user_id, hour) DO UPDATE SET sends = send_counts.sends RETURNING sends",
        )
        .bind(user_id)
        .bind(hour)
        .fetch_one(tx.conn())
        .await?;
        let day_bytes = day_bytes(tx.conn(), user_id, now).await?;
        tallies.insert(
            user_id.to_string(),
            Tally {
                hour,
                sends,
                day_bytes,
                ..Tally::default()
            },
        );
    }
    let Some(t) = tallies.get_mut(user_id) else {
        return Ok(());
    };
    judge(limits, t.sends + 1, t.day_bytes + size, now)?;
    t.sends += 1;
    t.day_bytes += size;
    t.added_sends += 1;
    t.added_bytes += size;
    Ok(())
}

/// Writes a group's additions, one statement per account, in the same order on every node.
pub(crate) async fn flush(tx: &mut WriteTx, tallies: &mut HashMap<String, Tally>) -> Result<()> {
    let mut all: Vec<_> = tallies.drain().collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (user_id, t) in all {
        sqlx::query(
            "UPDATE send_counts SET sends = sends + $1, bytes = bytes + $2 WHERE user_id = $3 AND hour = $4",
        )
        .bind(t.added_sends)
        .bind(t.added_bytes)
        .bind(&user_id)
        .bind(t.hour)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Before any document is stored: refuses an account already at its limit (one read of the
/// account's last day, this hour's sends with it).
pub(crate) async fn look(db: &Db, user_id: &str, limits: SendLimits, now: i64) -> Result<()> {
    let hour = hour_of(now);
    let (sends, bytes): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN hour = $2 THEN sends ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM send_counts WHERE user_id = $1 AND hour > $3",
    )
    .bind(user_id)
    .bind(hour)
    .bind(hour - DAY_MS)
    .fetch_one(db.pool())
    .await?;
    // One more send, of no size yet, must still fit.
    judge(limits, sends + 1, bytes, now)
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
