//! The mailbox pages: folders with a mailbox switcher, one message with its documents and
//! receipts, downloads, and long-term storage.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kapu_core::Kapu;
use kapu_core::mailbox::mailboxes::MyMailbox;
use kapu_core::mailbox::messages::{Folder, MessageState, MessageSummary};
use kapu_core::mailbox::receipts::ReceiptKind;
use serde::Deserialize;

use super::Tr;
use super::frame::{Frame, local_time, render};
use super::session::{WebActor, check_csrf};
use super::table::{Column, ListParams, csv_or_error, enc, error_page, frame};
use crate::context::Ctx;
use crate::{exports, mailbox_exports, transfer};

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    f: Frame,
    title: String,
    address: String,
    /// `(address, label, current)`.
    mailboxes: Vec<(String, String, bool)>,
    /// `(href, label, current)`.
    folders: Vec<(String, &'static str, bool)>,
    folder: &'static str,
    can_send: bool,
    q: String,
    caption: String,
    columns: Vec<Column>,
    /// `(href, cells, unread)`.
    rows: Vec<(String, Vec<String>, bool)>,
    export: String,
    prev: String,
    next: String,
    page_label: String,
}

fn folder_code(f: Folder) -> &'static str {
    match f {
        Folder::Inbox => "inbox",
        Folder::Sent => "sent",
        Folder::Receipts => "receipts",
    }
}

pub fn size_text(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

fn state_text(t: Tr, s: MessageState) -> &'static str {
    t.t(match s {
        MessageState::New => "mail.state_new",
        MessageState::Read => "mail.state_read",
        MessageState::Delivered => "mail.state_delivered",
        MessageState::Expired => "mail.state_expired",
    })
}

fn kind_text(t: Tr, kind: &str) -> &'static str {
    t.t(match kind {
        "office" => "mail.kind_office",
        "system" => "mail.kind_system",
        _ => "mail.kind_personal",
    })
}

fn mailbox_label(t: Tr, m: &MyMailbox) -> String {
    if m.address == "me" {
        t.t("mail.personal").to_string()
    } else {
        format!("{} – {}", m.address, m.name)
    }
}

pub async fn mail_root() -> Redirect {
    Redirect::to("/mail/me")
}

