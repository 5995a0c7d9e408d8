//! What a send writes once it has been accepted: the message with its arrival number, its
//! documents, its submission receipt, its business-log record and its arrival notices. The
//! filer runs it inside a group's transaction, and again alone when the group failed.

use serde_json::json;

use super::filing::{Filed as FilingResult, Job};
use super::mailboxes::MailboxRow;
use super::messages::{
    self, DocumentInfo, Ledger, MessageDetail, MessageState, MessageSummary, NewMessage,
    ReceiptInfo,
};
use super::receipts::{ReceiptDocument, ReceiptKind, Subject};
use crate::Kapu;
use crate::actor::{AuditActor, RequestCtx};
use crate::error::Result;
use crate::platform::audit::{self, AuditEvent};
use crate::platform::blobs::StoredBlob;
use crate::platform::db::WriteTx;
use crate::platform::rows::Table;
use crate::platform::time_fmt;

static DOCUMENTS: Table = Table::new(
    "documents",
    &[
        "id",
        "message_id",
        "position",
        "file_name",
        "media_type",
        "size",
        "sha256",
        "blob_key",
        "sealed_key",
    ],
);

/// Everything a send writes, owned, for the filing task.
pub(super) struct Filing {
    pub(super) audit: AuditActor,
    pub(super) ctx: RequestCtx,
    pub(super) sender_user_id: String,
    pub(super) limits: super::send_limits::SendLimits,
    pub(super) sender: MailboxRow,
    pub(super) recipient: MailboxRow,
    pub(super) kind: &'static str,
    pub(super) sender_name: String,
    pub(super) doc_type: String,
    pub(super) desc: String,
    pub(super) version: Option<String>,
    pub(super) reference: String,
    pub(super) note: Option<String>,
    pub(super) receipt_requested: bool,
    pub(super) in_reply_to: Option<String>,
    pub(super) end_to_end: bool,
    pub(super) client: Option<String>,
    pub(super) digest: String,
    pub(super) size: i64,
    pub(super) expires_at: i64,
    pub(super) now: i64,
    /// `(file name, media type, blob)`.
    pub(super) documents: Vec<(String, String, StoredBlob)>,
}

impl Job for Filing {
    fn file<'a>(
        &'a self,
        kapu: &'a Kapu,
        tx: &'a mut WriteTx,
        ledger: &'a mut Ledger,
    ) -> futures_util::future::BoxFuture<'a, Result<FilingResult>> {
        Box::pin(file_one(kapu, tx, ledger, self))
    }
}

/// Files one send inside the group's transaction: the message with its arrival number, its
/// documents, its submission receipt, its audit record and its arrival notices.
async fn file_one(
    kapu: &Kapu,
    tx: &mut WriteTx,
    ledger: &mut Ledger,
    f: &Filing,
) -> Result<FilingResult> {
    let now = f.now;
    super::send_limits::count_send(
        tx,
        &mut ledger.sends,
        &f.sender_user_id,
        f.size,
        f.limits,
        now,
    )
    .await?;
    let filed = messages::insert(
        kapu,
        tx,
        ledger,
        &NewMessage {
            kind: f.kind,
            sender: Some(&f.sender),
            recipient: &f.recipient,
            sender_user_id: Some(&f.sender_user_id),
            sender_name: &f.sender_name,
            doc_type: &f.doc_type,
            doc_type_desc: &f.desc,
            doc_type_version: f.version.as_deref(),
            reference: &f.reference,
            note: f.note.as_deref(),
            receipt_requested: f.receipt_requested,
            in_reply_to: f.in_reply_to.as_deref(),
            about: None,
            size: f.size,
            documents: f.documents.len() as i64,
            end_to_end: f.end_to_end,
            expires_at: Some(f.expires_at),
            client_id: f.client.as_deref(),
            content_digest: Some(&f.digest),
        },
        now,
    )
    .await?;
    for (i, (name, media_type, blob)) in f.documents.iter().enumerate() {
        tx.insert(
            &DOCUMENTS,
            vec![
                uuid::Uuid::now_v7().to_string().into(),
                filed.id.as_str().into(),
                (i as i64 + 1).into(),
                name.as_str().into(),
                media_type.as_str().into(),
                blob.size.into(),
                blob.sha256.as_str().into(),
                blob.key.as_str().into(),
                blob.sealed_key.as_str().into(),
            ],
        )
        .await?;
    }
    let receipt_docs: Vec<ReceiptDocument<'_>> = f
        .documents
        .iter()
        .map(|(name, media_type, blob)| ReceiptDocument {
            name,
            media_type,
            size: blob.size,
            sha256: &blob.sha256,
        })
        .collect();
    let (receipt, receipt_message) = kapu
        .issue_receipt(
            tx,
            ledger,
            ReceiptKind::Submission,
            &Subject {
                id: &filed.id,
                arrival_number: &filed.arrival_number,
                arrival_machine: &filed.arrival_machine,
                arrived_at: now,
                sender: &f.sender,
                sender_name: &f.sender_name,
                recipient: &f.recipient,
                reference: &f.reference,
                doc_type: &f.doc_type,
                end_to_end: f.end_to_end,
                documents: &receipt_docs,
            },
            now,
        )
        .await?;
    audit::record(
        tx,
        now,
        &f.audit,
        &f.ctx,
        AuditEvent::new("message.send", "success")
            .tenant(&f.sender.tenant_id)
            .target("message", &filed.id, &filed.arrival_number)
            .details(json!({"from": f.sender.address, "to": f.recipient.address,
                "doc_type": f.doc_type, "documents": f.documents.len(), "size": f.size})),
    )
    .await?;
    kapu.notify_arrival(
        tx,
        ledger,
        &f.recipient,
        &filed.id,
        &filed.arrival_number,
        now,
    )
    .await?;
    // The answer is built from what was just written, without reading it back.
    let arrived_at = time_fmt::rfc3339(now);
    let message = MessageDetail {
        summary: MessageSummary {
            id: filed.id.clone(),
            arrival_number: filed.arrival_number,
            arrival_number_machine: filed.arrival_machine,
            arrived_at: arrived_at.clone(),
            kind: f.kind.to_string(),
            sender: Some(f.sender.address.clone()),
            sender_name: f.sender_name.clone(),
            recipient: f.recipient.address.clone(),
            recipient_name: f.recipient.name.clone(),
            doc_type: f.doc_type.clone(),
            doc_type_desc: f.desc.clone(),
            reference: f.reference.clone(),
            size: f.size,
            document_count: f.documents.len() as i64,
            state: MessageState::New,
            long_term: false,
        },
        doc_type_version: f.version.clone(),
        note: f.note.clone(),
        receipt_requested: f.receipt_requested,
        end_to_end: f.end_to_end,
        in_reply_to: f.in_reply_to.clone(),
        about: None,
        delivered_at: None,
        expires_at: Some(time_fmt::rfc3339(f.expires_at)),
        expired_at: None,
        documents: f
            .documents
            .iter()
            .enumerate()
            .map(|(i, (name, media_type, blob))| DocumentInfo {
                position: i as i64 + 1,
                name: name.clone(),
                media_type: media_type.clone(),
                size: blob.size,
                sha256: blob.sha256.clone(),
                available: true,
            })
            .collect(),
        receipts: vec![ReceiptInfo {
            kind: ReceiptKind::Submission,
            issued_at: arrived_at,
            message_id: receipt_message,
            jws: receipt.clone(),
        }],
    };
    Ok(FilingResult { message, receipt })
}
