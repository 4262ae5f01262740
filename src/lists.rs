//! Allow, review and block lists: analysts' entries on a visitor id, an IP address or network,
//! an email domain or an email address. Each instance matches signups against an in-memory copy,
//! reloaded when the shared version number moves, so a change reaches every instance within
//! [`REFRESH`] without a database read on each signup.

use crate::policy::{Action, ListHit};
use crate::store::{ListEntry, Store};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often each instance checks whether the lists changed.
pub const REFRESH: Duration = Duration::from_secs(2);
/// The longest entry value (an email address is at most 254 characters).
const MAX_VALUE_CHARS: usize = 254;
/// The longest reason.
const MAX_REASON_CHARS: usize = 500;

/// What an entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// A Fingerprint visitor id.
    VisitorId,
    /// An IP address or a CIDR network, v4 or v6.
    Ip,
    /// Every address at an email domain.
    EmailDomain,
    /// One email address.
    Email,
}

impl ListKind {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VisitorId => "visitor_id",
            Self::Ip => "ip",
            Self::EmailDomain => "email_domain",
            Self::Email => "email",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::VisitorId, Self::Ip, Self::EmailDomain, Self::Email]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// An entry to add, as an analyst typed it.
#[derive(Debug, Clone)]
pub struct EntryRequest {
    /// See [`ListKind`].
    pub kind: String,
    /// The value to match.
    pub value: String,
    /// `allow`, `review` or `block`.
    pub action: String,
    /// Why (required).
    pub reason: String,
    /// When it stops applying, if ever.
    pub expires_at: Option<i64>,
}

/// A checked entry, its value in normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// What it matches.
    pub kind: ListKind,
    /// Normalised: a network in CIDR form, a domain or address in lower case.
    pub value: String,
    /// What it asks for.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// When it stops applying.
    pub expires_at: Option<i64>,
}

impl EntryRequest {
    /// Checks the entry and puts its value in normal form; the error names the field.
    pub fn check(self, now_ms: i64) -> Result<NewEntry, String> {
        let kind = ListKind::parse(self.kind.trim())
            .ok_or("kind must be visitor_id, ip, email_domain or email")?;
        let action = match self.action.trim() {
            "allow" => Action::Allow,
            "review" => Action::Review,
            "block" => Action::Block,
            _ => return Err("action must be allow, review or block".into()),
        };
        let reason = self.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(format!(
                "reason is required, at most {MAX_REASON_CHARS} characters"
            ));
        }
        if reason.chars().any(char::is_control) {
            return Err("reason must not contain control characters".into());
        }
        if self.expires_at.is_some_and(|at| at <= now_ms) {
            return Err("expiresAt must be in the future".into());
        }
        let value = normalise(kind, &self.value)?;
        Ok(NewEntry {
            kind,
            value,
            action,
            reason,
            expires_at: self.expires_at,
        })
    }
}

/// The value in the form matching compares.
pub fn normalise(kind: ListKind, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "value is required, at most {MAX_VALUE_CHARS} characters"
        ));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("value must not contain spaces or control characters".into());
    }
    match kind {
        ListKind::VisitorId => Ok(value.to_owned()),
        ListKind::Ip => network(value)
            .map(|net| net.to_string())
            .ok_or_else(|| format!("{value:?} is not an IP address or a CIDR network such as 203.0.113.0/24 or 2001:db8::/32")),
        ListKind::EmailDomain => {
            domain(value.trim_start_matches('@')).ok_or_else(|| format!("{value:?} is not a domain"))
        }
        ListKind::Email => email(value).ok_or_else(|| format!("{value:?} is not an email address")),
    }
}

/// An address as a host network, or a CIDR in its network form (`10.1.2.3/8` is `10.0.0.0/8`).
fn network(value: &str) -> Option<IpNet> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(IpNet::from(ip.to_canonical()));
    }
    value.parse::<IpNet>().ok().map(|net| net.trunc())
}

