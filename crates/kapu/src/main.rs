//! `kapu`: the server, its administration commands, and its benchmark.

mod bench;
mod bench_mailbox;
mod bench_sso;
mod bench_two_step;
mod bench_vault;
mod settings_file;

use std::io::Read;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use kapu_core::Kapu;
use kapu_core::identity::bootstrap::Bootstrap;
use kapu_core::platform::audit::ChainCheck;
use kapu_core::platform::clock::SystemClock;

#[derive(Parser)]
#[command(name = "kapu", version, about = "Kapu e-administration gateway")]
struct Cli {
    #[command(flatten)]
    common: settings_file::Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Administration from the console.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Measure logins and authenticated requests against a running server.
    Bench(bench::BenchArgs),
    /// Check a receipt (`.jws` file) offline against Kapu's published keys.
    VerifyReceipt(VerifyReceiptArgs),
}

#[derive(Args)]
struct VerifyReceiptArgs {
    /// The receipt: a compact JWS, as downloaded.
    file: std::path::PathBuf,
    /// The keys: a JWKS file, or the address of `/.well-known/jwks.json`. Without it, the
    /// keys of the installation the configuration names.
    #[arg(long)]
    jwks: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the central tenant and its first administrator before the first start.
    Bootstrap(BootstrapArgs),
    /// Check the hash chain of the business log.
    VerifyAudit,
    /// Issue a new one-time setup or password link for a user who lost theirs (printed, and
    /// mailed when mail works).
    ResetLink(ResetLinkArgs),
    /// Make a new signing key for receipts; the old public keys stay published.
    RotateKeys,
    /// Register a service as a confidential OpenID Connect client in production (made in
    /// the catalogue if missing) and print its new client secret.
    RegisterClient(RegisterClientArgs),
}

#[derive(Args)]
struct RegisterClientArgs {
    /// The service code, which is the client id.
    #[arg(long)]
    code: String,
    #[arg(long)]
    name: String,
    /// Exact redirect address (repeatable).
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// Where logging out may send the browser back to (repeatable).
    #[arg(long = "post-logout-uri")]
    post_logout_uris: Vec<String>,
}

#[derive(Args)]
struct ResetLinkArgs {
    /// `name@tenant`, e.g. `admin@kozpont`.
    #[arg(long)]
    login: String,
}

#[derive(Args)]
struct BootstrapArgs {
    #[arg(long, default_value = "kozpont")]
    tenant: String,
    #[arg(long, default_value = "admin")]
    login: String,
    #[arg(long)]
    email: String,
    #[arg(long, default_value = "Rendszergazda")]
    full_name: String,
    /// Read the password from standard input instead of issuing a setup link.
    #[arg(long)]
    password_stdin: bool,
}

/// Makes glibc's allocator give memory back. After the first large block is freed it
/// raises its mapping and trimming thresholds to that block's size (up to 32 MiB), so that
/// freed memory stays resident in every thread's arena: an idle server stayed at its peak.
/// Fixed thresholds map every block of 128 KiB or more on its own (given back when freed)
/// and trim an arena's free top past 128 KiB. (Capping the arenas as well saved another
/// 10 MB but cost a fifth of the sends per second.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

/// Start-up builds much that it drops again (the migrations' checks, the API document the
/// route table is made from); what it freed between blocks still in use stays resident
/// unless the allocator is asked to give it back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_startup_memory() {
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_startup_memory() {}

fn main() -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    tune_allocator();
    let cli = Cli::parse();
    // `KAPU_LOG` wins; without it the `RUST_LOG` Rust users set first is honoured.
    let filter = tracing_subscriber::EnvFilter::try_from_env("KAPU_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Lines go to a writer thread: a request never waits for the terminal or the disk. The
    // guard flushes what is queued when the process ends.
    // A queue of 16,384 lines (about 0.5 MB) rather than the default 128,000 (4 MB).
    let (writer, _flush) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(16_384)
        .finish(std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(cli))
}

