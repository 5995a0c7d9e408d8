//! Moving documents in and out, for the API and the pages alike: the send form read field by
//! field as it streams in, and downloads streamed out with their headers.

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::TryStreamExt as _;
use kapu_core::Error;
use kapu_core::mailbox::documents::Download;
use kapu_core::mailbox::sending::{Outgoing, Upload};

/// Largest text field of a send form.
const TEXT_FIELD_MAX: usize = 16 * 1024;

fn truthy(s: &str) -> bool {
    matches!(s.trim(), "1" | "true" | "on" | "yes")
}

pub async fn text_field(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
        if buf.len() + chunk.len() > TEXT_FIELD_MAX {
            return Err(Error::field("body", "text.too_long"));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| Error::field("body", "error.bad_request"))
}

pub fn bad_form(e: axum::extract::multipart::MultipartError) -> Error {
    tracing::debug!(error = %e, "bad multipart body");
    Error::field("body", "error.bad_request")
}

/// Reads the form into the upload and the fields; documents go to the blob store as they
/// arrive. On error the caller discards the upload.
pub async fn read_form(
    upload: &mut Upload,
    out: &mut Outgoing,
    mut form: Multipart,
) -> Result<(), Error> {
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        if let Some(file_name) = field.file_name().map(str::to_string) {
            upload.before_documents(out).await?;
            let media = field.content_type().map(str::to_string);
            let mut doc = upload.begin(&file_name, media.as_deref())?;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Err(e) = doc.write(&chunk).await {
                            upload.abort(doc).await;
                            return Err(e);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        upload.abort(doc).await;
                        return Err(bad_form(e));
                    }
                }
            }
            upload.finish(doc).await?;
            continue;
        }
        let name = field.name().unwrap_or("").to_string();
        let value = text_field(&mut field).await?;
        match name.as_str() {
            "recipient" => out.recipient = Some(value),
            // A type chosen from an office's list comes as `CODE|VERSION`.
            "doc_type" => match value.split_once('|') {
                Some((code, version)) => {
                    out.doc_type = code.to_string();
                    out.doc_type_version = Some(version.to_string());
                }
                None => out.doc_type = value,
            },
            "doc_type_desc" => out.doc_type_desc = value,
            "doc_type_version" => out.doc_type_version = Some(value),
            "reference" => out.reference = value,
            "note" => out.note = Some(value),
            "receipt_requested" => out.receipt_requested = truthy(&value),
            "in_reply_to" => out.in_reply_to = Some(value),
            "client_id" => out.client_id = out.client_id.take().or(Some(value)),
            "end_to_end" => out.end_to_end = truthy(&value),
            _ => {}
        }
    }
    Ok(())
}

/// `attachment` with a plain fallback and the UTF-8 name (RFC 6266).
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

fn hex_to_base64(digest: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hex::decode(digest).unwrap_or_default())
}

pub fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A document as a streamed download: always an attachment, with its digest.
pub fn document_response(d: Download) -> Response {
    let digest = hex_to_base64(&d.document.sha256);
    let mut response = Response::new(Body::from_stream(d.body.map_err(std::io::Error::other)));
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&d.document.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.document.size));
    h.insert(header::CONTENT_DISPOSITION, disposition(&d.document.name));
    // A document is the sender's: opened in a browser anyway, it runs nothing, reaches
    // nothing and shares no origin with Kapu's pages.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{digest}:")) {
        h.insert("repr-digest", v);
    }
    response
}

/// A receipt as a `.jws` file.
pub fn receipt_response(jws: String, arrival_machine: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jose"),
            ),
            (
                header::CONTENT_DISPOSITION,
                disposition(&format!("receipt-{arrival_machine}.jws")),
            ),
        ],
        jws,
    )
        .into_response()
}

/// After a refusal part-way through a body, reads (and drops) what the client is still
/// sending, up to a bound: a server that closes on unread data resets the connection, and
/// the client never reads the refusal. Past the bound or the time, the connection goes.
pub async fn linger<R: tokio::io::AsyncRead + Unpin>(src: &mut R) {
    const LINGER_BYTES: u64 = 16 * 1024 * 1024;
    let mut rest = tokio::io::AsyncReadExt::take(src, LINGER_BYTES);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::copy(&mut rest, &mut tokio::io::sink()),
    )
    .await;
}
