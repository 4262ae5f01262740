//! The velocity rules over real HTTP, on both backends: each at its threshold, each exact
//! under 20 concurrent signups, recorded for replay, and costing nothing while off.

use crate::common::*;
use fingerprint::simulator::{IdentifyRequest, Persona};
use serde_json::{json, Value};
use signup_guard::policy::Policy;

both_backends!(
    velocity_ip_counts_every_attempt_from_one_address,
    velocity_subnet_counts_a_24_and_a_64,
    velocity_visitor_counts_one_device_s_attempts,
    velocity_email_domain_counts_accounts_at_a_domain,
    velocity_asn_counts_accounts_from_one_network,
    the_decision_api_respects_the_account_rules_and_a_release_frees_a_place,
    twenty_concurrent_signups_against_a_threshold_of_five_let_exactly_five_through,
    an_account_rule_set_to_review_holds_exactly_the_signups_past_its_threshold,
    with_every_rule_off_nothing_is_counted,
);

async fn app(db: &TestDb, policy: Policy) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        policy,
        ..Options::default()
    })
    .await
}

/// A new device's signup from `ip` (the trusted proxy's `X-Forwarded-For`).
async fn from(app: &TestApp, ip: &str, request: IdentifyRequest, username: &str) -> Answer {
    let event = app.identify_with(request);
    signup_from(&app.http, &app.address, &event.request_id, username, ip).await
}

fn new_device() -> IdentifyRequest {
    IdentifyRequest::default()
}

fn assert_created(answer: &Answer, why: &str) {
    assert_eq!(answer.status, Some(200), "{why}: {}", answer.body);
}

/// A 429 with the rule's code, and `Retry-After` exactly when the rule's window is fixed.
fn assert_refused(answer: &Answer, code: &str, retry_after: bool) {
    assert_error(answer.status.unwrap_or(0), &answer.body, 429, code);
    match (&answer.retry_after, retry_after) {
        (Some(seconds), true) => {
            let seconds: u64 = seconds.parse().unwrap();
            assert!((1..=3600).contains(&seconds), "{seconds}");
        }
        (None, false) => {}
        (got, _) => panic!("{code}: Retry-After {got:?}"),
    }
}

/// The context the latest attempt's decision saw.
async fn last_context(app: &TestApp) -> Value {
    let attempt = app.attempts().await.into_iter().next().expect("an attempt");
    serde_json::to_value(attempt.signals.expect("a snapshot").context).unwrap()
}

async fn velocity_ip_counts_every_attempt_from_one_address(db: &TestDb) {
    let app = app(db, velocity_policy("ip", 3)).await;
    let bot = IdentifyRequest {
        persona: Persona::BadBot,
        ..IdentifyRequest::default()
    };
    let refused = from(&app, "203.0.113.7", bot, &username()).await;
    assert_eq!(
        refused.code(),
        "bot_detected",
        "a refused attempt counts too"
    );
    for n in 2..=3 {
        assert_created(
            &from(&app, "203.0.113.7", new_device(), &username()).await,
            &format!("attempt {n}"),
        );
    }
    let fourth = from(&app, "203.0.113.7", new_device(), &username()).await;
    assert_refused(&fourth, "velocity_ip", true);
    let context = last_context(&app).await;
    assert_eq!(
        context["velocity"],
        json!({"ip": {"value": "203.0.113.7", "count": 4}})
    );
    let elsewhere = from(&app, "203.0.113.8", new_device(), &username()).await;
    assert_created(&elsewhere, "another address");
    assert_eq!(app.accounts().await, 3);
}

async fn velocity_subnet_counts_a_24_and_a_64(db: &TestDb) {
    let app = app(db, velocity_policy("subnet", 2)).await;
    for (first, second, third, elsewhere) in [
        ("203.0.113.1", "203.0.113.2", "203.0.113.250", "203.0.114.1"),
        (
            "2001:db8::1",
            "2001:db8::2",
            "2001:db8::ffff:1",
            "2001:db8:0:1::1",
        ),
    ] {
        for ip in [first, second] {
            assert_created(&from(&app, ip, new_device(), &username()).await, ip);
        }
        let refused = from(&app, third, new_device(), &username()).await;
        assert_refused(&refused, "velocity_subnet", true);
        let context = last_context(&app).await;
        assert_eq!(context["velocity"]["subnet"]["count"], 3, "{context}");
        assert_created(
            &from(&app, elsewhere, new_device(), &username()).await,
            elsewhere,
        );
    }
    let context = last_context(&app).await;
    assert_eq!(
        context["velocity"]["subnet"]["value"], "2001:db8:0:1::/64",
        "{context}"
    );
}

async fn velocity_visitor_counts_one_device_s_attempts(db: &TestDb) {
    let app = app(db, velocity_policy("visitor", 2)).await;
    let device = || IdentifyRequest {
        persona: Persona::ReturningDevice,
        visitor_id: Some("BusyDevice".into()),
        ..IdentifyRequest::default()
    };
    for n in 1..=2 {
        let ip = format!("198.51.100.{n}");
        assert_created(
            &from(&app, &ip, device(), &username()).await,
            &format!("attempt {n}"),
        );
    }
    let third = from(&app, "198.51.100.3", device(), &username()).await;
    assert_refused(&third, "velocity_visitor", true);
    assert_eq!(
        last_context(&app).await["velocity"]["visitor"],
        json!({"value": "BusyDevice", "count": 3})
    );
    let other = from(&app, "198.51.100.4", new_device(), &username()).await;
    assert_created(&other, "another device");
}

