//! Prometheus metrics on their own listener.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{App, Backend};

/// The value of one sample line (`name{labels} value`) whose text contains every fragment.
fn sample(text: &str, name: &str, fragments: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && fragments.iter().all(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(app: &App) -> String {
    let r = app
        .http
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_apart_and_their_counters_move() {
    let app = App::spawn(Backend::Sqlite).await;
    // Not on the public listener.
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_ne!(r.status(), StatusCode::OK);

    let before = scrape(&app).await;
    let admin = app.admin().await;
    app.login_raw("admin@kozpont", "Rossz-Jelszo1", "normal")
        .await;
    for _ in 0..5 {
        app.login_raw("senki.sem@kozpont", "Rossz-Jelszo1", "secure")
            .await;
    }
    app.get(&admin, "/api/v1/me").await;
    app.send(
        "POST",
        "",
        "/api/v1/password-reset",
        json!({"login": "admin@kozpont"}),
    )
    .await;
    app.mail_to("admin@kozpont.example", 1).await;
    let after = scrape(&app).await;

    for name in [
        "kapu_http_requests_total",
        "kapu_http_request_duration_seconds_bucket",
        "kapu_logins_total",
        "kapu_lockouts_total",
        "kapu_mail_queue_depth",
        "kapu_mail_deliveries_total",
        "kapu_db_pool_connections",
        "kapu_password_hash_queue_wait_seconds_bucket",
    ] {
        assert!(after.contains(name), "{name} missing:\n{after}");
    }
    let moved = |name: &str, fragments: &[&str]| {
        sample(&after, name, fragments) > sample(&before, name, fragments)
    };
    assert!(moved(
        "kapu_http_requests_total",
        &["route=\"/api/v1/me\"", "status=\"200\""]
    ));
    assert!(moved(
        "kapu_logins_total",
        &["outcome=\"success\"", "mode=\"secure\""]
    ));
    assert!(moved(
        "kapu_logins_total",
        &["outcome=\"wrong_password\"", "mode=\"normal\""]
    ));
    assert!(moved(
        "kapu_logins_total",
        &["outcome=\"unknown_account\"", "mode=\"secure\""]
    ));
    assert!(moved("kapu_lockouts_total", &[]));
    assert!(moved(
        "kapu_mail_deliveries_total",
        &["outcome=\"success\""]
    ));
    assert!(moved("kapu_password_hash_queue_wait_seconds_count", &[]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_requests_are_counted() {
    let app = App::spawn(Backend::Sqlite).await;
    let before = scrape(&app).await;
    for _ in 0..8 {
        app.send(
            "POST",
            "",
            "/api/v1/password-reset",
            json!({"login": "x.y@kozpont"}),
        )
        .await;
    }
    let after = scrape(&app).await;
    let key = ["what=\"password_reset\""];
    assert!(
        sample(&after, "kapu_throttled_requests_total", &key)
            >= sample(&before, "kapu_throttled_requests_total", &key) + 3.0
    );
}
