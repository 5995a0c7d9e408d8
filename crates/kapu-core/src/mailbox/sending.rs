//! Sending: documents stream into the blob store first; then the message, its arrival
//! number, its submission receipt, its audit record and its notifications commit together.
//! A send that fails at any point leaves no blob behind; a repeated send with the same client
//! message id returns the first result and stores nothing new.

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::document_types;
use super::mailboxes::{MailboxKind, MailboxRow};
use super::send_limits::{self, SendLimits};
use super::send_writes;
use super::validate;
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, FieldError, Result};
use crate::platform::blobs::{BlobWriter, StoredBlob};
use crate::platform::i18n::Lang;
use crate::platform::time_fmt;

const MIB: i64 = 1024 * 1024;
/// Most documents one message carries (as many as an envelope may).
const DOCUMENTS_MAX: usize = 100;

/// The fields of a message; the documents come through an [`Upload`].
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// An office's short name; may be left out when replying.
    pub recipient: Option<String>,
    pub doc_type: String,
    pub doc_type_desc: String,
    pub doc_type_version: Option<String>,
    pub reference: String,
    pub note: Option<String>,
    pub receipt_requested: bool,
    /// A message in the sending mailbox's inbox: the reply goes to its sender.
    pub in_reply_to: Option<String>,
    /// The client's id for this send: a repeat with the same id returns the first result.
    pub client_id: Option<String>,
    /// The documents are `age` files encrypted to the recipient office's public key.
    pub end_to_end: bool,
}

/// An accepted message, with its submission receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sent {
    pub message: super::messages::MessageDetail,
    /// The submission receipt (compact JWS).
    pub receipt: String,
    /// False when this answer repeats an earlier send with the same client id.
    pub created: bool,
}

struct Uploaded {
    name: String,
    media_type: String,
    blob: StoredBlob,
    /// Starts like a file of the `age` tool.
    age: bool,
}

/// Documents on their way in, for one message from one mailbox.
pub struct Upload {
    kapu: Kapu,
    sender: MailboxRow,
    /// The account that sends, and what it may send.
    user_id: String,
    limits: SendLimits,
    max_document: i64,
    max_message: i64,
    documents: Vec<Uploaded>,
    /// The recipient and the limits were looked at before the first document.
    looked: bool,
}

/// One document being written.
pub struct DocumentWriter {
    name: String,
    media_type: String,
    writer: BlobWriter,
    head: Vec<u8>,
}

impl DocumentWriter {
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.head.len() < validate::AGE_HEADER.len() {
            let take = (validate::AGE_HEADER.len() - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
        }
        self.writer.write(data).await
    }
}

impl Upload {
    /// The most a message of this sender may carry, in bytes.
    pub fn max_message(&self) -> i64 {
        self.max_message
    }

    /// Before the first document is stored: refuses an account over its send limits, and a
    /// recipient already named that cannot receive, so that nothing is streamed in vain.
    /// Fields that come after the documents are checked when the message is filed.
    pub async fn before_documents(&mut self, out: &Outgoing) -> Result<()> {
        if std::mem::replace(&mut self.looked, true) {
            return Ok(());
        }
        send_limits::look(self.kapu.db(), &self.user_id, self.limits, self.kapu.now()).await?;
        let named = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        if named(&out.recipient) || named(&out.in_reply_to) {
            self.kapu.resolve_recipient(&self.sender, out).await?;
        }
        Ok(())
    }

    /// Starts a document; `name` and `media_type` are checked and tidied here.
    pub fn begin(&self, name: &str, media_type: Option<&str>) -> Result<DocumentWriter> {
        if self.documents.len() >= DOCUMENTS_MAX {
            return Err(Error::field("documents", "message.too_many_documents"));
        }
        let name = validate::file_name(name).map_err(|k| Error::field("documents", k))?;
        let used: i64 = self.documents.iter().map(|d| d.blob.size).sum();
        let limit = self.max_document.min(self.max_message - used);
        Ok(DocumentWriter {
            name,
            media_type: validate::media_type(media_type),
            writer: self.kapu.blobs().writer(limit.max(0), self.kapu.now())?,
            head: Vec::new(),
        })
    }

    pub async fn finish(&mut self, doc: DocumentWriter) -> Result<()> {
        let age = doc.head.starts_with(validate::AGE_HEADER);
        let blob = doc.writer.finish().await?;
        self.documents.push(Uploaded {
            name: doc.name,
            media_type: doc.media_type,
            blob,
            age,
        });
        Ok(())
    }

    /// Gives up a document half-way.
    pub async fn abort(&self, doc: DocumentWriter) {
        doc.writer.abort().await;
    }

    /// Removes every document written so far.
    pub async fn discard(self) {
        for d in &self.documents {
            if let Err(e) = self.kapu.blobs().delete(&d.blob.key).await {
                tracing::warn!(blob = %d.blob.key, error = %e, "cannot remove the blob of a refused send; the sweep will");
            }
        }
    }
}

