//! What a vault import may cost is bounded by the server, not chosen by the file: key
//! derivations with checked parameters and a budget per file, pictures with a pixel budget,
//! and a cap across requests on the memory of everything being read at once, measured in the
//! server's resident memory while four of the dearest files are read together.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::harness::App;
use crate::vault::office;
use crate::vault_import::{field_code, preview};

/// An encrypted Aegis vault whose `slots` password slots all ask scrypt of `n`, `r = 8`;
/// none opens, so a reader tries each until its budget ends.
fn aegis_with_slots(slots: usize, n: u64) -> Vec<u8> {
    let slot = json!({"type": 1, "uuid": "00000000-0000-0000-0000-000000000000",
        "key": "00".repeat(32), "key_params": {"nonce": "00".repeat(12), "tag": "00".repeat(16)},
        "n": n, "r": 8, "p": 1, "salt": "11".repeat(32), "repaired": true});
    serde_json::to_vec(&json!({"version": 1,
        "header": {"slots": vec![slot; slots], "params": {"nonce": "00".repeat(12), "tag": "00".repeat(16)}},
        "db": "AAAA"}))
    .unwrap()
}

async fn key_derivations_are_checked_and_budgeted_per_file(app: App) {
    let o = office(&app, "iroda").await;
    // Iterations × memory chosen to wrap a 64-bit product to 2: refused, never run.
    let wrapping = serde_json::to_vec(&json!({"encrypted": true, "passwordProtected": true,
        "salt": "c2FsdA==", "kdfType": 1, "kdfIterations": 6_148_914_691_236_517_206_u64,
        "kdfMemory": 3, "kdfParallelism": 1, "encKeyValidation_DO_NOT_EDIT": "2.a|b|c", "data": "2.a|b|c"}))
    .unwrap();
    let (s, e) = preview(&app, &o.admin, &wrapping, Some("jelszo")).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_kdf_too_costly"
        ),
        "{e}"
    );
    // Thousands of slots, each cheap: the file's budget ends long before they do.
    let many = aegis_with_slots(5_000, 1 << 14);
    let (s, e) = preview(&app, &o.admin, &many, Some("jelszo")).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_kdf_too_costly"
        ),
        "{e}"
    );
    // One slot at the dearest allowed is read (and its password is wrong).
    let (s, e) = preview(
        &app,
        &o.admin,
        &aegis_with_slots(1, 1 << 18),
        Some("jelszo"),
    )
    .await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_wrong_password"
        ),
        "{e}"
    );
}

async fn the_dearest_files_read_at_once_share_one_memory_cap(app: App) {
    let o = office(&app, "iroda").await;
    let file = aegis_with_slots(1, 1 << 18);
    // A server process of its own: what other tests allocate meanwhile does not count.
    let server = Arc::new(app.peer().await);
    let before = server.resident_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (peak, watching, server) = (peak.clone(), watching.clone(), server.clone());
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                peak.fetch_max(server.resident_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let answers = join_all((0..4).map(|_| preview(&server, &o.admin, &file, Some("jelszo")))).await;
    watching.store(false, Ordering::Relaxed);
    watcher.await.unwrap();
    for (s, e) in &answers {
        assert_eq!(
            (*s, field_code(e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "vault.import_wrong_password"
            ),
            "{e}"
        );
    }
    let grown = peak.load(Ordering::Relaxed).saturating_sub(before) / (1024 * 1024);
    println!("four dearest imports at once: resident memory grew by {grown} MiB");
    // Each takes 256 MiB: four at once would be a gibibyte; the cap lets one or so run.
    assert!(grown < 600, "resident memory grew by {grown} MiB");
}

async fn pictures_are_charged_by_their_pixels(app: App) {
    let o = office(&app, "iroda").await;
    let noise = |side: u32| {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let picture = image::GrayImage::from_fn(side, side, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Black and white noise: the code finder's worst case, and small as a PNG.
            image::Luma([if seed & 1 == 0 { 0 } else { 255 }])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    // Inside the side limit but past the pixel budget: refused before decoding.
    let mut blank = std::io::Cursor::new(Vec::new());
    image::GrayImage::from_pixel(4_500, 4_500, image::Luma([255]))
        .write_to(&mut blank, image::ImageFormat::Png)
        .unwrap();
    let (s, e) = preview(&app, &o.admin, blank.get_ref(), None).await;
    assert_eq!(
        (s, field_code(&e)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "vault.import_image_too_large"
        ),
        "{e}"
    );
    // At the budget, noise is searched at a bounded size and holds no code.
    let (s, e) = preview(&app, &o.admin, &noise(3_999), None).await;
    assert_eq!(
        (s, field_code(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "vault.import_no_qr"),
        "{e}"
    );
    let _: Value = e;
}

both!(
    key_derivations_are_checked_and_budgeted_per_file,
    the_dearest_files_read_at_once_share_one_memory_cap,
    pictures_are_charged_by_their_pixels,
);