/// A domain in lower-case ASCII (IDN domains in their `xn--` form).
fn domain(value: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii(value).ok()?;
    (ascii.contains('.') && !ascii.starts_with('.') && !ascii.ends_with('.')).then_some(ascii)
}

/// An address with its domain normalised; the local part is compared in lower case.
pub fn email(value: &str) -> Option<String> {
    let (local, host) = value.trim().rsplit_once('@')?;
    if local.is_empty() {
        return None;
    }
    Some(format!("{}@{}", local.to_lowercase(), domain(host)?))
}

/// The lists as one instance holds them.
#[derive(Debug, Default)]
pub struct Snapshot {
    version: i64,
    exact: HashMap<(ListKind, String), Vec<ListEntry>>,
    networks: Vec<(IpNet, ListEntry)>,
}

/// What a signup is matched on.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// The device.
    pub visitor_id: Option<&'a str>,
    /// The addresses seen: the event's and the client's.
    pub ips: Vec<IpAddr>,
    /// The username, when it is an email address.
    pub email: Option<&'a str>,
}

impl Snapshot {
    fn new(version: i64, entries: Vec<ListEntry>) -> Self {
        let mut snapshot = Snapshot {
            version,
            ..Snapshot::default()
        };
        for entry in entries {
            match ListKind::parse(&entry.kind) {
                Some(ListKind::Ip) => {
                    if let Ok(net) = entry.value.parse::<IpNet>() {
                        snapshot.networks.push((net, entry));
                    }
                }
                Some(kind) => snapshot
                    .exact
                    .entry((kind, entry.value.clone()))
                    .or_default()
                    .push(entry),
                None => {}
            }
        }
        snapshot
    }

    /// The entries in force at `now_ms` that match.
    pub fn hits(&self, facts: &Facts<'_>, now_ms: i64) -> Vec<ListHit> {
        let live = |e: &&ListEntry| e.expires_at.is_none_or(|at| at > now_ms);
        let mut found: Vec<&ListEntry> = Vec::new();
        let mut exact = |kind: ListKind, value: Option<String>| {
            if let Some(entries) = value.and_then(|v| self.exact.get(&(kind, v))) {
                found.extend(entries.iter().filter(live));
            }
        };
        exact(ListKind::VisitorId, facts.visitor_id.map(str::to_owned));
        let address = facts.email.and_then(email);
        let at_domain = address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, d)| d.to_owned());
        exact(ListKind::Email, address);
        exact(ListKind::EmailDomain, at_domain);
        for ip in &facts.ips {
            let ip = ip.to_canonical();
            found.extend(
                self.networks
                    .iter()
                    .filter(|(net, _)| net.contains(&ip))
                    .map(|(_, e)| e)
                    .filter(live),
            );
        }
        let mut hits: Vec<ListHit> = found
            .into_iter()
            .map(|e| ListHit {
                id: e.id,
                kind: e.kind.clone(),
                value: e.value.clone(),
                action: e.action,
                reason: e.reason.clone(),
            })
            .collect();
        hits.sort_by_key(|h| h.id);
        hits.dedup_by_key(|h| h.id);
        hits
    }
}

/// This instance's copy of the lists, kept fresh by a background task.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    current: Arc<RwLock<Arc<Snapshot>>>,
}

