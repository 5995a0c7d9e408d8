//! The vault's page script in a real browser: the copy button appears, the code's seconds
//! count down, and a tab that was hidden longer than the idle time locks the vault.

use serde_json::json;

use crate::browser::Browser;
use crate::harness::{App, Backend};
use crate::vault::{PW, SECRET, entry, office};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_tab_locks_the_vault_in_a_real_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let o = office(&app, "iroda").await;
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Kiss Anna", "issuer": "NAV", "secret": SECRET}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    browser.goto(&app.url("/login")).await;
    browser.wait_for("Bejelentkezési név").await;
    browser.type_into("#login", "fokonyvelo@iroda").await;
    browser.type_into("#password", PW).await;
    browser.click("main form button").await;
    browser.wait_for("Indítópult").await;
    browser.goto(&app.url("/vault")).await;
    browser.wait_for("A kódtár zárolva van").await;
    browser.type_into("#password", PW).await;
    browser.click("button[value=password]").await;
    browser.wait_for("Kiss Anna").await;
    browser
        .goto(&app.url(&format!("/vault/entries/{id}")))
        .await;
    browser.wait_for("Kód megjelenítése").await;
    browser
        .click(&format!("form[action='/vault/entries/{id}/code'] button"))
        .await;
    browser.wait_for("seconds-left").await;
    // The script ran: the copy button shows, the seconds count down.
    let shown = browser
        .execute("return document.querySelector('[data-copy]').hidden;")
        .await;
    assert_eq!(shown, json!(false));
    let first = browser
        .execute("return parseInt(document.getElementById('seconds-left').textContent, 10);")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let later = browser
        .execute("return parseInt(document.getElementById('seconds-left').textContent, 10);")
        .await;
    assert!(
        later.as_i64().unwrap() < first.as_i64().unwrap() || first == json!(0),
        "{first} {later}"
    );
    // The reveal's answer took the entry's address: a reload shows the entry, no form is
    // sent again. When the code runs out, the next one takes its place.
    assert_eq!(
        browser.url().await,
        app.url(&format!("/vault/entries/{id}"))
    );
    let next = browser
        .execute(
            "document.getElementById('seconds-left').textContent = '1'; \
             return document.getElementById('code').getAttribute('data-next');",
        )
        .await;
    assert!(next.as_str().is_some_and(|n| n.len() == 6), "{next}");
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let (code, left, line_hidden) = (
        browser
            .execute("return document.getElementById('code').textContent;")
            .await,
        browser
            .execute("return parseInt(document.getElementById('seconds-left').textContent, 10);")
            .await,
        browser
            .execute("return document.getElementById('next-line').hidden;")
            .await,
    );
    assert_eq!(code, next);
    assert!(left.as_i64().unwrap() >= 28, "{left}");
    assert_eq!(line_hidden, json!(true));
    assert_eq!(
        browser
            .execute("return document.querySelector('[data-copy]').getAttribute('data-copy');")
            .await,
        next
    );
    browser.execute("location.reload(); return true;").await;
    browser.wait_for("Kód megjelenítése").await;
    assert_eq!(
        browser.url().await,
        app.url(&format!("/vault/entries/{id}"))
    );
    // On a phone's screen the page does not widen past it, and the code stays large.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": 390, "height": 844}),
        )
        .await;
    for path in ["/vault".to_string(), format!("/vault/entries/{id}")] {
        browser.goto(&app.url(&path)).await;
        browser.wait_for("Kiss Anna").await;
        let fits = browser
            .execute("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await;
        assert_eq!(fits, json!(true), "{path} is wider than a phone");
    }
    browser
        .click(&format!("form[action='/vault/entries/{id}/code'] button"))
        .await;
    browser.wait_for("seconds-left").await;
    let size = browser
        .execute(
            "return parseFloat(getComputedStyle(document.querySelector('.big-code')).fontSize);",
        )
        .await;
    assert!(size.as_f64().unwrap() >= 28.0, "{size}");
    // The tab is hidden, six minutes pass, and it is shown again: the vault locks.
    browser
        .execute(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); \
             document.dispatchEvent(new Event('visibilitychange')); \
             const real = Date.now; Date.now = () => real() + 6 * 60 * 1000; \
             Object.defineProperty(document, 'hidden', {configurable: true, get: () => false}); \
             document.dispatchEvent(new Event('visibilitychange')); return true;",
        )
        .await;
    browser.wait_for("A kódtár zárolva van").await;
    // The lock form was sent: the browser is back at the vault's unlock form.
    assert_eq!(browser.url().await, app.url("/vault"));
}
