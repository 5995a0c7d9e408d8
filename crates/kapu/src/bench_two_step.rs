//! `kapu bench` and the second factor: logging the benchmark account in whatever its factors
//! (enrolling an authenticator app when secure mode demands one), and timing two-step logins
//! (password, then a TOTP code) beside password-only ones.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kapu_core::signon::totp;
use serde_json::{Value, json};

use crate::bench::BenchArgs;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn base32_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    totp::secret_from_base32(s).context("the TOTP key is not base32")
}

/// A code the server accepts once more: that of the next step (within its drift window), so a
/// code just spent in this step never blocks the next login.
fn next_code(secret: &[u8]) -> anyhow::Result<String> {
    Ok(totp::code_at(secret, unix_now() + 30)?)
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let mut req = client.post(&url).json(&body);
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let r = req
        .send()
        .await
        .with_context(|| format!("{url} not reachable"))?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or_default()))
}

/// A full session of `login`: the second step answered with a TOTP code of `secret`, and an
/// authenticator app enrolled first when the session may do nothing else.
pub async fn session(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
    mode: &str,
    secret: Option<&str>,
) -> anyhow::Result<String> {
    let (status, v) = post(
        client,
        format!("{base}/api/v1/session"),
        "",
        json!({"login": login, "password": password, "mode": mode}),
    )
    .await?;
    match status {
        201 if v["second_factor_enrolment_required"] == true => {
            let token = v["token"].as_str().unwrap_or_default().to_string();
            let key = enrol(client, base, &token, password).await?;
            eprintln!(
                "{login} had no second factor and secure mode needs one: it now has an \
                 authenticator app with the key {key}; pass --totp-secret {key} (or \
                 KAPU_BENCH_TOTP_SECRET) from now on"
            );
            Ok(token)
        }
        201 => Ok(v["token"].as_str().unwrap_or_default().to_string()),
        200 => {
            let secret = secret
                .context("the account has a second factor: give its key with --totp-secret")?;
            let (status, done) = post(
                client,
                format!("{base}/api/v1/session/second-factor"),
                "",
                json!({"challenge": v["challenge"], "method": "totp", "code": next_code(&base32_decode(secret)?)?}),
            )
            .await?;
            if status != 201 {
                bail!("second step refused: {done}");
            }
            Ok(done["token"].as_str().unwrap_or_default().to_string())
        }
        _ => bail!("login refused: {status} {v}"),
    }
}

/// Enrols an authenticator app for the session's user; returns its key (base32).
async fn enrol(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    password: &str,
) -> anyhow::Result<String> {
    let (status, e) = post(
        client,
        format!("{base}/api/v1/me/factors/totp"),
        token,
        json!({"password": password}),
    )
    .await?;
    if status != 201 {
        bail!("enrolment refused: {e}");
    }
    let key = e["secret"].as_str().unwrap_or_default().to_string();
    let code = totp::code_at(&base32_decode(&key)?, unix_now())?;
    let id = e["id"].as_str().unwrap_or_default();
    let (status, c) = post(
        client,
        format!("{base}/api/v1/me/factors/totp/{id}/confirm"),
        token,
        json!({"code": code}),
    )
    .await?;
    if status != 200 {
        bail!("enrolment not confirmed: {c}");
    }
    Ok(key)
}

/// Runs `work` over `items` with `concurrency` in flight; returns the results and the time.
async fn spread<T, R, F, Fut>(items: Vec<T>, concurrency: usize, work: F) -> (Vec<R>, Duration)
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    use futures_util::StreamExt as _;
    let started = Instant::now();
    let out = futures_util::stream::iter(items.into_iter().map(work))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    (out, started.elapsed())
}

/// Users with an authenticator app each log in once: the password steps all together, then
/// the second steps all together, each phase timed (and the server's CPU time per second
/// step, with `--server-pid`).
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    a: &BenchArgs,
    admin: &str,
) -> anyhow::Result<()> {
    let tenant = a
        .login
        .rsplit_once('@')
        .map(|(_, t)| t.to_string())
        .unwrap_or_default();
    let tag = format!("{:x}", unix_now());
    let password = "Bench-Two-Step-1";
    let users = format!("{base}/api/v1/tenants/{tenant}/users");
    let tenant = tenant.as_str();
    let names: Vec<String> = (0..a.two_step_users)
        .map(|i| format!("bench.tf{i}.{tag}"))
        .collect();
    let (made, _) = spread(names, a.concurrency, |name| {
        let users = users.clone();
        async move {
            let (s, b) = post(client, users.clone(), admin, json!({"login": name, "full_name": "Bench Two Step", "email": "two-step@bench.invalid"})).await?;
            if s != 201 {
                bail!("user not created: {b}");
            }
            let r = client
                .put(format!("{users}/{name}/password"))
                .bearer_auth(admin)
                .json(&json!({"password": password}))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("password not set: {}", r.text().await.unwrap_or_default());
            }
            let login = format!("{name}@{tenant}");
            let token = session(client, base, &login, password, "normal", None).await?;
            let key = enrol(client, base, &token, password).await?;
            Ok::<_, anyhow::Error>((login, base32_decode(&key)?))
        }
    })
    .await;
    let made: Vec<(String, Vec<u8>)> = made.into_iter().collect::<anyhow::Result<_>>()?;
    let (challenges, first) = spread(made, a.concurrency, |(login, key)| async move {
        let (s, v) = post(
            client,
            format!("{base}/api/v1/session"),
            "",
            json!({"login": login, "password": password}),
        )
        .await?;
        if s != 200 {
            bail!("no second step for {login}: {v}");
        }
        Ok::<_, anyhow::Error>((v["challenge"].as_str().unwrap_or_default().to_string(), key))
    })
    .await;
    let challenges: Vec<(String, Vec<u8>)> =
        challenges.into_iter().collect::<anyhow::Result<_>>()?;
    let n = challenges.len() as f64;
    let cpu_before = a.server_pid.and_then(cpu_ticks);
    let (answers, second) = spread(challenges, a.concurrency, |(challenge, key)| async move {
        let code = next_code(&key)?;
        let (s, v) = post(
            client,
            format!("{base}/api/v1/session/second-factor"),
            "",
            json!({"challenge": challenge, "method": "totp", "code": code}),
        )
        .await?;
        if s != 201 {
            bail!("second step refused: {v}");
        }
        Ok::<_, anyhow::Error>(())
    })
    .await;
    let cpu_after = a.server_pid.and_then(cpu_ticks);
    let failed = answers.iter().filter(|r| r.is_err()).count();
    let (r1, r2) = (n / first.as_secs_f64(), n / second.as_secs_f64());
    println!(
        "{:<28} {r1:>9.1}/s   ({n} users with an authenticator app)",
        "  password step"
    );
    println!("{:<28} {r2:>9.1}/s   ({failed} failed)", "  TOTP step");
    if let (Some(b), Some(e)) = (cpu_before, cpu_after) {
        // Clock ticks are 1/100 s on Linux.
        let ms = (e - b) as f64 * 10.0 / n;
        println!(
            "{:<28} {ms:>9.2} ms   (server CPU per second step)",
            "  TOTP step CPU"
        );
    }
    println!(
        "{:<28} {:>9.1}/s",
        "two-step logins",
        1.0 / (1.0 / r1 + 1.0 / r2)
    );
    Ok(())
}

/// User plus system CPU time of a process, in clock ticks, from `/proc` (Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}
