//! `kapu bench`: password logins per second, authenticated requests per second with latency
//! percentiles, and the machine's raw Argon2id rate, so the login rate reads as a fraction
//! of the hashing limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct BenchArgs {
    /// Base address of a running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// `name@tenant` of an active account.
    #[arg(long)]
    pub(crate) login: String,
    #[arg(long, env = "KAPU_BENCH_PASSWORD", hide_env_values = true)]
    password: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// `all`, `identity` (logins and authenticated requests), `sso` (codes, tokens,
    /// userinfo), `mailbox` or `vault` (import, code reveals, the list's first page).
    #[arg(long, default_value = "all")]
    only: String,
    /// The server's process id, to report its resident memory during the big document.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// Size of the big streamed document in MiB [default: 1024].
    #[arg(long)]
    pub(crate) big_document_mib: Option<u64>,
    /// Fill the benchmark office's inbox with this many messages before timing its first page.
    #[arg(long)]
    pub(crate) inbox_fill: Option<u64>,
    /// The key (base32) of the account's authenticator app, when it has one.
    #[arg(long, env = "KAPU_BENCH_TOTP_SECRET", hide_env_values = true)]
    totp_secret: Option<String>,
    /// Users with an authenticator app made for timing two-step logins.
    #[arg(long, default_value_t = 400)]
    pub(crate) two_step_users: usize,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Hashes on every core for `seconds`; returns hashes per second.
fn argon2_rate(seconds: u64) -> f64 {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let stop = stop.clone();
            let count = count.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if kapu_core::platform::crypto::hash_now("Bench-Password-1").is_ok() {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

pub(crate) struct Sample {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u64>,
    elapsed: f64,
}

pub(crate) async fn hammer<F, Fut>(concurrency: usize, seconds: u64, make: F) -> Sample
where
    F: Fn() -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                if make().await {
                    ok += 1;
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    failed += 1;
                }
            }
            (ok, failed, lat)
        }));
    }
    let mut sample = Sample {
        ok: 0,
        failed: 0,
        latencies_us: Vec::new(),
        elapsed: 0.0,
    };
    for t in tasks {
        if let Ok((ok, failed, lat)) = t.await {
            sample.ok += ok;
            sample.failed += failed;
            sample.latencies_us.extend(lat);
        }
    }
    sample.elapsed = started.elapsed().as_secs_f64();
    sample.latencies_us.sort_unstable();
    sample
}

/// Like [`hammer`], for a limited stock of work: each worker stops when `make` answers
/// `None` (nothing left), so the rate is over the time the work took.
pub(crate) async fn drain<F, Fut>(concurrency: usize, max_seconds: u64, make: F) -> Sample
where
    F: Fn() -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = Option<bool>> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(max_seconds);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                match make().await {
                    Some(true) => {
                        ok += 1;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                    Some(false) => failed += 1,
                    None => break,
                }
            }
            (ok, failed, lat)
        }));
    }
    let mut sample = Sample {
        ok: 0,
        failed: 0,
        latencies_us: Vec::new(),
        elapsed: 0.0,
    };
    for t in tasks {
        if let Ok((ok, failed, lat)) = t.await {
            sample.ok += ok;
            sample.failed += failed;
            sample.latencies_us.extend(lat);
        }
    }
    sample.elapsed = started.elapsed().as_secs_f64();
    sample.latencies_us.sort_unstable();
    sample
}

/// The `GET /healthz` rate of this run, which every other figure is also given as a share of.
static HEALTHZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

pub(crate) fn report(name: &str, s: &Sample) -> f64 {
    let rate = s.ok as f64 / s.elapsed;
    let share = HEALTHZ
        .get()
        .map(|h| format!("   {:>5.1} % of /healthz", 100.0 * rate / h.max(0.001)))
        .unwrap_or_default();
    println!(
        "{name:<28} {rate:>9.1}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} failed){share}",
        percentile(&s.latencies_us, 0.50),
        percentile(&s.latencies_us, 0.99),
        s.ok,
        s.failed
    );
    rate
}

