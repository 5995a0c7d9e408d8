//! `kapu bench` for the mailbox: durable sends per second, streaming throughput and the
//! server's memory while a 1 GiB document goes up and comes back, and the inbox's first page
//! with a large mailbox.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt as _;
use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::bench::{BenchArgs, hammer, report};

const GIB: u64 = 1024 * 1024 * 1024;

/// The server's resident memory now, in KiB, from `/proc` (Linux).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples the server's memory every 20 ms until told to stop; returns the peak.
fn watch_rss(
    pid: u32,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<u64>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut peak = 0;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(rss_kib(pid).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    (stop, handle)
}

fn send_form(office: &str, i: u64, document: Part) -> Form {
    Form::new()
        .text("recipient", office.to_string())
        .text("doc_type", "BENCH")
        .text("doc_type_desc", "Benchmark")
        .text("reference", format!("B-{i}"))
        .part("document", document)
}

/// The benchmark's one account sends far more than any office would: its send limits are
/// lifted for the run and put back after.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    a: &BenchArgs,
    admin: &str,
) -> anyhow::Result<()> {
    let set = |name, value| crate::bench::set_variable(client, base, admin, name, value);
    let sends = set("mailbox_sends_per_hour", "1000000").await?;
    let volume = set("mailbox_mb_per_day", "10485760").await?;
    let measured = measure(client, base, a, admin).await;
    set("mailbox_sends_per_hour", &sends).await?;
    set("mailbox_mb_per_day", &volume).await?;
    measured
}

async fn measure(
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
    let tag = format!(
        "{:X}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
            % 0xFFFFFF
    );
    let office = format!("BENCH-{tag}");
    let r = client
        .post(format!("{base}/api/v1/offices"))
        .bearer_auth(admin)
        .json(
            &json!({"short_name": office, "name": "Benchmark Office", "tenant": tenant,
                      "office_type": "egyeb", "connection": "machine"}),
        )
        .send()
        .await?;
    if !r.status().is_success() {
        bail!(
            "cannot create the benchmark office: {}",
            r.text().await.unwrap_or_default()
        );
    }
    let url = format!("{base}/api/v1/mailboxes/me/messages");

    // Durable sends of a 1 KiB document, each with its arrival number and signed receipt.
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sends = hammer(a.concurrency, a.seconds, {
        let (client, url, office, token, counter) = (
            client.clone(),
            url.clone(),
            office.clone(),
            admin.to_string(),
            counter.clone(),
        );
        move || {
            let (client, url, office, token) =
                (client.clone(), url.clone(), office.clone(), token.clone());
            let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move {
                let form = send_form(
                    &office,
                    i,
                    Part::bytes(vec![b'k'; 1024]).file_name("doc.bin"),
                );
                matches!(client.post(&url).bearer_auth(&token).multipart(form).send().await,
                    Ok(r) if r.status().as_u16() == 201)
            }
        }
    })
    .await;
    report("send, 1 KiB, with receipt", &sends);

    if let Some(n) = a.inbox_fill {
        fill(client, &url, &office, admin, n, a.concurrency).await?;
    }
    // The first page of a mailbox with many messages: the sender's, holding every receipt.
    let me_inbox = format!("{base}/api/v1/mailboxes/me/messages");
    let first: serde_json::Value = client
        .get(&me_inbox)
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    // Latency as one reader sees it: one request at a time.
    let inbox = hammer(1, a.seconds, {
        let (client, url, token) = (client.clone(), me_inbox.clone(), admin.to_string());
        move || {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move { matches!(client.get(&url).bearer_auth(&token).send().await, Ok(r) if r.status().is_success()) }
        }
    })
    .await;
    report(&format!("inbox page 1 of {}", first["total"]), &inbox);

    // One 1 GiB document, streamed up and down.
    let size = a.big_document_mib.unwrap_or(1024) * 1024 * 1024;
    let before = a.server_pid.and_then(rss_kib);
    let watch = a.server_pid.map(watch_rss);
    let chunk = bytes::Bytes::from(vec![b'x'; 256 * 1024]);
    let chunks = size / chunk.len() as u64;
    let body = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let part =
        Part::stream_with_length(reqwest::Body::wrap_stream(body), size).file_name("big.bin");
    let started = Instant::now();
    let r = client
        .post(&url)
        .bearer_auth(admin)
        .multipart(send_form(&office, u64::MAX, part))
        .send()
        .await?;
    let up = started.elapsed().as_secs_f64();
    let status = r.status();
    let sent: serde_json::Value = r.json().await?;
    if !status.is_success() {
        bail!("big upload refused: {status} {sent}");
    }
    let id = sent["message"]["id"].as_str().context("no message id")?;
    let started = Instant::now();
    let mut down = client
        .get(format!("{url}/{id}/documents/1"))
        .bearer_auth(admin)
        .send()
        .await?
        .bytes_stream();
    let mut got = 0u64;
    while let Some(piece) = down.next().await {
        got += piece?.len() as u64;
    }
    let down_s = started.elapsed().as_secs_f64();
    let peak = watch.map(|(stop, h)| {
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        h.join().unwrap_or(0)
    });
    let mb = size as f64 / 1e6;
    println!(
        "{:<28} {:>9.1} MB/s  ({:.1} s for {} MiB)",
        "upload, streamed",
        mb / up,
        up,
        size >> 20
    );
    println!(
        "{:<28} {:>9.1} MB/s  ({:.1} s, {} bytes back)",
        "download, streamed",
        mb / down_s,
        down_s,
        got
    );
    if let (Some(b), Some(p)) = (before, peak) {
        println!(
            "{:<28} {:>9.1} MB before, {:.1} MB peak, +{:.1} MB",
            "server resident memory",
            b as f64 / 1024.0,
            p as f64 / 1024.0,
            (p.saturating_sub(b)) as f64 / 1024.0
        );
    }
    if size >= GIB && got != size {
        bail!("the download gave {got} bytes of {size}");
    }
    Ok(())
}

/// Fills the benchmark office's inbox (and the sender's receipts) up to `n` messages.
async fn fill(
    client: &reqwest::Client,
    url: &str,
    office: &str,
    token: &str,
    n: u64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, office, token, next) = (
            client.clone(),
            url.to_string(),
            office.to_string(),
            token.to_string(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let form = send_form(&office, i, Part::bytes(vec![b'f'; 64]).file_name("f.bin"));
                let _ = client
                    .post(&url)
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .await;
                if i % 50_000 == 0 {
                    eprintln!("  filled {i} of {n}");
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    println!(
        "{:<28} {n} sends in {:.0} s",
        "inbox filled",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
