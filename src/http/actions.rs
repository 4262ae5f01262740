//! `GET /api/actions` (admin): what analysts did, by whom, when and why, newest first.

use super::error_answers::{BadRequest, InternalError, NotFound, Unauthorized, Unavailable};
use super::query::Page;
use super::{ApiError, AppState, Result};
use crate::store::AnalystAction;
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// `?limit=&before=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionsQuery {
    /// Actions per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only actions with a smaller id: the previous page's `nextBefore`.
    before: Option<i64>,
}

/// One action.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    id: i64,
    actor: String,
    action: String,
    target: String,
    reason: String,
    created_at: String,
}

impl From<AnalystAction> for ActionView {
    fn from(a: AnalystAction) -> Self {
        Self {
            id: a.id,
            actor: a.actor,
            action: a.action,
            target: a.target,
            reason: a.reason,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// A page of actions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionsPage {
    actions: Vec<ActionView>,
    next_before: Option<i64>,
}

/// What analysts did, newest first
///
/// Who (the admin token's name), what, on what, when and why.
#[utoipa::path(
    get,
    path = "/api/actions",
    tag = "admin",
    security(("admin_token" = [])),
    params(ActionsQuery),
    responses(
        (status = 200, description = "A page of actions.", body = ActionsPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ActionsQuery>, QueryRejection>,
) -> Result<Json<ActionsPage>> {
    let Query(query) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let page = Page::new(query.limit, query.before)?;
    let rows = state.store.list_actions(page.limit, page.before).await?;
    let next_before = page.next_before(rows.last().map(|a| a.id), rows.len());
    Ok(Json(ActionsPage {
        actions: rows.into_iter().map(ActionView::from).collect(),
        next_before,
    }))
}
