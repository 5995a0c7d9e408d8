//! The shared two-factor vault: an office keeps its clients' TOTP keys and recovery codes,
//! computes their codes on the server, and delegates each entry (or folder) to the staff who
//! may use it. A code-only delegate gets codes and nothing else, by any route.

pub mod changes;
pub mod entries;
pub mod export;
pub mod formats;
pub mod grants;
pub mod import;
pub mod levels;
pub mod lock;
pub mod otp;
pub mod report;
pub mod reveal;
