//! signup-guard: account creation that stops fake signups with Fingerprint device intelligence.
//!
//! The binary is a thin shell over this library, so tests build the same application it runs.

pub mod cli;
pub mod commands;
pub mod connections;
pub mod delivery;
pub mod email;
pub mod events;
pub mod http;
pub mod label_reports;
pub mod lists;
pub mod metrics;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod redact;
pub mod settings;
pub mod signup;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod username;
