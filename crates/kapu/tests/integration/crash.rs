//! A real `kapu serve` process killed with SIGKILL while 200 sends are in flight: after a
//! restart every send that was answered with success is there exactly once with its receipt,
//! nothing is there twice, a resend of every send settles each exactly once, and the audit
//! chain verifies.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::harness::{fresh_schema, postgres_url};

const PASSWORD: &str = "Kozpont-Jelszo1";
const SENDS: usize = 200;

struct Server {
    dir: std::path::PathBuf,
    db: Option<String>,
    base: String,
    listen: String,
}

impl Server {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kapu"));
        c.args(args)
            .env("KAPU_DATA_DIR", &self.dir)
            .env("KAPU_LISTEN", &self.listen)
            .env("KAPU_LOG", "warn")
            .env_remove("KAPU_CONFIG");
        match &self.db {
            Some(url) => c.env("KAPU_DATABASE_URL", url),
            None => c.env_remove("KAPU_DATABASE_URL"),
        };
        c
    }

    async fn start(&self, http: &reqwest::Client) -> Child {
        let mut child = self
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return child;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("kapu serve did not start");
    }

    fn run(&self, args: &[&str], stdin: &str) -> (bool, String) {
        use std::io::Write as _;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    i: usize,
) -> Option<(StatusCode, Value)> {
    let form = Form::new()
        .text("recipient", "KOZP-HIV")
        .text("doc_type", "AKLKL")
        .text("doc_type_desc", "Teszt")
        .text("reference", format!("CRASH-{i}"))
        .part(
            "document",
            Part::bytes(vec![b'x'; 1024]).file_name(format!("d{i}.bin")),
        );
    let r = http
        .post(format!("{base}/api/v1/mailboxes/me/messages"))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("crash-{i}"))
        .multipart(form)
        .send()
        .await
        .ok()?;
    let status = r.status();
    let body = r.json().await.ok()?;
    Some((status, body))
}

/// Recovery codes of each server's administrator, for logins after the first.
static RECOVERY: std::sync::Mutex<Vec<(String, Vec<String>)>> = std::sync::Mutex::new(Vec::new());

