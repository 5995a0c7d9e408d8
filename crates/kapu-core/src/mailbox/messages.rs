//! Messages: filing one with its arrival number, the folder lists, and one message's view.

use serde::Serialize;
use sqlx::Row;

use super::arrival_number::{self, Counter};
use super::mailboxes::MailboxRow;
use super::receipts::ReceiptKind;
use super::rights::Right;
use crate::Kapu;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::platform::db::{WriteTx, flag};
use crate::platform::fold::fold;
use crate::platform::list::{ListQuery, Page};
use crate::platform::rows::Table;
use crate::platform::time_fmt;

pub(crate) struct NewMessage<'a> {
    /// `office`, `personal` (by who sent it) or `system` (a receipt).
    pub kind: &'static str,
    pub sender: Option<&'a MailboxRow>,
    pub recipient: &'a MailboxRow,
    pub sender_user_id: Option<&'a str>,
    pub sender_name: &'a str,
    pub doc_type: &'a str,
    pub doc_type_desc: &'a str,
    pub doc_type_version: Option<&'a str>,
    pub reference: &'a str,
    pub note: Option<&'a str>,
    pub receipt_requested: bool,
    pub in_reply_to: Option<&'a str>,
    pub about: Option<&'a str>,
    pub size: i64,
    pub documents: i64,
    pub end_to_end: bool,
    pub expires_at: Option<i64>,
    pub client_id: Option<&'a str>,
    pub content_digest: Option<&'a str>,
}

pub(crate) struct Filed {
    pub id: String,
    pub arrival_number: String,
    pub arrival_machine: String,
}

/// What a transaction that files messages has yet to write back: the arrival counter, read
/// once, and each mailbox's folder sizes. Filing many messages in one transaction then
/// writes these rows once, not once per message. It also remembers, for the transaction,
/// who is told of an arrival in each mailbox.
#[derive(Default)]
pub(crate) struct Ledger {
    counter: Option<Counter>,
    /// Mailbox id → (inbox, sent, receipts) added.
    counts: std::collections::HashMap<String, [i64; 3]>,
    /// Mailbox id → the addresses its arrival notices go to.
    pub(crate) notice_addresses: std::collections::HashMap<String, Vec<String>>,
    /// Account → what it sent, for its send limits.
    pub(crate) sends: std::collections::HashMap<String, super::send_limits::Tally>,
}

impl Ledger {
    async fn next(&mut self, tx: &mut WriteTx, now_second: i64) -> Result<Counter> {
        let current = match self.counter {
            Some(c) => c,
            None => {
                let row =
                    sqlx::query("SELECT seq, second, in_second FROM arrival_counter WHERE id = 1")
                        .fetch_one(tx.conn())
                        .await?;
                Counter {
                    seq: row.try_get("seq")?,
                    second: row.try_get("second")?,
                    in_second: row.try_get("in_second")?,
                }
            }
        };
        let next = arrival_number::next(current, now_second);
        self.counter = Some(next);
        Ok(next)
    }

    /// Writes the counter and the folder sizes; call before the transaction commits.
    pub(crate) async fn flush(&mut self, tx: &mut WriteTx) -> Result<()> {
        if let Some(c) = self.counter {
            sqlx::query(
                "UPDATE arrival_counter SET seq = $1, second = $2, in_second = $3 WHERE id = 1",
            )
            .bind(c.seq)
            .bind(c.second)
            .bind(c.in_second)
            .execute(tx.conn())
            .await?;
        }
        let mut counts: Vec<_> = self.counts.drain().collect();
        // The same order on every node, so that two groups never wait on each other's rows.
        counts.sort();
        for (id, [inbox, sent, receipts]) in counts {
            sqlx::query(
                "UPDATE mailboxes SET inbox_count = inbox_count + $1, sent_count = sent_count + $2, \
                 receipt_count = receipt_count + $3 WHERE id = $4",
            )
            .bind(inbox)
            .bind(sent)
            .bind(receipts)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        }
        super::send_limits::flush(tx, &mut self.sends).await
    }
}

static MESSAGES: Table = Table::new(
    "messages",
    &[
        "id",
        "kind",
        "sender_mailbox_id",
        "recipient_mailbox_id",
        "sender_user_id",
        "sender_name",
        "arrival_seq",
        "arrival_number",
        "arrival_machine",
        "arrived_at",
        "doc_type",
        "doc_type_desc",
        "doc_type_version",
        "reference",
        "subject_key",
        "note",
        "receipt_requested",
        "in_reply_to",
        "about_message_id",
        "size",
        "documents",
        "e2e",
        "expires_at",
        "client_id",
        "content_digest",
    ],
);

