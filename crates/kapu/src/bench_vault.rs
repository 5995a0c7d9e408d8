//! `kapu bench`, the two-factor vault: an import of 10,000 entries, code reveals per second
//! (each with its business-log record), and the entry list's first page with 10,000 entries
//! in the tenant, for a vault administrator and for a staff member reaching them through a
//! folder delegation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};

use crate::bench::{BenchArgs, call, hammer, report};

const ENTRIES: usize = 10_000;
const PASSWORD: &str = "Bench-Vault-123";

/// Makes a user of the benchmark's tenant with `roles`, logs in (in `mode`: the vault's
/// changes need secure mode, its codes do not) and unlocks the vault.
async fn vault_user(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    tenant: &str,
    name: &str,
    roles: &[&str],
    mode: &str,
) -> anyhow::Result<String> {
    let users = format!("{base}/api/v1/tenants/{tenant}/users");
    call(
        client,
        Method::POST,
        users.clone(),
        admin,
        json!({"login": name, "full_name": name, "email": format!("{name}@bench.invalid")}),
    )
    .await?;
    call(
        client,
        Method::PUT,
        format!("{users}/{name}/password"),
        admin,
        json!({"password": PASSWORD}),
    )
    .await?;
    call(
        client,
        Method::PUT,
        format!("{users}/{name}/rights"),
        admin,
        json!({"roles": roles}),
    )
    .await?;
    // A fresh user in secure mode gets an authenticator app enrolled on the way.
    let token = crate::bench_two_step::session(
        client,
        base,
        &format!("{name}@{tenant}"),
        PASSWORD,
        mode,
        None,
    )
    .await?;
    call(
        client,
        Method::POST,
        format!("{base}/api/v1/vault/unlock"),
        &token,
        json!({"password": PASSWORD}),
    )
    .await?;
    Ok(token)
}

/// An `otpauth://` list of `n` random keys.
fn otpauth_list(n: usize, tag: &str) -> anyhow::Result<String> {
    let mut out = String::with_capacity(n * 120);
    for i in 0..n {
        let key = kapu_core::platform::master_key::random_bytes::<20>()?;
        out.push_str(&format!(
            "otpauth://totp/Ugyfelkapu:ugyfel.{tag}.{i:05}?secret={}&issuer=Ugyfelkapu\n",
            kapu_core::vault::otp::secret_base32(&key)
        ));
    }
    Ok(out)
}

/// The server's resident memory, when its process id was given.
fn memory(a: &BenchArgs, after: &str) {
    if let Some(kib) = a.server_pid.and_then(crate::bench_mailbox::rss_kib) {
        println!(
            "{:<28} {:>9.1} MB",
            format!("  server memory, {after}"),
            kib as f64 / 1024.0
        );
    }
}

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    a: &BenchArgs,
    admin: &str,
) -> anyhow::Result<()> {
    memory(a, "start");
    let tenant = a
        .login
        .rsplit_once('@')
        .map(|(_, t)| t.to_string())
        .unwrap_or_default();
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let manager = vault_user(
        client,
        base,
        admin,
        &tenant,
        &format!("bench.vault.{tag}"),
        &["kapu.vault_admin"],
        "secure",
    )
    .await?;
    let staff = vault_user(
        client,
        base,
        admin,
        &tenant,
        &format!("bench.staff.{tag}"),
        &[],
        "normal",
    )
    .await?;
    let folder = call(
        client,
        Method::POST,
        format!("{base}/api/v1/vault/folders"),
        &manager,
        json!({"name": format!("bench {tag}")}),
    )
    .await?;
    let folder_id = folder["id"].as_str().context("folder")?.to_string();
    call(
        client,
        Method::POST,
        format!("{base}/api/v1/vault/folders/{folder_id}/grants"),
        &manager,
        json!({"user": format!("bench.staff.{tag}@{tenant}"), "level": "code"}),
    )
    .await?;

    // The import: one file, a preview, then the batches until done.
    let file = otpauth_list(ENTRIES, &tag)?;
    let started = Instant::now();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.into_bytes()).file_name("bench.txt"),
        )
        .text("folder_id", folder_id.clone());
    let r = client
        .post(format!("{base}/api/v1/vault/imports"))
        .bearer_auth(&manager)
        .multipart(form)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("import preview refused: {}", r.text().await?);
    }
    let preview: Value = r.json().await?;
    let previewed = started.elapsed().as_secs_f64();
    let id = preview["id"].as_str().context("import id")?.to_string();
    call(
        client,
        Method::POST,
        format!("{base}/api/v1/vault/imports/{id}/confirm"),
        &manager,
        Value::Null,
    )
    .await?;
    loop {
        let v = call(
            client,
            Method::GET,
            format!("{base}/api/v1/vault/imports/{id}"),
            &manager,
            Value::Null,
        )
        .await?;
        match v["state"].as_str() {
            Some("running") => tokio::time::sleep(Duration::from_millis(50)).await,
            Some("done") => break,
            other => bail!("import ended {other:?}"),
        }
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "{:<28} {:>9.1}/s   ({ENTRIES} entries: preview {previewed:.2} s, stored by {took:.2} s)",
        "vault import",
        ENTRIES as f64 / took
    );

    memory(a, "import");
    // Code reveals over the first 200 entries of the staff member's folder, each logged.
    let page = call(
        client,
        Method::GET,
        format!("{base}/api/v1/vault/entries?per_page=200"),
        &staff,
        Value::Null,
    )
    .await?;
    let ids: Arc<Vec<String>> = Arc::new(
        page["items"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|e| e["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    );
    if ids.is_empty() {
        bail!("no entries listed");
    }
    let next = Arc::new(AtomicUsize::new(0));
    for (label, token) in [
        ("vault code reveals", staff.clone()),
        ("vault code reveals (admin)", manager.clone()),
    ] {
        let sample = hammer(a.concurrency, a.seconds, {
            let (client, base, ids, next) = (client.clone(), base.to_string(), ids.clone(), next.clone());
            move || {
                let (client, ids, token) = (client.clone(), ids.clone(), token.clone());
                let id = ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()].clone();
                let url = format!("{base}/api/v1/vault/entries/{id}/code");
                async move { matches!(client.post(&url).bearer_auth(&token).send().await, Ok(r) if r.status().is_success()) }
            }
        })
        .await;
        report(label, &sample);
    }
    memory(a, "reveals");
    // The list's first page with the tenant's 10,000 entries: one reader (its latency), then
    // as many as the other steps (its rate).
    for (label, token, readers) in [
        ("vault list, one reader", manager.clone(), 1),
        ("vault list (delegated), one", staff.clone(), 1),
        ("vault list, first page", manager, a.concurrency),
        ("vault list (delegated)", staff, a.concurrency),
    ] {
        let sample = hammer(readers, a.seconds, {
            let (client, url) = (client.clone(), format!("{base}/api/v1/vault/entries"));
            move || {
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                async move { matches!(client.get(&url).bearer_auth(&token).send().await, Ok(r) if r.status().is_success()) }
            }
        })
        .await;
        report(label, &sample);
    }
    memory(a, "lists");
    Ok(())
}
