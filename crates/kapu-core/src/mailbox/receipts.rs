//! Receipts (visszaigazolás): JWS documents Kapu signs when it accepts a message
//! (submission), when the recipient first downloads it (delivery), and when it expires unread
//! (non-delivery). Each is also a system message in the sender's mailbox, with an arrival
//! number of its own.

use serde::Serialize;

use super::mailboxes::MailboxRow;
use super::messages::{self, Ledger, NewMessage};
use crate::Kapu;
use crate::error::Result;
use crate::platform::db::WriteTx;
use crate::platform::rows::Table;
use crate::platform::time_fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    Submission,
    Delivery,
    NonDelivery,
}

impl ReceiptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Submission => "submission",
            ReceiptKind::Delivery => "delivery",
            ReceiptKind::NonDelivery => "non_delivery",
        }
    }
    pub fn parse(s: &str) -> Option<ReceiptKind> {
        match s {
            "submission" => Some(ReceiptKind::Submission),
            "delivery" => Some(ReceiptKind::Delivery),
            "non_delivery" => Some(ReceiptKind::NonDelivery),
            _ => None,
        }
    }
    /// The document type of the system message that carries it.
    fn doc_type(self) -> &'static str {
        match self {
            ReceiptKind::Submission => "VisszaIG",
            ReceiptKind::Delivery => "AtvetIG",
            ReceiptKind::NonDelivery => "MeghiusulIG",
        }
    }
    fn description(self) -> &'static str {
        match self {
            ReceiptKind::Submission => "Feladási igazolás",
            ReceiptKind::Delivery => "Átvételi igazolás",
            ReceiptKind::NonDelivery => "Meghiúsulási igazolás",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Party<'a> {
    pub mailbox: &'a str,
    pub name: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiptDocument<'a> {
    pub name: &'a str,
    pub media_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
}

/// What a receipt says; its JSON is the JWS payload.
#[derive(Debug, Clone, Serialize)]
pub struct Payload<'a> {
    pub iss: &'a str,
    pub iat: i64,
    pub jti: &'a str,
    pub receipt: &'static str,
    pub message_id: &'a str,
    pub arrival_number: &'a str,
    pub arrival_number_machine: &'a str,
    pub arrived_at: String,
    /// When it was delivered (first download) or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_at: Option<String>,
    pub sender: Party<'a>,
    pub recipient: Party<'a>,
    pub reference: &'a str,
    pub document_type: &'a str,
    pub end_to_end: bool,
    pub documents: Vec<ReceiptDocument<'a>>,
}

/// The message a receipt is about, as the receipt needs it.
pub(crate) struct Subject<'a> {
    pub id: &'a str,
    pub arrival_number: &'a str,
    pub arrival_machine: &'a str,
    pub arrived_at: i64,
    pub sender: &'a MailboxRow,
    pub sender_name: &'a str,
    pub recipient: &'a MailboxRow,
    pub reference: &'a str,
    pub doc_type: &'a str,
    pub end_to_end: bool,
    pub documents: &'a [ReceiptDocument<'a>],
}

static RECEIPTS: Table = Table::new(
    "receipts",
    &[
        "id",
        "message_id",
        "kind",
        "system_message_id",
        "jws",
        "issued_at",
    ],
);

pub(crate) const JWS_TYPE: &str = "kapu-receipt+jwt";

impl Kapu {
    /// Signs a receipt and files it, as a system message, in the sender's mailbox; returns
    /// the receipt and the system message's id.
    pub(crate) async fn issue_receipt(
        &self,
        tx: &mut WriteTx,
        ledger: &mut Ledger,
        kind: ReceiptKind,
        subject: &Subject<'_>,
        now: i64,
    ) -> Result<(String, String)> {
        let id = uuid::Uuid::now_v7().to_string();
        let iss = self.config().public_url.clone();
        let payload = Payload {
            iss: &iss,
            iat: now / 1000,
            jti: &id,
            receipt: kind.as_str(),
            message_id: subject.id,
            arrival_number: subject.arrival_number,
            arrival_number_machine: subject.arrival_machine,
            arrived_at: time_fmt::rfc3339(subject.arrived_at),
            event_at: (kind != ReceiptKind::Submission).then(|| time_fmt::rfc3339(now)),
            sender: Party {
                mailbox: &subject.sender.address,
                name: subject.sender_name,
            },
            recipient: Party {
                mailbox: &subject.recipient.address,
                name: &subject.recipient.name,
            },
            reference: subject.reference,
            document_type: subject.doc_type,
            end_to_end: subject.end_to_end,
            documents: subject.documents.to_vec(),
        };
        let jws = self.keys().sign_jws(JWS_TYPE, &payload, now).await?;
        let system_message = messages::insert(
            self,
            tx,
            ledger,
            &NewMessage {
                kind: "system",
                sender: None,
                recipient: subject.sender,
                sender_user_id: None,
                sender_name: "Kapu",
                doc_type: kind.doc_type(),
                doc_type_desc: kind.description(),
                doc_type_version: None,
                reference: subject.reference,
                note: None,
                receipt_requested: false,
                in_reply_to: None,
                about: Some(subject.id),
                size: jws.len() as i64,
                documents: 0,
                end_to_end: false,
                expires_at: None,
                client_id: None,
                content_digest: None,
            },
            now,
        )
        .await?;
        tx.insert(
            &RECEIPTS,
            vec![
                id.into(),
                subject.id.into(),
                kind.as_str().into(),
                system_message.id.as_str().into(),
                jws.as_str().into(),
                now.into(),
            ],
        )
        .await?;
        Ok((jws, system_message.id))
    }
}
