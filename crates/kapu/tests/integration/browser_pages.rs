//! Pages on a phone's screen, in the real browser with the pages' policy in force: none is
//! wider than 390 px (long headings, fieldsets with selects, tables with hidden headers),
//! the mailbox's tabs and unread rows have their styles, and no console error occurs.

use serde_json::json;

use crate::browser::Browser;
use crate::harness::{ADMIN, ADMIN_PW, App, Backend};
use crate::mailbox::office;
use crate::second_factor::{enrol_totp, totp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_is_wider_than_a_phone() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    let long = "Szabolcs-Szatmár-Bereg Vármegyei Kormányhivatal Nyírbátori Járási Hivatalának Hatósági és Gyámügyi Osztálya";
    office(&app, &admin, "kozpont", "NYIRBATOR-JH", long).await;
    let (secret, _) = enrol_totp(&app, ADMIN, ADMIN_PW).await;
    app.clock.advance(30_000);
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": 390, "height": 844}),
        )
        .await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for("Bejelentkezési név").await;
    browser.type_into("#login", ADMIN).await;
    browser.type_into("#password", ADMIN_PW).await;
    browser.click("input[name=mode][value=secure]").await;
    browser.click("main form button").await;
    browser.wait_for("id=\"code\"").await;
    browser.type_into("#code", &totp(&app, &secret, 0)).await;
    browser.click("main form[novalidate] button").await;
    browser.wait_for("Indítópult").await;
    for path in [
        "/",
        "/profile",
        "/profile/factors",
        "/mail/me",
        "/mail/me?folder=sent",
        "/mail/me/compose",
        "/mail/me/compose?recipient=NYIRBATOR-JH",
        "/offices",
        "/offices/NYIRBATOR-JH/document-types",
        "/admin/offices/NYIRBATOR-JH",
        "/admin/users",
        "/admin/users/kozpont/admin",
        "/admin/users/kozpont/admin/rights",
        "/admin/groups",
        "/admin/audit",
        "/admin/settings",
        "/admin/sso",
        "/admin/sso/request",
    ] {
        browser.goto(&app.url(path)).await;
        browser.wait_for("</main>").await;
        let widths = browser
            .execute("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        assert!(
            widths[0].as_i64() <= widths[1].as_i64(),
            "{path} is wider than a phone: {widths}"
        );
    }
    // The mailbox's tabs are tabs, not a bulleted list.
    browser.goto(&app.url("/mail/me")).await;
    browser.wait_for("</main>").await;
    let tabs = browser
        .execute("const s = getComputedStyle(document.querySelector('.tabs')); return [s.display, s.listStyleType];")
        .await;
    assert_eq!(tabs, json!(["flex", "none"]));
    // On a desktop the rights page's lists show whole role names.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": 1280, "height": 900}),
        )
        .await;
    browser
        .goto(&app.url("/admin/users/kozpont/admin/rights"))
        .await;
    browser.wait_for("pick_role").await;
    let clipped = browser
        .execute("return Array.from(document.querySelectorAll('.dual select')).filter(s => s.scrollWidth > s.clientWidth).map(s => s.id);")
        .await;
    assert_eq!(clipped, json!([]));
}
