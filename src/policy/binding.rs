//! Rules that bind the event to this request: an event identified on someone else's site,
//! or from another network, is not evidence about the person signing up now.

use fingerprint::Event;

use super::config::Policy;
use super::context::{parse_ip, Context};
use super::decision::Outcome;
use super::judge::{Judged, Says};
use super::origin;

/// Both the page Fingerprint ran on and the page that posted the form must be ours: the
/// first stops events harvested on other sites, the second stops cross-site posting.
/// Missing or unreadable inputs fire, since the check was asked for and cannot be met.
pub(crate) fn origins(policy: &Policy, event: &Event, ctx: &Context, says: Says) -> Judged {
    let allowed = &policy.allowed_origins;
    if allowed.is_empty() {
        return says.judged(Outcome::Disabled, || "allowed_origins is empty".into());
    }
    match origin_problem(event.url.as_deref(), ctx.origin.as_deref(), allowed, says) {
        Ok(seen) => (Outcome::Passed, seen),
        Err(problem) => (Outcome::Fired, problem),
    }
}

/// `Ok` with what passed (in words only where every rule says), or `Err` with the problem.
fn origin_problem(
    url: Option<&str>,
    header: Option<&str>,
    allowed: &[String],
    says: Says,
) -> Result<String, String> {
    let url = url.ok_or("event has no page URL")?;
    let page = origin::normalize(url).ok_or_else(|| format!("page URL {url:?} has no origin"))?;
    if !origin::is_allowed(&page, allowed) {
        return Err(format!("page origin {page} is not in allowed_origins"));
    }
    let Some(header) = header else {
        return Ok(says.not_fired(|| format!("page origin {page}; no Origin header")));
    };
    match origin::normalize(header) {
        Some(req) if origin::is_allowed(&req, allowed) => {
            Ok(says.not_fired(|| format!("page origin {page}; Origin {req}")))
        }
        _ => Err(format!(
            "request Origin {header:?} is not in allowed_origins"
        )),
    }
}

/// Exact address equality after canonical parsing. An unknown address on either side fires:
/// failing open would let a stripped field switch the check off.
pub(crate) fn ip(policy: &Policy, event: &Event, ctx: &Context, says: Says) -> Judged {
    if !policy.ip_binding {
        return says.judged(Outcome::Disabled, || "ip_binding = false".into());
    }
    let raw = event.ip.as_deref().unwrap_or("");
    let client = ctx.client_ip.map(|ip| ip.to_canonical());
    match (parse_ip(raw), client) {
        (Some(seen), Some(client)) => says.judge(seen != client, || {
            format!("event IP {seen}, request IP {client}")
        }),
        (None, _) => (
            Outcome::Fired,
            format!("event IP {raw:?} is missing or unreadable"),
        ),
        (_, None) => (Outcome::Fired, "request IP unknown".into()),
    }
}
