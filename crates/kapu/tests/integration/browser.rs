//! The pages in a real browser: Debian's Chromium, driven over WebDriver by chromedriver.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use crate::harness::{ADMIN, ADMIN_PW, App, Backend};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) struct Browser {
    child: Child,
    http: Client,
    session: String,
    profile: std::path::PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    /// `None` where no chromedriver is installed (CI installs it and must not skip).
    pub(crate) async fn start() -> Option<Browser> {
        crate::harness::install_tls_provider();
        let installed = Command::new("chromedriver")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            static ONCE: std::sync::Once = std::sync::Once::new();
            crate::harness::skip(
                &ONCE,
                "the real-browser tests",
                "install Debian's chromium and chromium-driver",
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = std::env::temp_dir().join(format!("kapu-chromium-{port}"));
        let http = Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser {
            child,
            http,
            session: String::new(),
            profile,
        };
        for _ in 0..100 {
            if let Ok(r) = browser.http.get(format!("{base}/status")).send().await
                && r.json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The console's every message is kept, so that a test sees each error and each
        // refusal of the page's Content-Security-Policy.
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "prefs": {"intl.accept_languages": "hu-HU,hu"},
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=hu-HU",
                     format!("--user-data-dir={}", browser.profile.display())]
        }}}});
        let r: Value = browser
            .http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {r}"));
        browser.session = format!("{base}/session/{id}");
        Some(browser)
    }

    pub(crate) async fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let req = self.http.request(method, format!("{}{path}", self.session));
        let req = if body.is_null() { req } else { req.json(&body) };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    pub(crate) async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            json!({}),
        )
        .await;
    }

    pub(crate) async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", Value::Null)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub(crate) async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The console's errors and CSP refusals since the last look (on any page visited in
    /// between).
    async fn console_faults(&self) -> Vec<Value> {
        let logs = self
            .cmd(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .await;
        let entries = logs
            .as_array()
            .unwrap_or_else(|| panic!("the browser gave no console log: {logs}"));
        entries
            .iter()
            .filter(|e| {
                let message = e["message"].as_str().unwrap_or("");
                // A page answered with an error status (a form sent back with its errors)
                // is logged as a failed load of the page itself; the test checks that page.
                // Everything a page loads is under /static/, and must load.
                let page_status = e["source"] == "network"
                    && message.contains(" - Failed to load resource: the server responded")
                    && !message.contains("/static/")
                    && !message.contains("/favicon");
                (e["level"] == "SEVERE" && !page_status)
                    || message.contains("Content Security Policy")
                    || message.contains("Content-Security-Policy")
            })
            .cloned()
            .collect()
    }

    /// Fails on any console error or CSP refusal since the last check, and on any image of
    /// the page that did not load.
    pub(crate) async fn assert_clean(&self) {
        let faults = self.console_faults().await;
        assert!(
            faults.is_empty(),
            "the console shows errors on {}: {faults:?}",
            self.url().await
        );
        let broken = self
            .execute(
                "return Array.from(document.images)\
                   .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);",
            )
            .await;
        assert_eq!(broken, json!([]), "images that did not load");
    }

    /// Runs a script in the page and returns what it returns.
    pub(crate) async fn execute(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Waits until the page shows `text` (navigation after a click takes a moment), then
    /// checks the page as [`Browser::assert_clean`] does.
    pub(crate) async fn wait_for(&self, text: &str) -> String {
        for _ in 0..100 {
            let html = self.source().await;
            if html.contains(text) {
                self.assert_clean().await;
                return html;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the page never showed {text:?}; the console: {:?}; it shows: {}",
            self.console_faults().await,
            self.source().await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_logs_in_securely_meets_the_error_summary_and_logs_out() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for("Bejelentkezési név").await;
    browser.type_into("#login", ADMIN).await;
    browser.type_into("#password", ADMIN_PW).await;
    browser.click("input[name=mode][value=secure]").await;
    browser.click("main form button").await;
    let html = browser.wait_for("Indítópult").await;
    assert!(
        html.contains("Központi Admin") && html.contains("Biztonsági"),
        "the header shows the user and the secure mode"
    );
    assert_eq!(browser.url().await, app.url("/"));

    // An empty form comes back with a summary that links to each field.
    browser
        .goto(&app.url("/admin/users/new?tenant=kozpont"))
        .await;
    browser.wait_for("Új felhasználó").await;
    browser.click("main form button").await;
    let html = browser.wait_for("error-summary").await;
    for field in ["login", "full_name", "email"] {
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
    }
    browser.click(".error-summary a[href='#email']").await;

    // The English switch, then logout.
    browser.click("a[href^='/lang?to=en']").await;
    browser.wait_for("New user").await;
    browser.click("form[action='/logout'] button").await;
    browser.wait_for("Log in").await;
    assert!(browser.url().await.ends_with("/login"));
    browser.goto(&app.url("/")).await;
    browser.wait_for("Login name").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_sends_a_file_to_an_office_and_sees_its_receipt() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    crate::mailbox::office(&app, &admin, "kozpont", "KOZP-HIV", "Központi Hivatal").await;
    let file = app.dir.join("kérelem.pdf");
    std::fs::write(&file, b"%PDF-1.4 a real upload").unwrap();
    browser.goto(&app.url("/login")).await;
    browser.wait_for("Bejelentkezési név").await;
    browser.type_into("#login", ADMIN).await;
    browser.type_into("#password", ADMIN_PW).await;
    browser.click("main form button").await;
    browser.wait_for("Indítópult").await;
    browser.goto(&app.url("/offices?q=kozponti")).await;
    browser.wait_for("KOZP-HIV").await;
    browser
        .click("a[href='/mail/me/compose?recipient=KOZP-HIV']")
        .await;
    browser.wait_for("Dokumentumtípus kódja").await;
    browser.type_into("#doc_type", "KERELEM").await;
    browser.type_into("#doc_type_desc", "Kérelem").await;
    browser.type_into("#reference", "B-1").await;
    browser
        .type_into("#documents", file.to_str().unwrap())
        .await;
    browser.click("main form button").await;
    let html = browser.wait_for("Feladási igazolás").await;
    assert!(
        html.contains("kérelem.pdf") && html.contains("KOZP-HIV"),
        "{html}"
    );
    assert!(browser.url().await.contains("/mail/me/messages/"));
}

/// A security key in a real browser: Chromium's virtual authenticator (WebDriver's WebAuthn
/// extension) is bound from the profile page and then answers the login's second page,
/// through the pages' own script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_binds_a_security_key_and_logs_in_with_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = App::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "kulcsos", "Kulcsos-Jelszo1")
        .await;
    let authenticator = browser
        .cmd(
            reqwest::Method::POST,
            "/webauthn/authenticator",
            json!({"protocol": "ctap2", "transport": "usb", "hasResidentKey": true,
                   "hasUserVerification": true, "isUserVerified": true}),
        )
        .await;
    assert!(authenticator.is_string(), "{authenticator}");
    // The relying party is the public address's host name.
    let public = app.kapu.config().public_url.clone();
    let log_in = || async {
        browser.goto(&format!("{public}/login")).await;
        browser.wait_for("Bejelentkezési név").await;
        browser.type_into("#login", "kulcsos@kozpont").await;
        browser.type_into("#password", "Kulcsos-Jelszo1").await;
        browser.click("main form button").await;
    };
    log_in().await;
    browser.wait_for("Indítópult").await;
    browser.goto(&format!("{public}/profile/factors")).await;
    browser.wait_for("Biztonsági kulcs felvétele").await;
    browser.type_into("#key-name", "Virtuális kulcs").await;
    browser.type_into("#key-password", "Kulcsos-Jelszo1").await;
    browser
        .click("form[action='/profile/factors/webauthn'] button")
        .await;
    browser.wait_for("Érintse meg a kulcsot").await;
    browser.click("form[data-webauthn] button").await;
    // The recovery codes first, shown once; the key's row once they are kept.
    browser.wait_for("class=\"codes\"").await;
    browser.click("#codes-saved").await;
    browser
        .click("form[action='/profile/factors'] button")
        .await;
    browser.wait_for("Virtuális kulcs").await;

    browser.click("form[action='/logout'] button").await;
    browser.wait_for("Bejelentkezési név").await;
    log_in().await;
    browser.wait_for("Belépés biztonsági kulccsal").await;
    browser.click("form[data-webauthn] button").await;
    browser.wait_for("Indítópult").await;
    let (_, log) = app
        .get(&admin, "/api/v1/audit?per_page=5&action=login")
        .await;
    assert!(log.to_string().contains("pwd hwk mfa"), "{log}");
}
