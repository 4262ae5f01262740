//! Turning a policy refusal into the answer the client gets.

use crate::http::ApiError;
use crate::policy::Decision;
use axum::http::StatusCode;
use fingerprint::Event;
use serde_json::{json, Map};

/// The refusal named by the decision's first finding in the policy's fixed order.
pub fn from_decision(decision: &Decision, event: &Event) -> ApiError {
    let Some(primary) = decision.primary() else {
        return ApiError::Internal(anyhow::anyhow!("a block verdict without a finding"));
    };
    match primary.code {
        "device_limit" => device_limit(event.visitor_id.as_deref().unwrap_or_default()),
        "bot_detected" => {
            let mut extra = Map::new();
            let bot = event.bot.as_ref().map(|b| b.as_str()).unwrap_or("unknown");
            extra.insert("botResult".into(), json!(bot));
            refused(
                StatusCode::FORBIDDEN,
                "bot_detected",
                "Bot detected. Failed to create account.",
                extra,
            )
        }
        code => refused(
            StatusCode::FORBIDDEN,
            code,
            &format!("Signup refused by the fraud policy ({code})."),
            Map::new(),
        ),
    }
}

/// 429 `device_limit`.
pub fn device_limit(visitor_id: &str) -> ApiError {
    let mut extra = Map::new();
    extra.insert("visitorId".into(), json!(visitor_id));
    refused(
        StatusCode::TOO_MANY_REQUESTS,
        "device_limit",
        "This device already has the allowed number of accounts. Failed to create account.",
        extra,
    )
}

/// 403 `no_identification`: the event identifies no device.
pub fn no_identification() -> ApiError {
    refused(
        StatusCode::FORBIDDEN,
        "no_identification",
        "The identification event carries no device identity.",
        Map::new(),
    )
}

fn refused(
    status: StatusCode,
    code: &'static str,
    message: &str,
    extra: Map<String, serde_json::Value>,
) -> ApiError {
    ApiError::Refused {
        status,
        code,
        message: message.to_owned(),
        extra,
    }
}