async fn open(config: kapu_core::platform::config::Config) -> anyhow::Result<Kapu> {
    Kapu::open(config, Arc::new(SystemClock))
        .await
        .map_err(|e| anyhow::anyhow!("cannot open Kapu: {e}"))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let config = cli.common.load()?;
            let listen = config.listen.clone();
            let metrics_listen = config.metrics_listen.clone();
            let tls = match (&config.tls_cert, &config.tls_key) {
                (Some(cert), Some(key)) => Some(kapu_server::tls::server_config(
                    cert,
                    key,
                    config.tls_client_ca.as_deref(),
                )?),
                _ => None,
            };
            let kapu = open(config).await?;
            let first = kapu
                .first_start()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(link) = first.and_then(|b| b.setup_link.map(|l| (b.full_login, l))) {
                println!(
                    "\n  Kapu is set up. Set the password of {} here (valid 24 hours):\n\n    {}\n",
                    link.0, link.1
                );
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            tracing::info!(address = %listener.local_addr()?, tls = tls.is_some(), "Kapu listening");
            if let Some(addr) = metrics_listen {
                let metrics = tokio::net::TcpListener::bind(&addr)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {addr}"))?;
                tracing::info!(address = %metrics.local_addr()?, "metrics at /metrics");
                tokio::spawn(kapu_server::metrics::serve(kapu.clone(), metrics));
            }
            let router = kapu_server::router(kapu.clone());
            release_startup_memory();
            match tls {
                Some(tls) => kapu_server::tls::serve_tls(kapu, router, listener, tls).await?,
                None => kapu_server::serve_router(kapu, router, listener).await?,
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Bootstrap(a)) => {
            let config = cli.common.load()?;
            let kapu = open(config).await?;
            let password = if a.password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                let s = s.trim_end_matches(['\r', '\n']).to_string();
                if s.is_empty() {
                    bail!("no password on standard input");
                }
                Some(s)
            } else {
                None
            };
            let b = kapu
                .bootstrap(&Bootstrap {
                    tenant: a.tenant,
                    login: a.login,
                    email: a.email,
                    full_name: a.full_name,
                    password,
                })
                .await
                .map_err(|e| match e {
                    kapu_core::Error::Conflict(_) => {
                        anyhow::anyhow!("refused: a central tenant already exists")
                    }
                    kapu_core::Error::Validation(f) => anyhow::anyhow!("refused: {f:?}"),
                    other => anyhow::anyhow!("{other}"),
                })?;
            println!("Created {}", b.full_login);
            if let Some(link) = b.setup_link {
                println!("Set the password here (valid 24 hours): {link}");
            }
            kapu.deliver_mail_once()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        }
        Command::Admin(AdminCommand::VerifyAudit) => {
            let config = cli.common.load()?;
            let kapu = open(config).await?;
            match kapu
                .verify_audit_chain()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                ChainCheck::Intact { records } => {
                    println!("audit chain intact: {records} records");
                    Ok(())
                }
                ChainCheck::Broken { seq, reason } => {
                    bail!("audit chain broken at record {seq}: {reason}")
                }
            }
        }
        Command::Admin(AdminCommand::ResetLink(a)) => {
            let config = cli.common.load()?;
            let kapu = open(config).await?;
            let issued = kapu
                .console_reset_link(&a.login)
                .await
                .map_err(|e| match e {
                    kapu_core::Error::NotFound => anyhow::anyhow!("no such user: {}", a.login),
                    kapu_core::Error::Validation(_) => {
                        anyhow::anyhow!("not a login name (name@tenant): {}", a.login)
                    }
                    other => anyhow::anyhow!("{other}"),
                })?;
            if let Some(link) = issued.setup_link {
                println!("One-time link for {}: {link}", issued.full_login);
            }
            // Mail goes out now if it can; the link above works either way.
            if let Err(e) = kapu.deliver_mail_once().await {
                eprintln!("the link could not be mailed: {e}");
            }
            Ok(())
        }
        Command::Admin(AdminCommand::RotateKeys) => {
            let kapu = open(cli.common.load()?).await?;
            let kid = kapu
                .console_rotate_keys()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("new signing key: {kid}");
            Ok(())
        }
        Command::Admin(AdminCommand::RegisterClient(a)) => {
            let kapu = open(cli.common.load()?).await?;
            let secret = kapu
                .console_register_client(&a.code, &a.name, a.redirect_uris, a.post_logout_uris)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("client_id: {}\nclient_secret: {secret}", a.code);
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::VerifyReceipt(args) => verify_receipt(cli.common, args).await,
    }
}

async fn verify_receipt(
    common: settings_file::Common,
    args: VerifyReceiptArgs,
) -> anyhow::Result<()> {
    use kapu_core::platform::keys::{Jwks, verify_jws};
    let jws = std::fs::read_to_string(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let jwks: Jwks = match args.jwks.as_deref() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            reqwest::get(url).await?.error_for_status()?.json().await?
        }
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
        None => {
            let kapu = open(common.load()?).await?;
            kapu.keys()
                .jwks()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    let payload = verify_jws(&jws, &jwks).map_err(|e| anyhow::anyhow!("receipt NOT valid: {e}"))?;
    println!("receipt valid");
    println!("{}", serde_json::to_string_pretty(&payload)?);
    Ok(())
}
