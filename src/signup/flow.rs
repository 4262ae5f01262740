//! One signup, from body to record.

use super::assess::Assessment;
use super::request::{self, SignupRequest};
use super::{Caller, Created, Refusal, Signups};
use crate::delivery::Announcer;
use crate::policy::Action;
use crate::store::{now_ms, AccountScope, NewAccount, NewAttempt, Written};

/// An account ready to be written: every check passed and its password hashed.
struct Prepared {
    account: NewAccount,
    scope: AccountScope,
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
        let started = std::time::Instant::now();
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
        self.metrics
            .attempt(record.endpoint.as_str(), &record.verdict, &record.code);
        self.metrics
            .decided(record.endpoint.as_str(), started.elapsed());
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
        self.metrics
            .attempt(record.endpoint.as_str(), &record.verdict, &record.code);
        self.record_refusal(record).await;
        refusal
    }

    /// A refusal's record goes through the group commit, and the answer waits for it. It is
    /// best effort: while the database is down, the log keeps it instead.
    pub(super) async fn record_refusal(&self, mut record: NewAttempt) {
        self.mark_delivery(&mut record);
        let code = record.code.clone();
        let announced = record.delivery_id.is_some();
        match self.audit.record(record).await {
            Ok(()) if announced => self.announcer.iter().for_each(Announcer::wake),
            Ok(()) => {}
            Err(store_error) => {
                tracing::error!(error = %store_error, code = %code, "could not record a refused attempt");
            }
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
        let Assessment {
            decision,
            scope,
            block,
        } = self
            .assess(Some(caller.ip), caller.origin.as_deref(), event, record)
            .await?;
        if let Some(refusal) = block {
            return Err(refusal);
        }
        let (Some(visitor_id), Some(event_id)) =
            (record.visitor_id.clone(), record.event_id.clone())
        else {
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
            .conflict(&username_key, &username_skeleton, &event_id)
            .await?;
        if let Some(conflict) = taken {
            return Err(conflict.into());
        }
        let password_hash = self
            .hasher
            .hash(password)
            .await
            .map_err(Refusal::Internal)?;
        let review = decision.verdict == Action::Review;
        record.code = if review { "review" } else { "created" }.to_owned();
        let account = NewAccount {
            username: Some(username),
            username_key: Some(username_key),
            username_skeleton: Some(username_skeleton),
            password_hash: Some(password_hash),
            review,
            ..super::new_account(record, visitor_id, event_id)
        };
        Ok(Prepared { account, scope })
    }

    /// The account write: the counts judged again under the write's locks (the device limit,
    /// the velocity rules on accounts), the unique indexes and the audit record, in one
    /// transaction.
    async fn create(
        &self,
        prepared: Prepared,
        record: &mut NewAttempt,
    ) -> Result<Created, Refusal> {
        let Prepared { account, scope } = prepared;
        let mut review_codes = None;
        let written = self
            .store
            .write_account(&account, &scope, record, |counts, record| {
                let decision = self.rejudge(counts, &scope, record)?;
                let review = decision.verdict == Action::Review;
                record.code = if review { "review" } else { "created" }.to_owned();
                review_codes = review.then(|| super::review_codes(&decision));
                self.mark_delivery(record);
                Ok(review)
            })
            .await?;
        match written {
            Written::Created(account_id) => {
                self.delivery_committed(record);
                self.used_events.insert(&account.event_id);
                Ok(Created {
                    account_id,
                    visitor_id: account.visitor_id,
                    review_codes,
                })
            }
            Written::Refused(refusal) => Err(refusal),
        }
    }
}
