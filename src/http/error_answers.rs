//! The error answers as the OpenAPI document shows them: one reusable response per status,
//! whose `code` lists exactly the codes [`ApiError`] answers with that status. The codes come
//! from [`ApiError::every_kind`] and the body from [`ErrorBody`], so neither a new code nor a
//! new field can be missing from the document.

use super::error::ErrorBody;
use super::ApiError;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, RefOr, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToResponse};

/// The codes answered with `status`, sorted, each once.
fn codes_for(status: u16) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = ApiError::every_kind()
        .iter()
        .filter(|kind| kind.status().as_u16() == status)
        .map(ApiError::code)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// [`ErrorBody`]'s schema with `code` narrowed to the codes of `status`.
fn body_for(status: u16) -> RefOr<Schema> {
    let mut body = ErrorBody::schema();
    if let RefOr::T(Schema::Object(object)) = &mut body {
        let code = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes_for(status)))
            .description(Some("What went wrong, for code: stable."));
        object.properties.insert("code".into(), code.into());
    }
    body
}

fn answer(status: u16, description: &str, headers: &[(&str, Header)]) -> Response {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(body_for(status))));
    for (name, header) in headers {
        response = response.header(*name, header.clone());
    }
    response.build()
}

fn retry_after() -> Header {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        ))
        .description(Some("Seconds to wait before trying again."))
        .build()
}

fn www_authenticate() -> Header {
    HeaderBuilder::new()
        .description(Some("`Bearer`: the scheme the route takes."))
        .build()
}

fn allow() -> Header {
    HeaderBuilder::new()
        .description(Some("The methods the path takes, such as `GET`."))
        .build()
}

/// Declares one reusable error response per status; `#[utoipa::path]` names them with
/// `(status = 400, response = BadRequest)`, and `openapi::ApiDoc` registers them.
macro_rules! error_answers {
    ($($name:ident = $status:literal, $description:literal, [$($header:literal => $value:expr),*];)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let headers: &[(&str, Header)] = &[$(($header, $value)),*];
                (stringify!($name), answer($status, $description, headers).into())
            }
        }
    )*};
}

error_answers! {
    BadRequest = 400, "The request broke a rule; the message names the field, parameter or rule.", [];
    Unauthorized = 401, "No valid credentials for this route.", ["WWW-Authenticate" => www_authenticate()];
    Forbidden = 403, "Refused by the fraud policy: the code is the first rule, in the policy's order, with the strongest action.", [];
    NotFound = 404, "No such resource, or the route is turned off by its settings.", [];
    MethodNotAllowed = 405, "The path does not take this method; `Allow` lists those it takes. Any path of this document may answer it.", ["Allow" => allow()];
    Conflict = 409, "The username or the requestId is already used.", [];
    PayloadTooLarge = 413, "The body is larger than MAX_BODY_BYTES.", [];
    TooManyRequests = 429, "The device has its accounts (`device_limit`, with `visitorId` and the `identity` they were found by), a velocity rule's threshold was passed (`velocity_*`; `Retry-After` until the window ends for the attempt rules), or this client IP or device sent too many signups (`rate_limited`).", ["Retry-After" => retry_after()];
    InternalError = 500, "A fault of the service or of its Fingerprint configuration; the details are in its log only.", [];
    Unavailable = 503, "A dependency failed or the request ran out of time; nothing was created.", ["Retry-After" => retry_after()];
}