async fn velocity_email_domain_counts_accounts_at_a_domain(db: &TestDb) {
    let app = app(db, velocity_policy("email_domain", 2)).await;
    for (n, name) in ["ann@burst.example.org", "bob@burst.example.org"]
        .iter()
        .enumerate()
    {
        let ip = format!("198.51.100.{n}");
        assert_created(&from(&app, &ip, new_device(), name).await, name);
    }
    let third = from(&app, "198.51.100.9", new_device(), "cy@BURST.example.org").await;
    assert_refused(&third, "velocity_email_domain", false);
    assert_eq!(
        last_context(&app).await["velocity"]["emailDomain"],
        json!({"value": "burst.example.org", "count": 2})
    );
    let other = from(&app, "198.51.100.10", new_device(), "cy@other.example.org").await;
    assert_created(&other, "another domain");
    let not_email = from(&app, "198.51.100.11", new_device(), "plain-name").await;
    assert_created(&not_email, "a username that is no address");
}

async fn velocity_asn_counts_accounts_from_one_network(db: &TestDb) {
    let app = app(db, velocity_policy("asn", 2)).await;
    let on = |asn: Option<&str>| IdentifyRequest {
        asn: asn.map(str::to_owned),
        ..IdentifyRequest::default()
    };
    for n in 1..=2 {
        let ip = format!("198.51.100.{n}");
        assert_created(
            &from(&app, &ip, on(Some("64500")), &username()).await,
            &format!("account {n}"),
        );
    }
    let third = from(&app, "198.51.100.3", on(Some("64500")), &username()).await;
    assert_refused(&third, "velocity_asn", false);
    assert_eq!(
        last_context(&app).await["velocity"]["asn"],
        json!({"value": "64500", "count": 2})
    );
    assert_created(
        &from(&app, "198.51.100.4", on(Some("64501")), &username()).await,
        "another ASN",
    );
    assert_created(
        &from(&app, "198.51.100.5", on(None), &username()).await,
        "an event without one",
    );
}

/// Reserved slots count toward the account rules as accounts do, and a released one no
/// longer does.
async fn the_decision_api_respects_the_account_rules_and_a_release_frees_a_place(db: &TestDb) {
    let app = app(db, velocity_policy("email_domain", 2)).await;
    let decide = |n: usize| {
        let event = app.identify(Persona::NewDevice);
        let body = json!({
            "requestId": event.request_id,
            "username": format!("user{n}@slots.example.org"),
            "accountRef": format!("ref-{n}"),
        });
        let request = app
            .http
            .post(format!("{}/api/v1/signup-decisions", app.address))
            .bearer_auth(API_TOKEN)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let first = decide(1).await;
    assert_eq!(first["decision"], "allow", "{first}");
    assert_eq!(decide(2).await["decision"], "allow");
    let third = decide(3).await;
    assert_eq!(third["decision"], "block", "{third}");
    assert_eq!(third["codes"], json!(["velocity_email_domain"]));
    let released = app
        .http
        .delete(format!(
            "{}/api/v1/signup-decisions/{}",
            app.address,
            first["decisionId"].as_str().unwrap()
        ))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    assert_eq!(decide(4).await["decision"], "allow");
}

/// Each rule in turn: 20 signups at once against a threshold of 5. Attempts get the counts 1
/// to 20; accounts are counted again under the write's lock. The rules count different things,
/// so they share the database without counting each other's signups.
async fn twenty_concurrent_signups_against_a_threshold_of_five_let_exactly_five_through(
    db: &TestDb,
) {
    for (done, rule) in VELOCITY_RULES.into_iter().enumerate() {
        let app = app(db, velocity_policy(rule, 5)).await;
        let answers =
            velocity_burst(&app.simulator, std::slice::from_ref(&app.address), rule, 20).await;
        assert_exactly_through(&answers, 5, &format!("velocity_{rule}"));
        assert_eq!(app.accounts().await, 5 * (done as i64 + 1), "{rule}");
    }
    assert_no_half_written_rows(&db.raw().await).await;
}

/// Judged again under the write's lock, a review is as exact as a block: of 20 signups at once
/// at one domain, the first 5 are created and the other 15 held for review.
async fn an_account_rule_set_to_review_holds_exactly_the_signups_past_its_threshold(db: &TestDb) {
    let mut policy = velocity_policy("email_domain", 5);
    policy.velocity.email_domain.action = signup_guard::policy::Action::Review;
    let app = app(db, policy).await;
    let answers = velocity_burst(
        &app.simulator,
        std::slice::from_ref(&app.address),
        "email_domain",
        20,
    )
    .await;
    let status = |s: &str| answers.iter().filter(|a| a.body["status"] == s).count();
    assert_eq!(
        (status("created"), status("review")),
        (5, 15),
        "{answers:?}"
    );
    assert!(answers
        .iter()
        .filter(|a| a.body["status"] == "review")
        .all(|a| a.body["codes"] == json!(["velocity_email_domain"])));
    let pool = db.raw().await;
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) AS n FROM accounts WHERE status = 'review'"
        )
        .await,
        15
    );
}

async fn with_every_rule_off_nothing_is_counted(db: &TestDb) {
    let app = app(db, Policy::default()).await;
    for _ in 0..3 {
        let event = app.identify(Persona::NewDevice);
        assert_eq!(app.signup(&event.request_id).await.0, 200);
    }
    let bot = app.identify(Persona::BadBot);
    assert_eq!(app.signup(&bot.request_id).await.0, 403);
    let pool = db.raw().await;
    assert_eq!(
        count(&pool, "SELECT COUNT(*) AS n FROM velocity_counters").await,
        0
    );
    let context = last_context(&app).await;
    assert!(context.get("velocity").is_none(), "{context}");
}
