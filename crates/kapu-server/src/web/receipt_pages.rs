//! A receipt as a person reads it: what was sent, by whom, to whom, when, each document's
//! digest, and whether Kapu's signature holds (checked against every key Kapu published),
//! beside the `.jws` file for anyone's own check.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kapu_core::Kapu;
use serde_json::Value;

use super::frame::{Frame, Tr, local_time, render};
use super::mail_pages::size_text;
use super::session::WebActor;
use super::table::{enc, error_page, frame};
use crate::context::Ctx;

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    f: Frame,
    title: String,
    back: String,
    jws_href: String,
    valid: bool,
    kid: String,
    facts: Vec<(&'static str, String)>,
    /// `(name, size, sha256)`.
    documents: Vec<(String, String, String)>,
}

/// The payload without checking it, for a receipt whose signature failed: shown so that the
/// reader sees what the file claims, under the failure.
fn unverified_payload(jws: &str) -> Value {
    use base64::Engine as _;
    jws.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn kid_of(jws: &str) -> String {
    use base64::Engine as _;
    jws.split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|h| h["kid"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn party(v: &Value) -> String {
    match (v["name"].as_str(), v["mailbox"].as_str()) {
        (Some(n), Some(m)) => format!("{n} ({m})"),
        (Some(n), None) => n.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => String::new(),
    }
}

fn kind_label(t: Tr, kind: &str) -> &'static str {
    t.t(match kind {
        "delivery" => "mail.receipt_delivery",
        "non_delivery" => "mail.receipt_non_delivery",
        _ => "mail.receipt_submission",
    })
}

fn facts_of(t: Tr, p: &Value) -> Vec<(&'static str, String)> {
    let text = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    let mut facts = vec![
        (
            t.t("receipt.kind"),
            kind_label(t, p["receipt"].as_str().unwrap_or("")).to_string(),
        ),
        (t.t("col.arrival_number"), text("arrival_number")),
        (t.t("col.arrived_at"), local_time(&text("arrived_at"))),
        (t.t("col.sender_name"), party(&p["sender"])),
        (t.t("mail.recipient"), party(&p["recipient"])),
        (t.t("col.doc_type"), text("document_type")),
        (t.t("col.reference"), text("reference")),
    ];
    if let Some(at) = p["delivered_at"].as_str() {
        facts.push((t.t("mail.delivered_at"), local_time(at)));
    }
    if let Some(iat) = p["iat"].as_i64() {
        facts.push((
            t.t("receipt.issued_at"),
            local_time(&kapu_core::platform::time_fmt::rfc3339(
                iat.saturating_mul(1000),
            )),
        ));
    }
    facts.retain(|(_, v)| !v.is_empty());
    facts
}

pub async fn page(
    State(kapu): State<Kapu>,
    ctx: Ctx,
    WebActor(actor): WebActor,
    Path((address, id)): Path<(String, String)>,
) -> Response {
    let f = frame(&ctx, &actor);
    let (jws, _) = match kapu.receipt_jws(&actor, &address, &id).await {
        Ok(r) => r,
        Err(e) => return error_page(f, &e),
    };
    let verified = match kapu.keys().verify(&jws).await {
        Ok(v) => v,
        Err(e) => return error_page(f, &e),
    };
    let valid = verified.is_some();
    let payload = verified.unwrap_or_else(|| unverified_payload(&jws));
    let t = f.t;
    let documents = payload["documents"]
        .as_array()
        .map(|docs| {
            docs.iter()
                .map(|d| {
                    (
                        d["name"].as_str().unwrap_or_default().to_string(),
                        size_text(d["size"].as_i64().unwrap_or(0)),
                        d["sha256"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let base = format!("/mail/{}/messages/{}", enc(&address), enc(&id));
    let about = payload["message_id"].as_str().unwrap_or(&id).to_string();
    render(
        StatusCode::OK,
        &ReceiptPage {
            title: format!(
                "{} – {}",
                kind_label(t, payload["receipt"].as_str().unwrap_or("")),
                payload["arrival_number"].as_str().unwrap_or_default()
            ),
            back: format!("/mail/{}/messages/{}", enc(&address), enc(&about)),
            jws_href: format!("{base}/receipt"),
            valid,
            kid: kid_of(&jws),
            facts: facts_of(t, &payload),
            documents,
            f,
        },
    )
}
