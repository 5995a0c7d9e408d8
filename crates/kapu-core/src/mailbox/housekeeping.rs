//! The mailbox's background work: expiring messages nobody collected (with a non-delivery
//! receipt), deleting the documents of delivered messages after the keeping period, and
//! removing blobs of uploads that never became a message. Every step claims its rows with a
//! conditional update inside the write transaction, so on several nodes each happens once.

use std::time::Duration;

use serde_json::json;
use sqlx::Row;

use super::documents::load;
use super::receipts::ReceiptKind;
use crate::Kapu;
use crate::actor::{AuditActor, RequestCtx};
use crate::error::Result;
use crate::platform::audit::{self, AuditEvent};

const BATCH: i64 = 100;
/// The shortest keeping period a tenant may set.
const DAY_MS: i64 = 86_400_000;
/// An upload this old without a message is abandoned.
const ORPHAN_AFTER_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub expired: u64,
    pub purged: u64,
    pub orphans: u64,
    pub send_counts: u64,
}

fn system_ctx() -> RequestCtx {
    RequestCtx {
        client_addr: "system".into(),
        request_id: uuid::Uuid::now_v7().to_string(),
        client_cert: None,
    }
}

impl Kapu {
    /// One round of every job; the worker calls it every minute.
    pub async fn mailbox_housekeeping(&self) -> Result<Swept> {
        Ok(Swept {
            expired: self.expire_due().await?,
            purged: self.purge_delivered().await?,
            orphans: self.sweep_orphan_blobs().await?,
            send_counts: super::send_limits::sweep(self.db(), self.now()).await?,
        })
    }

    pub async fn run_mailbox_worker(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = self.mailbox_housekeeping().await {
                tracing::warn!(error = %e, "mailbox housekeeping failed; retrying next round");
            }
        }
    }

    async fn expire_due(&self) -> Result<u64> {
        let now = self.now();
        let mut done = 0;
        loop {
            let due: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM messages WHERE expires_at <= $1 AND delivered_at IS NULL \
                 AND expired_at IS NULL ORDER BY expires_at LIMIT $2",
            )
            .bind(now)
            .bind(BATCH)
            .fetch_all(self.db().pool())
            .await?;
            if due.is_empty() {
                return Ok(done);
            }
            for id in due {
                if self.expire_one(&id, now).await? {
                    done += 1;
                }
            }
        }
    }

    async fn expire_one(&self, id: &str, now: i64) -> Result<bool> {
        let mut tx = self.db().write().await?;
        let claimed = sqlx::query(
            "UPDATE messages SET expired_at = $1 WHERE id = $2 AND expired_at IS NULL AND delivered_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(false);
        }
        let blobs = purge_documents(&mut tx, id, now).await?;
        let m = load(&mut tx, id).await?;
        self.receipt_about(&mut tx, ReceiptKind::NonDelivery, &m, now)
            .await?;
        let recipient = self.mailbox_by_id(&m.recipient_mailbox_id).await?;
        audit::record(
            &mut tx,
            now,
            &AuditActor::default(),
            &system_ctx(),
            AuditEvent::new("message.expire", "success")
                .tenant(&recipient.tenant_id)
                .target("message", &m.id, &m.arrival_number)
                .details(json!({"documents": blobs.len()})),
        )
        .await?;
        tx.commit().await?;
        self.delete_blobs(&blobs).await;
        Ok(true)
    }

    async fn purge_delivered(&self) -> Result<u64> {
        let now = self.now();
        let mut done = 0;
        loop {
            // The keeping period is the recipient tenant's; read per mailbox below.
            let rows = sqlx::query(
                "SELECT m.id, b.tenant_id, m.delivered_at FROM messages m \
                 JOIN mailboxes b ON b.id = m.recipient_mailbox_id \
                 WHERE m.delivered_at IS NOT NULL AND m.purged_at IS NULL AND m.long_term = 0 \
                 AND m.documents > 0 AND m.delivered_at <= $1 ORDER BY m.delivered_at LIMIT $2",
            )
            .bind(now - DAY_MS)
            .bind(BATCH)
            .fetch_all(self.db().pool())
            .await?;
            let mut progressed = false;
            for r in &rows {
                let id: String = r.try_get("id")?;
                let tenant: String = r.try_get("tenant_id")?;
                let delivered_at: i64 = r.try_get("delivered_at")?;
                let keep = self
                    .settings()
                    .snapshot(&tenant)
                    .await?
                    .duration_ms("mailbox_keep_delivered");
                if delivered_at + keep > now {
                    continue;
                }
                let mut tx = self.db().write().await?;
                let claimed = sqlx::query(
                    "UPDATE messages SET purged_at = $1 WHERE id = $2 AND purged_at IS NULL AND long_term = 0",
                )
                .bind(now)
                .bind(&id)
                .execute(tx.conn())
                .await?
                .rows_affected();
                if claimed == 0 {
                    continue;
                }
                let blobs = purge_documents(&mut tx, &id, now).await?;
                audit::record(
                    &mut tx,
                    now,
                    &AuditActor::default(),
                    &system_ctx(),
                    AuditEvent::new("message.purge", "success")
                        .tenant(&tenant)
                        .target("message", &id, "")
                        .details(json!({"documents": blobs.len()})),
                )
                .await?;
                tx.commit().await?;
                self.delete_blobs(&blobs).await;
                done += 1;
                progressed = true;
            }
            if !progressed {
                return Ok(done);
            }
        }
    }

    async fn delete_blobs(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.blobs().delete(key).await {
                tracing::warn!(blob = %key, error = %e, "cannot delete a purged document's blob");
            }
        }
    }

    /// Blobs in the store that no document names, written long enough ago that their upload
    /// is over: a send that failed, or a process that died before it committed.
    async fn sweep_orphan_blobs(&self) -> Result<u64> {
        let cutoff = self.now() - ORPHAN_AFTER_MS;
        let candidates = self.blobs().written_before(cutoff).await?;
        let mut removed = 0;
        for key in candidates {
            let known: Option<String> =
                sqlx::query_scalar("SELECT id FROM documents WHERE blob_key = $1")
                    .bind(&key)
                    .fetch_optional(self.db().pool())
                    .await?;
            if known.is_none() {
                self.blobs().delete(&key).await?;
                tracing::info!(blob = %key, "removed the blob of an abandoned upload");
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Marks a message's documents deleted and returns their blob keys (deleted after commit).
async fn purge_documents(
    tx: &mut crate::platform::db::WriteTx,
    message_id: &str,
    now: i64,
) -> Result<Vec<String>> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT blob_key FROM documents WHERE message_id = $1 AND purged_at IS NULL",
    )
    .bind(message_id)
    .fetch_all(tx.conn())
    .await?;
    sqlx::query("UPDATE documents SET purged_at = $1 WHERE message_id = $2 AND purged_at IS NULL")
        .bind(now)
        .bind(message_id)
        .execute(tx.conn())
        .await?;
    Ok(keys)
}
