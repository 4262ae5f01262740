//! Re-keying usernames: accounts written before usernames were compared by their Unicode key
//! and skeleton (migration 0002), or by an older release still running beside a newer one,
//! get both here, oldest account first.
//!
//! Where the new comparison makes two accounts one name (`straße` and `STRASSE`), the older
//! keeps it. The newer is never merged or dropped: it keeps its account and password, with a
//! parked key and no skeleton, and is reported by name on every run until an operator settles
//! it (renames it, or deletes one of the two); the next run then re-keys it.

use crate::username;
use sqlx::{AnyConnection, Connection as _, Row};
use std::collections::HashMap;

/// The key of an account being re-keyed, or kept apart: it begins with a space, which no
/// [`username::key`] does, and holds the id, which no other row has.
const PARKED_KEY: &str = "' kept apart, account ' || CAST(id AS TEXT)";

/// Accounts read and re-keyed at a time: memory stays flat however many accounts there are.
const BATCH: i64 = 256;

/// What re-keying did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Accounts given their key and skeleton by this run.
    pub rekeyed: u64,
    /// Accounts whose username names an older account under the new comparison, oldest first.
    pub kept_apart: Vec<KeptApart>,
}

/// An account kept apart from the older account whose name it shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptApart {
    /// The account kept apart.
    pub id: i64,
    /// Its username.
    pub username: String,
    /// The account that holds the name.
    pub holder_id: i64,
    /// That account's username.
    pub holder_username: String,
}

struct Pending {
    id: i64,
    username: String,
    key: String,
    skeleton: String,
}

/// Re-keys every account without a skeleton, in one transaction. The caller holds the
/// migration lock, so two instances starting at once re-key one after the other, and the
/// second finds nothing left but the accounts kept apart.
pub(super) async fn rekey(conn: &mut AnyConnection) -> Result<Rekeyed, sqlx::Error> {
    let pending = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE username_skeleton IS NULL AND username IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?;
    if pending == 0 {
        return Ok(Rekeyed::default());
    }
    let mut tx = conn.begin().await?;
    // First every old key moves aside: an account's new key may be the old key of a newer
    // one (`strasse`, held by `STRASSE`, is the new key of `straße`). Keys parked by an
    // earlier run stay as they are.
    sqlx::query(&format!(
        "UPDATE accounts SET username_key = {PARKED_KEY} \
         WHERE username_skeleton IS NULL AND username IS NOT NULL \
           AND username_key <> {PARKED_KEY}"
    ))
    .execute(&mut *tx)
    .await?;
    let mut report = Rekeyed::default();
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(
            "SELECT id, username FROM accounts \
             WHERE username_skeleton IS NULL AND username IS NOT NULL AND id > $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        let batch = rows
            .iter()
            .map(|row| {
                let username: String = row.try_get("username")?;
                let key = username::key(&username);
                let skeleton = username::skeleton(&key);
                Ok(Pending {
                    id: row.try_get("id")?,
                    username,
                    key,
                    skeleton,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let mut holders = Holders::read(&mut tx, &batch).await?;
        for account in batch {
            if let Some((holder_id, holder_username)) = holders.of(&account) {
                report.kept_apart.push(KeptApart {
                    id: account.id,
                    username: account.username,
                    holder_id,
                    holder_username,
                });
                continue;
            }
            sqlx::query(
                "UPDATE accounts SET username_key = $1, username_skeleton = $2 WHERE id = $3",
            )
            .bind(&account.key)
            .bind(&account.skeleton)
            .bind(account.id)
            .execute(&mut *tx)
            .await?;
            holders.add(account);
            report.rekeyed += 1;
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Who holds the keys and skeletons a batch wants: accounts already keyed (by this run or
/// by signups), then the batch's own winners as they are chosen.
#[derive(Default)]
struct Holders {
    by_key: HashMap<String, (i64, String)>,
    by_skeleton: HashMap<String, (i64, String)>,
}

impl Holders {
    async fn read(conn: &mut AnyConnection, batch: &[Pending]) -> Result<Self, sqlx::Error> {
        let n = batch.len();
        let keys = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>();
        let skeletons = (n + 1..=2 * n).map(|i| format!("${i}")).collect::<Vec<_>>();
        let sql = format!(
            "SELECT id, username, username_key, username_skeleton FROM accounts \
             WHERE username_key IN ({}) OR username_skeleton IN ({})",
            keys.join(", "),
            skeletons.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for account in batch {
            query = query.bind(&account.key);
        }
        for account in batch {
            query = query.bind(&account.skeleton);
        }
        let mut holders = Holders::default();
        for row in query.fetch_all(&mut *conn).await? {
            // Only accounts with a username hold a key: slots the decision API reserved
            // without one have neither.
            let Some(username) = row.try_get::<Option<String>, _>("username")? else {
                continue;
            };
            let holder = (row.try_get("id")?, username);
            let skeleton: Option<String> = row.try_get("username_skeleton")?;
            if let Some(skeleton) = skeleton {
                holders.by_skeleton.insert(skeleton, holder.clone());
            }
            holders.by_key.insert(row.try_get("username_key")?, holder);
        }
        Ok(holders)
    }

    fn of(&self, account: &Pending) -> Option<(i64, String)> {
        let by_key = self.by_key.get(&account.key);
        by_key
            .or_else(|| self.by_skeleton.get(&account.skeleton))
            .cloned()
    }

    fn add(&mut self, account: Pending) {
        let holder = (account.id, account.username);
        self.by_skeleton.insert(account.skeleton, holder.clone());
        self.by_key.insert(account.key, holder);
    }
}
