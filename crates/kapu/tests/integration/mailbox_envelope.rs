//! KR-style envelopes: routed by their own header, decoded as they stream, and refused
//! naming the element when malformed.

use reqwest::StatusCode;
use serde_json::Value;

use crate::both;
use crate::harness::{App, split};
use crate::mailbox::{blob_count, citizen, download, town};

async fn post_envelope(app: &App, token: &str, xml: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .http
        .post(app.url("/api/v1/mailboxes/me/envelopes"))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    split(r).await
}

fn envelope(header: &str, body: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Boritek><Fejlec>{header}</Fejlec><Torzs>{body}</Torzs></Boritek>")
        .into_bytes()
}

const HEADER: &str = "<Cimzett>VAROS-HIV</Cimzett><DokTipusAzonosito>AKLKL</DokTipusAzonosito>\
    <DokTipusLeiras>Ad&#243;bevall&#225;s &amp; mell&#233;klet</DokTipusLeiras><DokTipusVerzio>2.0</DokTipusVerzio>\
    <FileNev>bevallas.xml</FileNev><Megjegyzes>Sürgős</Megjegyzes>";

async fn an_envelope_is_routed_by_its_own_header_and_its_documents_decoded_as_they_stream(
    app: App,
) {
    use base64::Engine as _;
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    // Three documents, one of several megabytes, base64 wrapped at 76 columns.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let wrapped: String = base64::engine::general_purpose::STANDARD
        .encode(&big)
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let body = format!(
        "<Dokumentum>{}</Dokumentum><Dokumentum FileNev=\"nagy.bin\" Tipus=\"application/octet-stream\">\n{wrapped}\n</Dokumentum>\
         <Dokumentum FileNev=\"ures.txt\"></Dokumentum>",
        base64::engine::general_purpose::STANDARD.encode("<adat/>")
    );
    let (s, sent) = post_envelope(&app, &me, envelope(HEADER, &body)).await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let m = &sent["message"];
    assert_eq!(m["recipient"], "VAROS-HIV");
    assert_eq!(m["doc_type"], "AKLKL");
    assert_eq!(m["doc_type_desc"], "Adóbevallás & melléklet");
    assert_eq!(m["doc_type_version"], "2.0");
    assert_eq!(m["note"], "Sürgős");
    assert_eq!(m["reference"], "bevallas.xml");
    let docs = m["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["name"], "bevallas.xml");
    assert_eq!(docs[1]["size"], 3_000_000);
    assert_eq!(docs[2]["size"], 0);
    let id = m["id"].as_str().unwrap();
    let back = download(&app, &t.clerk, "VAROS-HIV", id, 2)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(back.as_ref() == big.as_slice());
    let first = download(&app, &t.clerk, "VAROS-HIV", id, 1)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(first.as_ref(), b"<adat/>");
    // The schema is published at a fixed address.
    let xsd = app
        .http
        .get(app.url("/schemas/boritek.xsd"))
        .send()
        .await
        .unwrap();
    assert_eq!(xsd.status(), StatusCode::OK);
    assert!(xsd.text().await.unwrap().contains("name=\"Boritek\""));
}

async fn a_malformed_envelope_is_refused_naming_the_element_and_leaves_nothing(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let doc = "<Dokumentum>QUJD</Dokumentum>";
    let no_recipient = HEADER.replace("<Cimzett>VAROS-HIV</Cimzett>", "");
    let entity = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE Boritek [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
         <Boritek><Fejlec>{HEADER}<Megjegyzes>&xxe;</Megjegyzes></Fejlec><Torzs>{doc}</Torzs></Boritek>"
    );
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            envelope(&no_recipient, doc),
            "Fejlec/Cimzett",
            "envelope.element_missing",
        ),
        (
            envelope(HEADER, ""),
            "Torzs/Dokumentum",
            "envelope.element_missing",
        ),
        (entity.into_bytes(), "Boritek", "envelope.dtd_forbidden"),
        (
            envelope(HEADER, "<Dokumentum>nem base64!</Dokumentum>"),
            "Torzs/Dokumentum",
            "envelope.not_base64",
        ),
        (
            envelope(&format!("{HEADER}<Ismeretlen/>"), doc),
            "Boritek",
            "envelope.unexpected_element",
        ),
        (
            b"<Boritek><Fejlec>".to_vec(),
            "Boritek",
            "envelope.malformed",
        ),
        (
            b"<Level/>".to_vec(),
            "Boritek",
            "envelope.unexpected_element",
        ),
        (
            envelope(&HEADER.replace("AKLKL", "1 rossz"), doc),
            "doc_type",
            "message.doc_type_format",
        ),
        (
            envelope(&HEADER.replace("VAROS-HIV", "NINCS"), doc),
            "recipient",
            "message.recipient_unknown",
        ),
        (
            envelope(
                &format!("{HEADER}<Megjegyzes>&undefined;</Megjegyzes>"),
                doc,
            ),
            "Boritek",
            "envelope.entity_forbidden",
        ),
    ];
    for (xml, field, key) in cases {
        let (s, b) = post_envelope(&app, &me, xml).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field} {key}: {b}");
        let fields = b["error"]["fields"].as_array().unwrap();
        assert!(
            fields
                .iter()
                .any(|f| f["field"] == field && f["code"] == key),
            "{field} {key}: {b}"
        );
    }
    assert_eq!(blob_count(&app), 0);
}

both!(
    an_envelope_is_routed_by_its_own_header_and_its_documents_decoded_as_they_stream,
    a_malformed_envelope_is_refused_naming_the_element_and_leaves_nothing,
);
