//! A second node for the tests: a `kapu serve` process of its own beside an in-process one.

use std::time::Duration;

use crate::harness::App;

impl App {
    /// A second node: a `kapu serve` process of its own on the same database and data
    /// directory (a shared volume), with this node's SMTP server and public address. It
    /// shares nothing in memory with this one: its pools, caches, change listener and mail
    /// worker are its own. It keeps the real time (shifting the clock shifts only this
    /// node), and its `kapu` is this node's handle on the shared database. It is killed
    /// when dropped.
    pub async fn peer(&self) -> App {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = self.kapu.config();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kapu"));
        command
            .arg("serve")
            .env("KAPU_DATA_DIR", &self.dir)
            .env("KAPU_LISTEN", format!("127.0.0.1:{port}"))
            .env("KAPU_PUBLIC_URL", &config.public_url)
            .env("KAPU_LOG", "warn")
            .env_remove("KAPU_CONFIG")
            .env_remove("KAPU_METRICS_LISTEN")
            .stdout(std::process::Stdio::null());
        match &config.database_url {
            Some(url) => command.env("KAPU_DATABASE_URL", url),
            None => command.env_remove("KAPU_DATABASE_URL"),
        };
        if let Some(smtp) = &config.smtp {
            command
                .env("KAPU_SMTP_HOST", &smtp.host)
                .env("KAPU_SMTP_PORT", smtp.port.to_string())
                .env("KAPU_SMTP_SECURITY", &smtp.security);
        }
        let mut child = command.spawn().expect("kapu serve starts");
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(r) = self.http.get(format!("{base}/readyz")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the peer process did not start");
        }
        App {
            metrics_base: self.metrics_base.clone(),
            violations: crate::contract::Violations::default(),
            base,
            kapu: self.kapu.clone(),
            clock: self.clock.clone(),
            dir: self.dir.clone(),
            http: self.http.clone(),
            tls_root: None,
            owns_dir: false,
            process: Some(child),
        }
    }

    /// The resident memory of the server this handle talks to, in bytes: a peer's own
    /// process. Measured on a peer, what the other tests of this binary allocate at the
    /// same time does not count.
    pub fn resident_bytes(&self) -> u64 {
        let pid = self
            .process
            .as_ref()
            .map_or_else(|| "self".to_string(), |c| c.id().to_string());
        let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
        statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
            * 4096
    }

    /// Ends a peer's process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
