//! Counters of fixed time windows in the database, so every node sees the same counts.

use crate::error::Result;
use crate::platform::db::WriteTx;

/// The start of the fixed window of `window_ms` that `now` falls in.
pub fn window_start(now: i64, window_ms: i64) -> i64 {
    now - now.rem_euclid(window_ms.max(1))
}

/// Seconds until the window `now` falls in ends.
pub fn retry_after_secs(now: i64, window_ms: i64) -> i64 {
    (window_start(now, window_ms) + window_ms - now + 999) / 1000
}

/// Counts one hit of `key` in its current window and returns the hits so far, this one
/// included. Windows that have ended are dropped on the way.
pub async fn hit(tx: &mut WriteTx, key: &str, window_ms: i64, now: i64) -> Result<i64> {
    let start = window_start(now, window_ms);
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO rate_counters (key, window_start, window_ms, hits) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counters.hits + 1 RETURNING hits",
    )
    .bind(key)
    .bind(start)
    .bind(window_ms)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query("DELETE FROM rate_counters WHERE window_start + window_ms < $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(hits)
}

/// Gives back a hit of the current window (an attempt that turned out right).
pub async fn give_back(tx: &mut WriteTx, key: &str, window_ms: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE rate_counters SET hits = hits - 1 WHERE key = $1 AND window_start = $2 AND hits > 0",
    )
    .bind(key)
    .bind(window_start(now, window_ms))
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_retry_counts_to_their_end() {
        assert_eq!(window_start(3_599_999, 3_600_000), 0);
        assert_eq!(window_start(3_600_000, 3_600_000), 3_600_000);
        assert_eq!(retry_after_secs(3_000_000, 3_600_000), 600);
    }
}
