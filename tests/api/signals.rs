//! Every Smart Signal rule that no persona stands for, end to end: the simulator raises the
//! signal on a new device, the service answers through real HTTP, and the audit trail keeps
//! the finding. Expectations come from the documented defaults (`signup-guard.example.toml`).

use crate::common::*;
use crate::policy::{assert_accepted, attempt_for, fixture};
use fingerprint::simulator::{ExtraSignal, IdentifyRequest};
use fingerprint::ApiVersion;
use serde_json::Value;

/// (signal, code it fires, answer under the default policy: `created`, `review` or the 403 code)
#[rustfmt::skip]
const CASES: &[(ExtraSignal, &str, &str)] = &[
    (ExtraSignal::DeveloperTools,     "developer_tools",      "created"),
    (ExtraSignal::PrivacySettings,    "privacy_settings",     "created"),
    (ExtraSignal::HighActivity,       "high_activity",        "review"),
    (ExtraSignal::LocationSpoofing,   "location_spoofing",    "review"),
    (ExtraSignal::MitmAttack,         "mitm_attack",          "mitm_attack"),
    (ExtraSignal::RootApps,           "rooted_device",        "review"),
    (ExtraSignal::Jailbroken,         "rooted_device",        "review"),
    (ExtraSignal::Emulator,           "emulator",             "review"),
    (ExtraSignal::ClonedApp,          "cloned_app",           "cloned_app"),
    (ExtraSignal::Frida,              "frida_detected",       "frida_detected"),
    (ExtraSignal::IpBlocklist,        "ip_blocklisted",       "ip_blocklisted"),
    (ExtraSignal::RemoteControl,      "remote_control",       "review"),
    (ExtraSignal::HighVelocity,       "velocity_exceeded",    "review"),
    (ExtraSignal::RecentFactoryReset, "recent_factory_reset", "created"),
    (ExtraSignal::DatacenterIp,       "datacenter_ip",        "review"),
    (ExtraSignal::ProxyMlScore,       "proxy_ml_score",       "review"),
    (ExtraSignal::AntiDetectBrowser,  "anti_detect_browser",  "anti_detect_browser"),
    (ExtraSignal::RareDevice,         "rare_device",          "created"),
];

async fn signup_with(app: &TestApp, signal: ExtraSignal) -> (String, u16, Value) {
    let event = app.identify_with(IdentifyRequest {
        signals: vec![signal],
        ..IdentifyRequest::default()
    });
    let (status, body) = app.signup(&event.request_id).await;
    (event.event_id, status, body)
}

/// Remote control is a v3-only signal, so the table runs on v3, where every signal exists.
async fn v3_app(options: Options) -> TestApp {
    spawn_app_with(Options {
        api_version: ApiVersion::V3,
        ..options
    })
    .await
}

#[tokio::test]
async fn every_other_smart_signal_gets_its_documented_default_answer() {
    let covered: Vec<ExtraSignal> = CASES.iter().map(|c| c.0).collect();
    assert_eq!(
        covered,
        ExtraSignal::ALL,
        "the table covers every signal once"
    );
    for &(signal, code, answer) in CASES {
        let app = v3_app(Options::default()).await;
        let (event_id, status, body) = signup_with(&app, signal).await;
        let attempt = attempt_for(&app, &event_id).await;
        assert_eq!(attempt.codes, vec![code], "{signal:?}: only it fires");
        match answer {
            "created" | "review" => {
                assert_accepted(status, &body, answer, &[code]);
                assert_eq!(
                    attempt.verdict,
                    if answer == "review" {
                        "review"
                    } else {
                        "allow"
                    }
                );
            }
            refusal => {
                assert_error(status, &body, 403, refusal);
                assert_eq!(attempt.verdict, "block", "{signal:?}");
            }
        }
    }
}

#[tokio::test]
async fn under_a_policy_file_that_blocks_them_each_signal_refuses_on_its_own_code() {
    for &(signal, code, _) in CASES {
        let app = v3_app(Options {
            policy: fixture("every_signal_blocks.toml"),
            ..Options::default()
        })
        .await;
        let (event_id, status, body) = signup_with(&app, signal).await;
        assert_error(status, &body, 403, code);
        assert_eq!(app.accounts().await, 0, "{signal:?}");
        assert_eq!(attempt_for(&app, &event_id).await.codes, vec![code]);
    }
}

#[tokio::test]
async fn server_api_v4_carries_every_signal_but_remote_control() {
    let app = spawn_app_with(Options {
        policy: fixture("every_signal_blocks.toml"),
        ..Options::default()
    })
    .await;
    for &(signal, code, _) in CASES {
        let (event_id, status, body) = signup_with(&app, signal).await;
        if signal == ExtraSignal::RemoteControl {
            assert_eq!(status, 200, "v4 has no remote-control signal: {body}");
            assert!(attempt_for(&app, &event_id).await.codes.is_empty());
        } else {
            assert_error(status, &body, 403, code);
        }
    }
}

/// A review is held on the account itself, where the admin listing shows it.
#[tokio::test]
async fn a_review_verdict_marks_the_created_account_for_review() {
    let app = spawn_app().await;
    let (_, status, body) = signup_with(&app, ExtraSignal::HighActivity).await;
    assert_accepted(status, &body, "review", &["high_activity"]);
    let (_, status, body) = signup_with(&app, ExtraSignal::DeveloperTools).await;
    assert_accepted(status, &body, "created", &["developer_tools"]);
    let listed: Value = app
        .get("/api/accounts", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let review: Vec<bool> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["review"].as_bool().unwrap())
        .collect();
    assert_eq!(review, vec![false, true], "newest first: {listed}");
}
