//! Writing a message, and uploading an envelope, from the browser. The forms are
//! `multipart/form-data`; their CSRF token comes first, so nothing is stored for a form that
//! does not carry it, and each form carries its own client message id, so that sending it
//! twice (a double click, a reload) files it once.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt as _;
use kapu_core::mailbox::sending::Outgoing;
use kapu_core::platform::crypto::random_token;
use kapu_core::platform::i18n::Lang;
use kapu_core::{Actor, Error, Kapu};
use serde::Deserialize;

use super::frame::{Field, Frame, Tr, render};
use super::session::{CsrfRefused, WebActor, check_csrf};
use super::table::{enc, error_page, frame};
use crate::context::Ctx;
use crate::transfer;

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposePage {
    f: Frame,
    title: String,
    address: String,
    client_id: String,
    reply: String,
    reply_to: String,
    recipient: String,
    /// The chosen office's name: the recipient is fixed, with a way back to the directory.
    recipient_name: String,
    /// A citizen picks the office in the directory and a type from its list.
    citizen: bool,
    /// `(value, label, selected)`: the office's accepted types, the general letter first;
    /// empty where the sender writes the type themselves.
    types: Vec<(String, String, bool)>,
    fields: Vec<Field>,
    note: String,
    receipt_requested: bool,
    end_to_end: bool,
}

#[derive(Deserialize, Default)]
pub struct ComposeParams {
    reply: Option<String>,
    recipient: Option<String>,
}

/// The fields a sender writes: the type where no list offers it, and the reference where it
/// is theirs to give (a citizen's is Kapu's).
fn written_fields(t: Tr, out: &Outgoing, type_written: bool, citizen: bool) -> Vec<Field> {
    let mut fields = Vec::new();
    if type_written {
        fields.push(
            Field::new(
                "doc_type",
                t.t("mail.doc_type"),
                &out.doc_type,
                "text",
                "off",
            )
            .hint(t.t("mail.doc_type_hint")),
        );
        fields.push(Field::new(
            "doc_type_desc",
            t.t("mail.doc_type_desc"),
            &out.doc_type_desc,
            "text",
            "off",
        ));
    }
    if !citizen {
        fields.push(
            Field::new(
                "reference",
                t.t("col.reference"),
                &out.reference,
                "text",
                "off",
            )
            .hint(t.t("mail.reference_hint")),
        );
    }
    fields
}

async fn compose_form(
    kapu: &Kapu,
    f: Frame,
    lang: Lang,
    actor: &Actor,
    address: &str,
    out: &Outgoing,
) -> ComposePage {
    let t = f.t;
    let citizen = actor.citizen();
    let recipient = out
        .recipient
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    // A recipient named in the address (from the directory) is shown by name, with the
    // types it accepts; a short name that names no office is left for the form to refuse.
    let office = match recipient {
        Some(r) => kapu.get_office(actor, r).await.ok().filter(|o| !o.closed),
        None => None,
    };
    let listed = match &office {
        Some(o) => kapu
            .document_types_of(&o.short_name, lang)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let chosen = match &out.doc_type_version {
        Some(v) if !v.is_empty() => format!("{}|{v}", out.doc_type),
        _ => out.doc_type.clone(),
    };
    let types: Vec<(String, String, bool)> = if citizen || listed.len() > 1 {
        listed
            .iter()
            .map(|d| {
                let value = if d.version.is_empty() {
                    d.code.clone()
                } else {
                    format!("{}|{}", d.code, d.version)
                };
                let label = if d.version.is_empty() {
                    d.description.clone()
                } else {
                    format!("{} ({})", d.description, d.version)
                };
                let selected = value == chosen;
                (value, label, selected)
            })
            .collect()
    } else {
        Vec::new()
    };
    let reply = out.in_reply_to.clone().unwrap_or_default();
    let reply_to = if reply.is_empty() {
        String::new()
    } else {
        kapu.get_message(actor, address, &reply)
            .await
            .map(|m| format!("{} ({})", m.summary.sender_name, m.summary.arrival_number))
            .unwrap_or_default()
    };
    ComposePage {
        title: t.t("mail.compose").into(),
        address: enc(address),
        client_id: out
            .client_id
            .clone()
            .or_else(|| random_token().ok())
            .unwrap_or_default(),
        reply,
        reply_to,
        recipient: office
            .as_ref()
            .map(|o| o.short_name.clone())
            .or_else(|| recipient.map(str::to_string))
            .unwrap_or_default(),
        recipient_name: office.map(|o| o.name).unwrap_or_default(),
        citizen,
        fields: written_fields(t, out, types.is_empty(), citizen),
        types,
        note: out.note.clone().unwrap_or_default(),
        receipt_requested: out.receipt_requested,
        end_to_end: out.end_to_end,
        f,
    }
}

pub async fn compose_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(address): Path<String>,
    Query(p): Query<ComposeParams>,
) -> Response {
    let f = frame(&ctx, &actor);
    // Only where the caller may send: the same check the submission makes.
    if let Err(e) = kapu.start_upload(&actor, &address).await {
        return error_page(f, &e);
    }
    let out = Outgoing {
        in_reply_to: p.reply.filter(|r| !r.is_empty()),
        recipient: p.recipient,
        receipt_requested: true,
        ..Default::default()
    };
    render(
        StatusCode::OK,
        &compose_form(&kapu, f, ctx.1, &actor, &address, &out).await,
    )
}