/// The bootstrapped administrator in secure mode. The first login meets the installation's
/// default (secure mode needs a second factor) and enrols an authenticator app in its
/// enrol-only session, as a new installation's administrator does; later logins answer the
/// second step with a recovery code.
async fn login(http: &reqwest::Client, base: &str) -> String {
    let r: Value = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"login": "admin@kozpont", "password": PASSWORD, "mode": "secure"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if r["status"] == "second_factor_required" {
        let code = {
            let mut all = RECOVERY.lock().unwrap();
            let codes = &mut all.iter_mut().find(|(b, _)| b == base).unwrap().1;
            codes.pop().unwrap()
        };
        let ok: Value = http
            .post(format!("{base}/api/v1/session/second-factor"))
            .json(&json!({"challenge": r["challenge"], "method": "recovery_code", "code": code}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        return ok["token"].as_str().unwrap().to_string();
    }
    assert_eq!(r["second_factor_enrolment_required"], true, "{r}");
    let token = r["token"].as_str().unwrap().to_string();
    let e: Value = http
        .post(format!("{base}/api/v1/me/factors/totp"))
        .bearer_auth(&token)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = e["secret"].as_str().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let raw = crate::second_factor::base32_decode(secret);
    let code = kapu_core::signon::totp::code_at(&raw, now).unwrap();
    let c: Value = http
        .post(format!(
            "{base}/api/v1/me/factors/totp/{}/confirm",
            e["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes = c["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    RECOVERY.lock().unwrap().push((base.to_string(), codes));
    token
}

async fn every_sent(http: &reqwest::Client, base: &str, token: &str, folder: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let r: Value = http
            .get(format!(
                "{base}/api/v1/mailboxes/me/messages?folder={folder}&per_page=100&page={page}"
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = r["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        out.extend(items.iter().cloned());
    }
    out
}

async fn killed_mid_send(db: Option<String>) {
    crate::harness::install_tls_provider();
    let port = free_port();
    let server = Server {
        dir: std::env::temp_dir().join(format!("kapu-crash-{}-{port}", std::process::id())),
        db,
        base: format!("http://127.0.0.1:{port}"),
        listen: format!("127.0.0.1:{port}"),
    };
    let (ok, out) = server.run(
        &[
            "admin",
            "bootstrap",
            "--email",
            "admin@kozpont.example",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert!(ok, "{out}");
    let http = reqwest::Client::new();
    let mut child = server.start(&http).await;
    let token = login(&http, &server.base).await;
    let r = http
        .post(format!("{}/api/v1/offices", server.base))
        .bearer_auth(&token)
        .json(
            &json!({"short_name": "KOZP-HIV", "name": "Központi Hivatal", "tenant": "kozpont",
                      "office_type": "egyeb", "connection": "both"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // 200 sends at once; the process dies once some have been answered.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..SENDS {
        let (http, base, token, tx) =
            (http.clone(), server.base.clone(), token.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = tx.send((i, send(&http, &base, &token, i).await));
        });
    }
    drop(tx);
    let mut answered: HashMap<usize, String> = HashMap::new();
    let mut results = 0;
    while let Some((i, r)) = rx.recv().await {
        results += 1;
        if let Some((StatusCode::CREATED, body)) = r {
            answered.insert(
                i,
                body["message"]["arrival_number"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        if answered.len() == 40 {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
    assert_eq!(results, SENDS);
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert!(
        answered.len() >= 40 && answered.len() < SENDS,
        "killed after {} sends",
        answered.len()
    );

    // Restarted: every answered send is there once, with its receipt; nothing twice.
    let mut child = server.start(&http).await;
    let token = login(&http, &server.base).await;
    let sent = every_sent(&http, &server.base, &token, "sent").await;
    let numbers: Vec<&str> = sent
        .iter()
        .map(|m| m["arrival_number"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "an arrival number twice");
    let references: HashSet<&str> = sent
        .iter()
        .map(|m| m["reference"].as_str().unwrap())
        .collect();
    assert_eq!(references.len(), sent.len(), "a send stored twice");
    for (i, number) in &answered {
        assert!(
            unique.contains(number.as_str()),
            "answered send {i} ({number}) is lost"
        );
    }
    let receipts = every_sent(&http, &server.base, &token, "receipts").await;
    assert_eq!(
        receipts.len(),
        sent.len(),
        "every stored send has its submission receipt"
    );

    // Every send again with its key: the stored ones answer with their first result, the
    // rest are filed now, each exactly once.
    for i in 0..SENDS {
        let (status, body) = send(&http, &server.base, &token, i).await.unwrap();
        let number = body["message"]["arrival_number"].as_str().unwrap();
        match answered.get(&i) {
            Some(first) => {
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(number, first);
            }
            None => assert!(
                status == StatusCode::OK || status == StatusCode::CREATED,
                "{body}"
            ),
        }
    }
    assert_eq!(
        every_sent(&http, &server.base, &token, "sent").await.len(),
        SENDS
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let (ok, out) = server.run(&["admin", "verify-audit"], "");
    assert!(ok, "{out}");
    let _ = std::fs::remove_dir_all(&server.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_survive_a_kill_mid_flight_on_sqlite() {
    killed_mid_send(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_survive_a_kill_mid_flight_on_postgres() {
    if let Some(url) = postgres_url() {
        killed_mid_send(Some(fresh_schema(&url).await)).await;
    }
}

/// Two `kapu serve` processes on one PostgreSQL database, sends to both at once: every
/// arrival number is handed out once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_never_share_an_arrival_number() {
    let Some(url) = postgres_url() else { return };
    crate::harness::install_tls_provider();
    let db = fresh_schema(&url).await;
    let dir = std::env::temp_dir().join(format!("kapu-two-{}-{}", std::process::id(), free_port()));
    let servers: Vec<Server> = (0..2)
        .map(|_| {
            let port = free_port();
            Server {
                dir: dir.clone(),
                db: Some(db.clone()),
                base: format!("http://127.0.0.1:{port}"),
                listen: format!("127.0.0.1:{port}"),
            }
        })
        .collect();
    let (ok, out) = servers[0].run(
        &[
            "admin",
            "bootstrap",
            "--email",
            "admin@kozpont.example",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert!(ok, "{out}");
    let http = reqwest::Client::new();
    let mut children = Vec::new();
    for s in &servers {
        children.push(s.start(&http).await);
    }
    let token = login(&http, &servers[0].base).await;
    let r = http
        .post(format!("{}/api/v1/offices", servers[0].base))
        .bearer_auth(&token)
        .json(
            &json!({"short_name": "KOZP-HIV", "name": "Központi Hivatal", "tenant": "kozpont",
                      "office_type": "egyeb", "connection": "both"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Sessions live in the database: the token from one node works on the other.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (http, base, token) = (http.clone(), servers[i % 2].base.clone(), token.clone());
        tasks.push(tokio::spawn(
            async move { send(&http, &base, &token, i).await },
        ));
    }
    let mut numbers = HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap().unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(
            numbers.insert(
                body["message"]["arrival_number"]
                    .as_str()
                    .unwrap()
                    .to_string()
            )
        );
        assert!(
            numbers.insert(
                body["message"]["arrival_number_machine"]
                    .as_str()
                    .unwrap()
                    .to_string()
            )
        );
    }
    let receipts = every_sent(&http, &servers[1].base, &token, "receipts").await;
    assert_eq!(receipts.len(), 60);
    for mut c in children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let (ok, out) = servers[0].run(&["admin", "verify-audit"], "");
    assert!(ok, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
