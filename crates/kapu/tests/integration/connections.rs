//! What a client can hold before it sends a whole request: a few connections per address,
//! a deadline for the headers, and an idle timeout for everything after. Three hundred
//! half-sent requests from one address leave the server answering.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{App, Backend};

/// Whether the server has closed `s` (an end of stream or a reset) within `wait`.
async fn closed(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (a 408, say) may come before the end.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_capped_per_address_and_timed_out() {
    let app = App::spawn_with(Backend::Sqlite, |c| {
        c.connections_per_address = 20;
        c.header_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        // The headers never end.
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: kapu\r\n")
            .await;
        held.push(s);
    }
    // Past the cap the server closes at once.
    let mut refused = 0;
    for s in held.iter_mut().skip(20) {
        if closed(s, Duration::from_millis(200)).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 280, "all but the first twenty are closed at once");
    // The twenty it holds end at the headers' deadline.
    for s in held.iter_mut().take(20) {
        assert!(
            closed(s, Duration::from_secs(5)).await,
            "a half-sent request outlived its deadline"
        );
    }
    drop(held);
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // An upload that stalls part-way is closed when nothing moves.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: kapu\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"login\":",
    )
    .await
    .unwrap();
    assert!(
        closed(&mut s, Duration::from_secs(6)).await,
        "a stalled body outlived the idle timeout"
    );
    // And a connection that never says anything.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    assert!(
        closed(&mut s, Duration::from_secs(6)).await,
        "a silent connection outlived the idle timeout"
    );
}
