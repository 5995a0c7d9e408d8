//! Single sign-on for outside services: Kapu as an OpenID Connect provider. Services of the
//! access model are its clients; a login at Kapu ends in a one-time code that the service's
//! back end exchanges for tokens carrying the user, the service's roles and, for a deputy,
//! whom they act for. It stands above signing on, identity and access.

pub mod addresses;
pub mod assertions;
pub mod authorize;
mod client_input;
pub mod clients;
pub mod connections;
mod console;
mod grants;
pub mod housekeeping;
pub mod logout;
pub mod onboarding;
pub mod pkce;
pub mod revocation;
pub(crate) mod state;
pub mod tokens;