/// The digest a repeated send is compared by: every field and every document's digest.
fn content_digest(sender: &str, recipient: &str, o: &Outgoing, docs: &[Uploaded]) -> String {
    let docs: Vec<_> = docs
        .iter()
        .map(|d| json!([d.name, d.media_type, d.blob.size, d.blob.sha256]))
        .collect();
    let canonical = json!([
        sender,
        recipient,
        o.doc_type,
        o.doc_type_desc,
        o.doc_type_version,
        o.reference,
        o.note,
        o.receipt_requested,
        o.in_reply_to,
        o.end_to_end,
        docs
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn client_id(s: Option<&str>) -> Result<Option<String>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(id) if id.len() <= 100 && id.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(Some(id.to_string()))
        }
        Some(_) => Err(Error::field("client_id", "message.client_id_format")),
    }
}

impl Kapu {
    /// Opens an upload from a mailbox the caller may send from.
    pub async fn start_upload(&self, actor: &Actor, address: &str) -> Result<Upload> {
        let sender = self.open_mailbox_to_send(actor, address).await?;
        if sender.closed_at.is_some() {
            return Err(Error::field("sender", "mailbox.closed"));
        }
        let settings = self.settings().snapshot(&sender.tenant_id).await?;
        let citizen = actor.citizen();
        Ok(Upload {
            kapu: self.clone(),
            user_id: actor.session_user_id().to_string(),
            limits: SendLimits::of(&settings, citizen),
            max_document: settings.number("mailbox_max_document_mb") * MIB,
            max_message: settings.number("mailbox_max_message_mb") * MIB,
            sender,
            documents: Vec::new(),
            looked: false,
        })
    }

    /// Files the message; on any refusal the upload's documents are removed.
    pub async fn send(&self, actor: &Actor, upload: Upload, out: &Outgoing) -> Result<Sent> {
        match self.send_uploaded(actor, &upload, out).await {
            Ok(sent) if sent.created => Ok(sent),
            other => {
                upload.discard().await;
                other
            }
        }
    }

    /// Files what a door read, or removes the upload when reading it failed.
    pub async fn send_read(
        &self,
        actor: &Actor,
        upload: Upload,
        read: Result<Outgoing>,
    ) -> Result<Sent> {
        match read {
            Ok(out) => self.send(actor, upload, &out).await,
            Err(e) => {
                upload.discard().await;
                Err(e)
            }
        }
    }

    async fn send_uploaded(&self, actor: &Actor, upload: &Upload, out: &Outgoing) -> Result<Sent> {
        let sender = &upload.sender;
        let mut errors = Vec::new();
        let doc_type = validate::doc_type(&out.doc_type)
            .map_err(|k| errors.push(FieldError::new("doc_type", k)));

        let version = validate::text(out.doc_type_version.as_deref().unwrap_or(""), 20, "")
            .map_err(|k| errors.push(FieldError::new("doc_type_version", k)));
        // A citizen's reference is Kapu's to give when they leave it out.
        let citizen = actor.citizen();
        let reference = if citizen && out.reference.trim().is_empty() {
            Ok(format!("ÜK-{}", time_fmt::short(self.now())))
        } else {
            validate::text(&out.reference, 100, "message.reference_required")
                .map_err(|k| errors.push(FieldError::new("reference", k)))
        };
        let note = validate::note(out.note.as_deref().unwrap_or(""))
            .map_err(|k| errors.push(FieldError::new("note", k)));
        let client = client_id(out.client_id.as_deref())
            .inspect_err(|_| errors.push(FieldError::new("client_id", "message.client_id_format")));
        if upload.documents.is_empty() {
            errors.push(FieldError::new("documents", "message.no_documents"));
        }
        let recipient = self.resolve_recipient(sender, out).await;
        let recipient = match recipient {
            Ok(r) => Some(r),
            Err(Error::Validation(mut f)) => {
                errors.append(&mut f);
                None
            }
            Err(e) => return Err(e),
        };
        // The office's list decides the type, and names it for a sender who chose it there.
        let mut listed_desc = None;
        if let (Some(r), Ok(code)) = (&recipient, &doc_type)
            && r.kind == MailboxKind::Office
        {
            let list = self.office_document_types(&r.id).await?;
            let version = out.doc_type_version.as_deref().unwrap_or("").trim();
            match document_types::accepts(&list, code, version) {
                Ok(listed) => listed_desc = listed.map(|t| t.description.clone()),
                Err(k) => errors.push(FieldError::new("doc_type", k)),
            }
            if code == document_types::GENERAL_LETTER {
                listed_desc = Some(document_types::general_letter(Lang::Hu).description);
            }
        }
        let desc = match (out.doc_type_desc.trim().is_empty(), listed_desc) {
            (true, Some(listed)) => Ok(listed),
            _ => validate::text(&out.doc_type_desc, 200, "message.doc_type_desc_required")
                .map_err(|k| errors.push(FieldError::new("doc_type_desc", k))),
        };
        if let Some(r) = &recipient
            && out.end_to_end
            && r.public_key.is_none()
        {
            errors.push(FieldError::new("end_to_end", "message.no_public_key"));
        }
        if out.end_to_end && upload.documents.iter().any(|d| !d.age) {
            errors.push(FieldError::new("documents", "message.not_age_encrypted"));
        }
        let (
            Ok(doc_type),
            Ok(desc),
            Ok(version),
            Ok(reference),
            Ok(note),
            Ok(client),
            Some(recipient),
            true,
        ) = (
            doc_type,
            desc,
            version,
            reference,
            note,
            client,
            recipient,
            errors.is_empty(),
        )
        else {
            return Err(Error::Validation(errors));
        };
        let digest = content_digest(&sender.address, &recipient.address, out, &upload.documents);
        if let Some(id) = &client
            && let Some(previous) = self.previous_send(sender, id, &digest).await?
        {
            return Ok(previous);
        }
        let now = self.now();
        let settings = self.settings().snapshot(&recipient.tenant_id).await?;
        let expires_at = now + settings.duration_ms("mailbox_retention");
        let size: i64 = upload.documents.iter().map(|d| d.blob.size).sum();
        let kind = match sender.kind {
            MailboxKind::Office => "office",
            MailboxKind::Personal => "personal",
        };
        let sender_name = match sender.kind {
            MailboxKind::Office => sender.address.clone(),
            MailboxKind::Personal => sender.name.clone(),
        };
        let filing = send_writes::Filing {
            audit: actor.audit(),
            ctx: actor.ctx.clone(),
            sender_user_id: actor.session_user_id().to_string(),
            limits: upload.limits,
            sender: sender.clone(),
            recipient,
            kind,
            sender_name,
            doc_type,
            desc,
            version: Some(version).filter(|v| !v.is_empty()),
            reference,
            note: Some(note).filter(|n| !n.is_empty()),
            receipt_requested: out.receipt_requested,
            in_reply_to: out.in_reply_to.clone(),
            end_to_end: out.end_to_end,
            client: client.clone(),
            digest: digest.clone(),
            size,
            expires_at,
            now,
            documents: upload
                .documents
                .iter()
                .map(|d| (d.name.clone(), d.media_type.clone(), d.blob.clone()))
                .collect(),
        };
        let filed = self.filer().file(Box::new(filing)).await;
        let filed = match filed {
            Ok(f) => f,
            Err(Error::Conflict(_)) if client.is_some() => {
                // Another request with the same id won the race.
                let id = client.as_deref().unwrap_or_default();
                return self
                    .previous_send(sender, id, &digest)
                    .await?
                    .ok_or(Error::Conflict("conflict.idempotency_key_reused"));
            }
            Err(e) => return Err(e),
        };
        Ok(Sent {
            message: filed.message,
            receipt: filed.receipt,
            created: true,
        })
    }

