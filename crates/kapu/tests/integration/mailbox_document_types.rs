//! A citizen's way to an office: the office keeps the document types it accepts (API and
//! its page), a send of another type is refused, and a citizen picks the office in the
//! directory and a type from its list (a general letter by default) without writing a type
//! code or a reference of their own.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::App;
use crate::mailbox::town;
use crate::registration::registered_citizen;

const TYPES: &str = "/api/v1/offices/VAROS-HIV/document-types";

fn letter(doc_type: &str, version: Option<&str>) -> Form {
    let mut f = Form::new()
        .text("recipient", "VAROS-HIV")
        .text("doc_type", doc_type.to_string());
    if let Some(v) = version {
        f = f.text("doc_type_version", v.to_string());
    }
    f.part(
        "document",
        Part::bytes(b"%PDF level".to_vec())
            .file_name("level.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    )
}

async fn send(app: &App, token: &str, form: Form) -> (StatusCode, Value) {
    crate::mailbox::post_form(app, token, "me", form, None).await
}

async fn an_office_accepts_its_listed_types_and_a_general_letter(app: App) {
    let t = town(&app).await;
    let list = json!({"types": [
        {"code": "KERELEM", "description": "Kérelem"},
        {"code": "BEVALLAS", "version": "2026", "description": "Bevallás"}]});
    // Only those who keep the office change its list.
    let (s, _) = app.send("PUT", &t.clerk, TYPES, list.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .send(
            "PUT",
            &t.admin,
            TYPES,
            json!({"types": [{"code": "1ROSSZ", "description": ""}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["fields"][0]["field"], "types");
    let (s, b) = app.send("PUT", &t.admin, TYPES, list).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let citizen = registered_citizen(&app, "level.lili").await;
    let (s, b) = app.get(&citizen, TYPES).await;
    assert_eq!(s, StatusCode::OK);
    let codes: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ALTALANOS_LEVEL", "KERELEM", "BEVALLAS"]);
    // Another type, or another version, is refused; no reference or description is needed
    // of a citizen choosing from the list.
    for (doc_type, version) in [("EGYEB", None), ("BEVALLAS", Some("2025"))] {
        let (s, e) = send(&app, &citizen, letter(doc_type, version)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["fields"][0]["field"], "doc_type", "{e}");
        assert!(
            e["error"]["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nem fogad")
        );
    }
    let (s, sent) = send(&app, &citizen, letter("KERELEM", None)).await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let m = &sent["message"];
    assert_eq!(m["doc_type_desc"], "Kérelem", "{sent}");
    assert!(
        m["reference"].as_str().unwrap().starts_with("ÜK-"),
        "{sent}"
    );
    let (s, sent) = send(&app, &citizen, letter("ALTALANOS_LEVEL", None)).await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["message"]["doc_type_desc"], "Általános levél");
    // An office with no list takes any type, as before.
    let (s, _) = app.send("PUT", &t.admin, TYPES, json!({"types": []})).await;
    assert_eq!(s, StatusCode::OK);
    let mut form = letter("EGYEB", None);
    form = form.text("doc_type_desc", "Egyéb");
    let (s, e) = send(&app, &citizen, form).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
}

async fn a_citizen_writes_from_the_directory_choosing_a_listed_type(app: App) {
    let t = town(&app).await;
    let (s, _) = app
        .send(
            "PUT",
            &t.admin,
            TYPES,
            json!({"types": [{"code": "BEVALLAS", "version": "2026", "description": "Bevallás"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    registered_citizen(&app, "urlap.ubul").await;
    let b = browser();
    log_in(&b, &app, "urlap.ubul@ugyfelkapu", "Nagy-Eva-2026", "normal").await;
    // Without an office chosen, the page sends the citizen to the directory: no list of
    // every office, no short name to type.
    let (s, html) = page(&b, &app, "/mail/me/compose").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("href=\"/offices\"")
            && !html.contains("<datalist")
            && !html.contains("id=\"recipient\" name=\"recipient\""),
        "{html}"
    );
    let (_, dir) = page(&b, &app, "/offices?q=varos").await;
    assert!(dir.contains("/offices/VAROS-HIV/document-types"), "{dir}");
    let (_, types) = page(&b, &app, "/offices/VAROS-HIV/document-types").await;
    assert!(
        types.contains("Bevallás") && !types.contains("name=\"types\""),
        "{types}"
    );
    let (s, html) = page(&b, &app, "/mail/me/compose?recipient=VAROS-HIV").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Város Polgármesteri Hivatala")
            && html.contains("<option value=\"ALTALANOS_LEVEL\">Általános levél</option>")
            && html.contains("<option value=\"BEVALLAS|2026\">Bevallás (2026)</option>")
            && !html.contains("name=\"reference\"")
            && !html.contains("name=\"doc_type_desc\""),
        "{html}"
    );
    let form = Form::new()
        .text("csrf", csrf_of(&html))
        .text("recipient", "VAROS-HIV")
        .text("doc_type", "BEVALLAS|2026")
        .part(
            "document",
            Part::bytes(b"%PDF bevallas".to_vec())
                .file_name("bevallas.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let r = b
        .post(app.url("/mail/me/compose"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let (_, msg) = page(&b, &app, &location).await;
    assert!(msg.contains("Bevallás") && msg.contains("2026"), "{msg}");
    // Sent items name their recipient; the receipt reads as a page with its signature checked.
    let (_, sent) = page(&b, &app, "/mail/me?folder=sent").await;
    assert!(
        sent.contains("Város Polgármesteri Hivatala (VAROS-HIV)"),
        "{sent}"
    );
    let receipt = msg
        .split("href=\"")
        .map(|h| h.split('"').next().unwrap())
        .find(|h| h.ends_with("/receipt/page"))
        .unwrap_or_else(|| panic!("{msg}"))
        .to_string();
    let (s, r) = page(&b, &app, &receipt).await;
    assert_eq!(s, StatusCode::OK);
    let digest = hex::encode(sha2::Sha256::digest(b"%PDF bevallas"));
    assert!(
        r.contains("aláírása érvényes")
            && r.contains("bevallas.pdf")
            && r.contains(&digest)
            && r.contains("Város Polgármesteri Hivatala (VAROS-HIV)")
            && r.contains(".jws"),
        "{r}"
    );
    // The office's keepers change the list on its page.
    let admin = browser();
    log_in(
        &admin,
        &app,
        crate::harness::ADMIN,
        crate::harness::ADMIN_PW,
        "secure",
    )
    .await;
    let (_, html) = page(&admin, &app, "/offices/VAROS-HIV/document-types").await;
    assert!(html.contains("name=\"types\""), "{html}");
    let (s, _, html) = post(
        &admin,
        &app,
        "/offices/VAROS-HIV/document-types",
        &[
            ("csrf", &csrf_of(&html)),
            ("types", "KERELEM | Kérelem\n1ROSSZ"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("1ROSSZ") && html.contains("types-error"),
        "{html}"
    );
    let (s, to, _) = post(
        &admin,
        &app,
        "/offices/VAROS-HIV/document-types",
        &[
            ("csrf", &csrf_of(&html)),
            ("types", "KERELEM | Kérelem\nBEVALLAS | Bevallás | 2027"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, b2) = app.get(&t.clerk, TYPES).await;
    assert_eq!(b2["items"][2]["version"], "2027", "{b2}");
}

both!(
    an_office_accepts_its_listed_types_and_a_general_letter,
    a_citizen_writes_from_the_directory_choosing_a_listed_type,
);
