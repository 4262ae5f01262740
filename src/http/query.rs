//! Query parameters shared by the admin lists: keyset pagination (`?limit=50&before=<id>`,
//! newest first, a `nextBefore` cursor in the answer while more rows may follow) and the checks
//! on text filters.

use super::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// The largest page.
pub const MAX_LIMIT: i64 = 500;

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows to return.
    pub limit: i64,
    /// Only rows with a smaller id.
    pub before: Option<i64>,
}

impl Page {
    /// Checks the query's `limit`: out of range is an error naming it, never clamped silently.
    pub fn new(limit: Option<i64>, before: Option<i64>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::InvalidRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        Ok(Self { limit, before })
    }

    /// The cursor for the next page: the last id, when the page came back full.
    pub fn next_before(&self, last_id: Option<i64>, rows: usize) -> Option<i64> {
        (rows as i64 == self.limit).then_some(last_id).flatten()
    }
}

/// The longest filter value a list accepts.
const MAX_FILTER_CHARS: usize = 256;

/// A text parameter must be short and free of control characters: NUL cannot be stored or
/// compared by PostgreSQL (a 500 there, a silent no-match on SQLite), and a filter has no use
/// for any other.
pub fn plain_text(name: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(value) if value.chars().any(char::is_control) => Err(ApiError::InvalidRequest(
            format!("{name} must not contain control characters"),
        )),
        Some(value) if value.chars().count() > MAX_FILTER_CHARS => Err(ApiError::InvalidRequest(
            format!("{name} must be at most {MAX_FILTER_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// A numeric id from the path. Out of range or not a number is the same 400, in the shared
/// JSON error shape, as any other bad parameter (axum's own rejection is plain text).
pub fn path_id(
    id: Result<axum::extract::Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<i64, ApiError> {
    id.map(|axum::extract::Path(id)| id).map_err(|_| {
        ApiError::InvalidRequest("the id in the path must be a whole number within 64 bits".into())
    })
}
