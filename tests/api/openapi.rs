//! `GET /openapi.json`: an OpenAPI 3.1 document of exactly the routes the instance serves, with
//! every error code the service can answer. That no route is served outside the document is
//! checked from the source (`tests/architecture.rs`): every route is added from its handler's
//! `#[utoipa::path]`.

use crate::common::*;
use serde_json::Value;
use signup_guard::http::ApiError;
use signup_guard::signup::PolicyRefusal;
use std::collections::{BTreeMap, BTreeSet};

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    response.json().await.expect("the document is JSON")
}

/// Every (method, path) the document lists.
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// A value for each path parameter the document names.
fn concrete(path: &str) -> String {
    path.replace("{decisionId}", "dec_0123456789abcdef0123456789abcdef")
        .replace("{file}", "index.css")
}

/// With every optional area on (demo mode, admin, API and metrics tokens, webhook secret), every
/// operation the document lists is served: none answers the unknown-path 404 or a 405.
#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_operation_it_lists_is_served() {
    let app = spawn_app_with(Options {
        demo: true,
        ..Options::default()
    })
    .await;
    let document = document(&app).await;
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    let listed = operations(&document);
    // The areas the router is built from, each present: a document that lost one would pass
    // the probe below without it.
    for path in [
        "/api/create-account",
        "/api/v1/signup-decisions",
        "/api/v1/signup-decisions/{decisionId}",
        "/api/accounts",
        "/api/attempts",
        "/api/webhook-deliveries",
        "/api/webhooks/fingerprint",
        "/health",
        "/metrics",
        "/openapi.json",
        "/docs/",
        "/demo/identify",
    ] {
        assert!(
            listed.iter().any(|(_, p)| p == path),
            "{path} is not in the document: {listed:?}"
        );
    }
    for (method, path) in &listed {
        let url = format!("{}{}", app.address, concrete(path));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.http.request(method.clone(), &url).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status != 404 && status != 405,
            "{method} {path} is listed but answered {status}: {body}"
        );
    }
}

/// Outside demo mode the demo routes are neither served nor listed: the document is the
/// router's.
#[tokio::test]
async fn the_document_lists_the_demo_routes_only_where_they_are_served() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let paths: Vec<String> = operations(&document).into_iter().map(|(_, p)| p).collect();
    for path in ["/", "/demo/identify", "/demo/personas"] {
        assert!(!paths.iter().any(|p| p == path), "{path} listed: {paths:?}");
        let response = app.get(path, None).await;
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
    assert!(paths.iter().any(|p| p == "/api/create-account"));
}

/// Every kind of error answer, made here with its own list: the match has no wildcard, so a new
/// `ApiError` variant does not compile until it is added, and so checked against the document.
fn every_error() -> Vec<ApiError> {
    let refused = |code| {
        ApiError::Refused(PolicyRefusal {
            code,
            visitor_id: None,
            bot: None,
            identity: None,
            retry_after_secs: None,
        })
    };
    // Every code a rule can refuse with, read from an evaluation: every rule records one check.
    let rule_codes: BTreeSet<&'static str> = signup_guard::policy::evaluate(
        &signup_guard::policy::Policy::default(),
        &fingerprint::Event::default(),
        &signup_guard::policy::Context::default(),
    )
    .checks
    .iter()
    .map(|c| c.code)
    .collect();
    assert!(rule_codes.len() > 20, "{rule_codes:?}");
    let mut errors = vec![
        ApiError::InvalidRequest("x".into()),
        ApiError::RequestIdNotFound,
        ApiError::InvalidSealedResult("x".into()),
        ApiError::UsernameTaken,
        ApiError::RequestIdUsed,
        ApiError::RateLimited(1),
        ApiError::RateLimitUnavailable,
        ApiError::PayloadTooLarge(1),
        ApiError::FingerprintUnavailable(1),
        ApiError::FingerprintMisconfigured,
        ApiError::DatabaseUnavailable,
        ApiError::Timeout,
        ApiError::Unauthorized,
        ApiError::ApiUnauthorized,
        ApiError::MetricsUnauthorized,
        ApiError::InvalidSignature,
        ApiError::NotFound,
        ApiError::MethodNotAllowed,
        ApiError::Internal(anyhow::anyhow!("x")),
    ];
    errors.extend(rule_codes.into_iter().map(refused));
    for error in &errors {
        match error {
            ApiError::InvalidRequest(_)
            | ApiError::RequestIdNotFound
            | ApiError::InvalidSealedResult(_)
            | ApiError::Refused(_)
            | ApiError::UsernameTaken
            | ApiError::RequestIdUsed
            | ApiError::RateLimited(_)
            | ApiError::RateLimitUnavailable
            | ApiError::PayloadTooLarge(_)
            | ApiError::FingerprintUnavailable(_)
            | ApiError::FingerprintMisconfigured
            | ApiError::DatabaseUnavailable
            | ApiError::Timeout
            | ApiError::Unauthorized
            | ApiError::ApiUnauthorized
            | ApiError::MetricsUnauthorized
            | ApiError::InvalidSignature
            | ApiError::NotFound
            | ApiError::MethodNotAllowed
            | ApiError::Internal(_) => {}
        }
    }
    errors
}

