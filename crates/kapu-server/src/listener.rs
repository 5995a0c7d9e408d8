//! Accepting connections, plain or TLS, with the limits a public server needs before any
//! request exists: a cap on the connections one client address holds, a deadline for a
//! request's headers, and an idle timeout on every connection (nothing read or written for
//! a while closes it: a half-sent request, a stalled upload). Without them a few hundred
//! half-sent requests hold every descriptor and `/healthz` stops answering.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

/// Open connections by client address.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One admitted connection; gives its place back when dropped.
pub struct Admitted {
    connections: Connections,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.0.lock()
            && let Some(n) = open.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl Connections {
    /// A place for one more connection of `ip`, if it holds fewer than `cap`.
    pub fn admit(&self, ip: IpAddr, cap: usize) -> Option<Admitted> {
        let mut open = self.0.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Admitted {
            connections: self.clone(),
            ip,
        })
    }
}

/// A stream that fails once nothing has moved on it for `idle`. Activity only notes the
/// time (a clock read); the timer is moved when it fires early, so a busy connection does
/// not re-arm a timer on every read and write.
pub struct Idle<S> {
    inner: S,
    idle: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<S> Idle<S> {
    pub fn new(inner: S, idle: Duration) -> Idle<S> {
        Idle {
            inner,
            idle,
            last: Instant::now(),
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    fn moved(&mut self) {
        self.last = Instant::now();
    }

    /// While the stream waits, whether its time is up (and if not, the timer is set to the
    /// moment it would be, with this task to wake).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            let due = self.last + self.idle;
            if Instant::now() >= due {
                return true;
            }
            self.timer.as_mut().reset(due);
        }
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "connection idle")
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The HTTP side of a connection: headers within their deadline, HTTP/1 and HTTP/2.
pub fn builder(header_timeout: Duration) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Some(header_timeout));
    builder
}

/// Serves one connection's requests with the router, each knowing the client's address.
pub async fn serve_connection<S>(
    stream: S,
    addr: SocketAddr,
    router: Router,
    extra: impl Fn(&mut axum::http::Extensions) + Clone + Send + Sync + 'static,
    header_timeout: Duration,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut req: axum::extract::Request<_>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
        extra(req.extensions_mut());
        req
    });
    let served = builder(header_timeout)
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, %addr, "connection ended with an error");
    }
}

/// Accepts until the listener fails; `admitted` runs for each connection within the caps.
pub async fn accept_loop<F, Fut>(
    listener: tokio::net::TcpListener,
    per_address: usize,
    idle: Duration,
    admitted: F,
) where
    F: Fn(Idle<tokio::net::TcpStream>, SocketAddr) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let connections = Connections::default();
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: wait a moment rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(place) = connections.admit(addr.ip(), per_address) else {
            metrics::counter!("kapu_connections_refused_total", "why" => "per_address")
                .increment(1);
            tracing::debug!(%addr, "connection refused: too many from this address");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let serve = admitted.clone();
        tokio::spawn(async move {
            serve(Idle::new(tcp, idle), addr).await;
            drop(place);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_no_more_than_its_cap_and_gets_places_back() {
        let c = Connections::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<_> = (0..3).filter_map(|_| c.admit(ip, 3)).collect();
        assert_eq!(held.len(), 3);
        assert!(c.admit(ip, 3).is_none());
        assert!(c.admit("192.0.2.2".parse().unwrap(), 3).is_some());
        drop(held);
        assert!(c.admit(ip, 3).is_some());
    }
}
