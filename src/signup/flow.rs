//! One signup, from body to record.

use super::refusal::DEVICE_LIMIT;
use super::request::{self, EventRef, SignupRequest};
use super::{device_quota, review_codes, Caller, Created, Refusal, Signups};
use crate::policy::{Action, Context, Snapshot};
use crate::store::{now_ms, DeviceQuota, NewAccount, NewAttempt, StoreError};

/// Origins are short; a longer header is not one, and would bloat the audit trail.
const MAX_ORIGIN_BYTES: usize = 2048;

/// An account ready to be written: every check passed and its password hashed.
struct Prepared {
    account: NewAccount,
    quota: DeviceQuota,
    review_codes: Option<Vec<String>>,
}

impl Signups {
    /// Runs one signup and records it in the audit trail, whatever the outcome. Every check runs
    /// before `deadline`; the account write, once begun, is never cut short (see below).
    pub async fn run(
        &self,
        caller: &Caller,
        body: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<Created, Refusal> {
        let mut record = self.new_record(caller);
        // The deadline lives here rather than in an outer layer, so a signup that runs out of
        // time still goes through this one exit and is recorded. It covers everything up to the
        // account write, never the write itself: cut short there, a COMMIT that had already
        // reached the database would be answered 503 with the account created. The write is
        // bounded instead by the pool's acquire and statement timeouts.
        let decided = tokio::time::timeout_at(deadline, self.decide(caller, body, &mut record));
        let outcome = match decided.await {
            Ok(Ok(prepared)) => self.create(prepared, &mut record).await,
            Ok(Err(refusal)) => Err(refusal),
            Err(_) => Err(Refusal::Timeout),
        };
        if let Err(refusal) = &outcome {
            record.code = refusal.code().to_owned();
        }
        tracing::info!(
            event_id = record.event_id.as_deref().unwrap_or("-"),
            visitor_id = record.visitor_id.as_deref().unwrap_or("-"),
            verdict = %record.verdict,
            code = %record.code,
            codes = ?record.codes,
            "signup decided"
        );
        if outcome.is_err() {
            self.record_refusal(record).await;
        }
        outcome
    }

    /// Records a signup whose body could not be read (too large, cut off) and hands back its
    /// refusal.
    pub async fn refuse_unread(&self, caller: &Caller, refusal: Refusal) -> Refusal {
        let mut record = self.new_record(caller);
        record.code = refusal.code().to_owned();
        tracing::info!(verdict = %record.verdict, code = %record.code, "signup refused unread");
        self.record_refusal(record).await;
        refusal
    }

    /// A refusal's record goes through the group commit, and the answer waits for it. It is
    /// best effort: while the database is down, the log keeps it instead.
    async fn record_refusal(&self, record: NewAttempt) {
        let code = record.code.clone();
        if let Err(store_error) = self.audit.record(record).await {
            tracing::error!(error = %store_error, code = %code, "could not record a refused attempt");
        }
    }

    fn new_record(&self, caller: &Caller) -> NewAttempt {
        NewAttempt {
            ip: Some(caller.ip.to_string()),
            verdict: "error".into(),
            policy_hash: Some(self.policy_hash.clone()),
            shadow: self.policy.shadow,
            created_at: now_ms(),
            ..NewAttempt::default()
        }
    }

    /// Everything before the write: the request, the event, the policy, and the password hash.
    async fn decide(
        &self,
        caller: &Caller,
        body: &[u8],
        record: &mut NewAttempt,
    ) -> Result<Prepared, Refusal> {
        let SignupRequest {
            event,
            username,
            password,
        } = request::parse(body)?;
        record.username = Some(username.clone());
        if let EventRef::Id(id) = &event {
            record.event_id = Some(id.clone());
        }
        if caller
            .origin
            .as_ref()
            .is_some_and(|o| o.len() > MAX_ORIGIN_BYTES)
        {
            return Err(Refusal::Invalid("the Origin header is too long".into()));
        }
        // A used requestId is refused before it costs a Fingerprint API call.
        if let EventRef::Id(id) = &event {
            if self.store.event_used(id).await? {
                return Err(Refusal::RequestIdUsed);
            }
        }

        let event = match event {
            EventRef::Id(id) => self.events.fetch(&id).await?,
            EventRef::Sealed(payload) => self.events.unseal(&payload)?,
        };
        record.event_id = Some(event.event_id.clone());
        record.visitor_id = event.visitor_id.clone();

        let quota = device_quota(&self.policy, record.created_at);
        let device_accounts = match &event.visitor_id {
            Some(visitor) => self.store.device_accounts(visitor, quota.since_ms).await?,
            None => 0,
        };
        let snapshot = Snapshot {
            event,
            context: Context {
                client_ip: Some(caller.ip),
                origin: caller.origin.clone(),
                now_ms: record.created_at,
                device_accounts,
            },
        };
        let decision = snapshot.evaluate(&self.policy);
        record.verdict = decision.would_be.as_str().to_owned();
        record.codes = decision.codes().iter().map(|c| c.to_string()).collect();
        if decision.shadow && decision.would_be != Action::Allow {
            tracing::info!(would_be = decision.would_be.as_str(), codes = ?record.codes, "shadow mode: not refusing");
        }
        let snapshot = record.signals.insert(snapshot);
        let event = &snapshot.event;
        if decision.verdict == Action::Block {
            return Err(Refusal::from_decision(&decision, event));
        }
        // The policy blocks a missing visitor id even in shadow mode; this keeps the store safe
        // should that ever change.
        let Some(visitor_id) = event.visitor_id.clone() else {
            return Err(Refusal::no_identification());
        };

        // The strength estimate is the costliest check before the hash, so it runs only for a
        // signup the policy would let through: a refused bot never pays for it.
        self.password
            .check_off_runtime(&password, &username)
            .await
            .map_err(Refusal::Internal)?
            .map_err(Refusal::Invalid)?;
        // Computed here, once, for the signups that got this far: the conflict check and the
        // insert share them.
        let username_key = crate::username::key(&username);
        let username_skeleton = crate::username::skeleton(&username_key);
        let taken = self
            .store
            .conflict(&username_key, &username_skeleton, &event.event_id)
            .await?;
        if let Some(conflict) = taken {
            return Err(conflict.into());
        }
        let event_id = event.event_id.clone();
        let password_hash = self
            .hasher
            .hash(password)
            .await
            .map_err(Refusal::Internal)?;
        let review = decision.verdict == Action::Review;
        record.code = if review { "review" } else { "created" }.to_owned();
        let account = NewAccount {
            username,
            username_key,
            username_skeleton,
            password_hash,
            visitor_id,
            event_id,
            review,
            created_at: record.created_at,
        };
        // Shadow mode never refuses, so the device quota is lifted there too.
        let quota = if self.policy.shadow {
            DeviceQuota {
                max_accounts: i64::MAX,
                ..quota
            }
        } else {
            quota
        };
        Ok(Prepared {
            account,
            quota,
            review_codes: review.then(|| review_codes(&decision)),
        })
    }

    /// The account write: the device limit, the unique indexes and the audit record, in one
    /// transaction.
    async fn create(
        &self,
        prepared: Prepared,
        record: &mut NewAttempt,
    ) -> Result<Created, Refusal> {
        let Prepared {
            account,
            quota,
            review_codes,
        } = prepared;
        match self.store.create_account(&account, quota, record).await {
            Ok(account_id) => Ok(Created {
                account_id,
                visitor_id: account.visitor_id,
                review_codes,
            }),
            Err(StoreError::DeviceLimit) => {
                // Another signup from this device won the race after our count: record the count
                // the database saw, so a backtest of the same policy reproduces this refusal.
                if let Some(snapshot) = record.signals.as_mut() {
                    snapshot.context.device_accounts = quota.max_accounts;
                }
                record.verdict = Action::Block.as_str().to_owned();
                if !record.codes.iter().any(|c| c == DEVICE_LIMIT) {
                    record.codes.push(DEVICE_LIMIT.into());
                }
                Err(Refusal::device_limit(&account.visitor_id))
            }
            Err(other) => Err(other.into()),
        }
    }
}
