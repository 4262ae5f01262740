//! The review queue and labels (admin): `GET /api/reviews`, `POST /api/accounts/{id}/approve`,
//! `POST /api/accounts/{id}/ban` and `POST /api/attempts/{id}/label`. Every action needs a
//! reason and is recorded under the analyst's name.

use super::admin::Analyst;
use super::error_answers::{BadRequest, InternalError, NotFound, Unauthorized, Unavailable};
use super::query::path_id;
use super::{ApiError, AppState, Result};
use crate::lists::{EntryRequest, ListKind};
use crate::store::{now_ms, Label, Resolved, Review};
use crate::time::rfc3339;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The longest reason.
const MAX_REASON_CHARS: usize = 500;

/// `?limit=&after=<id>`: oldest first, so the queue is worked in order.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewsQuery {
    /// Accounts per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only accounts with a larger id: the previous page's `nextAfter`.
    after: Option<i64>,
}

/// One account waiting.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    account_id: i64,
    username: Option<String>,
    account_ref: Option<String>,
    visitor_id: String,
    created_at: String,
    attempt_id: Option<i64>,
    codes: Vec<String>,
}

/// A page of the queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewsPage {
    reviews: Vec<ReviewView>,
    /// Pass as `after` for the next page; `null` on the last one.
    next_after: Option<i64>,
}

impl From<Review> for ReviewView {
    fn from(r: Review) -> Self {
        Self {
            account_id: r.account.id,
            username: r.account.username,
            account_ref: r.account.account_ref,
            visitor_id: r.account.visitor_id,
            created_at: rfc3339(r.account.created_at),
            attempt_id: r.attempt_id,
            codes: r.codes,
        }
    }
}

/// Accounts held for review, oldest first
#[utoipa::path(
    get,
    path = "/api/reviews",
    tag = "admin",
    security(("admin_token" = [])),
    params(ReviewsQuery),
    responses(
        (status = 200, description = "A page of the queue.", body = ReviewsPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn queue(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ReviewsQuery>, QueryRejection>,
) -> Result<Json<ReviewsPage>> {
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let page = super::query::Page::new(query.limit, None)?;
    let rows = state.store.reviews(page.limit, query.after).await?;
    let next_after = page.next_before(rows.last().map(|r| r.account.id), rows.len());
    Ok(Json(ReviewsPage {
        reviews: rows.into_iter().map(ReviewView::from).collect(),
        next_after,
    }))
}

/// `{"reason"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    reason: String,
}

/// `{"reason", "denylistDevice"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BanBody {
    reason: String,
    #[serde(default)]
    denylist_device: bool,
}

/// `{"label": "fraud"|"legit", "reason"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    label: String,
    reason: String,
}

/// The account after the action.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedView {
    account_id: i64,
    status: String,
    /// The block entry a ban added for the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    list_entry_id: Option<i64>,
}

impl From<Resolved> for ResolvedView {
    fn from(r: Resolved) -> Self {
        Self {
            account_id: r.account.id,
            status: r.account.status,
            list_entry_id: r.list_entry_id,
        }
    }
}

pub(super) fn reason(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::InvalidRequest(format!(
            "reason is required, at most {MAX_REASON_CHARS} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "reason must not contain control characters".into(),
        ));
    }
    Ok(text.to_owned())
}

/// Approves an account
///
/// It becomes `active` and its attempt is labelled `legit`; 404 for an unknown account.
#[utoipa::path(
    post,
    path = "/api/accounts/{id}/approve",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "The account's id.")),
    request_body = ApproveBody,
    responses(
        (status = 200, description = "The account, now active.", body = ResolvedView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    Extension(analyst): Extension<Analyst>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<ApproveBody>, JsonRejection>,
) -> Result<Json<ResolvedView>> {
    let id = path_id(id)?;
    let Json(body) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let resolved = approve_account(&state, &analyst, id, &body.reason).await?;
    Ok(Json(resolved.into()))
}

/// Bans an account
///
/// It becomes `banned`, its attempt is labelled `fraud`, and with `denylistDevice` its device
/// gets a block entry; 404 for an unknown account.
#[utoipa::path(
    post,
    path = "/api/accounts/{id}/ban",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "The account's id.")),
    request_body = BanBody,
    responses(
        (status = 200, description = "The account, now banned.", body = ResolvedView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn ban(
    State(state): State<Arc<AppState>>,
    Extension(analyst): Extension<Analyst>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<BanBody>, JsonRejection>,
) -> Result<Json<ResolvedView>> {
    let id = path_id(id)?;
    let Json(body) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let resolved = ban_account(&state, &analyst, id, &body.reason, body.denylist_device).await?;
    Ok(Json(resolved.into()))
}

/// Labels an attempt fraud or legit
///
/// The latest label counts; earlier ones are kept. 404 for an unknown attempt.
#[utoipa::path(
    post,
    path = "/api/attempts/{id}/label",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "The attempt's id.")),
    request_body = LabelBody,
    responses(
        (status = 201, description = "Labelled."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn label(
    State(state): State<Arc<AppState>>,
    Extension(analyst): Extension<Analyst>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<LabelBody>, JsonRejection>,
) -> Result<StatusCode> {
    let id = path_id(id)?;
    let Json(body) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    label_attempt(&state, &analyst, id, &body.label, &body.reason).await?;
    Ok(StatusCode::CREATED)
}

/// Approves a held account: the one way the API and the console do it, so both write the same
/// label and action record.
pub(super) async fn approve_account(
    state: &AppState,
    analyst: &Analyst,
    id: i64,
    reason_text: &str,
) -> Result<Resolved> {
    let why = reason(reason_text)?;
    let resolved = state
        .store
        .approve(id, &analyst.0, &why, now_ms())
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!(analyst = %analyst.0, account = id, "account approved");
    Ok(resolved)
}

/// Bans an account, with a block entry for its device when asked (the API's and the
/// console's one way).
pub(super) async fn ban_account(
    state: &AppState,
    analyst: &Analyst,
    id: i64,
    reason_text: &str,
    denylist_device: bool,
) -> Result<Resolved> {
    let why = reason(reason_text)?;
    let now = now_ms();
    let block = if denylist_device {
        let account = state.store.account(id).await?.ok_or(ApiError::NotFound)?;
        Some(
            EntryRequest {
                kind: ListKind::VisitorId.as_str().into(),
                value: account.visitor_id,
                action: "block".into(),
                reason: why.clone(),
                expires_at: None,
            }
            .check(now)
            .map_err(ApiError::InvalidRequest)?,
        )
    } else {
        None
    };
    let resolved = state
        .store
        .ban(
            id,
            &analyst.0,
            &why,
            block.as_ref(),
            state.report_labels,
            now,
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!(analyst = %analyst.0, account = id, denylisted = denylist_device, "account banned");
    if resolved.list_entry_id.is_some() {
        if let Err(error) = state.signups.lists.reload(&state.store).await {
            tracing::warn!(%error, "cannot reload the lists after a change");
        }
    }
    Ok(resolved)
}

/// Labels an attempt fraud or legit (the API's and the console's one way).
pub(super) async fn label_attempt(
    state: &AppState,
    analyst: &Analyst,
    id: i64,
    label_text: &str,
    reason_text: &str,
) -> Result<()> {
    let label = Label::parse(label_text.trim())
        .ok_or_else(|| ApiError::InvalidRequest("label must be fraud or legit".into()))?;
    let why = reason(reason_text)?;
    if !state
        .store
        .label_attempt(id, label, &why, &analyst.0, state.report_labels, now_ms())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(())
}
