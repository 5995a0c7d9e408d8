//! Boots the real server on a random port with a fresh data directory (and a fresh
//! PostgreSQL schema when `KAPU_TEST_POSTGRES_URL` is set), and talks to it over HTTP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kapu_core::Kapu;
use kapu_core::identity::bootstrap::Bootstrap;
use kapu_core::platform::clock::ShiftedClock;
use kapu_core::platform::config::Config;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub const ADMIN: &str = "admin@kozpont";
pub const ADMIN_PW: &str = "Kozpont-Jelszo1";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the test body on SQLite and, when configured, on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::App::spawn($crate::harness::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::postgres_url().is_some() {
                    super::$name($crate::harness::App::spawn($crate::harness::Backend::Postgres).await).await
                }
            }
        }
    )*};
}

/// As `both!`, over Kapu's own TLS listener.
#[macro_export]
macro_rules! both_tls {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::App::spawn_tls($crate::harness::Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::postgres_url().is_some() {
                    super::$name($crate::harness::App::spawn_tls($crate::harness::Backend::Postgres).await).await
                }
            }
        }
    )*};
}

/// HTTP clients (the tests' own and the S3 blob store's) take TLS from the process-wide
/// provider, as the binary does.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn postgres_url() -> Option<String> {
    match std::env::var("KAPU_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            skip(
                &ONCE,
                "the PostgreSQL half of the suite",
                "run a PostgreSQL server and set KAPU_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/kapu_test",
            );
            None
        }
    }
}

/// Whether every outside program must be there (CI sets `KAPU_TEST_REQUIRE_ALL=1`).
pub fn require_all() -> bool {
    std::env::var("KAPU_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skips a part that needs a program from outside Rust: one line on the terminal per kind
/// (written past the test harness's capture), or a failure where everything is required.
pub fn skip(once: &std::sync::Once, what: &str, install: &str) {
    assert!(
        !require_all(),
        "KAPU_TEST_REQUIRE_ALL=1 but {what} cannot run: {install}"
    );
    once.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "skipped: {what}; to run it, {install}");
    });
}

pub struct App {
    /// The separate metrics listener.
    pub metrics_base: String,
    /// Answers from `/api/v1` that do not fit the OpenAPI document.
    pub violations: crate::contract::Violations,
    pub base: String,
    pub kapu: Kapu,
    pub clock: Arc<ShiftedClock>,
    pub dir: PathBuf,
    pub http: Client,
    /// Over Kapu's own TLS listener: the CA its server certificate chains to (PEM).
    pub tls_root: Option<String>,
    /// A peer shares its first node's data directory and leaves it in place.
    pub(crate) owns_dir: bool,
    /// A peer's `kapu serve` process.
    pub(crate) process: Option<std::process::Child>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        let violations = std::mem::take(&mut *self.violations.lock().unwrap());
        if !std::thread::panicking() {
            assert!(
                violations.is_empty(),
                "answers that break the API contract:\n{}",
                violations.join("\n")
            );
        }
    }
}

pub async fn fresh_schema(base: &str) -> String {
    let schema = format!("t_{}", uuid_simple());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(base)
        .await
        .expect("postgres reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("create schema");
    pool.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

fn uuid_simple() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ) + &format!("{:x}", rand_u32())
}

fn rand_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

