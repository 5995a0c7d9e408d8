//! Signing on: login in its modes, lockout, sessions, and the deputy's choice of identity.
//! It composes identity (who the user is, their password) and access (what their roles
//! are, whom they may act for), so it stands above both.

pub mod certificates;
mod devices;
pub mod factor_policy;
pub mod factors;
pub mod login;
pub mod permits;
pub mod recovery_codes;
pub mod second_step;
pub(crate) mod session_cache;
pub mod sessions;
pub mod totp;
pub mod user_factors;
pub mod webauthn;
