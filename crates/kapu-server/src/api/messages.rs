//! Mailboxes and messages: folders, sending (multipart, streamed), reading, downloads and
//! receipts.

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt as _;
use kapu_core::identity::Page;
use kapu_core::mailbox::mailboxes::MyMailbox;
use kapu_core::mailbox::messages::{Folder, MessageDetail, MessageSummary};
use kapu_core::mailbox::notifications::NoticeSettings;
use kapu_core::mailbox::sending::{Outgoing, Sent, Upload};
use kapu_core::{Error, Kapu};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::contract::{
    Conflict, Gone, Internal, Items, ListParams, NotFound, TooLarge, TooManyRequests, Unauthorized,
    Unprocessable,
};
use super::{ApiActor, ApiJson, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::mailbox_exports;
use crate::transfer;

/// The mailboxes the caller may open: their personal one (`me`) and the offices they hold a
/// right on.
#[utoipa::path(get, path = "/mailboxes", tag = "mailbox",
    responses((status = 200, body = Items<MyMailbox>), Unauthorized, Internal))]
pub async fn mine(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(Items::of(kapu.my_mailboxes(&actor).await?)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FolderParams {
    /// `inbox` (default; receipts included), `sent` or `receipts`.
    #[param(pattern = "^(inbox|sent|receipts)?$")]
    folder: Option<String>,
}

/// A folder of a mailbox, newest first. Sort by `arrived_at`, `sender_name`, `doc_type`,
/// `reference` or `size`; `q` searches reference, sender, document type and arrival number.
#[utoipa::path(get, path = "/mailboxes/{mailbox}/messages", tag = "mailbox",
    params(("mailbox" = String, Path, description = "`me` or an office's short name"), ListParams, FolderParams),
    responses((status = 200, description = "A page of messages", content(
        (Page<MessageSummary> = "application/json"),
        (String = "text/csv"))),
        Unauthorized, NotFound, Unprocessable, Internal))]
pub async fn folder(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    ApiActor(actor): ApiActor,
    Path(mailbox): Path<String>,
    ApiQuery(p): ApiQuery<ListParams>,
    ApiQuery(f): ApiQuery<FolderParams>,
) -> Result<Response, ApiError> {
    let folder = Folder::parse(f.folder.as_deref().filter(|s| !s.is_empty()))
        .ok_or_else(|| Error::field("folder", "message.folder_unknown"))?;
    if let Some(detailed) = p.csv() {
        let all = crate::exports::all_pages(&p.paging(), |q| {
            let (kapu, actor, mailbox) = (kapu.clone(), actor.clone(), mailbox.clone());
            async move { kapu.list_messages(&actor, &mailbox, folder, &q).await }
        })
        .await?;
        return Ok(crate::exports::csv_response(
            "messages",
            mailbox_exports::messages(ctx.1, &all, detailed),
        ));
    }
    Ok(Json(
        kapu.list_messages(&actor, &mailbox, folder, &p.paging())
            .await?,
    )
    .into_response())
}

/// The multipart form of a send (documented; read field by field as it streams in).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SendForm {
    /// The office's short name; may be left out when replying.
    recipient: Option<String>,
    /// Letters, digits, `_` and `-`, starting with a letter (`AKLKL`).
    doc_type: String,
    doc_type_desc: String,
    doc_type_version: Option<String>,
    /// The sender's reference number.
    reference: String,
    note: Option<String>,
    /// `true` to ask for a delivery receipt.
    receipt_requested: Option<bool>,
    /// A message of this mailbox's inbox: the reply goes to its sender.
    in_reply_to: Option<String>,
    /// The client's id for this send (or the `Idempotency-Key` header).
    client_id: Option<String>,
    /// `true`: the documents are `age` files encrypted to the office's public key.
    end_to_end: Option<bool>,
    /// One or more files, each with its file name and media type.
    #[schema(value_type = Vec<String>, format = Binary)]
    document: Vec<Vec<u8>>,
}

/// Send a message from a mailbox the caller may send from, as `multipart/form-data`. The
/// documents are streamed to storage as they arrive; size limits are the
/// `mailbox_max_document_mb` and `mailbox_max_message_mb` system variables. The message,
/// its arrival number and its submission receipt are filed together. With the same
/// `Idempotency-Key` (or `client_id`) a repeat returns the first result (200) and stores
/// nothing; the same key with other content is a conflict. An account sends at most
/// `mailbox_sends_per_hour` messages an hour and `mailbox_mb_per_day` MiB a day (citizens:
/// `mailbox_citizen_…`); past them the answer is 429 with `Retry-After`. Fields sent before
/// the first document (put `recipient` first) are checked before any document is stored.
#[utoipa::path(post, path = "/mailboxes/{mailbox}/messages", tag = "mailbox",
    params(("mailbox" = String, Path, description = "`me` or an office's short name"),
        ("Idempotency-Key" = Option<String>, Header, description = "The client's id for this send")),
    request_body(content = SendForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Sent, description = "Accepted"),
        (status = 200, body = Sent, description = "A repeat of an earlier send: its first result"),
        Unauthorized, NotFound, Conflict, TooLarge, Unprocessable, TooManyRequests, Internal))]
pub async fn send(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, ApiError> {
    let mut upload = kapu.start_upload(&actor, &mailbox).await?;
    let mut out = Outgoing {
        client_id: transfer::idempotency_key(&headers),
        ..Default::default()
    };
    let read = transfer::read_form(&mut upload, &mut out, form)
        .await
        .map(|()| out);
    file(&kapu, &actor, upload, read).await
}

/// Files what was read, or discards the upload when reading failed; a repeat answers 200.
async fn file(
    kapu: &Kapu,
    actor: &kapu_core::Actor,
    upload: Upload,
    read: Result<Outgoing, Error>,
) -> Result<Response, ApiError> {
    let sent = kapu.send_read(actor, upload, read).await?;
    let status = if sent.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sent)).into_response())
}

