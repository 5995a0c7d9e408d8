//! The vault's pages, as a browser without JavaScript uses them: unlocking (password, PIN,
//! e-mail code), the list and an entry's code; a code-only user who finds no secret on any
//! page; and a manager who adds, changes, delegates, re-keys, imports, exports and reads
//! the report through forms.

use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::App;
use crate::vault::{PW, RECOVERY, SECRET, delegate, entry, office};
use crate::vault_access::leaks;

/// A browser logged in (secure mode) with the vault unlocked by password.
async fn unlocked(app: &App, login: &str) -> (reqwest::Client, String) {
    let b = browser();
    let (s, _, _) = log_in(&b, app, login, PW, "secure").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, html) = page(&b, app, "/vault").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"password\""), "{html}");
    let csrf = csrf_of(&html);
    let (s, to, _) = post(
        &b,
        app,
        "/vault/unlock",
        &[("csrf", &csrf), ("password", PW), ("with", "password")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/vault"));
    (b, csrf)
}

async fn a_code_user_finds_no_secret_on_any_page(app: App) {
    let o = office(&app, "iroda").await;
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Kiss Anna", "issuer": "Ügyfélkapu+", "account": "kiss.anna",
        "secret": SECRET, "recovery_code": RECOVERY, "notes": "belső megjegyzés"}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    delegate(
        &app,
        &o.admin,
        &format!("/api/v1/vault/entries/{id}/grants"),
        json!({"user": "munkatars@iroda", "level": "code"}),
    )
    .await;
    let (b, csrf) = unlocked(&app, "munkatars@iroda").await;
    let (s, list) = page(&b, &app, "/vault").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.contains("Kiss Anna") && list.contains("csak kód"),
        "{list}"
    );
    let mut seen = vec![("GET /vault".to_string(), s, list)];
    for path in [
        "/vault?q=kiss".to_string(),
        format!("/vault/entries/{id}"),
        "/vault/folders".into(),
        "/vault/import".into(),
        "/vault/export".into(),
        "/vault/report".into(),
        "/vault/report?format=csv".into(),
        "/vault/new".into(),
        "/vault/pin".into(),
    ] {
        let (s, html) = page(&b, &app, &path).await;
        seen.push((format!("GET {path}"), s, html));
    }
    for (path, form) in [
        (
            format!("/vault/entries/{id}/code"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            format!("/vault/entries/{id}/secret"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            format!("/vault/entries/{id}/edit"),
            vec![("csrf", csrf.as_str()), ("notes", "x")],
        ),
        (
            format!("/vault/entries/{id}/rekey"),
            vec![
                ("csrf", csrf.as_str()),
                ("secret", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
            ],
        ),
        (
            format!("/vault/entries/{id}/grants"),
            vec![
                ("csrf", csrf.as_str()),
                ("holder", "munkatars@iroda"),
                ("level", "manage"),
            ],
        ),
        (
            format!("/vault/entries/{id}/delete"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            "/vault/export".to_string(),
            vec![
                ("csrf", csrf.as_str()),
                ("password", PW),
                ("format", "otpauth"),
                ("confirm_plain", "1"),
            ],
        ),
        (
            "/vault/export".to_string(),
            vec![
                ("csrf", csrf.as_str()),
                ("password", PW),
                ("format", "aegis"),
                ("file_password", "eleg-hosszu-jelszo"),
            ],
        ),
    ] {
        let (s, _, html) = post(&b, &app, &path, &form).await;
        seen.push((format!("POST {path}"), s, html));
    }
    for (call, status, html) in &seen {
        assert!(!status.is_server_error(), "{call}: {status}");
        assert_eq!(leaks(html), None, "{call} answered {status}: {html}");
        assert!(!html.contains("belső megjegyzés"), "{call} shows the notes");
    }
    let find = |call: &str| seen.iter().find(|(c, _, _)| c == call).unwrap();
    let (_, s, html) = find(&format!("POST /vault/entries/{id}/code"));
    assert_eq!(*s, StatusCode::OK);
    let shown: String = html
        .split("<output id=\"code\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .unwrap()
        .1
        .chars()
        .take(6)
        .collect();
    let key = kapu_core::vault::otp::parse_secret(SECRET).unwrap();
    let now = kapu_core::vault::otp::codes(&key, Default::default(), app.kapu.now());
    assert!(
        shown == now.code
            || shown
                == kapu_core::vault::otp::codes(&key, Default::default(), app.kapu.now() - 30_000)
                    .code,
        "{shown}"
    );
    assert_eq!(
        find(&format!("POST /vault/entries/{id}/secret")).1,
        StatusCode::FORBIDDEN
    );
    // The entry is unchanged and still there.
    let (_, still) = app
        .get(&o.admin, &format!("/api/v1/vault/entries/{id}"))
        .await;
    assert_eq!(still["notes"], "belső megjegyzés");
}

async fn a_manager_works_the_vault_through_forms(app: App) {
    let _o = office(&app, "iroda").await;
    let (b, csrf) = unlocked(&app, "fokonyvelo@iroda").await;
    // A bad key is marked on its field; a good one makes the entry.
    let (s, _, html) = post(
        &b,
        &app,
        "/vault/new",
        &[
            ("csrf", &csrf),
            ("client_name", "Nagy Béla"),
            ("issuer", "NAV"),
            ("account", "nagy.bela"),
            ("secret", "rossz!"),
            ("algorithm", "SHA1"),
            ("digits", "6"),
            ("period", "30"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#secret\""), "{html}");
    let (s, to, _) = post(
        &b,
        &app,
        "/vault/new",
        &[
            ("csrf", &csrf),
            ("client_name", "Nagy Béla"),
            ("issuer", "NAV"),
            ("account", "nagy.bela"),
            ("secret", "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp"),
            ("recovery_code", RECOVERY),
            ("algorithm", "SHA256"),
            ("digits", "8"),
            ("period", "30"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let id = to.trim_start_matches("/vault/entries/").to_string();
    let (_, html) = page(&b, &app, &to).await;
    assert!(html.contains("Nagy Béla"), "{html}");
    // Change, delegate (a bad holder is marked), show the secret, re-key.
    let (s, _, _) = post(
        &b,
        &app,
        &format!("/vault/entries/{id}/edit"),
        &[
            ("csrf", &csrf),
            ("client_name", "Nagy Béla Kft."),
            ("issuer", "NAV"),
            ("account", "nagy.bela"),
            ("notes", "ügyvezető"),
            ("folder_id", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, html) = post(
        &b,
        &app,
        &format!("/vault/entries/{id}/grants"),
        &[
            ("csrf", &csrf),
            ("holder", "nincs@iroda"),
            ("level", "code"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#holder\""), "{html}");
    let (s, _, _) = post(
        &b,
        &app,
        &format!("/vault/entries/{id}/grants"),
        &[
            ("csrf", &csrf),
            ("holder", "munkatars@iroda"),
            ("level", "code"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = post(
        &b,
        &app,
        &format!("/vault/entries/{id}/secret"),
        &[("csrf", &csrf)],
    )
    .await;
    assert!(
        html.contains(SECRET) && html.contains(RECOVERY) && html.contains("<svg"),
        "{html}"
    );
    let (s, _, _) = post(
        &b,
        &app,
        &format!("/vault/entries/{id}/rekey"),
        &[
            ("csrf", &csrf),
            ("secret", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
            ("recovery_code", "UJ-KOD"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, &format!("/vault/entries/{id}")).await;
    assert!(
        html.contains("Nagy Béla Kft.")
            && html.contains("munkatars@iroda")
            && html.contains("új kulcs")
            && !html.contains("vault.rekey"),
        "{html}"
    );
    // Folders and their delegation.
    let (s, _, _) = post(
        &b,
        &app,
        "/vault/folders",
        &[("csrf", &csrf), ("name", "Kiemelt")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/vault/folders").await;
    assert!(html.contains("Kiemelt"), "{html}");
    let folder_id: String = html
        .split("/vault/folders/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| *c != '/')
        .collect();
    let (s, _, _) = post(
        &b,
        &app,
        &format!("/vault/folders/{folder_id}/grants"),
        &[("csrf", &csrf), ("holder", "konyveles"), ("level", "view")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/vault/folders").await;
    assert!(html.contains("Könyvelés (konyveles)"), "{html}");
    // Import: pasted addresses, a preview, then the progress page until done.
    let form = Form::new()
        .text("csrf", csrf.clone())
        .text("text", format!("otpauth://totp/MAK:toth.jozsef?secret={SECRET}&issuer=MAK\notpauth://totp/Rossz:x?secret=123\n"))
        .text("folder_id", folder_id.clone());
    let r = b
        .post(app.url("/vault/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("toth.jozsef") && html.contains("hibás"),
        "{html}"
    );
    let import_id: String = html
        .split("/vault/imports/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| *c != '/')
        .collect();
    let (s, to, _) = post(
        &b,
        &app,
        &format!("/vault/imports/{import_id}/confirm"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut done = false;
    for _ in 0..100 {
        let (_, html) = page(&b, &app, &to).await;
        assert!(html.contains("<progress"), "{html}");
        if html.contains("befejeződött") {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(done);
    let (_, html) = page(&b, &app, &format!("/vault?folder={folder_id}")).await;
    assert!(html.contains("toth.jozsef"), "{html}");
    // Export: the encrypted file downloads; a plain one wants its box ticked.
    let (s, _, html) = post(
        &b,
        &app,
        "/vault/export",
        &[("csrf", &csrf), ("password", PW), ("format", "otpauth")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#confirm_plain\""), "{html}");
    let r = b
        .post(app.url("/vault/export"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", PW),
            ("format", "aegis"),
            ("file_password", "Export-Jelszo-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("kapu-vault-aegis.json")
    );
    let file: Value = r.json().await.unwrap();
    assert_eq!(file["header"]["slots"][0]["type"], 1);
    // The report and its CSV.
    let (_, html) = page(&b, &app, "/vault/report?user=fokonyvelo%40iroda").await;
    assert!(
        html.contains("kulcs megjelenítése")
            && html.contains("kivitel")
            && !html.contains("vault.secret"),
        "{html}"
    );
    let r = b
        .get(app.url("/vault/report?format=csv"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    // Locking shows the unlock form again.
    let (s, _, _) = post(&b, &app, "/vault/lock", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, &format!("/vault/entries/{id}")).await;
    assert!(html.contains("action=\"/vault/unlock\""), "{html}");
}

/// Deleting an entry asks first, naming it; a reveal's address opened again leads back to
/// the entry instead of an error.
async fn deleting_asks_first_and_reveal_addresses_lead_back(app: App) {
    let o = office(&app, "iroda").await;
    let e = entry(
        &app,
        &o.admin,
        json!({"client_name": "Törlendő Tamás", "issuer": "NAV", "secret": SECRET}),
    )
    .await;
    let id = e["id"].as_str().unwrap();
    let (b, csrf) = unlocked(&app, "fokonyvelo@iroda").await;
    let (_, html) = page(&b, &app, &format!("/vault/entries/{id}")).await;
    assert!(
        html.contains(&format!("href=\"/vault/entries/{id}/delete\""))
            && !html.contains(&format!("action=\"/vault/entries/{id}/delete\"")),
        "{html}"
    );
    let (s, html) = page(&b, &app, &format!("/vault/entries/{id}/delete")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Törlendő Tamás")
            && html.contains(&format!("action=\"/vault/entries/{id}/delete\"")),
        "{html}"
    );
    let (s, _) = page(&b, &app, &format!("/vault/entries/{id}")).await;
    assert_eq!(s, StatusCode::OK, "asking deleted nothing");
    for reveal in ["code", "secret"] {
        let r = b
            .get(app.url(&format!("/vault/entries/{id}/{reveal}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{reveal}");
        assert_eq!(
            r.headers()["location"],
            format!("/vault/entries/{id}").as_str()
        );
    }
    let (s, to, _) = post(
        &b,
        &app,
        &format!("/vault/entries/{id}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/vault"));
    let (s, _) = page(&b, &app, &format!("/vault/entries/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn pin_and_e_mail_check_through_pages(app: App) {
    let o = office(&app, "iroda").await;
    let (b, csrf) = unlocked(&app, "munkatars@iroda").await;
    let (s, _, html) = post(
        &b,
        &app,
        "/vault/pin",
        &[("csrf", &csrf), ("password", PW), ("pin", "111111")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#pin\""), "{html}");
    let (s, _, _) = post(
        &b,
        &app,
        "/vault/pin",
        &[("csrf", &csrf), ("password", PW), ("pin", "482915")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    post(&b, &app, "/vault/lock", &[("csrf", &csrf)]).await;
    let (_, html) = page(&b, &app, "/vault").await;
    assert!(html.contains("inputmode=\"numeric\""), "{html}");
    let (s, _, html) = post(
        &b,
        &app,
        "/vault/unlock",
        &[("csrf", &csrf), ("pin", "999888"), ("with", "pin")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#pin\""), "{html}");
    let (s, to, _) = post(
        &b,
        &app,
        "/vault/unlock",
        &[("csrf", &csrf), ("pin", "482915"), ("with", "pin")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/vault"));
    // The tenant asks for the e-mail check: a new browser gives the code, then is remembered.
    let tenant_admin = app.login("fo.admin@iroda", "Tenant-Admin1", "secure").await;
    app.send(
        "PUT",
        &tenant_admin,
        "/api/v1/tenants/iroda/settings/vault_email_verification",
        json!({"value": "true"}),
    )
    .await;
    app.kapu.settings().invalidate();
    let _ = o;
    let fresh = browser();
    log_in(&fresh, &app, "munkatars@iroda", PW, "secure").await;
    let (_, html) = page(&fresh, &app, "/vault").await;
    let csrf2 = csrf_of(&html);
    post(
        &fresh,
        &app,
        "/vault/unlock",
        &[("csrf", &csrf2), ("password", PW), ("with", "password")],
    )
    .await;
    let (_, html) = page(&fresh, &app, "/vault").await;
    assert!(html.contains("action=\"/vault/unlock/email\""), "{html}");
    let mail = app.mail_to("munkatars@iroda.example", 2).await;
    let code: String = mail
        .lines()
        .find_map(|l| l.split("kódot: ").nth(1))
        .unwrap()
        .chars()
        .take(6)
        .collect();
    let r = fresh
        .post(app.url("/vault/unlock/email"))
        .form(&[("csrf", csrf2.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("kapu_vault_browser="));
    let cookie = cookie.expect("a browser cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=2592000"),
        "{cookie}"
    );
    let (_, html) = page(&fresh, &app, "/vault").await;
    assert!(html.contains("id=\"vault-lock\""), "{html}");
    // The same browser, in a new session, is not asked again.
    post(&fresh, &app, "/logout", &[("csrf", &csrf_of(&html))]).await;
    log_in(&fresh, &app, "munkatars@iroda", PW, "secure").await;
    let (_, html) = page(&fresh, &app, "/vault").await;
    let (s, to, _) = post(
        &fresh,
        &app,
        "/vault/unlock",
        &[
            ("csrf", &csrf_of(&html)),
            ("password", PW),
            ("with", "password"),
        ],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/vault"));
    let (_, html) = page(&fresh, &app, "/vault").await;
    assert!(html.contains("id=\"vault-lock\""), "{html}");
}

both!(
    a_code_user_finds_no_secret_on_any_page,
    a_manager_works_the_vault_through_forms,
    pin_and_e_mail_check_through_pages,
    deleting_asks_first_and_reveal_addresses_lead_back,
);