/// A GET with the session as a bearer token, or as the pages' cookie.
async fn get_ok(client: &reqwest::Client, url: &str, token: &str, cookie: bool) -> bool {
    let req = client.get(url);
    let req = if cookie {
        req.header(reqwest::header::COOKIE, format!("kapu_session={token}"))
    } else {
        req.bearer_auth(token)
    };
    matches!(req.send().await, Ok(r) if r.status().is_success())
}

/// Times authenticated GETs of `path` with `token`.
async fn timed_get(
    client: &reqwest::Client,
    a: &BenchArgs,
    url: String,
    token: String,
    cookie: bool,
) -> Sample {
    hammer(a.concurrency, a.seconds, {
        let client = client.clone();
        move || {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move { get_ok(&client, &url, &token, cookie).await }
        }
    })
    .await
}

pub async fn run(a: BenchArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency * 2)
        .build()?;
    let base = a.url.trim_end_matches('/').to_string();
    let login_url = format!("{base}/api/v1/session");
    let body = json!({"login": a.login, "password": a.password, "mode": "normal"});
    // One secure session serves every step: an account with an authenticator app can answer
    // a second step only once per 30-second step.
    let token = crate::bench_two_step::session(
        &client,
        &base,
        &a.login,
        &a.password,
        "secure",
        a.totp_secret.as_deref(),
    )
    .await?;
    let admin = token.clone();

    println!(
        "Kapu benchmark against {base}: {} s per step, {} in flight",
        a.seconds, a.concurrency
    );
    // The no-op the other figures are measured against, in the same run.
    let healthz = hammer(a.concurrency, a.seconds, {
        let client = client.clone();
        let url = format!("{base}/healthz");
        move || {
            let (client, url) = (client.clone(), url.clone());
            async move { matches!(client.get(&url).send().await, Ok(r) if r.status().is_success()) }
        }
    })
    .await;
    let _ = HEALTHZ.set(report("GET /healthz", &healthz));
    if a.only == "mailbox" {
        return crate::bench_mailbox::run(&client, &base, &a, &admin).await;
    }
    if a.only == "sso" {
        return crate::bench_sso::run(&client, &base, &a, &admin).await;
    }
    if a.only == "vault" {
        return crate::bench_vault::run(&client, &base, &a, &admin).await;
    }
    let hashes = tokio::task::spawn_blocking({
        let s = a.seconds;
        move || argon2_rate(s)
    })
    .await?;
    println!(
        "{:<28} {hashes:>9.1}/s   (all cores, m=19456 KiB, t=2, p=1)",
        "argon2id hashes (raw)"
    );

    // Every attempt from an address counts against its per-minute limit while it is being
    // judged; the benchmark's one address sends far more than any office would.
    let before = set_variable(
        &client,
        &base,
        &admin,
        "login_throttle_per_minute",
        "100000",
    )
    .await?;
    let logins = hammer(a.concurrency, a.seconds, {
        let client = client.clone();
        let url = login_url.clone();
        let body = body.clone();
        move || {
            let client = client.clone();
            let url = url.clone();
            let body = body.clone();
            async move {
                // A session, or (for an account with a factor) the second step's challenge.
                matches!(client.post(&url).json(&body).send().await, Ok(r) if matches!(r.status().as_u16(), 200 | 201))
            }
        }
    })
    .await;
    let login_rate = report("password logins", &logins);
    println!(
        "{:<28} {:>9.1} %",
        "  of the hashing limit",
        100.0 * login_rate / hashes.max(0.001)
    );

    let me = timed_get(
        &client,
        &a,
        format!("{base}/api/v1/me"),
        token.clone(),
        false,
    )
    .await;
    report("GET /api/v1/me", &me);
    let page = timed_get(&client, &a, format!("{base}/"), token.clone(), true).await;
    report("GET / (page, cookie)", &page);

    // Role resolution under load: a user in 10 groups, and the same user acting for a
    // principal through 3 substitutions.
    crate::bench_two_step::run(&client, &base, &a, &admin).await?;
    let (own, acting) = setup_roles_scenario(&client, &base, &a, &admin).await?;
    for (label, path, token, cookie) in [
        ("GET /me, 10 groups", "/api/v1/me", own, false),
        (
            "GET /me, 3 substitutions",
            "/api/v1/me",
            acting.clone(),
            false,
        ),
        ("GET /, 3 substitutions", "/", acting, true),
    ] {
        let sample = timed_get(&client, &a, format!("{base}{path}"), token, cookie).await;
        report(label, &sample);
    }
    if a.only == "all" {
        crate::bench_sso::run(&client, &base, &a, &admin).await?;
        crate::bench_mailbox::run(&client, &base, &a, &admin).await?;
        crate::bench_vault::run(&client, &base, &a, &admin).await?;
    }
    // Put back only now: the logins above fill this minute's count far past any real limit.
    set_variable(&client, &base, &admin, "login_throttle_per_minute", &before).await?;
    Ok(())
}

