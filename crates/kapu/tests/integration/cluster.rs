//! Two nodes on one PostgreSQL database, without sticky sessions: a session opened on one
//! works on the other, and every change that ends or narrows it, made on either node,
//! applies to the very next request on both, although each node answers authenticated
//! requests from memory.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::access::{contract, ids, set_rights};
use crate::harness::{App, Backend, postgres_url};
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
    let r = b
        .http
        .post(b.url("/api/v1/session"))
        .json(&json!({"login": "hely.ettes@tata", "password": "Hely-Ettes-12", "act_for": "fo.nok@tata"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let acting = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
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
