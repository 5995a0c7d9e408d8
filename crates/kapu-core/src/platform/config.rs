//! Runtime configuration, already merged from flags, environment, file and defaults.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    /// Where `/metrics` is served; off when empty, so metrics are never public by accident.
    pub metrics_listen: Option<String>,
    pub data_dir: PathBuf,
    /// Empty: SQLite in the data directory.
    pub database_url: Option<String>,
    /// Where links in e-mails and console messages point.
    pub public_url: String,
    pub mail_from: String,
    pub smtp: Option<SmtpConfig>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Threads that may hash passwords at once.
    pub hash_workers: usize,
    /// The master key file; by default `master.key` in the data directory, made on first
    /// start. Several nodes must share one.
    pub master_key_file: Option<PathBuf>,
    /// Where documents are kept: empty for `<data-dir>/blobs`, or `s3://bucket/prefix`.
    pub blob_url: Option<String>,
    /// S3 settings on top of the usual `AWS_*` environment (`endpoint`, `region`,
    /// `access_key_id`, `secret_access_key`, `allow_http`, …).
    pub blob_options: Vec<(String, String)>,
    /// Kapu serves TLS itself with this certificate chain and key (PEM), and asks browsers
    /// for a client certificate, optionally.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Client certificates must chain to these CAs (PEM); without, any certificate is taken
    /// and only its binding to a user gives it meaning.
    pub tls_client_ca: Option<PathBuf>,
    /// Behind a reverse proxy: the header carrying the client certificate the proxy
    /// verified (URL-encoded PEM or base64 DER). Off when none: the header is then ignored.
    pub trust_client_cert_header: Option<String>,
    /// Connections one client address may hold open at once (behind a proxy, the proxy's
    /// own address: raise it there).
    pub connections_per_address: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: std::time::Duration,
    /// A connection on which nothing moves (no byte read or written) for this long is
    /// closed: a half-sent request, a stalled upload, an idle keep-alive.
    pub idle_timeout: std::time::Duration,
}

impl Config {
    pub fn with_data_dir(data_dir: PathBuf) -> Config {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Config {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: None,
            data_dir,
            database_url: None,
            public_url: "http://127.0.0.1:8080".into(),
            mail_from: "Kapu <kapu@localhost>".into(),
            smtp: None,
            trust_forwarded_for: false,
            hash_workers: workers,
            master_key_file: None,
            blob_url: None,
            blob_options: Vec::new(),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            trust_client_cert_header: None,
            connections_per_address: 128,
            header_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(60),
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("kapu.db").display()
            ),
        }
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn link(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.public_url.trim_end_matches('/'),
            path_and_query
        )
    }
}
