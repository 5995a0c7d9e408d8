//! Documents in an S3-compatible bucket: a real S3-protocol server (s3s-fs) runs inside the
//! test, and Kapu stores, streams back and deletes documents there, encrypted.

use reqwest::StatusCode;

use crate::harness::{App, Backend};
use crate::mailbox::{citizen, download, files_under, form, post_form, town};

/// Starts an S3 server on a free port over a fresh directory with the bucket `kapu`.
async fn s3_server() -> (String, std::path::PathBuf) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    let root = std::env::temp_dir().join(format!(
        "kapu-s3-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(root.join("kapu")).unwrap();
    let fs = s3s_fs::FileSystem::new(&root).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(
        "test-key",
        "test-secret",
    ));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (url, root)
}

async fn documents_live_encrypted_in_an_s3_bucket(app: App, root: std::path::PathBuf) {
    let t = town(&app).await;
    let me = citizen(&app, &t.admin).await;
    // Over 4 MiB goes up as a multipart upload; a small one in one request.
    let big: Vec<u8> = b"Nagy dokumentum. "
        .iter()
        .copied()
        .cycle()
        .take(6 * 1024 * 1024 + 5)
        .collect();
    let (s, sent) = post_form(
        &app,
        &me,
        "me",
        form(
            "VAROS-HIV",
            "S3",
            &[("nagy.txt", &big), ("kicsi.txt", b"Kicsi dokumentum.")],
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let id = sent["message"]["id"].as_str().unwrap();
    let got = download(&app, &t.clerk, "VAROS-HIV", id, 1)
        .await
        .bytes()
        .await
        .unwrap();
    assert!(got.as_ref() == big.as_slice());
    let got = download(&app, &t.clerk, "VAROS-HIV", id, 2)
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"Kicsi dokumentum.");
    // The bucket holds two objects under the prefix, and neither reveals its document.
    let objects: Vec<_> = files_under(&root.join("kapu").join("docs"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains(".s3s"))
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    for o in &objects {
        let bytes = std::fs::read(o).unwrap();
        assert!(
            !bytes.windows(9).any(|w| w == b"dokumentu"),
            "plaintext in {o:?}"
        );
    }
    assert!(!app.dir.join("blobs").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_live_encrypted_in_an_s3_bucket_on_sqlite() {
    let (app, root) = spawn_with_s3(Backend::Sqlite).await;
    documents_live_encrypted_in_an_s3_bucket(app, root).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_live_encrypted_in_an_s3_bucket_on_postgres() {
    if crate::harness::postgres_url().is_some() {
        let (app, root) = spawn_with_s3(Backend::Postgres).await;
        documents_live_encrypted_in_an_s3_bucket(app, root).await;
    }
}

/// An app whose blob store is the test's own S3 server.
async fn spawn_with_s3(backend: Backend) -> (App, std::path::PathBuf) {
    let (url, root) = s3_server().await;
    let app = App::spawn_with(backend, |c| {
        c.blob_url = Some("s3://kapu/docs".into());
        c.blob_options = [
            ("endpoint", url.as_str()),
            ("access_key_id", "test-key"),
            ("secret_access_key", "test-secret"),
            ("region", "us-east-1"),
            ("allow_http", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    })
    .await;
    (app, root)
}
