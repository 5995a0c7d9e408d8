//! Operators' functions: system variables and the business log.

pub mod audit_log;
pub mod factor_statistics;
pub mod signing_keys;
pub mod statistics;
pub mod system_variables;
