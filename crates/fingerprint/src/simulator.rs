//! An offline stand-in for the Fingerprint Server API, over real HTTP.
//!
//! The simulator issues identification events for a chosen [`Persona`] and then serves them
//! back exactly as Fingerprint would: `GET /v4/events/{event_id}` (v4 shape, `Authorization:
//! Bearer <secret key>`) and `GET /events/{request_id}` (v3 shape, `Auth-API-Key`). With it
//! the service and its tests run with no network and no Fingerprint account.
//!
//! Routes served by [`Simulator::router`]:
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /v4/events/{event_id}` | the event in the v4 shape (with `?ruleset_id=`, its [`IdentifyRequest::rule_action`]); 403 without the right key, 404 for an unknown id |
//! | `GET /events/{request_id}` | the event in the v3 shape; same errors, in v3 codes |
//! | `POST /identify` | issues an event from an [`IdentifyRequest`] body, answers [`Identified`] |
//! | `POST /_sim/fault` | `{"status":503,"times":2}`, `{"hang":true}`, `{"garbage":true}`, or `{}` to clear |
//! | `POST /_sim/latency` | `{"ms":100}`: delay every event GET |
//!
//! The `/_sim` control routes and `/identify` take no key: they exist for tests, demos and
//! benchmarks, so bind the simulator to loopback only.

mod extras;
mod ids;
mod personas;
mod rules;
mod server;
mod shapes;
mod store;

pub use extras::ExtraSignal;
pub use personas::Persona;
pub use rules::{RuleVerdict, ALLOW_RULE_ID, BLOCK_RULE_ID};
pub use server::SimulatorHandle;

use crate::sealed::DecryptionKey;
use crate::{ApiVersion, SecretKey};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::{EventStore, IssuedEvent};

/// The page URL an event reports when the caller names none.
const DEFAULT_URL: &str = "http://localhost:3001/";
/// The IP address an event reports when the caller names none.
const DEFAULT_IP: &str = "127.0.0.1";
/// The visitor a [`Persona::ReturningDevice`] comes back as when nothing has been issued yet.
const FIXED_RETURNING_VISITOR_ID: &str = "SimReturningVisitor1";
/// How long before "now" a returning device with no history was first seen.
const RETURNING_FIRST_SEEN_AGO_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long before "now" a returning device with no history was last seen.
const RETURNING_LAST_SEEN_AGO_MS: i64 = 24 * 3600 * 1000;
/// Event GETs remembered for [`Simulator::event_fetches`]; a benchmark makes millions.
const MAX_FETCHES: usize = 1_000;

/// How a [`Simulator`] starts out.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// The secret API key event GETs must present.
    pub secret_key: SecretKey,
    /// Delay before answering each event GET.
    pub latency: Duration,
    /// When set, [`Simulator::identify`] also returns the event as a Sealed Client Result.
    pub encryption_key: Option<DecryptionKey>,
}

impl Default for SimulatorConfig {
    /// Key `sim-secret-key`, no latency, no sealing.
    fn default() -> Self {
        Self {
            secret_key: SecretKey::new("sim-secret-key"),
            latency: Duration::ZERO,
            encryption_key: None,
        }
    }
}

/// What to identify: the `POST /identify` body, and the argument of [`Simulator::identify`].
///
/// Every field is optional; `{}` identifies a new device.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentifyRequest {
    /// Which kind of visitor to simulate.
    pub persona: Persona,
    /// Use this visitor id instead of a fresh one (or, for a returning device, the last one).
    pub visitor_id: Option<String>,
    /// The page URL to report (default `http://localhost:3001/`).
    pub url: Option<String>,
    /// The IP address to report (default `127.0.0.1`).
    pub ip: Option<String>,
    /// Backdates the event by this many seconds, to test stale-event checks.
    pub age_seconds: Option<u64>,
    /// The `linkedId` the page would have attached.
    pub linked_id: Option<String>,
    /// The high-recall visitor id (`supplementary_id_high_recall`): give the same one to
    /// identifications with different visitor ids to play one device seen in several browsers.
    /// None by default.
    pub high_recall_id: Option<String>,
    /// The autonomous system the IP belongs to (`ip_info`), such as `"7922"`. None by default.
    pub asn: Option<String>,
    /// Smart Signals to raise on top of the persona's own (ignored for a partial
    /// identification, which carries none).
    pub signals: Vec<ExtraSignal>,
    /// What a Rules Engine ruleset decides for this event, answered as `rule_action` when the
    /// event is fetched with a `ruleset_id` (v4): `block` or `allow` by a matching rule. Unset,
    /// the persona's ([`Persona::RulesetBlock`] is blocked), and otherwise no rule matches and
    /// the ruleset's default applies, an allow that names no rule.
    pub rule_action: Option<RuleVerdict>,
}