impl App {
    pub async fn spawn(backend: Backend) -> App {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> App {
        Self::spawn_full(backend, tweak, None).await
    }

    /// Kapu serving HTTPS itself, with a server certificate for `localhost` from a test CA.
    pub async fn spawn_tls(backend: Backend) -> App {
        install_tls_provider();
        let ca = crate::certs::TestCa::new();
        let (cert, key) = ca.server_cert();
        let dir = std::env::temp_dir().join(format!("kapu-tls-{}", uuid_simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        let tls = kapu_server::tls::server_config(&cert_path, &key_path, None).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let mut app = Self::spawn_full(backend, |_| {}, Some(tls)).await;
        app.tls_root = Some(ca.pem());
        app.http = app.client(None);
        app
    }

    /// A client of this server, presenting `identity` (certificate and key, PEM) if given.
    pub fn client(&self, identity: Option<&str>) -> Client {
        let mut b = Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(root) = &self.tls_root {
            let addr: std::net::SocketAddr = self
                .base
                .replace("https://localhost", "127.0.0.1")
                .parse()
                .unwrap();
            b = b
                .tls_certs_only([reqwest::Certificate::from_pem(root.as_bytes()).unwrap()])
                .resolve("localhost", addr);
        }
        if let Some(pem) = identity {
            b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        b.build().unwrap()
    }

    async fn spawn_full(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> App {
        install_tls_provider();
        let dir = std::env::temp_dir().join(format!("kapu-test-{}", uuid_simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::with_data_dir(dir.clone());
        config.listen = addr.to_string();
        // A host name, not an address: browsers take no IP address as a WebAuthn relying party.
        let scheme = if tls.is_some() { "https" } else { "http" };
        config.public_url = format!("{scheme}://localhost:{}", addr.port());
        if let Backend::Postgres = backend {
            config.database_url = Some(fresh_schema(&postgres_url().unwrap()).await);
        }
        tweak(&mut config);
        let clock = Arc::new(ShiftedClock::default());
        let kapu = Kapu::open(config, clock.clone()).await.expect("kapu opens");
        kapu.bootstrap(&Bootstrap {
            tenant: "kozpont".into(),
            login: "admin".into(),
            email: "admin@kozpont.example".into(),
            full_name: "Központi Admin".into(),
            password: Some(ADMIN_PW.into()),
        })
        .await
        .expect("bootstrap");
        // Most tests log in in secure mode with a password alone; the second-factor tests
        // turn the installation default (a factor for secure mode) back on.
        set_global(&kapu, "second_factor_secure_mode", "false").await;
        let violations = crate::contract::Violations::default();
        let checked = violations.clone();
        let router =
            kapu_server::router(kapu.clone()).layer(axum::middleware::from_fn(move |req, next| {
                crate::contract::layer(checked.clone(), req, next)
            }));
        let base = match &tls {
            Some(_) => format!("https://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        match tls {
            Some(tls) => {
                tokio::spawn(kapu_server::tls::serve_tls(
                    kapu.clone(),
                    router,
                    listener,
                    tls,
                ));
            }
            None => {
                tokio::spawn(kapu_server::serve_router(kapu.clone(), router, listener));
            }
        }
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_base = format!("http://{}", metrics.local_addr().unwrap());
        tokio::spawn(kapu_server::metrics::serve(kapu.clone(), metrics));
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        App {
            metrics_base,
            violations,
            base,
            kapu,
            clock,
            dir,
            http,
            tls_root: None,
            owns_dir: true,
            process: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn days(&self, n: i64) {
        self.clock.advance(n * 86_400_000);
    }

    pub fn minutes(&self, n: i64) {
        self.clock.advance(n * 60_000);
    }

    pub async fn login_raw(&self, login: &str, password: &str, mode: &str) -> Response {
        self.http
            .post(self.url("/api/v1/session"))
            .json(&json!({"login": login, "password": password, "mode": mode}))
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the bearer token; panics when refused.
    pub async fn login(&self, login: &str, password: &str, mode: &str) -> String {
        self.login_with(json!({"login": login, "password": password, "mode": mode}))
            .await
    }

    /// Logs a deputy in acting for `principal`; returns the bearer token, panics when refused.
    pub async fn login_acting(
        &self,
        login: &str,
        password: &str,
        mode: &str,
        principal: &str,
    ) -> String {
        self.login_with(
            json!({"login": login, "password": password, "mode": mode, "act_for": principal}),
        )
        .await
    }

    async fn login_with(&self, body: Value) -> String {
        let r = self
            .http
            .post(self.url("/api/v1/session"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "login {body} refused: {answer}"
        );
        answer["token"].as_str().unwrap().to_string()
    }

    pub async fn admin(&self) -> String {
        self.login(ADMIN, ADMIN_PW, "secure").await
    }

    pub async fn get_raw(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        split(self.get_raw(token, path).await).await
    }

    pub async fn send(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, self.url(path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        split(req.send().await.unwrap()).await
    }

    /// A list as CSV: checks the answer is a CSV download and returns its text.
    pub async fn csv(&self, token: &str, path: &str) -> String {
        let r = self.get_raw(token, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/csv"), "{path}: {kind}");
        r.text().await.unwrap()
    }

    /// Asks for a forgotten-password link; the answer is always 202.
    pub async fn request_reset(&self, login: &str) {
        let (s, b) = self
            .send(
                "POST",
                "",
                "/api/v1/password-reset",
                json!({"login": login}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    }

    /// Every message in the outbox, as raw text, oldest first.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.dir.join("outbox");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .map(|p| decode_mail(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    /// Waits for the `n`th message (1-based) addressed to `to`.
    pub async fn mail_to(&self, to: &str, n: usize) -> String {
        for _ in 0..100 {
            let found: Vec<String> = self
                .outbox()
                .into_iter()
                .filter(|m| m.contains(&format!("To: {to}")))
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail #{n} to {to}; outbox: {:?}", self.outbox());
    }

    /// Creates a tenant with its primary administrator, activates it, and returns its token
    /// in secure mode.
    pub async fn tenant_with_admin(&self, code: &str) -> String {
        let admin = self.admin().await;
        let (s, b) = self
            .send(
                "POST",
                &admin,
                "/api/v1/tenants",
                json!({"code": code, "name": format!("{code} önkormányzat"),
                       "admin": {"login": "fo.admin", "full_name": "Fő Admin", "email": format!("fo.admin@{code}.example")}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let mail = self.mail_to(&format!("fo.admin@{code}.example"), 1).await;
        self.activate(&mail, "Tenant-Admin1").await;
        self.login(&format!("fo.admin@{code}"), "Tenant-Admin1", "secure")
            .await
    }

    /// Creates a plain user in a tenant and activates it with `password`.
    pub async fn user(&self, token: &str, tenant: &str, login: &str, password: &str) {
        let email = format!("{login}@{tenant}.example");
        let (s, b) = self
            .send(
                "POST",
                token,
                &format!("/api/v1/tenants/{tenant}/users"),
                json!({"login": login, "full_name": format!("Teszt {login}"), "email": email}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let mail = self.mail_to(&email, 1).await;
        self.activate(&mail, password).await;
    }

    pub async fn activate(&self, mail: &str, password: &str) {
        let token = link_token(mail, "/activate");
        let (s, b) = self
            .send(
                "POST",
                "",
                "/api/v1/activation",
                json!({"token": token, "password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
}

/// Sets a system variable directly, as a test's starting point.
pub async fn set_global(kapu: &Kapu, name: &str, value: &str) {
    let mut tx = kapu.db().write().await.unwrap();
    kapu.settings()
        .set_global(&mut tx, name, value, kapu.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    kapu.settings().invalidate();
}

pub async fn split(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The token of the first link to `path` in a message.
pub fn link_token(mail: &str, path: &str) -> String {
    let marker = format!("{path}?token=");
    let start = mail
        .find(&marker)
        .unwrap_or_else(|| panic!("no {path} link in {mail}"))
        + marker.len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// The message with its body decoded from base64 or quoted-printable, as a reader sees it.
pub fn decode_mail(raw: &str) -> String {
    use base64::Engine as _;
    let raw = raw.replace("\r\n", "\n");
    let Some((head, body)) = raw.split_once("\n\n") else {
        return raw;
    };
    let lower = head.to_ascii_lowercase();
    let decoded = if lower.contains("content-transfer-encoding: base64") {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap(),
        )
        .unwrap()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_string()
    };
    format!("{head}\n\n{decoded}")
}
