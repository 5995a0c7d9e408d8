//! Clearing what single sign-on no longer needs: codes past their minute, refresh tokens
//! past their end, assertions past theirs. A worker does it every few minutes.

use std::time::Duration;

use crate::Kapu;
use crate::error::Result;

/// A spent code is kept a little past its end, so that a late replay is still seen as one.
const CODE_GRACE_MS: i64 = 10 * 60_000;

impl Kapu {
    /// One round; returns how many rows went.
    pub async fn sso_housekeeping(&self) -> Result<u64> {
        let now = self.now();
        let mut tx = self.db().write_unaudited().await?;
        let mut gone = 0;
        for (sql, before) in [
            (
                "DELETE FROM sso_codes WHERE expires_at < $1",
                now - CODE_GRACE_MS,
            ),
            ("DELETE FROM sso_refresh_tokens WHERE expires_at < $1", now),
            ("DELETE FROM sso_assertions WHERE expires_at < $1", now),
        ] {
            gone += sqlx::query(sql)
                .bind(before)
                .execute(tx.conn())
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(gone)
    }

    /// Clears old rows every few minutes and sends back-channel logouts as grants end.
    pub async fn run_sso_worker(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tokio::select! {
                _ = tick.tick() => match self.sso_housekeeping().await {
                    Ok(n) if n > 0 => tracing::debug!(rows = n, "single sign-on rows cleared"),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "single sign-on housekeeping failed; retrying next round")
                    }
                },
                () = self.logouts_due() => {
                    if let Err(e) = self.send_pending_logouts().await {
                        tracing::warn!(error = %e, "back-channel logouts failed; retrying next round");
                    }
                }
            }
        }
    }
}
