//! A PostgreSQL restart under a steady read load: no read fails and nothing answers 500.
//! The database is a cluster of the test's own, so that restarting it disturbs no other test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::forms::{browser, log_in};
use crate::harness::{ADMIN, ADMIN_PW, App, Backend, postgres_url, skip};

/// A PostgreSQL cluster in a temporary directory, on a port of its own.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// Starts one with the server programs of the installed PostgreSQL.
    fn start() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists() && b.join("pg_ctl").exists());
        let Some(bin) = bin else {
            static ONCE: std::sync::Once = std::sync::Once::new();
            skip(
                &ONCE,
                "the database restart test",
                "install PostgreSQL's server programs (initdb, pg_ctl)",
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "kapu-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster { bin, dir, port };
        if as_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to its own user.
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the cluster directory");
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        cluster.pg_ctl("start");
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts, stops (fast: every connection is ended at once, as in a production restart)
    /// or restarts the server, waiting until it is done.
    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let (data, log) = (self.data(), self.dir.join("log").display().to_string());
        let args = [
            "-D", &data, "-o", &options, "-l", &log, "-w", "-m", "fast", action,
        ];
        self.run("pg_ctl", &args);
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A server program, run as the `postgres` user when the tests run as root (PostgreSQL
    /// refuses to run as root).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The reads made so far by every reader, and whether they are to stop.
#[derive(Default)]
struct Load {
    reads: AtomicUsize,
    stop: AtomicBool,
}

impl Load {
    /// Waits at least `at_least` and until `more` further reads were made (a loaded machine
    /// reads slowly: the restart must fall amid reads, and reads must follow it).
    async fn wait(&self, at_least: Duration, more: usize) {
        let target = self.reads.load(Ordering::Relaxed) + more;
        let started = Instant::now();
        while started.elapsed() < at_least || self.reads.load(Ordering::Relaxed) < target {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the readers made fewer than {more} reads in a minute"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Reads a page and two API resources in a loop until told to stop; returns every status
/// that was not 200, with its path.
async fn read_steadily(app: &App, load: Arc<Load>) -> Vec<(String, StatusCode)> {
    let token = app.admin().await;
    let b = browser();
    let (s, _, _) = log_in(&b, app, ADMIN, ADMIN_PW, "secure").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut failed = Vec::new();
    while !load.stop.load(Ordering::Relaxed) {
        for path in [
            "/api/v1/me",
            "/api/v1/mailboxes/me/messages",
            "/api/v1/audit",
        ] {
            let r = app.http.get(app.url(path)).bearer_auth(&token).send().await;
            note(&load, &mut failed, path, r);
        }
        let r = b.get(app.url("/")).send().await;
        note(&load, &mut failed, "/", r);
    }
    failed
}

fn note(
    load: &Load,
    failed: &mut Vec<(String, StatusCode)>,
    path: &str,
    r: reqwest::Result<reqwest::Response>,
) {
    load.reads.fetch_add(1, Ordering::Relaxed);
    match r {
        Ok(r) if r.status() == StatusCode::OK => {}
        Ok(r) => failed.push((path.to_string(), r.status())),
        Err(e) => panic!("{path}: no answer: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_a_steady_read_load_fails_no_read() {
    if postgres_url().is_none() {
        return;
    }
    let Some(cluster) = Cluster::start() else {
        return;
    };
    // The backend named here is replaced by the cluster's own database.
    let url = cluster.url();
    let app = Arc::new(App::spawn_with(Backend::Sqlite, |c| c.database_url = Some(url)).await);
    let load = Arc::new(Load::default());
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (app, load) = (app.clone(), load.clone());
            tokio::spawn(async move { read_steadily(&app, load).await })
        })
        .collect();
    load.wait(Duration::from_millis(700), 100).await;
    let before = load.reads.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::task::block_in_place(|| cluster.pg_ctl("restart"));
    let restart = started.elapsed();
    load.wait(Duration::from_millis(1500), 100).await;
    load.stop.store(true, Ordering::Relaxed);
    let mut failed = Vec::new();
    for r in readers {
        failed.extend(r.await.unwrap());
    }
    let reads = load.reads.load(Ordering::Relaxed);
    assert!(
        failed.is_empty(),
        "{} of {reads} reads ({before} before it) failed across a restart of {restart:?}: {failed:?}",
        failed.len()
    );

    // While the database is down, Kapu says so: 503 with Retry-After, never 500.
    let token = app.admin().await;
    tokio::task::block_in_place(|| cluster.pg_ctl("stop"));
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let r = app.get_raw(&token, "/api/v1/me").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "2");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    tokio::task::block_in_place(|| cluster.pg_ctl("start"));
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, body) = app.get(&token, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK, "the same session works again: {body}");
}