/// Takes the next arrival number and files the message, inside the caller's transaction
/// (which holds the write lock, so numbers are handed out one at a time on every node).
pub(crate) async fn insert(
    kapu: &Kapu,
    tx: &mut WriteTx,
    ledger: &mut Ledger,
    m: &NewMessage<'_>,
    now: i64,
) -> Result<Filed> {
    let counter = ledger.next(tx, now.div_euclid(1000)).await?;
    let global = kapu.settings().snapshot("").await?;
    let number = arrival_number::format(
        global.number("mailbox_system_id"),
        counter,
        now,
        global.zone(),
    );
    let id = uuid::Uuid::now_v7().to_string();
    let row = vec![
        id.as_str().into(),
        m.kind.into(),
        m.sender.map(|s| s.id.as_str()).into(),
        m.recipient.id.as_str().into(),
        m.sender_user_id.into(),
        m.sender_name.into(),
        counter.seq.into(),
        number.human.as_str().into(),
        number.machine.as_str().into(),
        now.into(),
        m.doc_type.into(),
        m.doc_type_desc.into(),
        m.doc_type_version.into(),
        m.reference.into(),
        fold(&format!("{} {} {}", m.reference, m.sender_name, m.doc_type)).into(),
        m.note.into(),
        flag(m.receipt_requested).into(),
        m.in_reply_to.into(),
        m.about.into(),
        m.size.into(),
        m.documents.into(),
        flag(m.end_to_end).into(),
        m.expires_at.into(),
        m.client_id.into(),
        m.content_digest.into(),
    ];
    tx.insert(&MESSAGES, row)
        .await
        .map_err(|e| e.unique_as("conflict.idempotency_key_reused"))?;
    let recipient = ledger.counts.entry(m.recipient.id.clone()).or_default();
    recipient[0] += 1;
    recipient[2] += i64::from(m.kind == "system");
    if let Some(sender) = m.sender {
        ledger.counts.entry(sender.id.clone()).or_default()[1] += 1;
    }
    Ok(Filed {
        id,
        arrival_number: number.human,
        arrival_machine: number.machine,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Folder {
    /// Everything that arrived, receipts included.
    Inbox,
    Sent,
    /// Receipts only.
    Receipts,
}

impl Folder {
    pub fn parse(s: Option<&str>) -> Option<Folder> {
        match s.unwrap_or("inbox") {
            "inbox" => Some(Folder::Inbox),
            "sent" => Some(Folder::Sent),
            "receipts" => Some(Folder::Receipts),
            _ => None,
        }
    }
    fn condition(self) -> &'static str {
        match self {
            Folder::Inbox => "m.recipient_mailbox_id = $1",
            Folder::Sent => "m.sender_mailbox_id = $1",
            Folder::Receipts => "m.recipient_mailbox_id = $1 AND m.kind = 'system'",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    New,
    Read,
    Delivered,
    Expired,
}

/// A message as the lists show it (the columns of the central system's inbox, and more).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageSummary {
    pub id: String,
    pub arrival_number: String,
    /// 27 digits: system id, `yyyyMMddHHmmss` (UTC), counter.
    pub arrival_number_machine: String,
    pub arrived_at: String,
    /// `office`, `personal` (a citizen or clerk's own mailbox) or `system` (a receipt).
    pub kind: String,
    /// The sender's mailbox address; none for system messages.
    pub sender: Option<String>,
    pub sender_name: String,
    pub recipient: String,
    pub recipient_name: String,
    pub doc_type: String,
    pub doc_type_desc: String,
    pub reference: String,
    pub size: i64,
    pub document_count: i64,
    pub state: MessageState,
    pub long_term: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentInfo {
    /// 1-based; the `{n}` of the download path.
    pub position: i64,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    /// Deleted after expiry or the keeping period.
    pub available: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptInfo {
    pub kind: ReceiptKind,
    pub issued_at: String,
    /// The system message that carries it.
    pub message_id: String,
    /// The signed receipt, a compact JWS; verify it with `/.well-known/jwks.json`.
    pub jws: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub summary: MessageSummary,
    pub doc_type_version: Option<String>,
    pub note: Option<String>,
    pub receipt_requested: bool,
    pub end_to_end: bool,
    pub in_reply_to: Option<String>,
    /// For a receipt: the message it is about.
    pub about: Option<String>,
    pub delivered_at: Option<String>,
    pub expires_at: Option<String>,
    pub expired_at: Option<String>,
    pub documents: Vec<DocumentInfo>,
    pub receipts: Vec<ReceiptInfo>,
}

const SUMMARY_SELECT: &str = "SELECT m.id, m.arrival_number, m.arrival_machine, m.arrived_at, m.kind, \
     s.address AS sender, m.sender_name, r.address AS recipient, r.name AS recipient_name, m.doc_type, \
     m.doc_type_desc, m.reference, m.size, m.documents, m.read_at, m.delivered_at, m.expired_at, m.long_term \
     FROM messages m JOIN mailboxes r ON r.id = m.recipient_mailbox_id \
     LEFT JOIN mailboxes s ON s.id = m.sender_mailbox_id";

/// The columns one message's view reads beside its summary's.
const DETAIL_COLUMNS: &str = "m.doc_type_version, m.note, m.receipt_requested, m.e2e, m.in_reply_to, \
     m.about_message_id, m.expires_at";

fn summary_from_row(r: &sqlx::any::AnyRow) -> Result<MessageSummary> {
    let read_at: Option<i64> = r.try_get("read_at")?;
    let delivered_at: Option<i64> = r.try_get("delivered_at")?;
    let expired_at: Option<i64> = r.try_get("expired_at")?;
    let long_term: i64 = r.try_get("long_term")?;
    let state = if expired_at.is_some() {
        MessageState::Expired
    } else if delivered_at.is_some() {
        MessageState::Delivered
    } else if read_at.is_some() {
        MessageState::Read
    } else {
        MessageState::New
    };
    Ok(MessageSummary {
        id: r.try_get("id")?,
        arrival_number: r.try_get("arrival_number")?,
        arrival_number_machine: r.try_get("arrival_machine")?,
        arrived_at: time_fmt::rfc3339(r.try_get("arrived_at")?),
        kind: r.try_get("kind")?,
        sender: r.try_get("sender")?,
        sender_name: r.try_get("sender_name")?,
        recipient: r.try_get("recipient")?,
        recipient_name: r.try_get("recipient_name")?,
        doc_type: r.try_get("doc_type")?,
        doc_type_desc: r.try_get("doc_type_desc")?,
        reference: r.try_get("reference")?,
        size: r.try_get("size")?,
        document_count: r.try_get("documents")?,
        state,
        long_term: long_term != 0,
    })
}

fn sort_column(key: Option<&str>) -> Result<&'static str> {
    Ok(match key.unwrap_or("arrived_at") {
        "arrived_at" | "arrival_number" => "m.arrival_seq",
        "sender_name" => "m.sender_name",
        "doc_type" => "m.doc_type",
        "reference" => "m.reference",
        "size" => "m.size",
        _ => return Err(Error::field("sort", "list.bad_sort")),
    })
}

/// Where a message stands relative to a mailbox.
pub(crate) struct Located {
    pub id: String,
    pub recipient_side: bool,
    pub delivered_at: Option<i64>,
    pub expired_at: Option<i64>,
    pub read_at: Option<i64>,
    pub long_term: bool,
    pub kind: String,
}

impl Kapu {
    /// A folder of a mailbox the caller may read; newest first unless sorted otherwise.
    pub async fn list_messages(
        &self,
        actor: &Actor,
        address: &str,
        folder: Folder,
        q: &ListQuery,
    ) -> Result<Page<MessageSummary>> {
        let mailbox = self.open_mailbox(actor, address, Right::Read).await?;
        let max = self
            .settings()
            .snapshot(&actor.tenant_id)
            .await?
            .number("list_max_page_size");
        let (page, per_page, offset) = q.window(max);
        let order = sort_column(q.sort.as_deref())?;
        // Newest first by default: an inbox is read from the top.
        let dir = if q.sort.is_none() || q.desc {
            "DESC"
        } else {
            "ASC"
        };
        let pattern = q.like_pattern();
        let cond = format!(
            "{} AND ($2 IS NULL OR m.subject_key LIKE $2 ESCAPE '\\' OR m.arrival_number LIKE $2 ESCAPE '\\')",
            folder.condition()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUMMARY_SELECT} WHERE {cond} ORDER BY {order} {dir}, m.arrival_seq {dir} LIMIT $3 OFFSET $4"
        )))
        .bind(&mailbox.id)
        .bind(pattern.as_deref())
        .bind(per_page)
        .bind(offset)
        .fetch_all(self.db().pool())
        .await?;
        let total: i64 = match (&pattern, folder) {
            // Unfiltered: the folder's kept size, not a count over the whole mailbox.
            (None, Folder::Inbox) => mailbox.counts.0,
            (None, Folder::Sent) => mailbox.counts.1,
            (None, Folder::Receipts) => mailbox.counts.2,
            (Some(_), _) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM messages m WHERE {cond}"
                )))
                .bind(&mailbox.id)
                .bind(pattern.as_deref())
                .fetch_one(self.db().pool())
                .await?
            }
        };
        let items = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            total,
            page,
            per_page,
        })
    }

    /// A message of this mailbox (sent or received); anything else is not found.
    pub(crate) async fn locate(&self, mailbox: &MailboxRow, id: &str) -> Result<Located> {
        let row = sqlx::query(
            "SELECT id, recipient_mailbox_id, delivered_at, expired_at, read_at, long_term, kind \
             FROM messages WHERE id = $1 AND (recipient_mailbox_id = $2 OR sender_mailbox_id = $2)",
        )
        .bind(id)
        .bind(&mailbox.id)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        let recipient: String = row.try_get("recipient_mailbox_id")?;
        let long_term: i64 = row.try_get("long_term")?;
        Ok(Located {
            id: row.try_get("id")?,
            recipient_side: recipient == mailbox.id,
            delivered_at: row.try_get("delivered_at")?,
            expired_at: row.try_get("expired_at")?,
            read_at: row.try_get("read_at")?,
            long_term: long_term != 0,
            kind: row.try_get("kind")?,
        })
    }

    /// One message with its documents and receipts; opening a received one marks it read.
    pub async fn get_message(
        &self,
        actor: &Actor,
        address: &str,
        id: &str,
    ) -> Result<MessageDetail> {
        let mailbox = self.open_mailbox(actor, address, Right::Read).await?;
        let located = self.locate(&mailbox, id).await?;
        if located.recipient_side && located.read_at.is_none() {
            sqlx::query("UPDATE messages SET read_at = $1 WHERE id = $2 AND read_at IS NULL")
                .bind(self.now())
                .bind(id)
                .execute(self.db().pool())
                .await?;
        }
        self.message_detail(id).await
    }

    pub(crate) async fn message_detail(&self, id: &str) -> Result<MessageDetail> {
        // One read of the row: the summary's columns and the view's own.
        let select = SUMMARY_SELECT.replacen("SELECT ", &format!("SELECT {DETAIL_COLUMNS}, "), 1);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{select} WHERE m.id = $1")))
            .bind(id)
            .fetch_optional(self.db().pool())
            .await?
            .ok_or(Error::NotFound)?;
        let summary = summary_from_row(&row)?;
        let extra = &row;
        let documents = sqlx::query(
            "SELECT position, file_name, media_type, size, sha256, purged_at FROM documents \
             WHERE message_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(self.db().pool())
        .await?
        .iter()
        .map(|d| {
            let purged: Option<i64> = d.try_get("purged_at")?;
            Ok(DocumentInfo {
                position: d.try_get("position")?,
                name: d.try_get("file_name")?,
                media_type: d.try_get("media_type")?,
                size: d.try_get("size")?,
                sha256: d.try_get("sha256")?,
                available: purged.is_none(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        // A message's own receipts, or, for a receipt, the receipt it carries.
        let receipts = sqlx::query(
            "SELECT kind, issued_at, system_message_id, jws FROM receipts WHERE message_id = $1 \
             UNION ALL SELECT kind, issued_at, system_message_id, jws FROM receipts \
             WHERE system_message_id = $1 ORDER BY 2, 1",
        )
        .bind(id)
        .fetch_all(self.db().pool())
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(ReceiptInfo {
                kind: ReceiptKind::parse(&kind).unwrap_or(ReceiptKind::Submission),
                issued_at: time_fmt::rfc3339(r.try_get("issued_at")?),
                message_id: r.try_get("system_message_id")?,
                jws: r.try_get("jws")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let opt_time = |name: &str| -> Result<Option<String>> {
            let v: Option<i64> = extra.try_get(name)?;
            Ok(v.map(time_fmt::rfc3339))
        };
        let requested: i64 = extra.try_get("receipt_requested")?;
        let e2e: i64 = extra.try_get("e2e")?;
        Ok(MessageDetail {
            summary,
            doc_type_version: extra.try_get("doc_type_version")?,
            note: extra.try_get("note")?,
            receipt_requested: requested != 0,
            end_to_end: e2e != 0,
            in_reply_to: extra.try_get("in_reply_to")?,
            about: extra.try_get("about_message_id")?,
            delivered_at: opt_time("delivered_at")?,
            expires_at: opt_time("expires_at")?,
            expired_at: opt_time("expired_at")?,
            documents,
            receipts,
        })
    }

    /// The signed receipt a system message carries.
    pub async fn receipt_jws(
        &self,
        actor: &Actor,
        address: &str,
        id: &str,
    ) -> Result<(String, String)> {
        let mailbox = self.open_mailbox(actor, address, Right::Read).await?;
        let located = self.locate(&mailbox, id).await?;
        let row = sqlx::query(
            "SELECT r.jws, m.arrival_machine FROM receipts r JOIN messages m ON m.id = r.system_message_id \
             WHERE r.system_message_id = $1",
        )
        .bind(&located.id)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(Error::NotFound)?;
        Ok((row.try_get("jws")?, row.try_get("arrival_machine")?))
    }
}
