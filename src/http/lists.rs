//! `/api/lists` (admin): the allow, review and block lists. Changes reach every instance within
//! a few seconds (`lists::REFRESH`) and are recorded with the analyst's name and reason.

use super::admin::Analyst;
use super::error_answers::{BadRequest, InternalError, NotFound, Unauthorized, Unavailable};
use super::query::{path_id, plain_text, Page};
use super::{ApiError, AppState, Result};
use crate::lists::{normalise, EntryRequest, ListKind};
use crate::store::{now_ms, ListEntry};
use crate::time::rfc3339;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// `?kind=&value=&limit=&before=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListsQuery {
    /// Only entries of this kind: `visitor_id`, `ip`, `email_domain` or `email`.
    kind: Option<String>,
    /// Only entries with this value (normalised as on entry when `kind` is given).
    value: Option<String>,
    /// Entries per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only entries with a smaller id: the previous page's `nextBefore`.
    before: Option<i64>,
}

/// A new entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewEntryBody {
    pub(super) kind: String,
    pub(super) value: String,
    pub(super) action: String,
    pub(super) reason: String,
    /// RFC 3339, or a duration from now such as `30d`; omitted, the entry never expires.
    pub(super) expires_at: Option<String>,
}

/// `?reason=` on DELETE: why it was removed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    reason: Option<String>,
}

/// An entry as listed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    id: i64,
    kind: String,
    value: String,
    action: &'static str,
    reason: String,
    expires_at: Option<String>,
    created_by: String,
    created_at: String,
}

impl From<ListEntry> for EntryView {
    fn from(e: ListEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            value: e.value,
            action: e.action.as_str(),
            reason: e.reason,
            expires_at: e.expires_at.map(rfc3339),
            created_by: e.created_by,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntriesPage {
    entries: Vec<EntryView>,
    next_before: Option<i64>,
}

/// Allow, review and block list entries, newest first
///
/// `kind` and `value` narrow it (the value is normalised as on entry).
#[utoipa::path(
    get,
    path = "/api/lists",
    tag = "admin",
    security(("admin_token" = [])),
    params(ListsQuery),
    responses(
        (status = 200, description = "A page of entries.", body = EntriesPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListsQuery>, QueryRejection>,
) -> Result<Json<EntriesPage>> {
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    plain_text("kind", query.kind.as_deref())?;
    plain_text("value", query.value.as_deref())?;
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(name) => Some(ListKind::parse(name).ok_or_else(|| {
            ApiError::InvalidRequest("kind must be visitor_id, ip, email_domain or email".into())
        })?),
    };
    let value = match (kind, query.value.as_deref().filter(|v| !v.is_empty())) {
        (Some(kind), Some(value)) => {
            Some(normalise(kind, value).map_err(ApiError::InvalidRequest)?)
        }
        (None, Some(value)) => Some(value.trim().to_owned()),
        (_, None) => None,
    };
    let page = Page::new(query.limit, query.before)?;
    let rows = state
        .store
        .list_entries(
            kind.map(ListKind::as_str),
            value.as_deref(),
            page.limit,
            page.before,
        )
        .await?;
    let next_before = page.next_before(rows.last().map(|e| e.id), rows.len());
    Ok(Json(EntriesPage {
        entries: rows.into_iter().map(EntryView::from).collect(),
        next_before,
    }))
}

/// Adds an allow, review or block entry
///
/// It applies on every instance within a few seconds and is recorded under the analyst's name.
#[utoipa::path(
    post,
    path = "/api/lists",
    tag = "admin",
    security(("admin_token" = [])),
    request_body = NewEntryBody,
    responses(
        (status = 201, description = "The entry, its value normalised.", body = EntryView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn add(
    State(state): State<Arc<AppState>>,
    Extension(analyst): Extension<Analyst>,
    body: Result<Json<NewEntryBody>, JsonRejection>,
) -> Result<(StatusCode, Json<EntryView>)> {
    let Json(body) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let added = add_entry(&state, &analyst, body).await?;
    Ok((StatusCode::CREATED, Json(EntryView::from(added))))
}

/// Removes an entry
///
/// 204, also when already gone; `reason` is required and recorded.
#[utoipa::path(
    delete,
    path = "/api/lists/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "The entry's id."), RemoveQuery),
    responses(
        (status = 204, description = "Removed, or already gone."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn remove(
    State(state): State<Arc<AppState>>,
    Extension(analyst): Extension<Analyst>,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<RemoveQuery>, QueryRejection>,
) -> Result<StatusCode> {
    let id = path_id(id)?;
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    remove_entry(&state, &analyst, id, query.reason.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an entry and reloads this instance's lists: the API's and the console's one way.
pub(super) async fn add_entry(
    state: &AppState,
    analyst: &Analyst,
    body: NewEntryBody,
) -> Result<ListEntry> {
    let now = now_ms();
    let expires_at = match body.expires_at.as_deref() {
        None => None,
        Some(text) => Some(crate::time::parse_expiry(text, now).ok_or_else(|| {
            ApiError::InvalidRequest(
                "expiresAt must be an RFC 3339 time such as 2027-01-31T00:00:00Z, or a duration such as 30d"
                    .into(),
            )
        })?),
    };
    let entry = EntryRequest {
        kind: body.kind,
        value: body.value,
        action: body.action,
        reason: body.reason,
        expires_at,
    }
    .check(now)
    .map_err(ApiError::InvalidRequest)?;
    let added = state.store.add_list_entry(&entry, &analyst.0, now).await?;
    tracing::info!(analyst = %analyst.0, entry = added.id, kind = %added.kind, action = %added.action, "list entry added");
    // This instance sees it at once; the others within the refresh period.
    if let Err(error) = state.signups.lists.reload(&state.store).await {
        tracing::warn!(%error, "cannot reload the lists after a change");
    }
    Ok(added)
}

/// Removes an entry (a reason is required) and reloads this instance's lists.
pub(super) async fn remove_entry(
    state: &AppState,
    analyst: &Analyst,
    id: i64,
    reason: Option<&str>,
) -> Result<()> {
    plain_text("reason", reason)?;
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("reason is required: ?reason=...".into()))?;
    if state
        .store
        .remove_list_entry(id, &analyst.0, &reason, now_ms())
        .await?
    {
        tracing::info!(analyst = %analyst.0, entry = id, "list entry removed");
        if let Err(error) = state.signups.lists.reload(&state.store).await {
            tracing::warn!(%error, "cannot reload the lists after a change");
        }
    }
    Ok(())
}
