//! The one integration-test binary: every test drives a real server over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod contract;
mod forms;
mod harness;

mod access;
mod audit;
mod authenticator;
mod blob_s3;
mod browser;
mod certs;
mod cli;
mod client_certs;
mod crash;
mod end_to_end;
mod login;
mod mailbox;
mod mailbox_deputies;
mod mailbox_envelope;
mod mailbox_life;
mod mailbox_offices;
mod mailbox_receipts;
mod metrics;
mod passwords;
mod permits;
mod portal;
mod registration;
mod second_factor;
mod security;
mod security_keys;
mod settings;
mod smtp;
mod sso;
mod sso_onboarding;
mod sso_tokens;
mod substitutions;
mod tenants;
mod users;
mod vault;
mod vault_access;
mod vault_import;
mod vault_lock;
mod vault_pages;
mod web;
mod web_access;
mod web_mail;