/// The codes a response (or a `$ref` to one) lists in its JSON body's `code` enum.
fn codes_of(document: &Value, response: &Value) -> Vec<String> {
    let response = match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .unwrap_or_else(|| panic!("a response reference: {reference}"));
            &document["components"]["responses"][name]
        }
        None => response,
    };
    let code = &response["content"]["application/json"]["schema"]["properties"]["code"];
    code["enum"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_error_code_the_service_can_answer_is_in_the_document_under_its_status() {
    let app = spawn_app_with(Options {
        demo: true,
        ..Options::default()
    })
    .await;
    let document = document(&app).await;
    // Status -> codes, from every operation's responses.
    let mut documented: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                let Ok(status) = status.parse::<u16>() else {
                    continue;
                };
                documented
                    .entry(status)
                    .or_default()
                    .extend(codes_of(&document, response));
            }
        }
    }
    // A 405 belongs to no operation: the document keeps it as a reusable response.
    let method_not_allowed =
        serde_json::json!({ "$ref": "#/components/responses/MethodNotAllowed" });
    documented
        .entry(405)
        .or_default()
        .extend(codes_of(&document, &method_not_allowed));

    let mut missing = Vec::new();
    for error in every_error() {
        let (status, code) = (error.status().as_u16(), error.code());
        if !documented
            .get(&status)
            .is_some_and(|codes| codes.contains(code))
        {
            missing.push(format!("{status} {code}"));
        }
    }
    assert!(
        missing.is_empty(),
        "answered but not in the document: {missing:?}\ndocumented: {documented:?}"
    );
    // And nothing documented that the service never answers.
    let answered: BTreeSet<(u16, &str)> = every_error()
        .iter()
        .map(|e| (e.status().as_u16(), e.code()))
        .collect();
    for (status, codes) in &documented {
        for code in codes {
            assert!(
                answered.contains(&(*status, code.as_str())),
                "documented but never answered: {status} {code}"
            );
        }
    }
}

/// The page size the document gives is the one the admin lists take.
#[tokio::test]
async fn the_documented_page_size_bounds_are_the_enforced_ones() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let mut checked = 0;
    for (method, path) in operations(&document) {
        let parameters = document["paths"][&path][method.to_lowercase()]["parameters"].clone();
        let Some(limit) = parameters
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "limit"))
        else {
            continue;
        };
        let (min, max) = (
            limit["schema"]["minimum"].as_i64().expect("a minimum"),
            limit["schema"]["maximum"].as_i64().expect("a maximum"),
        );
        for (limit, status) in [(min, 200), (max, 200), (min - 1, 400), (max + 1, 400)] {
            let response = app
                .get(&format!("{path}?limit={limit}"), Some(ADMIN_TOKEN))
                .await;
            assert_eq!(response.status().as_u16(), status, "{path}?limit={limit}");
        }
        checked += 1;
    }
    assert_eq!(
        checked, 6,
        "every admin list takes a limit: accounts, attempts, webhook deliveries, lists, actions, reviews"
    );
}
