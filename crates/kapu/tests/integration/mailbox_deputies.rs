//! Mailbox rights through substitutions: a deputy acting for a clerk reads the office's
//! mailbox with the substituted right, and never the clerk's personal mail.

use reqwest::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::App;
use crate::mailbox::{citizen, form, post_form, town};

async fn a_deputy_reads_the_office_mailbox_through_a_substitution_only_while_acting(app: App) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    let (_, sent) = post_form(
        &app,
        &me,
        "me",
        form("VAROS-HIV", "H-1", &[("a.pdf", b"a")]),
        None,
    )
    .await;
    let id = sent["message"]["id"].as_str().unwrap();
    app.user(&t.maintainer, "varos", "helyettes", "Helyettes-1")
        .await;
    let (s, b) = app
        .send("POST", &t.maintainer, "/api/v1/tenants/varos/substitutions",
              json!({"deputy": "helyettes", "principal": "ugy.intezo", "roles": ["hkp.VAROS-HIV.read"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // On their own the deputy has no such mailbox.
    let own = app.login("helyettes@varos", "Helyettes-1", "normal").await;
    let (s, _) = app.get(&own, "/api/v1/mailboxes/VAROS-HIV/messages").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Acting for the clerk, the office's mail opens: reading, not sending.
    let acting = app
        .login_acting("helyettes@varos", "Helyettes-1", "normal", "ugy.intezo")
        .await;
    let (s, b) = app
        .get(&acting, "/api/v1/mailboxes/VAROS-HIV/messages")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["total"], 1);
    let (s, _) = app
        .get(
            &acting,
            &format!("/api/v1/mailboxes/VAROS-HIV/messages/{id}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post_form(
        &app,
        &acting,
        "VAROS-HIV",
        form("VAROS-HIV", "X", &[("x.pdf", b"x")]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The principal's personal mailbox is not part of any substitution.
    let (s, _) = app.get(&acting, "/api/v1/mailboxes/me/messages").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Downloads by the deputy are recorded with both names.
    let r = crate::mailbox::download(&app, &acting, "VAROS-HIV", id, 1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, log) = app
        .get(&t.admin, "/api/v1/audit?action=message.deliver")
        .await;
    let entry = &log["items"][0];
    assert_eq!(entry["actor"], "helyettes@varos", "{log}");
    assert_eq!(entry["on_behalf_of"], "ugy.intezo@varos", "{log}");
}

/// Office to office: a clerk sends from their office to another; the other office's reader
/// sees it as coming from the office, and the receipt lands in the sending office.
async fn an_office_writes_to_another_office(app: App) {
    let t = town(&app).await;
    crate::mailbox::office(&app, &t.admin, "varos", "VAROS-ADO", "Város Adóirodája").await;
    let (s, sent) = post_form(
        &app,
        &t.clerk,
        "VAROS-HIV",
        form("VAROS-ADO", "HIV-1", &[("atirat.pdf", b"%PDF")]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["message"]["kind"], "office");
    assert_eq!(sent["message"]["sender_name"], "VAROS-HIV");
    assert_eq!(sent["message"]["recipient"], "VAROS-ADO");
    let (_, receipts) = app
        .get(
            &t.clerk,
            "/api/v1/mailboxes/VAROS-HIV/messages?folder=receipts",
        )
        .await;
    assert_eq!(receipts["total"], 1);
    crate::mailbox::grant(
        &app,
        &t.maintainer,
        "varos",
        "ugy.intezo",
        &[
            "hkp.VAROS-HIV.read".into(),
            "hkp.VAROS-HIV.send".into(),
            "hkp.VAROS-ADO.read".into(),
        ],
    )
    .await;
    let clerk = app.login("ugy.intezo@varos", "Ugyintezo-1", "normal").await;
    let (s, inbox) = app
        .get(&clerk, "/api/v1/mailboxes/VAROS-ADO/messages")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inbox["items"][0]["sender"], "VAROS-HIV");
}

both!(an_office_writes_to_another_office);

both!(a_deputy_reads_the_office_mailbox_through_a_substitution_only_while_acting);