pub async fn mailbox(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(address): Path<String>,
    Query(list): Query<ListParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(list.notice.as_deref());
    let t = f.t;
    let Some(folder) = Folder::parse(list.folder.as_deref().filter(|s| !s.is_empty())) else {
        return error_page(f, &kapu_core::Error::NotFound);
    };
    let code = folder_code(folder);
    if let Some(detailed) = list.csv() {
        let all = exports::all_pages(&list.paging(), |q| {
            let (kapu, actor, address) = (kapu.clone(), actor.clone(), address.clone());
            async move { kapu.list_messages(&actor, &address, folder, &q).await }
        })
        .await;
        return csv_or_error(f, all, "messages", |all| {
            mailbox_exports::messages(ctx.1, all, detailed)
        });
    }
    let (mine, page) = match (
        kapu.my_mailboxes(&actor).await,
        kapu.list_messages(&actor, &address, folder, &list.paging())
            .await,
    ) {
        (Ok(m), Ok(p)) => (m, p),
        (Err(e), _) | (_, Err(e)) => return error_page(f, &e),
    };
    let current = mine.iter().find(|m| m.address == address);
    let can_send = current.is_some_and(|m| m.rights.contains(&"send") && !m.closed);
    let title = current
        .map(|m| mailbox_label(t, m))
        .unwrap_or_else(|| address.clone());
    // The list's own links keep the folder; `tenant` is not used here.
    let path = format!("/mail/{}", enc(&address));
    let with_folder = |href: String| format!("{href}&folder={code}");
    // Sent items are known by whom they went to.
    let sent = folder == Folder::Sent;
    let cols = [
        ("arrived_at", t.t("col.arrival_number")),
        ("arrival_time", t.t("col.arrived_at")),
        if sent {
            ("recipient", t.t("mail.recipient"))
        } else {
            ("sender_name", t.t("col.sender_name"))
        },
        ("kind", t.t("col.message_kind")),
        ("doc_type", t.t("col.doc_type")),
        ("reference", t.t("col.reference")),
        ("size", t.t("col.size")),
        ("state", t.t("col.state")),
    ];
    let sortable = ["arrived_at", "sender_name", "doc_type", "reference", "size"];
    let columns = cols
        .iter()
        .map(|(key, label)| {
            let sorted =
                list.sort.as_deref() == Some(key) || (list.sort.is_none() && *key == "arrived_at");
            // Newest first unless the reader asks otherwise.
            let desc = sorted && (list.sort.is_none() || list.order.as_deref() == Some("desc"));
            Column {
                label,
                href: if sortable.contains(key) {
                    with_folder(list.href(&path, "", Some(key), sorted && !desc, 1))
                } else {
                    String::new()
                },
                sorted,
                desc,
            }
        })
        .collect();
    let (prev, next, page_label) = list.pager(&path, "", &page, t);
    let rows = page
        .items
        .iter()
        .map(|m: &MessageSummary| {
            (
                format!("/mail/{}/messages/{}", enc(&address), enc(&m.id)),
                vec![
                    m.arrival_number.clone(),
                    local_time(&m.arrived_at),
                    if sent {
                        format!("{} ({})", m.recipient_name, m.recipient)
                    } else {
                        m.sender_name.clone()
                    },
                    kind_text(t, &m.kind).to_string(),
                    m.doc_type_desc.clone(),
                    m.reference.clone(),
                    size_text(m.size),
                    state_text(t, m.state).to_string(),
                ],
                m.state == MessageState::New && folder != Folder::Sent,
            )
        })
        .collect();
    let page_view = MailboxPage {
        title,
        mailboxes: mine
            .iter()
            .map(|m| (enc(&m.address), mailbox_label(t, m), m.address == address))
            .collect(),
        folders: [Folder::Inbox, Folder::Sent, Folder::Receipts]
            .into_iter()
            .map(|x| {
                let c = folder_code(x);
                (
                    format!("{path}?folder={c}"),
                    t.t(match x {
                        Folder::Inbox => "mail.inbox",
                        Folder::Sent => "mail.sent",
                        Folder::Receipts => "mail.receipts",
                    }),
                    x == folder,
                )
            })
            .collect(),
        folder: code,
        can_send,
        q: list.q.clone().unwrap_or_default(),
        caption: format!("{} – {}", t.t("mail.mailbox"), address),
        columns,
        rows,
        export: with_folder(list.href(&path, "", None, false, 1)),
        prev: if prev.is_empty() {
            prev
        } else {
            with_folder(prev)
        },
        next: if next.is_empty() {
            next
        } else {
            with_folder(next)
        },
        page_label,
        address: enc(&address),
        f,
    };
    render(StatusCode::OK, &page_view)
}

