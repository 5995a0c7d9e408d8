//! Signing on: login in its modes, lockout, sessions, and the deputy's choice of identity.
//! It composes identity (who the user is, their password) and access (what their roles
//! are, whom they may act for), so it stands above both.

pub mod login;
pub mod sessions;
