//! Mail over SMTP, against a real SMTP server process (aiosmtpd).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{App, Backend, decode_mail, link_token};

struct SmtpServer {
    child: Child,
    port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts aiosmtpd on `port`, storing what it receives in a maildir.
async fn start_smtp_on(port: u16, maildir: &Path) -> SmtpServer {
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (pip install aiosmtpd)");
    let server = SmtpServer { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("aiosmtpd did not start; is it installed (pip install aiosmtpd)?");
}

async fn start_smtp(maildir: &Path) -> SmtpServer {
    start_smtp_on(free_port(), maildir).await
}

fn maildir_messages(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("new"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| decode_mail(&std::fs::read_to_string(e.path()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

fn smtp_config(port: u16) -> impl FnOnce(&mut kapu_core::platform::config::Config) {
    move |c| {
        c.smtp = Some(kapu_core::platform::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: "none".into(),
            username: None,
            password: None,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_mail_is_delivered_over_smtp_and_its_link_works() {
    let maildir = std::env::temp_dir().join(format!("kapu-maildir-{}", free_port()));
    let smtp = start_smtp(&maildir).await;
    let app = App::spawn_with(Backend::Sqlite, smtp_config(smtp.port)).await;
    let admin = app.admin().await;
    let (s, _) = app
        .send("POST", &admin, "/api/v1/tenants/kozpont/users", json!({"login": "posta.pal", "full_name": "Posta Pál", "email": "posta.pal@hivatal.hu"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut mail = None;
    for _ in 0..100 {
        if let Some(m) = maildir_messages(&maildir)
            .into_iter()
            .find(|m| m.contains("posta.pal@hivatal.hu"))
        {
            mail = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = mail.expect("mail reached the SMTP server");
    assert!(mail.contains("Subject:"));
    assert!(
        app.outbox().is_empty(),
        "nothing written to the outbox when SMTP is configured"
    );
    app.activate(&mail, "Posta-Pal-123").await;
    app.login("posta.pal@kozpont", "Posta-Pal-123", "normal")
        .await;
    let _ = std::fs::remove_dir_all(&maildir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_is_retried_and_shows_in_the_log_and_audit() {
    let dead_port = free_port();
    let app = App::spawn_with(Backend::Sqlite, smtp_config(dead_port)).await;
    let admin = app.admin().await;
    app.send(
        "POST",
        &admin,
        "/api/v1/tenants/kozpont/users",
        json!({"login": "varo.vilma", "full_name": "Váró Vilma", "email": "vilma@hivatal.hu"}),
    )
    .await;
    let mut retried = false;
    for _ in 0..100 {
        let (_, log) = app.get(&admin, "/api/v1/audit?per_page=100").await;
        if log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "mail.send" && r["outcome"] == "retry")
        {
            retried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(retried, "a failed delivery is recorded for retry");

    // The SMTP server comes up; the queued message goes out on a later attempt.
    let maildir = std::env::temp_dir().join(format!("kapu-maildir-{dead_port}"));
    let _smtp = start_smtp_on(dead_port, &maildir).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.minutes(5);
    let mut delivered = None;
    for _ in 0..100 {
        if let Some(m) = maildir_messages(&maildir)
            .into_iter()
            .find(|m| m.contains("vilma@hivatal.hu"))
        {
            delivered = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mail = delivered.expect("retried delivery arrived");
    assert!(!link_token(&mail, "/activate").is_empty());
    let _ = std::fs::remove_dir_all(&maildir);
}
