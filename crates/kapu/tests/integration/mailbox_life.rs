//! A message's life after delivery: arrival notices, long-term storage, the keeping period,
//! and the sweep of blobs no message took.

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::App;
use crate::mailbox::{blob_count, citizen, download, form, post_form, town};

async fn readers_get_an_arrival_notice_without_content_unless_they_switched_it_off(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (s, b) = app
        .send(
            "PATCH",
            &t.admin,
            "/api/v1/offices/VAROS-HIV",
            json!({"notify_email": "iktato@varos.example"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, sent) = post_form(
        &app,
        &me,
        "me",
        form(
            "VAROS-HIV",
            "TITKOS-HIVATKOZAS",
            &[("a.pdf", b"titkos tartalom")],
        ),
        None,
    )
    .await;
    let id = sent["message"]["id"].as_str().unwrap();
    for to in ["ugy.intezo@varos.example", "iktato@varos.example"] {
        let mail = wait_notice(&app, to, 1).await;
        assert!(
            mail.contains(&format!("/mail/VAROS-HIV/messages/{id}")),
            "{mail}"
        );
        assert!(mail.contains(sent["message"]["arrival_number"].as_str().unwrap()));
        assert!(
            !mail.contains("titkos tartalom") && !mail.contains("TITKOS-HIVATKOZAS"),
            "{mail}"
        );
    }
    // The clerk switches notices off; the next message reaches only the office address.
    let (s, b) = app
        .send(
            "PUT",
            &t.clerk,
            "/api/v1/me/notices",
            json!({"arrival_mail": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, b) = app.get(&t.clerk, "/api/v1/me/notices").await;
    assert_eq!(b["arrival_mail"], false);
    post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R2", &[("b.pdf", b"b")]),
        None,
    )
    .await;
    wait_notice(&app, "iktato@varos.example", 2).await;
    assert_eq!(notices_to(&app, "ugy.intezo@varos.example").len(), 1);
    assert_eq!(notices_to(&app, "iktato@varos.example").len(), 2);
}

async fn wait_notice(app: &App, to: &str, n: usize) -> String {
    for _ in 0..100 {
        if let Some(m) = notices_to(app, to).get(n - 1) {
            return m.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no notice #{n} to {to}");
}

fn notices_to(app: &App, to: &str) -> Vec<String> {
    app.outbox()
        .into_iter()
        .filter(|m| m.contains(&format!("To: {to}")) && m.contains("/mail/VAROS-HIV/messages/"))
        .collect()
}

async fn delivered_documents_are_deleted_after_the_keeping_period_unless_kept_long_term(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    // Passwords outlive the year this test skips.
    let (s, b) = app
        .send(
            "PUT",
            &t.admin,
            "/api/v1/settings/password_max_age_days",
            json!({"value": "3650"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut ids = Vec::new();
    for r in ["K1", "K2"] {
        let (_, sent) = post_form(
            &app,
            &me,
            "me",
            form("VAROS-HIV", r, &[("a.pdf", b"a")]),
            None,
        )
        .await;
        ids.push(sent["message"]["id"].as_str().unwrap().to_string());
    }
    // Long-term storage takes only delivered messages, within the quota.
    let path = |id: &str| format!("/api/v1/mailboxes/VAROS-HIV/messages/{id}/long-term");
    let (s, b) = app
        .send("PUT", &t.clerk, &path(&ids[0]), json!({"keep": true}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    for id in &ids {
        let _ = download(&app, &t.clerk, "VAROS-HIV", id, 1)
            .await
            .bytes()
            .await;
    }
    let (s, b) = app
        .send(
            "PUT",
            &t.admin,
            "/api/v1/settings/mailbox_long_term_quota",
            json!({"value": "1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app
        .send("PUT", &t.clerk, &path(&ids[0]), json!({"keep": true}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .send("PUT", &t.clerk, &path(&ids[1]), json!({"keep": true}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    // A year later the unkept one loses its documents; details and receipts stay.
    app.days(366);
    let clerk = app.login("ugy.intezo@varos", "Ugyintezo-1", "normal").await;
    assert_eq!(app.kapu.mailbox_housekeeping().await.unwrap().purged, 1);
    let (_, kept) = app
        .get(
            &clerk,
            &format!("/api/v1/mailboxes/VAROS-HIV/messages/{}", ids[0]),
        )
        .await;
    assert_eq!(kept["documents"][0]["available"], true);
    assert_eq!(kept["long_term"], true);
    let (_, gone) = app
        .get(
            &clerk,
            &format!("/api/v1/mailboxes/VAROS-HIV/messages/{}", ids[1]),
        )
        .await;
    assert_eq!(gone["documents"][0]["available"], false);
    assert_eq!(gone["receipts"].as_array().unwrap().len(), 2);
    let r = download(&app, &clerk, "VAROS-HIV", &ids[1], 1).await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert_eq!(blob_count(&app), 1);
}

async fn blobs_no_message_took_are_swept_a_day_later(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (_, _sent) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "R", &[("a.pdf", b"a")]),
        None,
    )
    .await;
    // A blob written by an upload that never became a message (a process that died).
    let mut w = app.kapu.blobs().writer(1000, app.kapu.now()).unwrap();
    w.write(b"orphan").await.unwrap();
    w.finish().await.unwrap();
    assert_eq!(blob_count(&app), 2);
    assert_eq!(app.kapu.mailbox_housekeeping().await.unwrap().orphans, 0);
    app.minutes(25 * 60);
    assert_eq!(app.kapu.mailbox_housekeeping().await.unwrap().orphans, 1);
    assert_eq!(blob_count(&app), 1);
}

both!(
    readers_get_an_arrival_notice_without_content_unless_they_switched_it_off,
    delivered_documents_are_deleted_after_the_keeping_period_unless_kept_long_term,
    blobs_no_message_took_are_swept_a_day_later,
);
