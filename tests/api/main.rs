//! Black-box tests over real HTTP: the real application, a fresh SQLite file per test, and the
//! Fingerprint simulator as the Server API.

mod admin;
mod connections;
mod decision_webhooks;
mod decisions;
mod demo;
mod docs;
mod email;
mod failures;
mod identities;
mod lists;
mod metrics;
mod openapi;
mod policy;
mod rate_limit;
mod reviews;
mod routing;
mod rules_engine;
mod signals;
mod signup;
mod usernames;
mod velocity;
mod webhooks;

#[path = "../common/mod.rs"]
mod common;
