//! CSV exports of the mailbox's lists: messages and the office directory.

use kapu_core::mailbox::messages::MessageSummary;
use kapu_core::mailbox::offices::Office;
use kapu_core::platform::csv::CsvWriter;
use kapu_core::platform::i18n::Lang;

use crate::exports::{header_row, opt};

fn state(m: &MessageSummary) -> String {
    serde_json::to_value(m.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn messages(lang: Lang, items: &[MessageSummary], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&[
            "id",
            "arrival_number",
            "arrival_number_machine",
            "arrived_at",
            "kind",
            "sender",
            "sender_name",
            "recipient",
            "recipient_name",
            "doc_type",
            "doc_type_desc",
            "reference",
            "size",
            "document_count",
            "state",
            "long_term",
        ]);
        for m in items {
            w.row(&[
                m.id.clone(),
                m.arrival_number.clone(),
                m.arrival_number_machine.clone(),
                m.arrived_at.clone(),
                m.kind.clone(),
                opt(&m.sender),
                m.sender_name.clone(),
                m.recipient.clone(),
                m.recipient_name.clone(),
                m.doc_type.clone(),
                m.doc_type_desc.clone(),
                m.reference.clone(),
                m.size.to_string(),
                m.document_count.to_string(),
                state(m),
                m.long_term.to_string(),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &[
                "col.arrival_number",
                "col.arrived_at",
                "col.sender_name",
                "col.message_kind",
                "col.doc_type",
                "col.reference",
                "col.size",
                "col.state",
            ],
        );
        for m in items {
            w.row(&[
                m.arrival_number.clone(),
                m.arrived_at.clone(),
                m.sender_name.clone(),
                m.kind.clone(),
                m.doc_type.clone(),
                m.reference.clone(),
                m.size.to_string(),
                state(m),
            ]);
        }
    }
    w.finish()
}

pub fn offices(lang: Lang, items: &[Office], detailed: bool) -> String {
    let mut w = CsvWriter::new();
    if detailed {
        w.row(&[
            "short_name",
            "name",
            "tenant",
            "office_type",
            "connection",
            "public_key",
            "closed_at",
            "created_at",
        ]);
        for o in items {
            w.row(&[
                o.short_name.clone(),
                o.name.clone(),
                o.tenant.clone(),
                o.office_type.clone(),
                o.connection.as_str().to_string(),
                opt(&o.public_key),
                opt(&o.closed_at),
                o.created_at.clone(),
            ]);
        }
    } else {
        header_row(
            &mut w,
            lang,
            &["col.short_name", "col.name", "col.office_type"],
        );
        for o in items {
            w.row(&[
                o.short_name.clone(),
                o.name.clone(),
                o.office_type_name.clone(),
            ]);
        }
    }
    w.finish()
}
