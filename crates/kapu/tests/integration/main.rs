//! The one integration-test binary: every test drives a real server over HTTP.

mod harness;

mod audit;
mod login;
mod passwords;
mod settings;
mod smtp;
mod tenants;
mod users;
mod web;
