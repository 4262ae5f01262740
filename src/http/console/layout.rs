//! The frame of every page: head, navigation, the analyst's name and sign-out.

use super::session::Session;
use maud::{html, Markup, DOCTYPE};

/// The console's sections, in navigation order: (path, name).
const NAV: [(&str, &str); 7] = [
    ("/console", "Overview"),
    ("/console/attempts", "Attempts"),
    ("/console/reviews", "Review queue"),
    ("/console/lists", "Lists"),
    ("/console/policy", "Policy"),
    ("/console/deliveries", "Deliveries"),
    ("/docs", "API docs"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · signup-guard console" }
            link rel="icon" href="/console/favicon.svg" type="image/svg+xml";
            link rel="stylesheet" href="/console/console.css";
            script src="/console/console.js" defer {}
        }
    }
}

/// A page without navigation: sign-in and errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { div.content { (body) } }
        }
    }
}

/// A console page: `active` is the navigation entry it belongs to.
pub fn page(session: &Session, active: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" { "signup-guard" }
                    nav aria-label="Console" {
                        ul {
                            @for (path, name) in NAV {
                                li {
                                    @if path == active {
                                        a href=(path) aria-current="page" { (name) }
                                    } @else {
                                        a href=(path) { (name) }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        @if session.demo {
                            span.badge.demo title="Demo mode: no admin token is set, anyone can act" { "Demo mode · signed in as demo" }
                        } @else {
                            span { "Signed in as " strong { (session.analyst.0) } }
                        }
                        form method="post" action="/console/logout" {
                            (csrf(session))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main.content tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// The hidden field every form carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A verdict as a coloured badge (with its word, never colour alone).
pub fn verdict(verdict: &str) -> Markup {
    let class = match verdict {
        "allow" | "created" | "active" | "delivered" | "legit" => "ok",
        "review" | "pending" => "warn",
        "block" | "banned" | "failed" | "fraud" => "bad",
        _ => "muted",
    };
    html! { span class={ "badge " (class) } { (verdict) } }
}

/// A short message after a form, from a fixed set (never text from the address bar).
pub fn notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("approved") => "Account approved.",
        Some("banned") => "Account banned.",
        Some("banned_denylisted") => "Account banned and its device deny-listed.",
        Some("labelled") => "Label recorded.",
        Some("added") => "Entry added. It applies on every instance within a few seconds.",
        Some("expired") => "Entry expired.",
        Some("removed") => "Entry removed.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}