/// One event GET as the simulator received it, for tests that check what a client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFetch {
    /// The event id in the path.
    pub event_id: String,
    /// Which generation's route was asked.
    pub api_version: ApiVersion,
    /// The `ruleset_id` query parameter, if any.
    pub ruleset_id: Option<String>,
}

/// What an identification returns to the page: the ids to send to the backend.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identified {
    /// The id to look the event up by (v3 calls it the request id).
    pub request_id: String,
    /// The same value as `request_id`, under its v4 name.
    pub event_id: String,
    /// The visitor id the event carries.
    pub visitor_id: String,
    /// The persona that was simulated.
    pub persona: Persona,
    /// The v4 event sealed with the configured encryption key, if one is configured.
    pub sealed_result: Option<String>,
}

/// A failure to inject into event GETs, to exercise a client's error handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a JSON error body (429 also sends `Retry-After: 1`).
    Status(u16),
    /// Never answer; the client's timeout must fire.
    Hang,
    /// Answer 200 with a body that is not JSON.
    Garbage,
}

/// An armed fault and how many more event GETs it applies to (`None`: until cleared).
#[derive(Clone, Copy, Debug)]
struct ArmedFault {
    fault: Fault,
    remaining: Option<u32>,
}

struct Shared {
    secret_key: SecretKey,
    encryption_key: Option<DecryptionKey>,
    latency: Mutex<Duration>,
    fault: Mutex<Option<ArmedFault>>,
    events: Mutex<EventStore>,
    /// Event ids reported as suspect through `PATCH /v4/events/{id}`, in arrival order.
    suspects: Mutex<Vec<String>>,
    /// The latest event GETs, oldest first, at most [`MAX_FETCHES`].
    fetches: Mutex<VecDeque<EventFetch>>,
}

/// The simulated Server API. Cheap to clone: clones share the same events and settings, so a
/// test can keep one to steer faults while the server runs on another.
#[derive(Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

