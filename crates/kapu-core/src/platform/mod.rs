//! Infrastructure every capability shares.

pub mod audit;
pub mod audit_queue;
pub mod blobs;
pub mod changes;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod csv;
pub mod db;
pub mod fold;
pub mod form_token;
pub mod group_write;
pub mod i18n;
pub mod keys;
pub mod list;
pub mod mail;
mod mail_worker;
pub mod master_key;
pub mod names;
pub mod rate_limit;
pub(crate) mod rows;
pub mod rsa_keys;
pub mod settings;
pub mod time_fmt;
