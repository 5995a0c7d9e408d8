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
                &format!(
                    "{}<Megjegyzes>&undefined;</Megjegyzes>",
                    HEADER.replace("<Megjegyzes>Sürgős</Megjegyzes>", "")
                ),
                doc,
            ),
            "Boritek",
            "envelope.entity_forbidden",
        ),
        // Each header element once, as the schema says: never a choice between two.
        (
            envelope(&format!("{HEADER}<Cimzett>MASIK-HIV</Cimzett>"), doc),
            "Fejlec/Cimzett",
            "envelope.element_repeated",
        ),
        // Every XML event is bounded while it is read, whatever its kind.
        (
            envelope(&format!("{HEADER}<!--{}-->", "x".repeat(1 << 20)), doc),
            "Boritek",
            "envelope.part_too_long",
        ),
        (
            envelope(&format!("{HEADER}<?pi {}?>", "x".repeat(1 << 20)), doc),
            "Boritek",
            "envelope.part_too_long",
        ),
        (
            envelope(&format!("{HEADER}{}", " ".repeat(1 << 20)), doc),
            "Boritek",
            "envelope.part_too_long",
        ),
        (
            envelope(
                HEADER,
                &format!(
                    "<Dokumentum FileNev=\"{}.pdf\">QUJD</Dokumentum>",
                    "n".repeat(1 << 20)
                ),
            ),
            "Boritek",
            "envelope.part_too_long",
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

/// A note of 64 MiB, four at once: each is refused at the event bound, before the reader's
/// buffer can grow with it; a document without a name anywhere gets one, as the schema
/// allows.
async fn a_huge_header_value_is_refused_while_it_is_read(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let note = HEADER.replace(
        "<Megjegyzes>Sürgős</Megjegyzes>",
        &format!("<Megjegyzes>{}</Megjegyzes>", "a".repeat(64 << 20)),
    );
    // One body shared by the four sends, made before the measure begins; measured on a
    // server process of its own.
    let xml = bytes::Bytes::from(envelope(&note, "<Dokumentum>QUJD</Dokumentum>"));
    let server = app.peer().await;
    let before = server.resident_bytes();
    let send = |xml: bytes::Bytes| {
        let (app, me, server) = (&app, &me, &server);
        async move {
            app.http
                .post(server.url("/api/v1/mailboxes/me/envelopes"))
                .bearer_auth(me)
                .header("content-type", "application/xml")
                .body(xml)
                .send()
                .await
        }
    };
    let answers = futures_util::future::join_all((0..4).map(|_| send(xml.clone()))).await;
    let grown = server.resident_bytes().saturating_sub(before) / (1024 * 1024);
    for answer in answers {
        // The server answers at the bound and closes: a client still writing may see the
        // connection end before it reads the answer.
        match answer {
            Ok(r) => {
                let (s, b) = split(r).await;
                assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
                assert_eq!(
                    b["error"]["fields"][0]["code"], "envelope.part_too_long",
                    "{b}"
                );
            }
            Err(e) => assert!(e.is_request(), "{e}"),
        }
    }
    println!("four 64 MiB notes at once: resident memory grew by {grown} MiB");
    // Read whole, the four would take 256 MiB (and the reader's buffer doubles as it grows).
    assert!(grown < 64, "resident memory grew by {grown} MiB");
    // A note past the bound but small enough to be sent whole gets the answer itself.
    let note = HEADER.replace(
        "<Megjegyzes>Sürgős</Megjegyzes>",
        &format!("<Megjegyzes>{}</Megjegyzes>", "a".repeat(1 << 20)),
    );
    let (s, b) = post_envelope(&app, &me, envelope(&note, "<Dokumentum>QUJD</Dokumentum>")).await;
    assert_eq!(
        (s, b["error"]["fields"][0]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("envelope.part_too_long")
        )
    );
    assert_eq!(blob_count(&app), 0);

    let header = HEADER.replace("<FileNev>bevallas.xml</FileNev>", "");
    let (s, b) = post_envelope(
        &app,
        &me,
        envelope(&header, "<Dokumentum>QUJD</Dokumentum>"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

both!(
    a_huge_header_value_is_refused_while_it_is_read,
    an_envelope_is_routed_by_its_own_header_and_its_documents_decoded_as_they_stream,
    a_malformed_envelope_is_refused_naming_the_element_and_leaves_nothing,
);