impl Lists {
    /// Loads the lists, then keeps reloading them when they change.
    pub async fn start(store: Store) -> Result<Lists, crate::store::StoreError> {
        let lists = Lists::default();
        lists.reload(&store).await?;
        let refreshed = lists.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH).await;
                if let Err(error) = refreshed.reload(&store).await {
                    tracing::warn!(%error, "cannot refresh the lists; keeping the last copy");
                }
            }
        });
        Ok(lists)
    }

    /// Reloads when the stored version moved.
    pub async fn reload(&self, store: &Store) -> Result<(), crate::store::StoreError> {
        let version = store.list_version().await?;
        if version == self.snapshot().version && version != 0 {
            return Ok(());
        }
        let entries = store.active_list_entries(crate::store::now_ms()).await?;
        let fresh = Arc::new(Snapshot::new(version, entries));
        if let Ok(mut current) = self.current.write() {
            *current = fresh;
        }
        Ok(())
    }

    /// The copy in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        id: i64,
        kind: ListKind,
        value: &str,
        action: Action,
        expires_at: Option<i64>,
    ) -> ListEntry {
        ListEntry {
            id,
            kind: kind.as_str().into(),
            value: normalise(kind, value).unwrap(),
            action,
            reason: "r".into(),
            expires_at,
            created_by: "alice".into(),
            created_at: 0,
        }
    }

    #[test]
    fn values_are_normalised_and_bad_ones_named() {
        assert_eq!(normalise(ListKind::Ip, "10.1.2.3/8").unwrap(), "10.0.0.0/8");
        assert_eq!(
            normalise(ListKind::Ip, "2001:db8::1/32").unwrap(),
            "2001:db8::/32"
        );
        assert_eq!(
            normalise(ListKind::Ip, "203.0.113.7").unwrap(),
            "203.0.113.7/32"
        );
        assert_eq!(
            normalise(ListKind::Ip, "::ffff:203.0.113.7").unwrap(),
            "203.0.113.7/32"
        );
        assert!(normalise(ListKind::Ip, "10.0.0.0/33")
            .unwrap_err()
            .contains("CIDR"));
        assert_eq!(
            normalise(ListKind::EmailDomain, "@Mail.EXAMPLE.com").unwrap(),
            "mail.example.com"
        );
        assert_eq!(
            normalise(ListKind::EmailDomain, "bücher.de").unwrap(),
            "xn--bcher-kva.de"
        );
        assert_eq!(
            normalise(ListKind::Email, "Ann@Example.ORG").unwrap(),
            "ann@example.org"
        );
        assert!(normalise(ListKind::Email, "no-at-sign").is_err());
        assert!(normalise(ListKind::VisitorId, "a b").is_err());
    }

    #[test]
    fn hits_match_every_kind_and_skip_expired_entries() {
        let snapshot = Snapshot::new(
            1,
            vec![
                entry(1, ListKind::VisitorId, "dev-1", Action::Block, None),
                entry(2, ListKind::Ip, "203.0.113.0/24", Action::Review, None),
                entry(3, ListKind::Ip, "2001:db8::/32", Action::Allow, None),
                entry(
                    4,
                    ListKind::EmailDomain,
                    "throwaway.example",
                    Action::Block,
                    None,
                ),
                entry(
                    5,
                    ListKind::Email,
                    "ann@example.org",
                    Action::Allow,
                    Some(100),
                ),
            ],
        );
        let ids = |facts: Facts<'_>, now: i64| -> Vec<i64> {
            snapshot.hits(&facts, now).iter().map(|h| h.id).collect()
        };
        assert_eq!(
            ids(
                Facts {
                    visitor_id: Some("dev-1"),
                    ..Facts::default()
                },
                0
            ),
            [1]
        );
        assert_eq!(
            ids(
                Facts {
                    ips: vec!["203.0.113.99".parse().unwrap()],
                    ..Facts::default()
                },
                0
            ),
            [2]
        );
        assert_eq!(
            ids(
                Facts {
                    ips: vec!["2001:db8:1::5".parse().unwrap()],
                    ..Facts::default()
                },
                0
            ),
            [3]
        );
        assert!(ids(
            Facts {
                ips: vec!["198.51.100.1".parse().unwrap()],
                ..Facts::default()
            },
            0
        )
        .is_empty());
        assert_eq!(
            ids(
                Facts {
                    email: Some("Bob@THROWAWAY.example"),
                    ..Facts::default()
                },
                0
            ),
            [4]
        );
        assert_eq!(
            ids(
                Facts {
                    email: Some("ANN@example.org"),
                    ..Facts::default()
                },
                99
            ),
            [5]
        );
        assert!(
            ids(
                Facts {
                    email: Some("ann@example.org"),
                    ..Facts::default()
                },
                100
            )
            .is_empty(),
            "expired"
        );
    }
}
