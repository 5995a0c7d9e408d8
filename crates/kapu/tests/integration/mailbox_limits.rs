//! What one account may send: a citizen's messages per hour and bytes per day are counted
//! before they are judged, so parallel sends cannot pass the limit together; officials have
//! limits of their own; and a send to a recipient that cannot receive is refused before its
//! document has streamed in.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::both;
use crate::harness::{App, code, set_global, split};
use crate::mailbox::{office, post_form, town};
use crate::registration::registered_citizen;

fn letter(recipient: &str, reference: &str, size: usize) -> Form {
    Form::new()
        .text("recipient", recipient.to_string())
        .text("doc_type", "KERELEM")
        .text("doc_type_desc", "Kérelem")
        .text("reference", reference.to_string())
        .part(
            "document",
            Part::bytes(vec![b'k'; size])
                .file_name("kerelem.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
}

async fn send_raw(app: &App, token: &str, form: Form) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/mailboxes/me/messages"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn a_citizen_sends_within_limits_that_parallel_sends_cannot_pass(app: App) {
    // Start just after an hour begins, so that every send below falls in one hour.
    let now = app.kapu.now();
    app.clock
        .advance(3_600_000 - now.rem_euclid(3_600_000) + 100);
    let t = town(&app).await;
    set_global(&app.kapu, "mailbox_citizen_sends_per_hour", "3").await;
    let citizen = registered_citizen(&app, "kuldo.kata").await;
    let answers = futures_util::future::join_all(
        (0..8).map(|i| send_raw(&app, &citizen, letter("VAROS-HIV", &format!("K-{i}"), 1000))),
    )
    .await;
    let mut created = 0;
    for r in answers {
        match r.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: i64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=3600).contains(&wait), "{wait}");
                let (_, e) = split(r).await;
                assert_eq!(code(&e), "too_many_requests", "{e}");
            }
            other => panic!("{other}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!(created, 3, "exactly the limit was filed");
    let (_, sent) = app
        .get(&citizen, "/api/v1/mailboxes/me/messages?folder=sent")
        .await;
    assert_eq!(sent["items"].as_array().unwrap().len(), 3, "{sent}");
    // The official's limit is not the citizen's.
    office(&app, &t.admin, "kozpont", "KOZP-HIV", "Központi Hivatal").await;
    for i in 0..5 {
        let (s, b) = post_form(
            &app,
            &t.clerk,
            "VAROS-HIV",
            letter("KOZP-HIV", &format!("H-{i}"), 10),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    // The next hour opens the count again; the day's volume is counted as well.
    app.minutes(60);
    set_global(&app.kapu, "mailbox_citizen_mb_per_day", "1").await;
    let citizen = app
        .login("kuldo.kata@ugyfelkapu", "Nagy-Eva-2026", "normal")
        .await;
    let r = send_raw(&app, &citizen, letter("VAROS-HIV", "V-1", 600 * 1024)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = send_raw(&app, &citizen, letter("VAROS-HIV", "V-2", 600 * 1024)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let (_, e) = split(r).await;
    assert!(
        e["error"]["message"].as_str().unwrap().contains("adat"),
        "{e}"
    );
}

/// Sends a multipart body whose recipient is unknown and whose document never ends; the
/// answer must come while the document is still on its way.
async fn the_recipient_is_checked_before_a_document_streams(app: App) {
    town(&app).await;
    let citizen = registered_citizen(&app, "siet.sanyi").await;
    let boundary = "kapu-hatar-1";
    let mut head = String::new();
    for (name, value) in [
        ("recipient", "NINCS-ILYEN"),
        ("doc_type", "KERELEM"),
        ("doc_type_desc", "Kérelem"),
        ("reference", "R-1"),
    ] {
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"nagy.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    ));
    let (feed, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    feed.send(Ok(head.into_bytes())).await.unwrap();
    feed.send(Ok(vec![b'x'; 256 * 1024])).await.unwrap();
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        app.http
            .post(app.url("/api/v1/mailboxes/me/messages"))
            .bearer_auth(&citizen)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send(),
    )
    .await
    .expect("the server waited for the whole document before checking the recipient")
    .unwrap();
    let (s, e): (StatusCode, Value) = split(answer).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "recipient", "{e}");
    drop(feed);
}

both!(
    a_citizen_sends_within_limits_that_parallel_sends_cannot_pass,
    the_recipient_is_checked_before_a_document_streams,
);
