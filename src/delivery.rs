//! Decision webhooks: every attempt whose verdict an operator asked for is POSTed, signed, to
//! their URL. The outbox row is written in the attempt's own transaction, so an answered
//! attempt's delivery survives kill -9; a background task per instance sends due rows, never
//! on a signup's path, and retries with exponential backoff through the retry window. Delivery
//! is at least once: the receiver dedupes on `signup-guard-delivery`.

use crate::store::{now_ms, Delivery, Store};
use crate::time::rfc3339;
use fingerprint::SecretKey;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Longer than one send can take (its timeout), so a lease never expires mid-send, and short,
/// since the deliveries a killed instance held wait this long for another to take them.
const LEASE: Duration = Duration::from_secs(15);
/// One send's limit.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries taken per round; they are sent concurrently.
const BATCH: i64 = 20;
/// How often an idle deliverer looks for rows other instances wrote, or retries came due.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Where decisions are announced, and which.
#[derive(Debug, Clone)]
pub struct DecisionWebhooks {
    /// The receiver.
    pub url: url::Url,
    /// The HMAC-SHA256 key of `signup-guard-signature`.
    pub secret: SecretKey,
    /// Verdicts announced (`allow`, `review`, `block`).
    pub verdicts: Vec<String>,
    /// The first retry's wait; each later one doubles it (to an hour at most).
    pub retry_base: Duration,
    /// How long a delivery is retried before it is marked failed.
    pub retry_window: Duration,
}

impl DecisionWebhooks {
    /// Whether an attempt with this verdict is announced.
    pub fn wants(&self, verdict: &str) -> bool {
        self.verdicts.iter().any(|v| v == verdict)
    }
}

/// What the signup flow needs: which verdicts to mark, and a way to wake the deliverer.
#[derive(Debug, Clone)]
pub struct Announcer {
    verdicts: Vec<String>,
    wake: Arc<Notify>,
}

impl Announcer {
    /// A fresh delivery id when `verdict` is announced.
    pub fn delivery_for(&self, verdict: &str) -> Option<String> {
        self.verdicts
            .iter()
            .any(|v| v == verdict)
            .then(|| format!("dlv_{}", hex::encode(rand::random::<[u8; 16]>())))
    }

    /// A delivery was committed: send it now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts this instance's deliverer; it runs until the runtime stops.
pub fn start(store: Store, config: DecisionWebhooks) -> anyhow::Result<Announcer> {
    let http = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .connect_timeout(Duration::from_secs(3))
        // A receiver that redirects is misconfigured; following could post decisions elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let wake = Arc::new(Notify::new());
    let announcer = Announcer {
        verdicts: config.verdicts.clone(),
        wake: wake.clone(),
    };
    let deliverer = Deliverer {
        store,
        config,
        http,
        wake,
    };
    tokio::spawn(deliverer.run());
    Ok(announcer)
}

struct Deliverer {
    store: Store,
    config: DecisionWebhooks,
    http: reqwest::Client,
    wake: Arc<Notify>,
}

impl Deliverer {
    async fn run(self) {
        loop {
            let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
            let due = match self.store.claim_deliveries(now_ms(), lease, BATCH).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the decision-webhook outbox");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            let full = due.len() as i64 == BATCH;
            futures_util::future::join_all(due.iter().map(|d| self.send(d))).await;
            if !full {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }

    async fn send(&self, delivery: &Delivery) {
        let body = payload(delivery).to_string();
        let signature =
            fingerprint::webhook::sign(body.as_bytes(), self.config.secret.expose().as_bytes());
        let sent = self
            .http
            .post(self.config.url.clone())
            .header("content-type", "application/json")
            .header("signup-guard-signature", signature)
            .header("signup-guard-delivery", &delivery.id)
            .body(body)
            .send()
            .await;
        let error = match sent {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the receiver answered {}", response.status())),
            Err(error) if error.is_timeout() => Some("the receiver did not answer in time".into()),
            Err(_) => Some("the receiver could not be reached".into()),
        };
        let now = now_ms();
        let recorded = match &error {
            None => self.store.delivered(&delivery.id, now).await,
            Some(error) => {
                let next = next_try(&self.config, delivery, now);
                if next.is_none() {
                    tracing::warn!(delivery_id = %delivery.id, %error, "decision webhook given up after its retry window");
                } else {
                    tracing::debug!(delivery_id = %delivery.id, %error, "decision webhook failed; will retry");
                }
                self.store.delivery_failed(&delivery.id, error, next).await
            }
        };
        if let Err(store_error) = recorded {
            // The lease runs out and the delivery is sent again: at least once.
            tracing::warn!(delivery_id = %delivery.id, error = %store_error, "cannot record a decision webhook's outcome");
        }
    }
}

/// When to try again after `delivery.tries + 1` failures, or `None` past the retry window.
fn next_try(config: &DecisionWebhooks, delivery: &Delivery, now: i64) -> Option<i64> {
    backoff(
        config.retry_base,
        config.retry_window,
        delivery.tries,
        delivery.created_at,
        now,
    )
}

/// When an outbox row that failed `tries + 1` times is tried again: `base` doubled per try,
/// to an hour at most, plus up to a quarter of jitter so that rows failed together do not
/// retry together; `None` once that is past `created_at + window`.
pub(crate) fn backoff(
    base: Duration,
    window: Duration,
    tries: i64,
    created_at: i64,
    now: i64,
) -> Option<i64> {
    let exponent = u32::try_from(tries.clamp(0, 20)).unwrap_or(20);
    let wait = base
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF);
    let jitter = wait.mul_f64(rand::random::<f64>() * 0.25);
    let at = now + i64::try_from((wait + jitter).as_millis()).unwrap_or(i64::MAX / 2);
    let window_ends = created_at + i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
    (at <= window_ends).then_some(at)
}

/// The body: the attempt as the receiver needs it, the same at every try.
fn payload(delivery: &Delivery) -> Value {
    let a = &delivery.attempt;
    json!({
        "id": delivery.id,
        "attemptId": a.id,
        "endpoint": a.endpoint,
        "decisionId": a.decision_id,
        "eventId": a.event_id,
        "visitorId": a.visitor_id,
        "decision": a.verdict,
        "code": a.code,
        "codes": a.codes,
        "shadow": a.shadow,
        "accountId": a.account_id,
        "accountRef": a.account_ref,
        "createdAt": rfc3339(a.created_at),
    })
}
