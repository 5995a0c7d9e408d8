//! Single sign-on in a real browser under the pages' own Content-Security-Policy, from the
//! service's first redirect to its callback receiving the code (the example portal, a
//! separate application with a stock client, listening locally): a first login with
//! consent, a returning user, and both again with a second step.

use serde_json::json;

use crate::browser::Browser;
use crate::harness::{App, Backend};
use crate::portal::{PW, start_portal};
use crate::second_factor::totp;

const LOGIN: &str = "kozmu.kati@kozpont";

/// From the portal's login link through Kapu's login page; the second step's code too
/// when `secret` is given.
async fn through_kapu(browser: &Browser, app: &App, portal: &str, secret: Option<&str>) {
    browser.goto(&format!("{portal}/login")).await;
    browser.wait_for("Bejelentkezési név").await;
    browser.type_into("#login", LOGIN).await;
    browser.type_into("#password", PW).await;
    browser.click("main form button").await;
    if let Some(secret) = secret {
        browser.wait_for("Második lépés").await;
        // Each login takes a code of a step not used before.
        app.clock.advance(30_000);
        browser.type_into("#code", &totp(app, secret, 0)).await;
        browser.click("main form button").await;
    }
}

/// The first login asks for consent and lands on the portal's registration; after the
/// portal's logout (which ends Kapu's session too) the next login comes straight back.
async fn first_and_returning_login(
    browser: &Browser,
    app: &App,
    portal: &str,
    secret: Option<&str>,
) {
    through_kapu(browser, app, portal, secret).await;
    browser.wait_for("Hozzájárulás").await;
    browser.click("button[name=decision][value=allow]").await;
    browser.wait_for("első belépésekor").await;
    assert_eq!(browser.url().await, format!("{portal}/register"));
    browser.type_into("#number", "K-4242").await;
    browser.type_into("#address", "Szeged, Fő utca 1.").await;
    browser.click("main form button").await;
    browser.wait_for("K-4242").await;
    assert_eq!(browser.url().await, format!("{portal}/"));

    browser.click("form[action='/logout'] button").await;
    browser.wait_for("nincs bejelentkezve").await;
    through_kapu(browser, app, portal, secret).await;
    let html = browser.wait_for("Üdvözöljük").await;
    assert!(html.contains("K-4242") && html.contains(LOGIN), "{html}");
    assert_eq!(browser.url().await, format!("{portal}/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_to_a_service_and_comes_back_to_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let portal = start_portal(&app).await;
    first_and_returning_login(&browser, &app, &portal, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_takes_the_second_step_on_the_way_to_a_service() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let portal = start_portal(&app).await;
    let (secret, _) = crate::second_factor::enrol_totp(&app, LOGIN, PW).await;
    first_and_returning_login(&browser, &app, &portal, Some(&secret)).await;
}

/// The enrolment page in a real browser: the QR code shows under the page's policy, and the
/// recovery codes after it can be kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_shows_the_enrolment_qr_code() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "qr.kati", PW).await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for("Bejelentkezési név").await;
    browser.type_into("#login", "qr.kati@kozpont").await;
    browser.type_into("#password", PW).await;
    browser.click("main form button").await;
    browser.wait_for("Indítópult").await;
    browser.goto(&app.url("/profile/factors")).await;
    browser.wait_for("factors/totp").await;
    browser.type_into("#password", PW).await;
    browser
        .click("form[action='/profile/factors/totp'] button")
        .await;
    browser.wait_for("class=\"qr\"").await;
    // Drawn, at its size: the markup is in the page, not a source the policy refuses.
    let size = browser
        .execute("const r = document.querySelector('.qr svg').getBoundingClientRect(); return [r.width, r.height];")
        .await;
    assert_eq!(size, json!([200, 200]));
    // Confirmed with a first code, the recovery codes are shown once: whole on every line,
    // to download or print, and the page goes on only once the user says they kept them.
    let key = browser
        .execute("return document.querySelector('code.key').textContent.replace(/ /g, '');")
        .await;
    browser
        .type_into("#code", &totp(&app, key.as_str().unwrap(), 0))
        .await;
    browser
        .click("form[action='/profile/factors/totp/confirm'] button")
        .await;
    browser.wait_for("codes-saved").await;
    let codes = browser
        .execute(
            "return Array.from(document.querySelectorAll('.codes code')).map(c => c.textContent);",
        )
        .await;
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    assert_eq!(codes.len(), 10);
    let wraps = browser
        .execute("return getComputedStyle(document.querySelector('.codes code')).whiteSpace;")
        .await;
    assert_eq!(wraps, json!("nowrap"));
    let print_shown = browser
        .execute("return document.querySelector('[data-print]').hidden;")
        .await;
    assert_eq!(print_shown, json!(false));
    let file = browser
        .execute("const a = document.getElementById('codes-download'); return [a.getAttribute('download'), decodeURIComponent(a.href.split(',')[1])];")
        .await;
    assert!(
        file[0].as_str().unwrap().ends_with(".txt")
            && codes
                .iter()
                .all(|c| file[1].as_str().unwrap().contains(c.as_str())),
        "{file}"
    );
    let asked = browser.url().await;
    browser
        .click("form[action='/profile/factors'] button")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        browser.url().await,
        asked,
        "went on before the codes were kept"
    );
    browser.click("#codes-saved").await;
    browser
        .click("form[action='/profile/factors'] button")
        .await;
    browser.wait_for("Kétlépcsős azonosítás").await;
    assert!(browser.url().await.contains("/profile/factors?saved=1"));
}
