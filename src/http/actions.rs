//! `GET /api/actions` (admin): what analysts did, by whom, when and why, newest first.

use super::query::Page;
use super::{ApiError, AppState, Result};
use crate::store::AnalystAction;
use crate::time::rfc3339;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `?limit=&before=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    limit: Option<i64>,
    before: Option<i64>,
}

/// One action.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionsPage {
    actions: Vec<ActionView>,
    next_before: Option<i64>,
}

/// Newest first.
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
