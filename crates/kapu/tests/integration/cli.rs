//! The `kapu` binary's console commands.

use std::io::Write;
use std::process::{Command, Stdio};

fn kapu(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kapu"))
        .args(args)
        .env("KAPU_DATA_DIR", data_dir)
        .env_remove("KAPU_DATABASE_URL")
        .env("KAPU_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn bootstrap_creates_the_first_administrator_once_and_the_audit_chain_verifies() {
    let dir = std::env::temp_dir().join(format!("kapu-cli-{}", std::process::id()));
    let args = [
        "admin",
        "bootstrap",
        "--tenant",
        "kozpont",
        "--login",
        "admin",
        "--email",
        "admin@kozpont.hu",
        "--password-stdin",
    ];
    let (ok, out) = kapu(&dir, &args, "gyenge\n");
    assert!(!ok, "a weak password is refused: {out}");
    let (ok, out) = kapu(&dir, &args, "Eros-Jelszo-1\n");
    assert!(ok, "{out}");
    assert!(out.contains("admin@kozpont"));
    let (ok, out) = kapu(&dir, &args, "Masik-Jelszo-2\n");
    assert!(!ok && out.contains("already exists"), "{out}");
    let (ok, out) = kapu(
        &dir,
        &["admin", "reset-link", "--login", "admin@kozpont"],
        "",
    );
    assert!(ok && out.contains("/password/reset?token="), "{out}");
    let (ok, out) = kapu(
        &dir,
        &["admin", "reset-link", "--login", "senki@kozpont"],
        "",
    );
    assert!(!ok && out.contains("no such user"), "{out}");
    let (ok, out) = kapu(&dir, &["admin", "verify-audit"], "");
    assert!(ok && out.contains("intact"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_on_an_empty_database_issues_one_setup_link() {
    let dir = std::env::temp_dir().join(format!("kapu-first-{}", std::process::id()));
    let config = kapu_core::platform::config::Config::with_data_dir(dir.clone());
    let kapu = kapu_core::Kapu::open(
        config,
        std::sync::Arc::new(kapu_core::platform::clock::SystemClock),
    )
    .await
    .unwrap();
    let first = kapu
        .first_start()
        .await
        .unwrap()
        .expect("set up on the first start");
    assert_eq!(first.full_login, "admin@kozpont");
    let link = first.setup_link.expect("a setup link");
    assert!(link.contains("/activate?token="));
    assert!(
        kapu.first_start().await.unwrap().is_none(),
        "printed once, not again"
    );
    let token = link.split("token=").nth(1).unwrap();
    let target = kapu
        .link_target(token, kapu_core::identity::links::Purpose::Activation)
        .await
        .unwrap();
    assert_eq!(target.full_login, "admin@kozpont");

    // The setup link is lost: the console issues a new one and the old one stops working.
    let again = kapu.console_reset_link("admin@kozpont").await.unwrap();
    let new_link = again.setup_link.unwrap();
    assert!(new_link.contains("/activate?token="), "{new_link}");
    assert!(
        kapu.link_target(token, kapu_core::identity::links::Purpose::Activation)
            .await
            .is_err()
    );
    let new_token = new_link.split("token=").nth(1).unwrap();
    kapu.link_target(new_token, kapu_core::identity::links::Purpose::Activation)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rotate_keys_makes_a_new_key_and_keeps_the_chain_intact() {
    let dir = std::env::temp_dir().join(format!("kapu-cli-rotate-{}", std::process::id()));
    let (ok, out) = kapu(&dir, &["admin", "rotate-keys"], "");
    assert!(ok, "{out}");
    assert!(out.contains("new signing key: ed25519-"), "{out}");
    let (ok, out) = kapu(&dir, &["admin", "verify-audit"], "");
    assert!(ok, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
