//! What every decision shares, whichever endpoint asked for it: the event, verified, and the
//! policy's verdict on it. The caller then creates an account, reserves a slot, or answers.

use super::request::EventRef;
use super::{device_quota, Refusal, Signups};
use crate::events::EventError;
use crate::lists::Facts;
use crate::policy::{Action, Context, Decision, Snapshot};
use crate::store::{DeviceQuota, NewAttempt};
use std::net::IpAddr;

/// Origins are short; a longer one is not one, and would bloat the audit trail.
pub(super) const MAX_ORIGIN_BYTES: usize = 2048;

/// The policy's verdict on a verified event. The snapshot it judged is in the attempt record.
pub(super) struct Assessment {
    /// Every rule's outcome and the verdict.
    pub decision: Decision,
    /// The device limit the account write must respect.
    pub quota: DeviceQuota,
    /// The refusal a block verdict stands for.
    pub block: Option<Refusal>,
}

impl Signups {
    /// Verifies the event and judges it, filling in the record as it learns. A used requestId
    /// is refused before it costs a Fingerprint API call.
    pub(super) async fn assess(
        &self,
        client_ip: Option<IpAddr>,
        origin: Option<&str>,
        event: EventRef,
        record: &mut NewAttempt,
    ) -> Result<Assessment, Refusal> {
        if let EventRef::Id(id) = &event {
            record.event_id = Some(id.clone());
        }
        if origin.is_some_and(|o| o.len() > MAX_ORIGIN_BYTES) {
            return Err(Refusal::Invalid("the Origin header is too long".into()));
        }
        if let EventRef::Id(id) = &event {
            if self.store.event_used(id).await? {
                return Err(Refusal::RequestIdUsed);
            }
        }

        let event = match event {
            EventRef::Id(id) => {
                let started = std::time::Instant::now();
                let fetched = self.events.fetch(&id).await;
                let outcome = fetched.as_ref().map_or_else(EventError::label, |_| "ok");
                self.metrics.fingerprint_fetch(outcome, started.elapsed());
                fetched?
            }
            EventRef::Sealed(payload) => self.events.unseal(&payload)?,
        };
        record.event_id = Some(event.event_id.clone());
        record.visitor_id = event.visitor_id.clone();
        // As soon as the device is known, before the database is asked anything: a device
        // that hops between addresses still spends one budget.
        if let (Some(limit), Some(visitor_id)) = (&self.per_visitor_limit, &event.visitor_id) {
            limit.check(visitor_id).await?;
        }

        let quota = device_quota(&self.policy, record.created_at);
        let email = record
            .username
            .as_deref()
            .and_then(|u| crate::email::identity(u, &self.policy.email_plus_tag_providers));
        let username_key = match (&email, record.username.as_deref()) {
            (Some(_), Some(username)) => crate::username::key(username),
            _ => String::new(),
        };
        // One round trip for both counts: this runs for every refused bot too.
        let (device_accounts, email_accounts) = self
            .store
            .account_counts(
                event.visitor_id.as_deref(),
                quota.since_ms,
                email.as_deref(),
                &username_key,
            )
            .await?;
        let lists = {
            let mut ips: Vec<IpAddr> = client_ip.into_iter().collect();
            ips.extend(event.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()));
            let facts = Facts {
                visitor_id: event.visitor_id.as_deref(),
                ips,
                email: record.username.as_deref().filter(|u| u.contains('@')),
            };
            self.lists.snapshot().hits(&facts, record.created_at)
        };
        let snapshot = Snapshot {
            event,
            context: Context {
                client_ip,
                origin: origin.map(str::to_owned),
                now_ms: record.created_at,
                device_accounts,
                email,
                email_accounts,
                lists,
            },
        };
        let decision = snapshot.evaluate(&self.policy);
        // An analyst's allow entry lifts the store's quota too when the policy says so, or
        // the write would refuse what the rules let through.
        let allow_listed = snapshot
            .context
            .lists
            .iter()
            .any(|h| h.action == Action::Allow);
        // Shadow mode never refuses, so the quota is lifted there too.
        let lifted =
            self.policy.shadow || (allow_listed && self.policy.allow_overrides_device_limit);
        let quota = if lifted {
            DeviceQuota {
                max_accounts: i64::MAX,
                ..quota
            }
        } else {
            quota
        };
        record.verdict = decision.would_be.as_str().to_owned();
        record.codes = decision.codes().iter().map(|c| c.to_string()).collect();
        if decision.shadow && decision.would_be != Action::Allow {
            tracing::info!(would_be = decision.would_be.as_str(), codes = ?record.codes, "shadow mode: not refusing");
        }
        let event = &record.signals.insert(snapshot).event;
        let block = if decision.verdict == Action::Block {
            Some(Refusal::from_decision(&decision, event))
        } else if event.visitor_id.is_none() {
            // The policy blocks a missing visitor id even in shadow mode; this keeps the store
            // safe should that ever change.
            Some(Refusal::no_identification())
        } else {
            None
        };
        Ok(Assessment {
            decision,
            quota,
            block,
        })
    }
}
