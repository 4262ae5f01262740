//! What every decision shares, whichever endpoint asked for it: the event, verified, and the
//! policy's verdict on it. The caller then creates an account, reserves a slot, or answers.

use super::request::EventRef;
use super::{counts, Refusal, Signups};
use crate::events::EventError;
use crate::lists::Facts;
use crate::policy::{Action, Context, Decision, Snapshot};
use crate::store::{AccountCounts, AccountScope, CountQuestion, NewAttempt};
use std::net::IpAddr;

/// Origins are short; a longer one is not one, and would bloat the audit trail.
pub(super) const MAX_ORIGIN_BYTES: usize = 2048;

/// The policy's verdict on a verified event. The snapshot it judged is in the attempt record.
pub(super) struct Assessment {
    /// Every rule's outcome and the verdict.
    pub decision: Decision,
    /// What the account write counts again, under its locks.
    pub scope: AccountScope,
    /// The refusal a block verdict stands for.
    pub block: Option<Refusal>,
}

impl Signups {
    /// Verifies the event and judges it, filling in the record as it learns. A requestId this
    /// instance knows was used is refused before it costs a Fingerprint API call; any other used
    /// one by the first query after the call.
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
        // Only ids this instance knows were used are refused before the call; the others are
        // asked about with the counts below, after it (see `used_events`).
        let asked_id = match &event {
            EventRef::Id(id) if self.used_events.contains(id) => {
                return Err(Refusal::RequestIdUsed)
            }
            EventRef::Id(id) => Some(id.clone()),
            EventRef::Sealed(_) => None,
        };

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

        let now = record.created_at;
        let email = record
            .username
            .as_deref()
            .and_then(|u| crate::email::identity(u, &self.policy.email_plus_tag_providers));
        let username_key = match (&email, record.username.as_deref()) {
            (Some(_), Some(username)) => crate::username::key(username),
            _ => String::new(),
        };
        let scope = counts::account_scope(&self.policy, &event, email.as_deref(), now);
        // One query for every account count (asked in one statement with other signups'
        // questions, see `CountReads`), beside one statement for the attempt counters when a
        // rule counts attempts: this runs for every refused bot too.
        let (accounts, velocity) = tokio::try_join!(
            self.counts.count(CountQuestion {
                scope: scope.clone(),
                email: email.clone().map(|e| (e, username_key.clone())),
                event_id: asked_id.clone(),
            }),
            counts::count_attempt(&self.store, &self.policy, client_ip, &event, now),
        )?;
        if let (true, Some(asked)) = (accounts.event_used, &asked_id) {
            self.used_events.insert(asked);
            return Err(Refusal::RequestIdUsed);
        }
        let lists = {
            let mut ips: Vec<IpAddr> = client_ip.into_iter().collect();
            ips.extend(event.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()));
            let facts = Facts {
                visitor_id: event.visitor_id.as_deref(),
                ips,
                email: record.username.as_deref().filter(|u| u.contains('@')),
            };
            self.lists.snapshot().hits(&facts, now)
        };
        let mut context = Context {
            client_ip,
            origin: origin.map(str::to_owned),
            now_ms: now,
            email,
            email_accounts: accounts.email,
            lists,
            velocity,
            ..Context::default()
        };
        counts::apply_account_counts(&mut context, &scope, &accounts);
        let snapshot = Snapshot { event, context };
        let decision = snapshot.decide(&self.policy);
        record.verdict = decision.would_be.as_str().to_owned();
        record.codes = decision.codes().iter().map(|c| c.to_string()).collect();
        if decision.shadow && decision.would_be != Action::Allow {
            tracing::info!(would_be = decision.would_be.as_str(), codes = ?record.codes, "shadow mode: not refusing");
        }
        let snapshot = record.signals.insert(snapshot);
        let block = if decision.verdict == Action::Block {
            Some(Refusal::from_decision(&decision, snapshot, &self.policy))
        } else if snapshot.event.visitor_id.is_none() {
            // The policy blocks a missing visitor id even in shadow mode; this keeps the store
            // safe should that ever change.
            Some(Refusal::no_identification())
        } else {
            None
        };
        Ok(Assessment {
            decision,
            scope,
            block,
        })
    }

    /// Judges again on the counts the account write made under its locks, and records what
    /// decided: another instance's signup may have committed since the early count. A block
    /// is the refusal to answer; otherwise the decision, whose verdict may now be a review.
    pub(super) fn rejudge(
        &self,
        counts: &AccountCounts,
        scope: &AccountScope,
        record: &mut NewAttempt,
    ) -> Result<Decision, Refusal> {
        let Some(snapshot) = record.signals.as_mut() else {
            return Err(Refusal::Internal(anyhow::anyhow!(
                "an account write without its snapshot"
            )));
        };
        counts::apply_account_counts(&mut snapshot.context, scope, counts);
        let decision = snapshot.decide(&self.policy);
        record.verdict = decision.would_be.as_str().to_owned();
        record.codes = decision.codes().iter().map(|c| c.to_string()).collect();
        if decision.verdict == Action::Block {
            return Err(Refusal::from_decision(&decision, snapshot, &self.policy));
        }
        Ok(decision)
    }
}
