//! `kapu bench`, single sign-on: authorizations (codes issued to a logged-in browser),
//! code-for-token exchanges, refresh grants and userinfo requests per second, against a
//! confidential client the benchmark registers for itself.

use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use serde_json::json;

use crate::bench::{BenchArgs, drain, hammer, report};

const SERVICE: &str = "bench_sso";
const REDIRECT: &str = "https://bench.example.hu/cb";
const REDIRECT_ENCODED: &str = "https%3A%2F%2Fbench.example.hu%2Fcb";
/// The client sends PKCE, as new confidential clients must: one verifier for every code.
const VERIFIER: &str = "kapu-bench-pkce-verifier-0123456789abcdefghijklmnop";

fn challenge() -> String {
    kapu_core::sso::pkce::s256(VERIFIER)
}

/// Registers the benchmark's client (again) and returns its fresh secret.
async fn client_secret(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
) -> anyhow::Result<String> {
    let created = client
        .post(format!("{base}/api/v1/services"))
        .bearer_auth(admin)
        .json(&json!({"code": SERVICE, "name": "Benchmark SSO", "launch_url": "https://bench.example.hu/"}))
        .send()
        .await?;
    if !matches!(created.status().as_u16(), 201 | 409) {
        bail!("cannot create the benchmark service: {}", created.status());
    }
    let registered = client
        .put(format!("{base}/api/v1/services/{SERVICE}/client"))
        .bearer_auth(admin)
        .json(&json!({"client_type": "confidential", "redirect_uris": [REDIRECT], "contact": "bench"}))
        .send()
        .await?;
    if !registered.status().is_success() {
        bail!(
            "cannot register the benchmark client: {}",
            registered.status()
        );
    }
    // Already there on a second run: the move is refused, and that is fine.
    client
        .post(format!("{base}/api/v1/services/{SERVICE}/client/state"))
        .bearer_auth(admin)
        .json(&json!({"state": "production"}))
        .send()
        .await?;
    let rotated: serde_json::Value = client
        .post(format!("{base}/api/v1/services/{SERVICE}/client/secret"))
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    rotated["client_secret"]
        .as_str()
        .map(str::to_string)
        .context("no client secret")
}

fn code_of(location: &str) -> Option<String> {
    location
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix("code=").map(str::to_string))
}