pub(crate) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let r = client
        .request(method, &url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url}: {status} {body}");
    }
    Ok(body)
}

/// Creates, in the benchmark user's tenant, a deputy in 10 groups and a principal who
/// substitutes 3 roles to it; returns the deputy's own token and its acting token.
async fn setup_roles_scenario(
    client: &reqwest::Client,
    base: &str,
    a: &BenchArgs,
    admin: &str,
) -> anyhow::Result<(String, String)> {
    use reqwest::Method;
    let tenant = a
        .login
        .rsplit_once('@')
        .map(|(_, t)| t.to_string())
        .unwrap_or_default();
    let login = |body: serde_json::Value| async move {
        let r = client
            .post(format!("{base}/api/v1/session"))
            .json(&body)
            .send()
            .await?;
        let v: serde_json::Value = r.json().await?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("login refused: {v}"))
    };
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let users = format!("{base}/api/v1/tenants/{tenant}/users");
    let password = "Bench-Roles-123";
    let mut names = Vec::new();
    for who in ["deputy", "principal"] {
        let name = format!("bench.{who}.{tag}");
        call(client, Method::POST, users.clone(), admin, json!({"login": name, "full_name": format!("Bench {who}"), "email": format!("{who}@bench.invalid")})).await?;
        call(
            client,
            Method::PUT,
            format!("{users}/{name}/password"),
            admin,
            json!({"password": password}),
        )
        .await?;
        names.push(name);
    }
    let (deputy, principal) = (names[0].clone(), names[1].clone());
    let roles = [
        "kapu.vir_admin",
        "kapu.vir_reader",
        "kapu.partner_recorder",
        "kapu.partner_corrector",
        "kapu.partner_merger",
    ];
    for i in 0..10 {
        call(
            client,
            Method::POST,
            format!("{base}/api/v1/tenants/{tenant}/groups"),
            admin,
            json!({"code": format!("bench_{tag}_{i}"), "name": format!("Bench {i}"), "members": [deputy, principal], "roles": [roles[i % roles.len()]]}),
        )
        .await?;
    }
    let substituted = [
        "kapu.log_reader",
        "kapu.partner_certifier",
        "kapu.partner_reader",
    ];
    call(
        client,
        Method::PUT,
        format!("{users}/{principal}/rights"),
        admin,
        json!({"roles": substituted}),
    )
    .await?;
    for role in substituted {
        call(
            client,
            Method::POST,
            format!("{base}/api/v1/tenants/{tenant}/substitutions"),
            admin,
            json!({"deputy": deputy, "principal": principal, "roles": [role]}),
        )
        .await?;
    }
    let own = login(json!({"login": format!("{deputy}@{tenant}"), "password": password})).await?;
    let acting = login(
        json!({"login": format!("{deputy}@{tenant}"), "password": password, "act_for": principal}),
    )
    .await?;
    Ok((own, acting))
}

/// Sets a system variable's central value for a measurement; its value before, to put back.
pub(crate) async fn set_variable(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    name: &str,
    value: &str,
) -> anyhow::Result<String> {
    let url = format!("{base}/api/v1/settings/{name}");
    let before = client
        .get(&url)
        .bearer_auth(admin)
        .send()
        .await?
        .error_for_status()?
        .json::<serde_json::Value>()
        .await?["global_value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    client
        .put(&url)
        .bearer_auth(admin)
        .json(&json!({"value": value}))
        .send()
        .await?
        .error_for_status()?;
    Ok(before)
}
