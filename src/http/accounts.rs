//! `GET /api/accounts` (admin).

use super::error_answers::{BadRequest, InternalError, NotFound, Unauthorized, Unavailable};
use super::query::Page;
use super::{ApiError, AppState, Result};
use crate::store::AccountRow;
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// `?status=&limit=50&before=<id>`; any other parameter is refused, so a typo is not silently
/// ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountsQuery {
    /// Only accounts in this status: `active`, `review` or `banned`.
    #[param(pattern = "^(active|review|banned)?$")]
    status: Option<String>,
    /// Accounts per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only accounts with a smaller id: the previous page's `nextBefore`.
    before: Option<i64>,
}

/// One account, never with password material.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    id: i64,
    /// `null` for an account the decision API reserved without one.
    username: Option<String>,
    /// The app's own user id, for an account the decision API reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    account_ref: Option<String>,
    visitor_id: String,
    /// Created under review: held for an analyst or a second factor.
    review: bool,
    /// `active`, `review` or `banned`.
    status: String,
    /// RFC 3339.
    created_at: String,
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountsPage {
    accounts: Vec<AccountView>,
    /// Pass as `before` for the next page; `null` on the last one.
    next_before: Option<i64>,
}

impl From<AccountRow> for AccountView {
    fn from(r: AccountRow) -> Self {
        Self {
            id: r.id,
            username: r.username,
            account_ref: r.account_ref,
            visitor_id: r.visitor_id,
            review: r.review,
            status: r.status,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// The accounts, newest first
#[utoipa::path(
    get,
    path = "/api/accounts",
    tag = "admin",
    security(("admin_token" = [])),
    params(AccountsQuery),
    responses(
        (status = 200, description = "A page of accounts.", body = AccountsPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<AccountsQuery>, QueryRejection>,
) -> Result<Json<AccountsPage>> {
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let page = Page::new(query.limit, query.before)?;
    if let Some(status) = query.status.as_deref().filter(|s| !s.is_empty()) {
        if !matches!(status, "active" | "review" | "banned") {
            return Err(ApiError::InvalidRequest(
                "status must be active, review or banned".into(),
            ));
        }
    }
    let rows = state
        .store
        .list_accounts(query.status.as_deref(), page.limit, page.before)
        .await?;
    let next_before = page.next_before(rows.last().map(|r| r.id), rows.len());
    let accounts = rows.into_iter().map(AccountView::from).collect();
    Ok(Json(AccountsPage {
        accounts,
        next_before,
    }))
}
