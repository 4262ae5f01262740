//! A client for the Fingerprint Server API.
//!
//! - [`Client::get_event`] fetches an identification event from Server API v4 (default) or v3
//!   and normalizes it into one [`Event`] type, keeping the raw JSON beside it.
//! - [`sealed::unseal`] decrypts Sealed Client Results locally, with key rotation.
//! - [`webhook::verify_signature`] checks the `fpjs-event-signature` header in constant time.
//! - With the `simulator` feature, the `simulator` module serves an offline stand-in for the Server API
//!   over real HTTP.
//!
//! The crate knows nothing about what the caller decides from an event.

#![warn(missing_docs)]

mod client;
mod error;
pub mod event;
pub mod sealed;
mod secret;
pub mod webhook;

#[cfg(feature = "simulator")]
pub mod simulator;

pub use client::{
    is_valid_event_id, Client, ClientBuildError, ClientConfig, Region, RetryPolicy, REDIRECT_CODE,
    RULESET_NOT_FOUND_CODE, UNEXPECTED_STATUS_CODE,
};
pub use error::FingerprintError;
pub use event::{ApiVersion, BotResult, Event, IdentificationStatus, RawJson};
pub use secret::SecretKey;