    /// The recipient: the sender of the message replied to, or an open office by short name.
    async fn resolve_recipient(&self, sender: &MailboxRow, out: &Outgoing) -> Result<MailboxRow> {
        let named = out
            .recipient
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if let Some(original) = out.in_reply_to.as_deref().filter(|r| !r.is_empty()) {
            let row = sqlx::query(
                "SELECT sender_mailbox_id FROM messages WHERE id = $1 AND recipient_mailbox_id = $2 AND kind <> 'system'",
            )
            .bind(original)
            .bind(&sender.id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or_else(|| Error::field("in_reply_to", "message.reply_unknown"))?;
            let to: Option<String> = row.try_get("sender_mailbox_id")?;
            let to = self
                .mailbox_by_id(&to.unwrap_or_default())
                .await
                .map_err(|_| Error::field("in_reply_to", "message.reply_unknown"))?;
            if named.is_some_and(|n| n != to.address) {
                return Err(Error::field(
                    "recipient",
                    "message.reply_recipient_mismatch",
                ));
            }
            if to.closed_at.is_some() {
                return Err(Error::field("recipient", "mailbox.closed"));
            }
            return Ok(to);
        }
        let Some(short) = named else {
            return Err(Error::field("recipient", "message.recipient_required"));
        };
        let to = match self.office_to_send(short).await {
            Ok(m) => m,
            Err(Error::NotFound) => {
                return Err(Error::field("recipient", "message.recipient_unknown"));
            }
            Err(e) => return Err(e),
        };
        if to.closed_at.is_some() {
            return Err(Error::field("recipient", "mailbox.closed"));
        }
        Ok(to)
    }

    /// The first result of a send with this client id, or `conflict` when its content differs.
    async fn previous_send(
        &self,
        sender: &MailboxRow,
        client_id: &str,
        digest: &str,
    ) -> Result<Option<Sent>> {
        let row = sqlx::query(
            "SELECT m.id, m.content_digest, r.jws FROM messages m \
             JOIN receipts r ON r.message_id = m.id AND r.kind = 'submission' \
             WHERE m.sender_mailbox_id = $1 AND m.client_id = $2",
        )
        .bind(&sender.id)
        .bind(client_id)
        .fetch_optional(self.db().pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: Option<String> = row.try_get("content_digest")?;
        if stored.as_deref() != Some(digest) {
            return Err(Error::Conflict("conflict.idempotency_key_reused"));
        }
        let id: String = row.try_get("id")?;
        Ok(Some(Sent {
            message: self.message_detail(&id).await?,
            receipt: row.try_get("jws")?,
            created: false,
        }))
    }
}