/// Send a KR-style envelope (`Boritek`, schema at `/schemas/boritek.xsd`): one XML upload
/// routed by its own header (`Fejlec/Cimzett`), with its documents as base64 in
/// `Torzs/Dokumentum`. Parsed streaming; DTDs and entities are refused; a malformed
/// envelope is refused naming the element. `Idempotency-Key` and the send limits work as
/// for other sends; the header's recipient is checked before the first document is stored.
#[utoipa::path(post, path = "/mailboxes/{mailbox}/envelopes", tag = "mailbox",
    params(("mailbox" = String, Path, description = "`me` or an office's short name"),
        ("Idempotency-Key" = Option<String>, Header, description = "The client's id for this send")),
    request_body(content = String, content_type = "application/xml"),
    responses((status = 201, body = Sent, description = "Accepted"),
        (status = 200, body = Sent, description = "A repeat of an earlier send: its first result"),
        Unauthorized, NotFound, Conflict, TooLarge, Unprocessable, TooManyRequests, Internal))]
pub async fn envelope(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mut upload = kapu.start_upload(&actor, &mailbox).await?;
    let mut src =
        tokio_util::io::StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let read = kapu_core::mailbox::envelope::read(&mut upload, &mut src).await;
    if read.is_err() {
        transfer::linger(&mut src).await;
    }
    let read = read.map(|out| Outgoing {
        client_id: transfer::idempotency_key(&headers),
        ..out
    });
    file(&kapu, &actor, upload, read).await
}

/// `/schemas/boritek.xsd`: the envelope's schema.
pub async fn envelope_schema() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml; charset=utf-8"),
        )],
        kapu_core::mailbox::envelope::XSD,
    )
        .into_response()
}

/// One message of the mailbox (received or sent), with its documents and receipts. Opening
/// a received message marks it read.
#[utoipa::path(get, path = "/mailboxes/{mailbox}/messages/{id}", tag = "mailbox",
    params(("mailbox" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = MessageDetail), Unauthorized, NotFound, Internal))]
pub async fn message(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((mailbox, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.get_message(&actor, &mailbox, &id).await?))
}

/// Download a document, streamed. The first download of a received message delivers it and
/// sends the delivery receipt to its sender. `Repr-Digest` carries the document's SHA-256.
#[utoipa::path(get, path = "/mailboxes/{mailbox}/messages/{id}/documents/{position}", tag = "mailbox",
    params(("mailbox" = String, Path), ("id" = String, Path), ("position" = i64, Path, description = "1-based")),
    responses((status = 200, description = "The document, as it was sent",
            headers(("Repr-Digest" = String, description = "`sha-256=:…:` (RFC 9530)")),
            content((Vec<u8> = "*/*"))),
        Unauthorized, NotFound, Gone, Internal))]
pub async fn download(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((mailbox, id, position)): Path<(String, String, i64)>,
) -> Result<Response, ApiError> {
    let d = kapu.download(&actor, &mailbox, &id, position).await?;
    Ok(transfer::document_response(d))
}

/// The signed receipt a system message carries, as a `.jws` file (compact JWS, EdDSA);
/// verify it with the keys at `/.well-known/jwks.json`.
#[utoipa::path(get, path = "/mailboxes/{mailbox}/messages/{id}/receipt", tag = "mailbox",
    params(("mailbox" = String, Path), ("id" = String, Path, description = "A system message")),
    responses((status = 200, description = "The receipt", content((String = "application/jose"))),
        Unauthorized, NotFound, Internal))]
pub async fn receipt(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((mailbox, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (jws, number) = kapu.receipt_jws(&actor, &mailbox, &id).await?;
    Ok(transfer::receipt_response(jws, &number))
}

#[derive(Deserialize, ToSchema)]
pub struct LongTermBody {
    /// `true` to keep the delivered message in long-term storage, `false` to release it.
    keep: bool,
}

/// Move a delivered message into long-term storage (within the mailbox's quota, the
/// `mailbox_long_term_quota` system variable), or out of it.
#[utoipa::path(put, path = "/mailboxes/{mailbox}/messages/{id}/long-term", tag = "mailbox",
    params(("mailbox" = String, Path), ("id" = String, Path)), request_body = LongTermBody,
    responses((status = 204, description = "Done"), Unauthorized, NotFound, Conflict, Unprocessable, Internal))]
pub async fn long_term(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    Path((mailbox, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<LongTermBody>,
) -> Result<StatusCode, ApiError> {
    kapu.set_long_term(&actor, &mailbox, &id, b.keep).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One's arrival-notice setting.
#[utoipa::path(get, path = "/me/notices", tag = "mailbox",
    responses((status = 200, body = NoticeSettings), Unauthorized, Internal))]
pub async fn notices(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(kapu.notice_settings(&actor).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NoticesBody {
    /// An e-mail (without the document) when a message arrives in a mailbox one reads.
    arrival_mail: bool,
}

/// Switch one's arrival notices on or off.
#[utoipa::path(put, path = "/me/notices", tag = "mailbox", request_body = NoticesBody,
    responses((status = 200, body = NoticeSettings), Unauthorized, Unprocessable, Internal))]
pub async fn set_notices(
    State(kapu): State<Kapu>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<NoticesBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        kapu.set_notice_settings(&actor, b.arrival_mail).await?,
    ))
}
