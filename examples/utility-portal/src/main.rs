//! `utility-portal`: an example customer portal that logs people in through Kapu.
//!
//! ```sh
//! PORTAL_CLIENT_SECRET=… cargo run -p utility-portal
//! ```
//! Settings (environment): `KAPU_URL` (default `http://127.0.0.1:8080`, Kapu's `public_url`), `PORTAL_URL`
//! (`http://127.0.0.1:8081`), `PORTAL_LISTEN` (`127.0.0.1:8081`), `PORTAL_CLIENT_ID`
//! (`utility_portal`), `PORTAL_CLIENT_SECRET` (required).

use utility_portal::{Config, router};

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secret = std::env::var("PORTAL_CLIENT_SECRET")
        .map_err(|_| "set PORTAL_CLIENT_SECRET to the client secret Kapu gave".to_string())?;
    let config = Config {
        issuer: var("KAPU_URL", "http://127.0.0.1:8080"),
        url: var("PORTAL_URL", "http://127.0.0.1:8081"),
        client_id: var("PORTAL_CLIENT_ID", "utility_portal"),
        client_secret: secret,
    };
    let listen = var("PORTAL_LISTEN", "127.0.0.1:8081");
    let app = router(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("utility portal at http://{listen}/");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
