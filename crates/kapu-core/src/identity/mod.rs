//! Tenants, users, names and passwords.

pub(crate) mod attempts;
pub mod bootstrap;
pub mod links;
pub mod lockout;
pub(crate) mod mail_text;
pub mod password_policy;
pub mod passwords;
pub mod registration;
pub mod revocation;
pub mod technical_users;
pub mod tenants;
pub mod users;

pub use crate::platform::list::{ListQuery, Page};
/// Names are shared vocabulary: every room parses them the same way.
pub use crate::platform::names;