#[derive(Template)]
#[template(path = "mail_message.html")]
struct MessagePage {
    f: Frame,
    title: String,
    address: String,
    id: String,
    facts: Vec<(&'static str, String)>,
    note: String,
    /// `(href or empty when deleted, name, size, sha256)`.
    documents: Vec<(String, String, String, String)>,
    deliver_hint: bool,
    /// `(href, kind, issued)`.
    receipts: Vec<(String, &'static str, String)>,
    can_reply: bool,
    /// `"1"` to offer keeping, `"0"` to offer releasing, empty for neither.
    long_term_action: &'static str,
}

fn receipt_kind(t: Tr, k: ReceiptKind) -> &'static str {
    t.t(match k {
        ReceiptKind::Submission => "mail.receipt_submission",
        ReceiptKind::Delivery => "mail.receipt_delivery",
        ReceiptKind::NonDelivery => "mail.receipt_non_delivery",
    })
}

pub async fn message(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((address, id)): Path<(String, String)>,
    Query(p): Query<ListParams>,
) -> Response {
    let mut f = frame(&ctx, &actor);
    f.notice_key(p.notice.as_deref());
    let t = f.t;
    let (m, mine) = match (
        kapu.get_message(&actor, &address, &id).await,
        kapu.my_mailboxes(&actor).await,
    ) {
        (Ok(m), Ok(mine)) => (m, mine),
        (Err(e), _) | (_, Err(e)) => return error_page(f, &e),
    };
    let s = &m.summary;
    let own_address = if address == "me" {
        actor.full_login()
    } else {
        address.clone()
    };
    let received = s.recipient == own_address;
    let can_send = mine
        .iter()
        .any(|b| b.address == address && b.rights.contains(&"send") && !b.closed);
    let base = format!("/mail/{}/messages", enc(&address));
    let mut facts = vec![
        (t.t("col.arrival_number"), s.arrival_number.clone()),
        (t.t("mail.machine_number"), s.arrival_number_machine.clone()),
        (t.t("col.arrived_at"), local_time(&s.arrived_at)),
        (t.t("col.sender_name"), s.sender_name.clone()),
        (
            t.t("mail.recipient"),
            format!("{} ({})", s.recipient_name, s.recipient),
        ),
        (t.t("col.message_kind"), kind_text(t, &s.kind).to_string()),
        (
            t.t("col.doc_type"),
            format!("{} – {}", s.doc_type, s.doc_type_desc),
        ),
        (t.t("col.reference"), s.reference.clone()),
        (t.t("col.state"), state_text(t, s.state).to_string()),
    ];
    if let Some(e) = &m.expires_at
        && m.delivered_at.is_none()
        && m.expired_at.is_none()
    {
        facts.push((t.t("mail.expires_at"), local_time(e)));
    }
    if m.end_to_end {
        facts.push((t.t("mail.end_to_end"), t.t("ui.yes").to_string()));
    }
    let documents = m
        .documents
        .iter()
        .map(|d| {
            (
                if d.available {
                    format!("{base}/{}/documents/{}", enc(&s.id), d.position)
                } else {
                    String::new()
                },
                d.name.clone(),
                size_text(d.size),
                d.sha256.clone(),
            )
        })
        .collect();
    let receipts = m
        .receipts
        .iter()
        .map(|r| {
            (
                format!("{base}/{}/receipt", enc(&r.message_id)),
                receipt_kind(t, r.kind),
                local_time(&r.issued_at),
            )
        })
        .collect();
    let long_term_action = match (
        received && s.kind != "system",
        m.delivered_at.is_some(),
        s.long_term,
    ) {
        (true, true, false) => "1",
        (true, true, true) => "0",
        _ => "",
    };
    let page = MessagePage {
        title: format!("{} – {}", s.doc_type_desc, s.arrival_number),
        address: enc(&address),
        id: enc(&s.id),
        note: m.note.clone().unwrap_or_default(),
        deliver_hint: received && m.delivered_at.is_none() && m.expired_at.is_none(),
        can_reply: received && s.kind != "system" && can_send,
        facts,
        documents,
        receipts,
        long_term_action,
        f,
    };
    render(StatusCode::OK, &page)
}

pub async fn document(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((address, id, position)): Path<(String, String, i64)>,
) -> Response {
    match kapu.download(&actor, &address, &id, position).await {
        Ok(d) => transfer::document_response(d),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}

pub async fn receipt(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((address, id)): Path<(String, String)>,
) -> Response {
    match kapu.receipt_jws(&actor, &address, &id).await {
        Ok((jws, number)) => transfer::receipt_response(jws, &number),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}

#[derive(Deserialize)]
pub struct LongTermForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    keep: String,
}

pub async fn long_term(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((address, id)): Path<(String, String)>,
    Form(form): Form<LongTermForm>,
) -> Response {
    if let Err(r) = check_csrf(&actor, &form.csrf) {
        return r.into_response();
    }
    let keep = form.keep == "1";
    match kapu.set_long_term(&actor, &address, &id, keep).await {
        Ok(()) => Redirect::to(&format!(
            "/mail/{}/messages/{}?notice={}",
            enc(&address),
            enc(&id),
            if keep {
                "notice.long_term_kept"
            } else {
                "notice.long_term_released"
            }
        ))
        .into_response(),
        Err(e) => error_page(frame(&ctx, &actor), &e),
    }
}
