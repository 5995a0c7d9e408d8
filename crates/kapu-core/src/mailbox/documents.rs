//! Downloads: streamed out of the blob store; the first download of a received message by
//! anyone allowed to read the mailbox delivers it and issues the delivery receipt.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde_json::json;
use sqlx::Row;

use super::messages::{DocumentInfo, Ledger};
use super::receipts::{ReceiptDocument, ReceiptKind, Subject};
use super::rights::Right;
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::db::WriteTx;

pub struct Download {
    pub document: DocumentInfo,
    pub body: BoxStream<'static, Result<Bytes>>,
}

/// A stored message with what its receipts need.
pub(crate) struct StoredMessage {
    pub id: String,
    pub arrival_number: String,
    pub arrival_machine: String,
    pub arrived_at: i64,
    pub sender_mailbox_id: String,
    pub recipient_mailbox_id: String,
    pub sender_name: String,
    pub reference: String,
    pub doc_type: String,
    pub e2e: bool,
    pub documents: Vec<(String, String, i64, String)>,
}

pub(crate) async fn load(tx: &mut WriteTx, id: &str) -> Result<StoredMessage> {
    let r = sqlx::query(
        "SELECT id, arrival_number, arrival_machine, arrived_at, sender_mailbox_id, recipient_mailbox_id, \
         sender_name, reference, doc_type, e2e FROM messages WHERE id = $1",
    )
    .bind(id)
    .fetch_one(tx.conn())
    .await?;
    let documents = sqlx::query(
        "SELECT file_name, media_type, size, sha256 FROM documents WHERE message_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|d| {
        Ok((
            d.try_get("file_name")?,
            d.try_get("media_type")?,
            d.try_get("size")?,
            d.try_get("sha256")?,
        ))
    })
    .collect::<Result<Vec<_>>>()?;
    let sender: Option<String> = r.try_get("sender_mailbox_id")?;
    let e2e: i64 = r.try_get("e2e")?;
    Ok(StoredMessage {
        id: r.try_get("id")?,
        arrival_number: r.try_get("arrival_number")?,
        arrival_machine: r.try_get("arrival_machine")?,
        arrived_at: r.try_get("arrived_at")?,
        sender_mailbox_id: sender.unwrap_or_default(),
        recipient_mailbox_id: r.try_get("recipient_mailbox_id")?,
        sender_name: r.try_get("sender_name")?,
        reference: r.try_get("reference")?,
        doc_type: r.try_get("doc_type")?,
        e2e: e2e != 0,
        documents,
    })
}

impl Kapu {
    /// Issues a receipt about a stored message, inside the caller's transaction.
    pub(crate) async fn receipt_about(
        &self,
        tx: &mut WriteTx,
        kind: ReceiptKind,
        m: &StoredMessage,
        now: i64,
    ) -> Result<()> {
        let sender = self.mailbox_by_id(&m.sender_mailbox_id).await?;
        let recipient = self.mailbox_by_id(&m.recipient_mailbox_id).await?;
        let docs: Vec<ReceiptDocument<'_>> = m
            .documents
            .iter()
            .map(|(name, media_type, size, sha256)| ReceiptDocument {
                name,
                media_type,
                size: *size,
                sha256,
            })
            .collect();
        let mut ledger = Ledger::default();
        self.issue_receipt(
            tx,
            &mut ledger,
            kind,
            &Subject {
                id: &m.id,
                arrival_number: &m.arrival_number,
                arrival_machine: &m.arrival_machine,
                arrived_at: m.arrived_at,
                sender: &sender,
                sender_name: &m.sender_name,
                recipient: &recipient,
                reference: &m.reference,
                doc_type: &m.doc_type,
                end_to_end: m.e2e,
                documents: &docs,
            },
            now,
        )
        .await?;
        ledger.flush(tx).await
    }

