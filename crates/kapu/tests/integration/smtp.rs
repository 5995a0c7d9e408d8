//! Mail over SMTP, against a real SMTP server embedded in the test: the `mailin` crate's SMTP
//! state machine behind a TCP listener, so Kapu's lettre client speaks real SMTP over TCP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::io::{BufRead, BufReader, Write};

use mailin::{Action, Handler, Response, SessionBuilder, response};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{App, Backend, decode_mail, link_token};

/// What the SMTP server has received, one entry per message, decoded for reading.
#[derive(Clone, Default)]
pub(crate) struct Inbox {
    messages: Arc<Mutex<Vec<String>>>,
    current: Vec<u8>,
    /// How long the server takes to accept each message, like a busy relay.
    pace: Duration,
}

impl Handler for Inbox {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.pace);
        let raw = String::from_utf8_lossy(&self.current).into_owned();
        self.messages.lock().unwrap().push(decode_mail(&raw));
        self.current.clear();
        response::OK
    }
}

impl Inbox {
    pub(crate) fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits for a message that mentions `needle`.
    async fn wait_for(&self, needle: &str) -> Option<String> {
        for _ in 0..100 {
            if let Some(m) = self.messages().into_iter().find(|m| m.contains(needle)) {
                return Some(m);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an SMTP server on `port`; it serves on its own thread until the test ends.
async fn start_smtp_on(port: u16) -> Inbox {
    start_smtp_paced(port, Duration::ZERO).await
}

/// [`start_smtp_on`], taking `pace` to accept each message.
pub(crate) async fn start_smtp_paced(port: u16, pace: Duration) -> Inbox {
    let inbox = Inbox {
        pace,
        ..Inbox::default()
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let handler = inbox.clone();
    std::thread::spawn(move || {
        let builder = SessionBuilder::new("smtp.test");
        for stream in listener.incoming().flatten() {
            let (builder, handler) = (builder.clone(), handler.clone());
            std::thread::spawn(move || smtp_session(stream, &builder, handler));
        }
    });
    inbox
}

/// One SMTP conversation, line by line, until the client quits or hangs up.
fn smtp_session(stream: std::net::TcpStream, builder: &SessionBuilder, handler: Inbox) {
    let peer = stream.peer_addr().map(|a| a.ip()).unwrap();
    // A reply goes out in several writes: without this, Nagle's algorithm and the client's
    // delayed acknowledgements hold each exchange for tens of milliseconds.
    let _ = stream.set_nodelay(true);
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut session = builder.build(peer, handler);
    if session.greeting().write_to(&mut out).is_err() {
        return;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
            return;
        }
        let res = session.process(&line);
        match res.action {
            Action::Reply | Action::UpgradeTls => {
                if res.write_to(&mut out).is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = res.write_to(&mut out);
                let _ = out.flush();
                return;
            }
            Action::NoReply => {}
        }
    }
}

pub(crate) fn smtp_config(port: u16) -> impl FnOnce(&mut kapu_core::platform::config::Config) {
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
    let port = free_port();
    let inbox = start_smtp_on(port).await;
    let app = App::spawn_with(Backend::Sqlite, smtp_config(port)).await;
    let admin = app.admin().await;
    let (s, _) = app
        .send("POST", &admin, "/api/v1/tenants/kozpont/users", json!({"login": "posta.pal", "full_name": "Posta Pál", "email": "posta.pal@hivatal.hu"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mail = inbox
        .wait_for("posta.pal@hivatal.hu")
        .await
        .expect("mail reached the SMTP server");
    assert!(mail.contains("Subject:"));
    assert!(
        app.outbox().is_empty(),
        "nothing written to the outbox when SMTP is configured"
    );
    app.activate(&mail, "Posta-Pal-123").await;
    app.login("posta.pal@kozpont", "Posta-Pal-123", "normal")
        .await;
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
    let inbox = start_smtp_on(dead_port).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.minutes(5);
    let mail = inbox
        .wait_for("vilma@hivatal.hu")
        .await
        .expect("retried delivery arrived");
    assert!(!link_token(&mail, "/activate").is_empty());
}