/// Consents once for the benchmark account, so that later requests go straight back.
async fn consent(
    client: &reqwest::Client,
    base: &str,
    url: &str,
    cookie: &str,
) -> anyhow::Result<()> {
    let r = client.get(url).header("cookie", cookie).send().await?;
    if r.status().as_u16() == 303 {
        return Ok(());
    }
    let html = r.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).context("no consent form")? + marker.len();
    let csrf: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let r = client
        .post(format!("{base}/oauth2/authorize/consent"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
            ("response_type", "code"),
            ("client_id", SERVICE),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("code_challenge", &challenge()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    if r.status().as_u16() != 303 {
        bail!("consent refused: {}", r.status());
    }
    Ok(())
}

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    a: &BenchArgs,
    admin: &str,
) -> anyhow::Result<()> {
    let secret = client_secret(client, base, admin).await?;
    let cookie = format!("kapu_session={admin}");
    let url = format!(
        "{base}/oauth2/authorize?response_type=code&client_id={SERVICE}&redirect_uri={REDIRECT_ENCODED}&scope=openid%20profile%20email&code_challenge={}&code_challenge_method=S256",
        challenge()
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(a.concurrency * 2)
        .build()?;
    consent(&no_redirects, base, &url, &cookie).await?;

    // Codes live 60 seconds: issue for a while, then exchange them all, timing the
    // exchanges until the last.
    let codes = Arc::new(Mutex::new(Vec::new()));
    let issued = hammer(a.concurrency, a.seconds.min(20), {
        let (client, url, cookie, codes) = (
            no_redirects.clone(),
            url.clone(),
            cookie.clone(),
            codes.clone(),
        );
        move || {
            let (client, url, cookie, codes) =
                (client.clone(), url.clone(), cookie.clone(), codes.clone());
            async move {
                let Ok(r) = client.get(&url).header("cookie", &cookie).send().await else {
                    return false;
                };
                let code = r
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .and_then(code_of);
                match code {
                    Some(c) => {
                        if let Ok(mut v) = codes.lock() {
                            v.push(c);
                        }
                        true
                    }
                    None => false,
                }
            }
        }
    })
    .await;
    report("authorizations (codes)", &issued);

    let token_url = format!("{base}/oauth2/token");
    let refresh_tokens = Arc::new(Mutex::new(Vec::new()));
    let access = Arc::new(Mutex::new(String::new()));
    let exchanged = drain(a.concurrency, 40, {
        let (client, token_url, secret) = (client.clone(), token_url.clone(), secret.clone());
        let (codes, refresh_tokens, access) =
            (codes.clone(), refresh_tokens.clone(), access.clone());
        move || {
            let (client, token_url, secret) = (client.clone(), token_url.clone(), secret.clone());
            let (codes, refresh_tokens, access) =
                (codes.clone(), refresh_tokens.clone(), access.clone());
            async move {
                // Every code spent: this worker is done.
                let code = codes.lock().ok().and_then(|mut v| v.pop())?;
                let sent = client
                    .post(&token_url)
                    .basic_auth(SERVICE, Some(&secret))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", VERIFIER),
                    ])
                    .send()
                    .await;
                let Ok(r) = sent else { return Some(false) };
                if !r.status().is_success() {
                    let why = r.text().await.unwrap_or_default();
                    static REFUSED: std::sync::Once = std::sync::Once::new();
                    REFUSED.call_once(|| eprintln!("first refused exchange: {why}"));
                    return Some(false);
                }
                let t = match r.json::<serde_json::Value>().await {
                    Ok(t) => t,
                    Err(e) => {
                        static BODY: std::sync::Once = std::sync::Once::new();
                        BODY.call_once(|| eprintln!("first unreadable exchange: {e}"));
                        return Some(false);
                    }
                };
                if let (Some(rt), Ok(mut v)) = (t["refresh_token"].as_str(), refresh_tokens.lock())
                {
                    v.push(rt.to_string());
                }
                if let (Some(at), Ok(mut s)) = (t["access_token"].as_str(), access.lock()) {
                    *s = at.to_string();
                }
                Some(true)
            }
        }
    })
    .await;
    report("code → token exchanges", &exchanged);
    println!(
        "{:<28} {:>9}",
        "  codes issued, not exchanged",
        codes.lock().map(|v| v.len()).unwrap_or(0)
    );

    let refreshed = hammer(a.concurrency, a.seconds, {
        let (client, token_url, secret, pool) = (
            client.clone(),
            token_url.clone(),
            secret.clone(),
            refresh_tokens.clone(),
        );
        move || {
            let (client, token_url, secret, pool) = (
                client.clone(),
                token_url.clone(),
                secret.clone(),
                pool.clone(),
            );
            async move {
                let Some(token) = pool.lock().ok().and_then(|mut v| v.pop()) else {
                    return false;
                };
                let sent = client
                    .post(&token_url)
                    .basic_auth(SERVICE, Some(&secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                    .send()
                    .await;
                let Ok(r) = sent else { return false };
                let Ok(t) = r.json::<serde_json::Value>().await else {
                    return false;
                };
                match (t["refresh_token"].as_str(), pool.lock()) {
                    (Some(next), Ok(mut v)) => {
                        v.insert(0, next.to_string());
                        true
                    }
                    _ => false,
                }
            }
        }
    })
    .await;
    report("refresh grants", &refreshed);

    let access = access.lock().map(|s| s.clone()).unwrap_or_default();
    let userinfo = hammer(a.concurrency, a.seconds, {
        let (client, url) = (client.clone(), format!("{base}/oauth2/userinfo"));
        move || {
            let (client, url, access) = (client.clone(), url.clone(), access.clone());
            async move {
                matches!(client.get(&url).bearer_auth(&access).send().await, Ok(r) if r.status().is_success())
            }
        }
    })
    .await;
    report("userinfo", &userinfo);
    Ok(())
}
