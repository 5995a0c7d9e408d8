//! The mailbox pages, driven like a browser: compose with files, the message page, downloads,
//! envelopes, the directory, office administration, registration and the notice switch.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::{ADMIN, ADMIN_PW, App, link_token};
use crate::mailbox::{grant, office};

fn value_of(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

async fn a_citizen_writes_to_an_office_and_a_clerk_downloads_it_through_the_pages(app: App) {
    let admin = app.admin().await;
    let maintainer = app.tenant_with_admin("varos").await;
    office(
        &app,
        &admin,
        "varos",
        "VAROS-HIV",
        "Város Polgármesteri Hivatala",
    )
    .await;
    app.user(&maintainer, "varos", "ugy.intezo", "Ugyintezo-1")
        .await;
    grant(
        &app,
        &maintainer,
        "varos",
        "ugy.intezo",
        &["hkp.VAROS-HIV.read".into(), "hkp.VAROS-HIV.send".into()],
    )
    .await;
    app.user(&admin, "kozpont", "kis.janos", "Kis-Janos-1")
        .await;

    let citizen = browser();
    log_in(&citizen, &app, "kis.janos@kozpont", "Kis-Janos-1", "normal").await;
    let (s, home) = page(&citizen, &app, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("href=\"/mail\"") && home.contains("href=\"/offices\""));
    // The directory finds the office without accents and links to the compose page.
    let (s, dir) = page(&citizen, &app, "/offices?q=varos").await;
    assert_eq!(s, StatusCode::OK);
    assert!(dir.contains("VAROS-HIV") && dir.contains("/mail/me/compose?recipient=VAROS-HIV"));
    let (s, compose) = page(&citizen, &app, "/mail/me/compose?recipient=VAROS-HIV").await;
    assert_eq!(s, StatusCode::OK, "{compose}");
    assert!(
        compose.contains("enctype=\"multipart/form-data\"")
            && compose.contains("<label for=\"documents\">")
    );
    let csrf = csrf_of(&compose);
    let client_id = value_of(&compose, "client_id");
    let form = || {
        Form::new()
            .text("csrf", csrf.clone())
            .text("client_id", client_id.clone())
            .text("recipient", "VAROS-HIV")
            .text("doc_type", "KERELEM")
            .text("doc_type_desc", "Kérelem")
            .text("reference", "K-1")
            .text("note", "Kérem a mellékelt kérelmem befogadását.")
            .text("receipt_requested", "1")
            .part(
                "document",
                Part::bytes(b"%PDF kerelem".to_vec())
                    .file_name("kérelem.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            )
    };
    let r = citizen
        .post(app.url("/mail/me/compose"))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/mail/me/messages/"), "{location}");
    // The same form sent twice (a double click) files it once.
    let r = citizen
        .post(app.url("/mail/me/compose"))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"].to_str().unwrap(), location);
    let (s, msg) = page(&citizen, &app, &location).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        msg.contains("Feladási igazolás") && msg.contains(".jws") || msg.contains("/receipt"),
        "{msg}"
    );
    let (_, sent) = page(&citizen, &app, "/mail/me?folder=sent").await;
    assert_eq!(sent.matches("/mail/me/messages/").count(), 1, "{sent}");
    // A form without its token stores nothing.
    let r = citizen
        .post(app.url("/mail/me/compose"))
        .multipart(
            Form::new()
                .text("csrf", "wrong")
                .part("document", Part::bytes(b"x".to_vec()).file_name("x.pdf")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A form with mistakes comes back with the errors and the values typed.
    let (_, compose) = page(&citizen, &app, "/mail/me/compose").await;
    let bad = Form::new()
        .text("csrf", csrf_of(&compose))
        .text("client_id", value_of(&compose, "client_id"))
        .text("recipient", "NINCS")
        .text("doc_type", "KERELEM")
        .text("doc_type_desc", "Kérelem")
        .text("reference", "K-2");
    let r = citizen
        .post(app.url("/mail/me/compose"))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("error-summary")
            && html.contains("href=\"#recipient\"")
            && html.contains("value=\"K-2\""),
        "{html}"
    );

    // The clerk sees it in the office mailbox and downloads the document.
    let clerk = browser();
    log_in(&clerk, &app, "ugy.intezo@varos", "Ugyintezo-1", "normal").await;
    let (s, inbox) = page(&clerk, &app, "/mail/VAROS-HIV").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        inbox.contains("Teszt kis.janos")
            && inbox.contains("<td>Kérelem</td>")
            && inbox.contains("aria-current=\"page\"")
    );
    let id = location
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let (s, msg) = page(&clerk, &app, &format!("/mail/VAROS-HIV/messages/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(msg.contains("Kérem a mellékelt") && msg.contains("/documents/1"));
    let r = clerk
        .get(app.url(&format!("/mail/VAROS-HIV/messages/{id}/documents/1")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.headers());
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF kerelem");
    let (_, msg) = page(&citizen, &app, &location).await;
    assert!(msg.contains("Átvételi igazolás"), "{msg}");
    // A colleague without the right gets the not-found page.
    app.user(&maintainer, "varos", "mas.valaki", "Mas-Valaki-1")
        .await;
    let other = browser();
    log_in(&other, &app, "mas.valaki@varos", "Mas-Valaki-1", "normal").await;
    let (s, _) = page(&other, &app, &format!("/mail/VAROS-HIV/messages/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = page(&other, &app, "/mail/VAROS-HIV/compose").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn an_envelope_uploads_through_its_page_and_its_errors_name_the_element(app: App) {
    let admin = app.admin().await;
    office(&app, &admin, "kozpont", "KOZP", "Központi Hivatal").await;
    let b = browser();
    log_in(&b, &app, ADMIN, ADMIN_PW, "normal").await;
    let (s, html) = page(&b, &app, "/mail/me/envelope").await;
    assert_eq!(s, StatusCode::OK);
    let send = |xml: &'static str, html: String| {
        let b = b.clone();
        let url = app.url("/mail/me/envelope");
        async move {
            let form = Form::new()
                .text("csrf", csrf_of(&html))
                .text("client_id", value_of(&html, "client_id"))
                .part(
                    "envelope",
                    Part::bytes(xml.as_bytes().to_vec()).file_name("level.kr"),
                );
            b.post(url).multipart(form).send().await.unwrap()
        }
    };
    let r = send("<Boritek><Fejlec><DokTipusAzonosito>A</DokTipusAzonosito><DokTipusLeiras>B</DokTipusLeiras></Fejlec><Torzs><Dokumentum FileNev=\"a.txt\">QUJD</Dokumentum></Torzs></Boritek>", html.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Fejlec/Cimzett"));
    let r = send("<Boritek><Fejlec><Cimzett>KOZP</Cimzett><DokTipusAzonosito>A</DokTipusAzonosito><DokTipusLeiras>B</DokTipusLeiras></Fejlec><Torzs><Dokumentum FileNev=\"a.txt\">QUJD</Dokumentum></Torzs></Boritek>", html).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn central_administrators_create_and_close_offices_through_the_pages(app: App) {
    app.tenant_with_admin("varos").await;
    let b = browser();
    log_in(&b, &app, ADMIN, ADMIN_PW, "secure").await;
    let (s, html) = page(&b, &app, "/admin/offices/new").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/offices/new",
        &[
            ("csrf", &csrf),
            ("short_name", "rossz"),
            ("tenant", "varos"),
            ("name", ""),
            ("office_type", "onkormanyzat"),
            ("connection", "both"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#short_name\"") && html.contains("href=\"#name\""));
    let (s, location, _) = post(
        &b,
        &app,
        "/admin/offices/new",
        &[
            ("csrf", &csrf),
            ("short_name", "VAROS-HIV"),
            ("tenant", "varos"),
            ("name", "Város Hivatala"),
            ("office_type", "onkormanyzat"),
            ("connection", "browser"),
            ("notify_email", ""),
            ("public_key", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/admin/offices/VAROS-HIV"));
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/offices/VAROS-HIV/close",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, dir) = page(&b, &app, "/offices").await;
    assert!(dir.contains("Lezárva"), "{dir}");
    // Others get the 403 page instead of the form.
    app.user(&app.admin().await, "kozpont", "sima", "Sima-Jelszo1")
        .await;
    let other = browser();
    log_in(&other, &app, "sima@kozpont", "Sima-Jelszo1", "secure").await;
    let (s, _) = page(&other, &app, "/admin/offices/new").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn a_citizen_registers_and_confirms_through_the_pages_and_switches_notices_off(app: App) {
    let b = browser();
    let (_, login) = page(&b, &app, "/login").await;
    assert!(login.contains("href=\"/register\""));
    let (s, html) = page(&b, &app, "/register").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/register",
        &[
            ("csrf", &csrf),
            ("full_name", "Nagy Éva"),
            ("email", "nagy.eva@example.hu"),
            ("login", "nagy.eva"),
            ("password", "Nagy-Eva-2026"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let mail = app.mail_to("nagy.eva@example.hu", 1).await;
    let token = link_token(&mail, "/register/verify");
    // Opening the link confirms nothing by itself (mail scanners open links).
    let (s, html) = page(&b, &app, &format!("/register/verify?token={token}")).await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .login_raw("nagy.eva@ugyfelkapu", "Nagy-Eva-2026", "normal")
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _, html) = post(
        &b,
        &app,
        &format!("/register/verify?token={token}"),
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("nagy.eva@ugyfelkapu"));
    log_in(&b, &app, "nagy.eva@ugyfelkapu", "Nagy-Eva-2026", "normal").await;
    // A citizen's launchpad and profile speak of their mail and account, not of the
    // framework: no tenant, no vault, no roles, no substitutions.
    let (_, home) = page(&b, &app, "/").await;
    assert!(home.contains("href=\"/mail\"") && home.contains("href=\"/offices\""));
    for framework in [
        "href=\"/vault\"",
        "Szervezet",
        "Ügyfélkapu (ugyfelkapu)",
        " · Ügyfélkapu",
    ] {
        assert!(!home.contains(framework), "{framework}: {home}");
    }
    let (_, profile) = page(&b, &app, "/profile").await;
    for framework in [
        "Keretrendszeri felhasználó",
        "Szerepkörök",
        "Helyettesítéseim",
    ] {
        assert!(!profile.contains(framework), "{framework}: {profile}");
    }
    assert!(profile.contains("name=\"arrival_mail\" value=\"1\" checked"));
    let (s, _, _) = post(
        &b,
        &app,
        "/profile/notices",
        &[("csrf", &csrf_of(&profile))],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, profile) = page(&b, &app, "/profile").await;
    assert!(!profile.contains("value=\"1\" checked"));
}

both!(
    a_citizen_writes_to_an_office_and_a_clerk_downloads_it_through_the_pages,
    an_envelope_uploads_through_its_page_and_its_errors_name_the_element,
    central_administrators_create_and_close_offices_through_the_pages,
    a_citizen_registers_and_confirms_through_the_pages_and_switches_notices_off,
);
