//! `GET /docs/`: the interactive reference (Swagger UI) over `/openapi.json`. Its files are
//! compiled into the binary (utoipa-swagger-ui's `vendored` feature takes them from a crates.io
//! package), so the page works with no internet: nothing is fetched from a CDN.

use super::error_answers::{BadRequest, InternalError, NotFound};
use super::{ApiError, AppState};
use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::{Arc, LazyLock};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::Config;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(to_page))
        .routes(routes!(page))
        .routes(routes!(file))
}

/// Swagger UI's settings. Its validator badge would send the document to an outside service
/// and load an image from it: "none" turns it off.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new(["/openapi.json"])
            .validator_url("none")
            .try_it_out_enabled(true)
            .display_request_duration(true),
    )
});

/// The interactive reference
///
/// Its files are relative to `/docs/`, so `/docs` sends the browser there.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "docs",
    responses((status = 303, description = "To `/docs/`.", headers(("Location" = String))))
)]
async fn to_page() -> Redirect {
    Redirect::to("/docs/")
}

/// The interactive reference
#[utoipa::path(
    get,
    path = "/docs/",
    tag = "docs",
    responses(
        (status = 200, description = "The Swagger UI page.", content_type = "text/html", body = String),
        (status = 500, response = InternalError)
    )
)]
async fn page() -> Response {
    serve("")
}

/// A file of the interactive reference
#[utoipa::path(
    get,
    path = "/docs/{file}",
    tag = "docs",
    params(("file" = String, Path, description = "A file of Swagger UI, such as `swagger-ui.css`.")),
    responses(
        (status = 200, description = "The file.", content(
            ("text/html"), ("text/css"), ("text/javascript"), ("image/png")
        )),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError)
    )
)]
async fn file(file: Result<Path<String>, PathRejection>) -> Response {
    match file {
        Ok(Path(file)) => serve(&file),
        Err(rejection) => ApiError::InvalidRequest(rejection.body_text()).into_response(),
    }
}

fn serve(file: &str) -> Response {
    match utoipa_swagger_ui::serve(file, CONFIG.clone()) {
        Ok(Some(file)) => ([(header::CONTENT_TYPE, file.content_type)], file.bytes).into_response(),
        Ok(None) => ApiError::NotFound.into_response(),
        Err(error) => ApiError::Internal(anyhow::anyhow!("Swagger UI: {error}")).into_response(),
    }
}