/// The first field of a page's multipart form must be its CSRF token.
async fn csrf_first(actor: &Actor, form: &mut Multipart) -> Result<(), CsrfRefused> {
    let Ok(Some(mut field)) = form.next_field().await else {
        return Err(CsrfRefused);
    };
    if field.name() != Some("csrf") {
        return Err(CsrfRefused);
    }
    let posted = transfer::text_field(&mut field)
        .await
        .map_err(|_| CsrfRefused)?;
    check_csrf(actor, &posted)
}

fn sent_redirect(address: &str, id: &str) -> Response {
    Redirect::to(&format!(
        "/mail/{}/messages/{}?notice=notice.message_sent",
        enc(address),
        enc(id)
    ))
    .into_response()
}

pub async fn compose_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(address): Path<String>,
    mut form: Multipart,
) -> Response {
    if let Err(r) = csrf_first(&actor, &mut form).await {
        return r.into_response();
    }
    let mut f = frame(&ctx, &actor);
    let mut upload = match kapu.start_upload(&actor, &address).await {
        Ok(u) => u,
        Err(e) => return error_page(f, &e),
    };
    let mut out = Outgoing::default();
    let read = transfer::read_form(&mut upload, &mut out, form)
        .await
        .map(|()| out.clone());
    match kapu.send_read(&actor, upload, read).await {
        Ok(sent) => sent_redirect(&address, &sent.message.summary.id),
        Err(e) => {
            let status = f.fail(&e);
            render(
                status,
                &compose_form(&kapu, f, ctx.1, &actor, &address, &out).await,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "envelope.html")]
struct EnvelopePage {
    f: Frame,
    address: String,
    client_id: String,
}

pub async fn envelope_page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(address): Path<String>,
) -> Response {
    let f = frame(&ctx, &actor);
    if let Err(e) = kapu.start_upload(&actor, &address).await {
        return error_page(f, &e);
    }
    render(
        StatusCode::OK,
        &EnvelopePage {
            f,
            address: enc(&address),
            client_id: random_token().unwrap_or_default(),
        },
    )
}

pub async fn envelope_submit(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path(address): Path<String>,
    mut form: Multipart,
) -> Response {
    if let Err(r) = csrf_first(&actor, &mut form).await {
        return r.into_response();
    }
    let mut f = frame(&ctx, &actor);
    let mut upload = match kapu.start_upload(&actor, &address).await {
        Ok(u) => u,
        Err(e) => return error_page(f, &e),
    };
    let mut client_id = None;
    let mut read: Option<Result<Outgoing, Error>> = None;
    loop {
        match form.next_field().await {
            Ok(Some(mut field)) => match field.name() {
                Some("client_id") => client_id = transfer::text_field(&mut field).await.ok(),
                Some("envelope") if read.is_none() => {
                    let mut src =
                        tokio_util::io::StreamReader::new(field.map_err(std::io::Error::other));
                    let envelope = kapu_core::mailbox::envelope::read(&mut upload, &mut src).await;
                    if envelope.is_err() {
                        transfer::linger(&mut src).await;
                    }
                    read = Some(envelope);
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                read = Some(Err(transfer::bad_form(e)));
                break;
            }
        }
    }
    let read = read
        .unwrap_or_else(|| Err(Error::field("envelope", "envelope.file_required")))
        .map(|out| Outgoing { client_id, ..out });
    match kapu.send_read(&actor, upload, read).await {
        Ok(sent) => sent_redirect(&address, &sent.message.summary.id),
        Err(e) => {
            // An envelope's problems name its elements; show the element with the message.
            let status = f.fail(&e);
            for item in &mut f.errors.items {
                if !item.0.is_empty() && item.0 != "envelope" {
                    item.1 = format!("{}: {}", item.0, item.1);
                    item.0 = "envelope".into();
                }
            }
            render(
                status,
                &EnvelopePage {
                    f,
                    address: enc(&address),
                    client_id: random_token().unwrap_or_default(),
                },
            )
        }
    }
}
