//! `lists`: the allow, review and block lists from the command line. It writes the same rows, and
//! records the same analyst actions, as the admin API; running instances see a change within
//! `lists::REFRESH` because it moves the shared list version.

use crate::cli::{ListsAddArgs, ListsArgs, ListsCommand, ListsLsArgs, ListsRmArgs, ListsStore};
use crate::lists::{normalise, EntryRequest, ListKind};
use crate::store::{now_ms, ListEntry, Store};
use crate::time::rfc3339;
use anyhow::{anyhow, Context as _};
use serde_json::{json, Value};

/// Runs one `lists` subcommand.
pub async fn lists(args: ListsArgs) -> anyhow::Result<()> {
    match args.action {
        ListsCommand::Add(add) => add_entry(&open(&add.store).await?, add).await,
        ListsCommand::Ls(ls) => list_entries(&open(&ls.store).await?, ls).await,
        ListsCommand::Rm(rm) => remove_entry(&open(&rm.store).await?, rm).await,
    }
}

/// `open` migrates, so a list can be seeded before the service first starts.
async fn open(settings: &ListsStore) -> anyhow::Result<Store> {
    let url = settings.database.url(settings.demo.demo);
    Store::open(&url, settings.database.pool())
        .await
        .with_context(|| format!("cannot open {}", crate::startup::redact_url(&url)))
}

async fn add_entry(store: &Store, args: ListsAddArgs) -> anyhow::Result<()> {
    let now = now_ms();
    let expires_at = match args.expires.as_deref() {
        None => None,
        Some(text) => Some(crate::time::parse_expiry(text, now).ok_or_else(|| {
            anyhow!("--expires must be an RFC 3339 time such as 2027-01-31T00:00:00Z, or a duration such as 30d")
        })?),
    };
    let analyst = analyst_name(&args.analyst)?;
    let entry = EntryRequest {
        kind: args.kind,
        value: args.value,
        action: args.action,
        reason: args.reason,
        expires_at,
    }
    .check(now)
    .map_err(|e| anyhow!("{e}"))?;
    let added = store.add_list_entry(&entry, analyst, now).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view(&added))?);
    } else {
        println!(
            "added entry {}: {} {} {}{}",
            added.id,
            added.action.as_str(),
            added.kind,
            added.value,
            added
                .expires_at
                .map(|at| format!(" until {}", rfc3339(at)))
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn list_entries(store: &Store, args: ListsLsArgs) -> anyhow::Result<()> {
    let kind = args
        .kind
        .as_deref()
        .map(|name| {
            ListKind::parse(name.trim())
                .ok_or_else(|| anyhow!("--kind must be visitor_id, ip, email_domain or email"))
        })
        .transpose()?;
    let value = match (kind, args.value.as_deref()) {
        (Some(kind), Some(value)) => Some(normalise(kind, value).map_err(|e| anyhow!("{e}"))?),
        _ => None,
    };
    let entries = store
        .list_entries(
            kind.map(ListKind::as_str),
            value.as_deref(),
            args.limit,
            None,
        )
        .await?;
    if args.json {
        let views: Vec<Value> = entries.iter().map(view).collect();
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("no entries");
        return Ok(());
    }
    let now = now_ms();
    println!(
        "{:>6}  {:<6}  {:<12}  {:<40}  {:<22}  {:<12}  reason",
        "id", "action", "kind", "value", "expires", "by"
    );
    for entry in &entries {
        let expires = match entry.expires_at {
            None => "never".to_owned(),
            Some(at) if at <= now => format!("expired {}", rfc3339(at)),
            Some(at) => rfc3339(at),
        };
        println!(
            "{:>6}  {:<6}  {:<12}  {:<40}  {:<22}  {:<12}  {}",
            entry.id,
            entry.action.as_str(),
            entry.kind,
            entry.value,
            expires,
            entry.created_by,
            entry.reason.escape_debug()
        );
    }
    Ok(())
}

async fn remove_entry(store: &Store, args: ListsRmArgs) -> anyhow::Result<()> {
    let reason = args.reason.trim();
    if reason.is_empty() {
        return Err(anyhow!("--reason is required"));
    }
    let analyst = analyst_name(&args.analyst)?;
    if store
        .remove_list_entry(args.id, analyst, reason, now_ms())
        .await?
    {
        println!("removed entry {}", args.id);
        Ok(())
    } else {
        Err(anyhow!("no entry {}", args.id))
    }
}

/// The name actions are recorded under: the shape of an `ADMIN_TOKENS` name, so the record
/// reads the same whichever way an analyst worked.
fn analyst_name(name: &str) -> anyhow::Result<&str> {
    let name = name.trim();
    let fits = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if fits {
        Ok(name)
    } else {
        Err(anyhow!(
            "--as must be 1 to 32 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// The entry as the admin API shows it.
fn view(entry: &ListEntry) -> Value {
    json!({
        "id": entry.id,
        "kind": entry.kind,
        "value": entry.value,
        "action": entry.action.as_str(),
        "reason": entry.reason,
        "expiresAt": entry.expires_at.map(rfc3339),
        "createdBy": entry.created_by,
        "createdAt": rfc3339(entry.created_at),
    })
}
