//! Configuration: flags > environment > TOML file > defaults.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kapu_core::platform::config::{Config, SmtpConfig};
use serde::Deserialize;

#[derive(Args, Debug, Default)]
pub struct Common {
    /// TOML configuration file.
    #[arg(long, env = "KAPU_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "KAPU_LISTEN", global = true)]
    listen: Option<String>,
    /// Address for the Prometheus metrics (`/metrics`) [default: off].
    #[arg(long, env = "KAPU_METRICS_LISTEN", global = true)]
    metrics_listen: Option<String>,
    /// Where Kapu keeps its database, outbox and keys [default: ./data].
    #[arg(long, env = "KAPU_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL; SQLite in the data directory when empty.
    #[arg(long, env = "KAPU_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// The address users reach Kapu at, for links in e-mails [default: http://<listen>].
    #[arg(long, env = "KAPU_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    #[arg(long, env = "KAPU_SMTP_HOST", global = true)]
    smtp_host: Option<String>,
    #[arg(long, env = "KAPU_SMTP_PORT", global = true)]
    smtp_port: Option<u16>,
    /// none, starttls or tls.
    #[arg(long, env = "KAPU_SMTP_SECURITY", global = true)]
    smtp_security: Option<String>,
    /// Where documents are kept: `s3://bucket/prefix` (with the usual `AWS_*` variables)
    /// [default: <data-dir>/blobs].
    #[arg(long, env = "KAPU_BLOB_URL", global = true)]
    blob_url: Option<String>,
    /// The master key file [default: <data-dir>/master.key].
    #[arg(long, env = "KAPU_MASTER_KEY_FILE", global = true)]
    master_key_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "KAPU_TLS_CERT", global = true, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "KAPU_TLS_KEY", global = true, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Client certificates must chain to these CAs (PEM) [default: any certificate; its
    /// binding to a user is what counts].
    #[arg(long, env = "KAPU_TLS_CLIENT_CA", global = true)]
    tls_client_ca: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    metrics_listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    mail_from: Option<String>,
    trust_forwarded_for: Option<bool>,
    hash_workers: Option<usize>,
    smtp: Option<FileSmtp>,
    blob_url: Option<String>,
    master_key_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    /// Behind a reverse proxy: the header carrying the verified client certificate.
    trust_client_cert_header: Option<String>,
    /// Connections one client address may hold at once [default: 128].
    connections_per_address: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10].
    header_timeout_secs: Option<u64>,
    /// Seconds a connection may stay without a byte moving [default: 60].
    idle_timeout_secs: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl Common {
    pub fn load(&self) -> anyhow::Result<Config> {
        let file: FileConfig = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("bad configuration in {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let mut config = Config::with_data_dir(data_dir);
        if let Some(listen) = self.listen.clone().or(file.listen) {
            config.listen = listen;
        }
        config.metrics_listen = self
            .metrics_listen
            .clone()
            .or(file.metrics_listen)
            .filter(|l| !l.is_empty());
        config.tls_cert = self.tls_cert.clone().or(file.tls_cert);
        config.tls_key = self.tls_key.clone().or(file.tls_key);
        config.tls_client_ca = self.tls_client_ca.clone().or(file.tls_client_ca);
        if config.tls_cert.is_some() != config.tls_key.is_some() {
            anyhow::bail!("TLS needs both a certificate and its key (tls_cert, tls_key)");
        }
        config.trust_client_cert_header = file
            .trust_client_cert_header
            .filter(|h| !h.trim().is_empty());
        let scheme = if config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        config.public_url = self
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("{scheme}://{}", config.listen));
        config.database_url = self
            .database_url
            .clone()
            .or(file.database_url)
            .filter(|u| !u.is_empty());
        if let Some(from) = file.mail_from {
            config.mail_from = from;
        }
        config.trust_forwarded_for = file.trust_forwarded_for.unwrap_or(false);
        if let Some(n) = file.connections_per_address {
            config.connections_per_address = n.max(1);
        }
        if let Some(s) = file.header_timeout_secs {
            config.header_timeout = std::time::Duration::from_secs(s.max(1));
        }
        if let Some(s) = file.idle_timeout_secs {
            config.idle_timeout = std::time::Duration::from_secs(s.max(1));
        }
        if let Some(n) = file.hash_workers {
            config.hash_workers = n.max(1);
        }
        config.blob_url = self.blob_url.clone().or(file.blob_url);
        config.master_key_file = self.master_key_file.clone().or(file.master_key_file);
        let file_smtp = file.smtp.unwrap_or_default();
        if let Some(host) = self.smtp_host.clone().or(file_smtp.host) {
            let security = self
                .smtp_security
                .clone()
                .or(file_smtp.security)
                .unwrap_or_else(|| "starttls".into());
            let default_port = match security.as_str() {
                "tls" => 465,
                "none" => 25,
                _ => 587,
            };
            config.smtp = Some(SmtpConfig {
                host,
                port: self.smtp_port.or(file_smtp.port).unwrap_or(default_port),
                security,
                username: file_smtp
                    .username
                    .or_else(|| std::env::var("KAPU_SMTP_USERNAME").ok()),
                password: file_smtp
                    .password
                    .or_else(|| std::env::var("KAPU_SMTP_PASSWORD").ok()),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("kapu-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kapu.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/from-file\"\n[smtp]\nhost = \"mail.example\"\n").unwrap();
        let common = Common {
            config: Some(path),
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        let c = common.load().unwrap();
        assert_eq!(c.listen, "127.0.0.1:9100");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/from-file"));
        assert_eq!(c.public_url, "http://127.0.0.1:9100");
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("mail.example", 587));
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Common::default().load().unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(c.database_url().starts_with("sqlite://"));
        assert!(c.smtp.is_none());
    }
}
