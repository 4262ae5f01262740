//! Fraud labels reported back to Fingerprint (`FINGERPRINT_REPORT_LABELS=true`): each is
//! queued with its label and sent by a background task, so an analyst's click never waits for
//! Fingerprint, and a failure is retried for a day. Logged either way.

use crate::delivery::backoff;
use crate::store::{now_ms, Store};
use fingerprint::{Client, FingerprintError};
use std::time::Duration;

/// A report's lease: longer than a try can take.
const LEASE: Duration = Duration::from_secs(30);
/// Reports taken per round.
const BATCH: i64 = 20;
/// How often an idle reporter looks for due reports.
const POLL: Duration = Duration::from_secs(1);
/// The first retry's wait.
const RETRY_BASE: Duration = Duration::from_secs(5);
/// How long a report is retried.
const RETRY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Starts this instance's reporter; it runs until the runtime stops.
pub fn start(store: Store, client: Client, retry_base: Option<Duration>) {
    let retry_base = retry_base.unwrap_or(RETRY_BASE);
    tokio::spawn(async move {
        loop {
            let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
            let due = match store.claim_label_reports(now_ms(), lease, BATCH).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the label-report outbox");
                    Vec::new()
                }
            };
            for report in &due {
                let outcome = match client.report_suspect(&report.event_id).await {
                    Ok(()) => {
                        tracing::info!(event_id = %report.event_id, "fraud label reported to Fingerprint");
                        Ok(())
                    }
                    // The same call will get the same answer: not worth a day of retries.
                    Err(
                        error @ (FingerprintError::NotFound
                        | FingerprintError::InvalidEventId
                        | FingerprintError::BadRequest { .. }
                        | FingerprintError::Forbidden { .. }),
                    ) => {
                        tracing::warn!(event_id = %report.event_id, %error, "Fingerprint refused a fraud label; not retried");
                        Err((error.to_string(), None))
                    }
                    Err(error) => {
                        let next = backoff(
                            retry_base,
                            RETRY_WINDOW,
                            report.tries,
                            report.created_at,
                            now_ms(),
                        );
                        tracing::warn!(event_id = %report.event_id, %error, retried = next.is_some(), "cannot report a fraud label to Fingerprint");
                        Err((error.to_string(), next))
                    }
                };
                if let Err(error) = store.label_report_tried(report.id, outcome).await {
                    tracing::warn!(%error, "cannot record a label report's outcome");
                }
            }
            if (due.len() as i64) < BATCH {
                tokio::time::sleep(POLL).await;
            }
        }
    });
}
