//! Access: the service catalogue and contracts, grants and groups, substitutions, and the
//! guard that keeps every tenant maintainable.

pub mod catalog;
pub mod grants;
pub mod groups;
pub(crate) mod guard;
pub mod substitution_rules;
pub mod substitutions;

pub use crate::actor::{Actor, Deputy, KAPU_SERVICE, Mode, RequestCtx, Role, policy};
