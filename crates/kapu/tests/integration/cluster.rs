//! Two nodes on one PostgreSQL database, the second a `kapu serve` process of its own,
//! without sticky sessions: a session opened on one works on the other, and every change
//! that ends or narrows it, made on either node, applies to the very next request on both,
//! although each node answers authenticated requests from memory. Both nodes' mail workers
//! send each queued e-mail once, and a node that dies leaves its share to the other.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::access::{contract, ids, set_rights};
use crate::harness::{App, Backend, postgres_url};
use crate::mailbox::{citizen, close_office, form, post_form, town};
use crate::smtp::{Inbox, free_port, smtp_config, start_smtp_paced};
use crate::substitutions::{substitute, substitution_setup};

async fn two_nodes() -> Option<(App, App)> {
    postgres_url()?;
    let a = App::spawn(Backend::Postgres).await;
    let b = a.peer().await;
    Some((a, b))
}

/// Asks both nodes, twice each, so that both answer from memory from then on.
async fn me_on_both(a: &App, b: &App, token: &str) -> Value {
    let mut last = Value::Null;
    for node in [a, b, a, b] {
        let (s, me) = node.get(token, "/api/v1/me").await;
        assert_eq!(s, StatusCode::OK, "{me}");
        last = me;
    }
    last
}