    /// Streams a document of a message in the mailbox. The recipient side's first download
    /// delivers the message.
    pub async fn download(
        &self,
        actor: &Actor,
        address: &str,
        message_id: &str,
        position: i64,
    ) -> Result<Download> {
        let mailbox = self.open_mailbox(actor, address, Right::Read).await?;
        let located = self.locate(&mailbox, message_id).await?;
        let row = sqlx::query(
            "SELECT position, file_name, media_type, size, sha256, blob_key, sealed_key, purged_at \
             FROM documents WHERE message_id = $1 AND position = $2",
        )
        .bind(&located.id)
        .bind(position)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        let purged: Option<i64> = row.try_get("purged_at")?;
        if purged.is_some() {
            let key = if located.expired_at.is_some() {
                "gone.message_expired"
            } else {
                "gone.document_purged"
            };
            return Err(Error::Gone(key));
        }
        let document = DocumentInfo {
            position: row.try_get("position")?,
            name: row.try_get("file_name")?,
            media_type: row.try_get("media_type")?,
            size: row.try_get("size")?,
            sha256: row.try_get("sha256")?,
            available: true,
        };
        let blob_key: String = row.try_get("blob_key")?;
        let sealed_key: String = row.try_get("sealed_key")?;
        // Open the blob first: a store that cannot give it delivers nothing.
        let body = self.blobs().read(&blob_key, &sealed_key).await?;
        if located.recipient_side && located.delivered_at.is_none() {
            self.deliver(actor, &located.id, &document.name).await?;
        }
        Ok(Download { document, body })
    }

    /// Marks a message delivered once, and sends the delivery receipt to its sender.
    async fn deliver(&self, actor: &Actor, id: &str, document: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let changed = sqlx::query(
            "UPDATE messages SET delivered_at = $1, delivered_by = $2, read_at = COALESCE(read_at, $1) \
             WHERE id = $3 AND delivered_at IS NULL AND expired_at IS NULL",
        )
        .bind(now)
        .bind(actor.session_user_id())
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            // Another request delivered it first.
            return Ok(());
        }
        let m = load(&mut tx, id).await?;
        self.receipt_about(&mut tx, ReceiptKind::Delivery, &m, now)
            .await?;
        let recipient = self.mailbox_by_id(&m.recipient_mailbox_id).await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new("message.deliver", "success")
                .tenant(&recipient.tenant_id)
                .target("message", &m.id, &m.arrival_number)
                .details(json!({"document": document})),
        )
        .await?;
        tx.commit().await
    }

    /// Moves a delivered message to long-term storage (within the mailbox's quota), or back.
    pub async fn set_long_term(
        &self,
        actor: &Actor,
        address: &str,
        message_id: &str,
        keep: bool,
    ) -> Result<()> {
        let mailbox = self.open_mailbox(actor, address, Right::Read).await?;
        let located = self.locate(&mailbox, message_id).await?;
        if !located.recipient_side || located.kind == "system" {
            return Err(Error::field("message", "message.long_term_received_only"));
        }
        if located.delivered_at.is_none() {
            return Err(Error::field("message", "message.long_term_not_delivered"));
        }
        if located.long_term == keep {
            return Ok(());
        }
        let quota = self
            .settings()
            .snapshot(&mailbox.tenant_id)
            .await?
            .number("mailbox_long_term_quota");
        let now = self.now();
        let mut tx = self.db().write().await?;
        let delta = if keep { 1 } else { -1 };
        let room = sqlx::query(
            "UPDATE mailboxes SET long_term_count = long_term_count + $1 \
             WHERE id = $2 AND ($1 < 0 OR long_term_count < $3)",
        )
        .bind(delta)
        .bind(&mailbox.id)
        .bind(quota)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if room == 0 {
            return Err(Error::Conflict("conflict.long_term_quota"));
        }
        sqlx::query("UPDATE messages SET long_term = $1 WHERE id = $2")
            .bind(i64::from(keep))
            .bind(&located.id)
            .execute(tx.conn())
            .await?;
        audit::record(
            &mut tx,
            now,
            &actor.audit(),
            &actor.ctx,
            AuditEvent::new(
                if keep {
                    "message.long_term"
                } else {
                    "message.long_term_end"
                },
                "success",
            )
            .tenant(&mailbox.tenant_id)
            .target("message", &located.id, &mailbox.address),
        )
        .await?;
        tx.commit().await
    }
}
