//! One statement for a batch of count questions: the questions are the rows of a `VALUES` list,
//! and each count is one correlated subquery over them. Asked as a SELECT list with a column
//! per question and count, a batch of 8 built 8 times the plan nodes, and on PostgreSQL setting
//! them up (an aggregate and an index scan per column, at every execution) cost more than the
//! lookups. Here the plan has a fixed number of subqueries whatever the batch's size, each run
//! again for every row (docs/performance.md, the eighteenth machine).
//!
//! The statement's columns are those some question of the batch asks for. A question that
//! lacks a value sends NULL, which matches no row, and its answer does not read that column.

use super::accounts::{column, Param};
use super::{AccountCounts, Backend, CountQuestion, StoreError};
use crate::policy::Identity;
use sqlx::any::AnyRow;
use sqlx::Row;

/// The parts of the statement that some question of a batch asks for.
#[derive(Debug, Default)]
struct Shape {
    /// The identities the device count matches on, in [`Identity::ALL`]'s order.
    identities: Vec<Identity>,
    /// Whether some question counts by more than one identity, so each is counted alone too.
    by_identity: bool,
    email: bool,
    email_domain: bool,
    asn: bool,
    event: bool,
}

impl Shape {
    /// The batch's shape; none when a question names one identity twice, which one column per
    /// identity cannot hold (the policy never builds such a scope).
    fn of(questions: &[&CountQuestion]) -> Option<Shape> {
        let mut shape = Shape::default();
        for q in questions {
            let scope = &q.scope;
            for (i, (identity, _)) in scope.identities.iter().enumerate() {
                if scope.identities[..i]
                    .iter()
                    .any(|(seen, _)| seen == identity)
                {
                    return None;
                }
            }
            shape.by_identity |= scope.identities.len() > 1;
            shape.email |= q.email.is_some();
            shape.email_domain |= scope.email_domain.is_some();
            shape.asn |= scope.asn.is_some();
            shape.event |= q.event_id.is_some();
        }
        shape.identities = Identity::ALL
            .into_iter()
            .filter(|i| {
                questions
                    .iter()
                    .any(|q| q.scope.identities.iter().any(|(seen, _)| seen == i))
            })
            .collect();
        Some(shape)
    }

    fn is_empty(&self) -> bool {
        self.identities.is_empty() && !(self.email || self.email_domain || self.asn || self.event)
    }
}

/// The statement and its parameters, or none when the batch needs the per-question form (see
/// [`Shape::of`]) or asks for nothing.
pub(super) fn batch_query<'a>(
    backend: Backend,
    questions: &[&'a CountQuestion],
) -> Option<(String, Vec<Param<'a>>)> {
    let shape = Shape::of(questions)?;
    if shape.is_empty() {
        return None;
    }
    let mut names: Vec<&str> = vec!["n"];
    let mut counts: Vec<String> = Vec::new();
    if !shape.identities.is_empty() {
        names.extend(shape.identities.iter().map(|i| column(*i)));
        names.push("device_since");
        let any = shape
            .identities
            .iter()
            .map(|i| format!("{0} = q.{0}", column(*i)))
            .collect::<Vec<_>>()
            .join(" OR ");
        counts.push(format!(
            "(SELECT COUNT(*) FROM accounts WHERE ({any}) AND created_at >= q.device_since) AS device"
        ));
        if shape.by_identity {
            for identity in &shape.identities {
                let c = column(*identity);
                counts.push(format!(
                    "(SELECT COUNT(*) FROM accounts WHERE {c} = q.{c} AND created_at >= q.device_since) AS identity_{c}"
                ));
            }
        }
    }
    if shape.email {
        names.extend(["email_key", "username_key"]);
        counts.push(
            "(SELECT COUNT(*) FROM accounts WHERE email_key = q.email_key AND username_key <> q.username_key) AS email".into(),
        );
    }
    for (wanted, c, since) in [
        (shape.email_domain, "email_domain", "email_domain_since"),
        (shape.asn, "asn", "asn_since"),
    ] {
        if wanted {
            names.extend([c, since]);
            counts.push(format!(
                "(SELECT COUNT(*) FROM accounts WHERE {c} = q.{c} AND created_at >= q.{since}) AS {c}"
            ));
        }
    }
    if shape.event {
        names.push("event_id");
        counts.push("(SELECT COUNT(*) FROM accounts WHERE event_id = q.event_id) AS used".into());
    }

    let mut params: Vec<Param<'a>> = Vec::new();
    let mut rows: Vec<String> = Vec::with_capacity(questions.len());
    for (n, q) in questions.iter().enumerate() {
        let scope = &q.scope;
        let text = |v: Option<&'a str>| v.map_or(Param::NullText, Param::Text);
        let int = |v: Option<i64>| v.map_or(Param::NullInt, Param::Int);
        let mut values: Vec<Param<'a>> = Vec::new();
        if !shape.identities.is_empty() {
            for identity in &shape.identities {
                let value = scope.identities.iter().find(|(i, _)| i == identity);
                values.push(text(value.map(|(_, v)| v.as_str())));
            }
            values.push(Param::Int(scope.device_since_ms));
        }
        if shape.email {
            let email = q.email.as_ref();
            values.push(text(email.map(|(e, _)| e.as_str())));
            values.push(text(email.map(|(_, u)| u.as_str())));
        }
        for (wanted, value) in [
            (shape.email_domain, &scope.email_domain),
            (shape.asn, &scope.asn),
        ] {
            if wanted {
                values.push(text(value.as_ref().map(|(v, _)| v.as_str())));
                values.push(int(value.as_ref().map(|(_, since)| *since)));
            }
        }
        if shape.event {
            values.push(text(q.event_id.as_deref()));
        }
        let mut row = format!("CAST({n} AS BIGINT)");
        for param in values {
            // Typed for both backends: PostgreSQL infers no type for a bare parameter in VALUES.
            let sql_type = match param {
                Param::Text(_) | Param::NullText => "TEXT",
                Param::Int(_) | Param::NullInt => "BIGINT",
            };
            params.push(param);
            row.push_str(&format!(
                ", CAST({} AS {sql_type})",
                backend.placeholder(params.len())
            ));
        }
        rows.push(format!("({row})"));
    }
    let sql = format!(
        "WITH q ({}) AS (VALUES {}) SELECT q.n, {} FROM q",
        names.join(", "),
        rows.join(", "),
        counts.join(", ")
    );
    Some((sql, params))
}