async fn status(node: &App, token: &str, path: &str) -> StatusCode {
    node.get(token, path).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_to_a_session_applies_on_the_next_request_on_every_node() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let tata = substitution_setup(&a).await;
    let admin = a.admin().await;

    // A session opened on A is good on B.
    let nok = a.login("fo.nok@tata", "Fo-Nok-12345", "normal").await;
    let me = me_on_both(&a, &b, &nok).await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo", "kapu.log_reader"]);
    assert_eq!(status(&b, &nok, "/api/v1/audit").await, StatusCode::OK);

    // A role revoked on A is gone on B's next request, and the other way round.
    set_rights(
        &a,
        &tata,
        "tata",
        "fo.nok",
        json!({"roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(
        status(&b, &nok, "/api/v1/audit").await,
        StatusCode::FORBIDDEN
    );
    let (_, me) = b.get(&nok, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo"]);
    set_rights(&b, &tata, "tata", "fo.nok", json!({"roles": []})).await;
    let (_, me) = a.get(&nok, "/api/v1/me").await;
    assert!(ids(&me["roles"]).is_empty(), "{me}");

    // A contract ended on B takes its service's roles away on A.
    set_rights(
        &a,
        &tata,
        "tata",
        "fo.nok",
        json!({"roles": ["gazd.konyvelo", "kapu.log_reader"]}),
    )
    .await;
    let nok = b.login("fo.nok@tata", "Fo-Nok-12345", "normal").await;
    let me = me_on_both(&a, &b, &nok).await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo", "kapu.log_reader"]);
    contract(&b, &admin, "tata", json!([])).await;
    let (_, me) = a.get(&nok, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["kapu.log_reader"]);
    contract(&a, &admin, "tata", json!(["gazd"])).await;

    // Leaving a group on A takes the group's roles away on B.
    let (s, g) = a
        .send(
            "POST",
            &tata,
            "/api/v1/tenants/tata/groups",
            json!({"code": "penzugy", "name": "Pénzügy", "members": ["hely.ettes"], "roles": ["gazd.konyvelo"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let ettes = b.login("hely.ettes@tata", "Hely-Ettes-12", "normal").await;
    let me = me_on_both(&a, &b, &ettes).await;
    assert_eq!(ids(&me["roles"]), ["gazd.konyvelo", "kapu.log_reader"]);
    set_rights(&a, &tata, "tata", "hely.ettes", json!({"groups": []})).await;
    let (_, me) = b.get(&ettes, "/api/v1/me").await;
    assert_eq!(ids(&me["roles"]), ["kapu.log_reader"]);

    // A substitution deleted on B ends the deputy's session on A.
    let (s, sub) = substitute(
        &a,
        &tata,
        json!({"deputy": "hely.ettes", "principal": "fo.nok", "roles": ["gazd.konyvelo"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sub}");
    let acting = b
        .login_acting("hely.ettes@tata", "Hely-Ettes-12", "normal", "fo.nok@tata")
        .await;
    let me = me_on_both(&a, &b, &acting).await;
    assert_eq!(me["deputy"]["login"], "hely.ettes@tata");
    let id = sub["id"].as_str().unwrap();
    let (s, _) = b
        .send(
            "DELETE",
            &tata,
            &format!("/api/v1/tenants/tata/substitutions/{id}"),
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        status(&a, &acting, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );

    // A lock on A ends the user's sessions on B.
    me_on_both(&a, &b, &ettes).await;
    let (s, _) = a
        .send(
            "POST",
            &tata,
            "/api/v1/tenants/tata/users/hely.ettes/lock",
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        status(&b, &ettes, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );

    // A password changed on B ends the user's other sessions on A.
    let (s, body) = a
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/password_min_age",
            json!({"value": "0m"}),
        )
        .await;
    assert!(s.is_success(), "{s} {body}");
    let other = a.login("fo.nok@tata", "Fo-Nok-12345", "normal").await;
    me_on_both(&a, &b, &other).await;
    let (s, body) = b
        .send(
            "PUT",
            &nok,
            "/api/v1/me/password",
            json!({"current_password": "Fo-Nok-12345", "new_password": "Uj-Fo-Nok-9876"}),
        )
        .await;
    assert!(s.is_success(), "{s} {body}");
    assert_eq!(
        status(&a, &other, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );

    // A logout on A is a logout on B.
    me_on_both(&a, &b, &nok).await;
    let (s, _) = a.send("DELETE", &nok, "/api/v1/session", json!(null)).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        status(&b, &nok, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_variable_changed_on_one_node_applies_on_the_other() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let admin = a.admin().await;
    me_on_both(&a, &b, &admin).await;
    // The idle timeout, shortened on B, ends A's idle session at once.
    let (s, body) = b
        .send(
            "PUT",
            &admin,
            "/api/v1/settings/session_idle_timeout",
            json!({"value": "1m"}),
        )
        .await;
    assert!(s.is_success(), "{s} {body}");
    a.minutes(2);
    assert_eq!(
        status(&a, &admin, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_closed_on_one_node_takes_no_mail_on_the_other() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    let t = town(&a).await;
    let me = citizen(&a, &t.admin).await;
    // B sends to the office twice, so that it holds the office in memory.
    for reference in ["R-1", "R-2"] {
        let (s, body) = send_to_town(&b, &me, reference).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    close_office(&a, &t.admin, "VAROS-HIV").await;
    let (s, body) = send_to_town(&b, &me, "R-3").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("mailbox.closed"), "{body}");
}

/// Sends a small document from one's personal mailbox to `VAROS-HIV` (see `town`).
async fn send_to_town(node: &App, token: &str, reference: &str) -> (StatusCode, Value) {
    let doc: &[u8] = b"%PDF-1.4 x";
    let f = form("VAROS-HIV", reference, &[("a.pdf", doc)]);
    post_form(node, token, "me", f, None).await
}

/// Queues `n` e-mails whose subjects start with `batch`, in one transaction.
async fn queue_mail(a: &App, batch: &str, n: usize) {
    let mut tx = a.kapu.db().write_unaudited().await.unwrap();
    for i in 0..n {
        kapu_core::platform::mail::enqueue(
            &mut tx,
            None,
            &format!("cimzett{i}@pelda.hu"),
            &format!("{batch} {i:03}"),
            "Teszt.",
            a.kapu.now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// How many times the SMTP server got each subject of `batch`.
fn arrivals(inbox: &Inbox, batch: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for m in inbox.messages() {
        if let Some(subject) = m
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .filter(|s| s.starts_with(batch))
        {
            *seen.entry(subject.to_string()).or_insert(0) += 1;
        }
    }
    seen
}

/// Waits until the SMTP server has `at_least` different subjects of `batch`.
async fn wait_for_mail(inbox: &Inbox, batch: &str, at_least: usize) -> BTreeMap<String, usize> {
    for _ in 0..600 {
        let seen = arrivals(inbox, batch);
        if seen.len() >= at_least {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "only {} of {at_least} e-mails of {batch} arrived",
        arrivals(inbox, batch).len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_send_each_queued_mail_once_and_one_dying_leaves_its_share_to_the_other() {
    if postgres_url().is_none() {
        return;
    }
    let port = free_port();
    let inbox = start_smtp_paced(port, Duration::from_millis(3)).await;
    let a = App::spawn_with(Backend::Postgres, smtp_config(port)).await;
    let mut b = a.peer().await;

    // Both workers running: each e-mail reaches the server exactly once.
    queue_mail(&a, "Elso", 200).await;
    a.kapu.mailer().wake();
    let seen = wait_for_mail(&inbox, "Elso", 200).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen_later = arrivals(&inbox, "Elso");
    assert_eq!(seen, seen_later, "nothing more arrives");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");

    // B dies while delivering: A sends the rest, and the one B was sending once its claim
    // runs out. Only that one may have reached the server before B could note it.
    queue_mail(&a, "Masodik", 200).await;
    wait_for_mail(&inbox, "Masodik", 30).await;
    b.kill();
    let at_kill = arrivals(&inbox, "Masodik").len();
    assert!(at_kill < 200, "the node died before the batch was out");
    a.minutes(2);
    a.kapu.mailer().wake();
    let seen = wait_for_mail(&inbox, "Masodik", 200).await;
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= 1 && twice.iter().all(|(_, n)| **n == 2),
        "only the e-mail in flight at the kill may arrive twice: {twice:?}"
    );
    // The last acceptance is noted just after the server has the message.
    for _ in 0..100 {
        if a.kapu.mail_queue_depth().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("e-mails left in the queue");
}