/// A poisoned lock only means a panic elsewhere mid-update; the simulator's state stays
/// usable, and a test double must not turn one failed test into many.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Simulator {
    /// A simulator with no events issued yet.
    pub fn new(config: SimulatorConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                secret_key: config.secret_key,
                encryption_key: config.encryption_key,
                latency: Mutex::new(config.latency),
                fault: Mutex::new(None),
                events: Mutex::new(EventStore::default()),
                suspects: Mutex::new(Vec::new()),
                fetches: Mutex::new(VecDeque::new()),
            }),
        }
    }

    /// The latest event GETs (up to 1,000), oldest first, faulted and refused ones included.
    pub fn event_fetches(&self) -> Vec<EventFetch> {
        lock(&self.shared.fetches).iter().cloned().collect()
    }

    fn record_fetch(&self, fetch: EventFetch) {
        let mut fetches = lock(&self.shared.fetches);
        if fetches.len() >= MAX_FETCHES {
            fetches.pop_front();
        }
        fetches.push_back(fetch);
    }

    /// The event ids reported `{"suspect": true}` so far, in arrival order (repeats kept).
    pub fn reported_suspects(&self) -> Vec<String> {
        lock(&self.shared.suspects).clone()
    }

    /// Records a suspect report for a known event; `false` for an unknown one.
    fn report_suspect(&self, event_id: &str) -> bool {
        if self.event_v4_json(event_id).is_none() {
            return false;
        }
        lock(&self.shared.suspects).push(event_id.to_owned());
        true
    }

    /// Issues an event, in process, as the JS agent would on the page, and remembers it so
    /// the HTTP routes can serve it.
    pub fn identify(&self, req: IdentifyRequest) -> Identified {
        let now = ids::now_ms();
        let age_ms =
            i64::try_from(req.age_seconds.unwrap_or(0).saturating_mul(1000)).unwrap_or(i64::MAX);
        let timestamp_ms = now.saturating_sub(age_ms);
        let event_id = ids::event_id(timestamp_ms);

        let issued = {
            let mut events = lock(&self.shared.events);
            let visitor_id = match (req.visitor_id, req.persona) {
                (Some(given), _) => given,
                (None, Persona::ReturningDevice) => events
                    .last_visitor_id()
                    .unwrap_or(FIXED_RETURNING_VISITOR_ID)
                    .to_owned(),
                (None, _) => ids::visitor_id(),
            };
            let history = events.visitor(&visitor_id);
            let returning = req.persona == Persona::ReturningDevice;
            let (first_seen_ms, last_seen_ms) = match history {
                Some(h) => (h.first_seen_ms.min(timestamp_ms), h.last_seen_ms),
                // A returning device must look returning even on the simulator's first event.
                None if returning => (
                    timestamp_ms - RETURNING_FIRST_SEEN_AGO_MS,
                    timestamp_ms - RETURNING_LAST_SEEN_AGO_MS,
                ),
                None => (timestamp_ms, timestamp_ms),
            };
            events.insert(IssuedEvent {
                event_id,
                visitor_found: returning || history.is_some(),
                visitor_events: history.map_or(0, |h| h.events) + 1,
                visitor_id,
                persona: req.persona,
                timestamp_ms,
                url: req.url.unwrap_or_else(|| DEFAULT_URL.to_owned()),
                ip: req.ip.unwrap_or_else(|| DEFAULT_IP.to_owned()),
                linked_id: req.linked_id,
                high_recall_id: req.high_recall_id,
                asn: req.asn,
                extras: req.signals,
                rule_action: req.rule_action.or(req.persona.rule_action()),
                first_seen_ms,
                last_seen_ms,
            })
        };

        // Sealing happens outside the lock: it compresses and encrypts, and other requests
        // should not queue behind that.
        let sealed_result = self.shared.encryption_key.as_ref().map(|key| {
            let body = serde_json::to_vec(&shapes::v4(&issued, None))
                .expect("a serde_json::Value always serializes");
            crate::sealed::seal(&body, key)
        });
        Identified {
            request_id: issued.event_id.clone(),
            event_id: issued.event_id.clone(),
            visitor_id: issued.visitor_id.clone(),
            persona: issued.persona,
            sealed_result,
        }
    }

    /// Sets the delay before every later event GET is answered.
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.shared.latency) = d;
    }

    /// Arms a fault for event GETs, or clears it with `None`.
    ///
    /// `times: None` keeps the fault until it is cleared; `Some(n)` applies it to the next
    /// `n` event GETs only, after which the simulator answers normally again.
    pub fn set_fault(&self, fault: Option<Fault>, times: Option<u32>) {
        *lock(&self.shared.fault) = match (fault, times) {
            (None, _) | (Some(_), Some(0)) => None,
            (Some(fault), remaining) => Some(ArmedFault { fault, remaining }),
        };
    }

    /// The v4 body `GET /v4/events/{event_id}` would serve, or `None` for an unknown id.
    pub fn event_v4_json(&self, event_id: &str) -> Option<serde_json::Value> {
        self.event_v4_json_with_ruleset(event_id, None)
    }

    /// The v4 body `GET /v4/events/{event_id}?ruleset_id=...` would serve: with a ruleset, the
    /// event carries the `rule_action` chosen when it was identified.
    pub fn event_v4_json_with_ruleset(
        &self,
        event_id: &str,
        ruleset_id: Option<&str>,
    ) -> Option<serde_json::Value> {
        self.issued(event_id)
            .map(|event| shapes::v4(&event, ruleset_id))
    }

    /// The v3 body `GET /events/{request_id}` would serve, or `None` for an unknown id.
    pub fn event_v3_json(&self, event_id: &str) -> Option<serde_json::Value> {
        self.issued(event_id).map(|event| shapes::v3(&event))
    }

    fn issued(&self, event_id: &str) -> Option<Arc<IssuedEvent>> {
        lock(&self.shared.events).get(event_id)
    }

    fn latency(&self) -> Duration {
        *lock(&self.shared.latency)
    }

    /// Takes one use of the armed fault, if any, disarming it when its count runs out.
    fn take_fault(&self) -> Option<Fault> {
        let mut armed = lock(&self.shared.fault);
        let current = (*armed)?;
        match current.remaining {
            None => {}
            Some(n) if n <= 1 => *armed = None,
            Some(n) => {
                *armed = Some(ArmedFault {
                    remaining: Some(n - 1),
                    ..current
                })
            }
        }
        Some(current.fault)
    }
}