/// Each question's answer, from the rows of [`batch_query`]'s statement. Each row names its
/// question, so no order is asked of the database.
pub(super) fn read_answers(
    rows: &[AnyRow],
    questions: &[&CountQuestion],
) -> Result<Vec<AccountCounts>, StoreError> {
    let mut answers = vec![None; questions.len()];
    for row in rows {
        let n = usize::try_from(row.try_get::<i64, _>("n")?).unwrap_or(usize::MAX);
        if let (Some(answer), Some(q)) = (answers.get_mut(n), questions.get(n)) {
            *answer = Some(read_answer(row, q)?);
        }
    }
    answers
        .into_iter()
        .map(|answer| {
            answer.ok_or_else(|| {
                StoreError::Unavailable("the count statement left a question out".into())
            })
        })
        .collect()
}

/// Reads one question's answer from its row.
fn read_answer(row: &AnyRow, q: &CountQuestion) -> Result<AccountCounts, sqlx::Error> {
    let scope = &q.scope;
    let mut counts = AccountCounts::default();
    if !scope.identities.is_empty() {
        counts.device = row.try_get("device")?;
        if scope.identities.len() > 1 {
            for (identity, _) in &scope.identities {
                let name = format!("identity_{}", column(*identity));
                counts.by_identity.push(row.try_get(name.as_str())?);
            }
        }
    }
    if q.email.is_some() {
        counts.email = row.try_get("email")?;
    }
    if scope.email_domain.is_some() {
        counts.email_domain = Some(row.try_get("email_domain")?);
    }
    if scope.asn.is_some() {
        counts.asn = Some(row.try_get("asn")?);
    }
    if q.event_id.is_some() {
        counts.event_used = row.try_get::<i64, _>("used")? > 0;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountScope;

    fn question(identities: &[(Identity, &str)], email: bool, event: bool) -> CountQuestion {
        CountQuestion {
            scope: AccountScope {
                identities: identities
                    .iter()
                    .map(|(i, v)| (*i, (*v).to_owned()))
                    .collect(),
                device_since_ms: 5,
                email_domain: email.then(|| ("example.org".to_owned(), 7)),
                asn: None,
            },
            email: email.then(|| ("ann@example.org".to_owned(), "ann".to_owned())),
            event_id: event.then(|| "ev".to_owned()),
        }
    }

    #[test]
    fn the_plan_holds_one_subquery_per_count_whatever_the_batch_size() {
        let one = question(&[(Identity::VisitorId, "v")], false, true);
        let (small, _) = batch_query(Backend::Postgres, &[&one]).unwrap();
        let many: Vec<&CountQuestion> = std::iter::repeat_n(&one, 16).collect();
        let (large, params) = batch_query(Backend::Postgres, &many).unwrap();
        let subqueries = |sql: &str| sql.matches("SELECT COUNT(*)").count();
        assert_eq!(subqueries(&small), 2);
        assert_eq!(subqueries(&large), 2);
        // visitor id, device window, event id: three values a question.
        assert_eq!(params.len(), 48);
        assert!(large.contains("$48"), "{large}");
    }

    #[test]
    fn a_question_without_a_part_sends_null_for_it() {
        let full = question(
            &[(Identity::VisitorId, "v"), (Identity::LinkedId, "l")],
            true,
            true,
        );
        let bare = question(&[(Identity::VisitorId, "w")], false, false);
        let (sql, params) = batch_query(Backend::Sqlite, &[&full, &bare]).unwrap();
        for column in [
            "identity_visitor_id",
            "identity_linked_id",
            "AS email,",
            "AS used",
        ] {
            assert!(sql.contains(column), "{column} in {sql}");
        }
        assert!(!sql.contains("high_recall_id"), "{sql}");
        let nulls = |params: &[Param<'_>]| {
            params
                .iter()
                .filter(|p| matches!(p, Param::NullText | Param::NullInt))
                .count()
        };
        // Per question: visitor, linked, since, email, username, domain, its since, event.
        assert_eq!(params.len(), 16);
        assert_eq!(nulls(&params[..8]), 0);
        // The bare question lacks the linked id, both email values, the domain and its window,
        // and the event id.
        assert_eq!(nulls(&params[8..]), 6);
    }

    #[test]
    fn a_scope_naming_an_identity_twice_is_left_to_the_per_question_form() {
        let twice = question(
            &[(Identity::VisitorId, "v"), (Identity::VisitorId, "w")],
            false,
            false,
        );
        let plain = question(&[(Identity::VisitorId, "v")], false, false);
        assert!(batch_query(Backend::Sqlite, &[&plain, &twice]).is_none());
        let nothing = question(&[], false, false);
        assert!(batch_query(Backend::Sqlite, &[&nothing]).is_none());
    }
}
