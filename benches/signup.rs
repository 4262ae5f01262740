//! The service's own CPU on one signup, without I/O: reading the body, the password strength
//! check, the policy on a full v4 event, the snapshot the audit trail stores, and the
//! username's key and skeleton.
//!
//!   cargo bench --bench signup
//!
//! The event is the fingerprint crate's made-up full v4 document (every Smart Signal
//! present, a bad bot), so `evaluate` sees the worst-case input. The load test in
//! `bench/flood.sh` measures the whole path with the network and the database.

use divan::{black_box, Bencher};
use signup_guard::password::PasswordPolicy;
use signup_guard::policy::{Action, Context, Decision, Policy, Snapshot};
use signup_guard::signup::request;

const EVENT_V4: &[u8] = include_bytes!("../crates/fingerprint/benches/event_v4.json");

/// A signup as `bench/flood.sh` sends it.
const BODY: &[u8] = br#"{"requestId":"1731412800123.qW3rTy","username":"b0-1731412800-42@example.org","password":"correct horse battery staple"}"#;
const USERNAME: &str = "b0-1731412800-42@example.org";
const PASSPHRASE: &str = "correct horse battery staple";

fn snapshot() -> Snapshot {
    let event = fingerprint::Event::from_v4_json(EVENT_V4).expect("event_v4.json parses");
    let now_ms = event.timestamp_ms.expect("the event has a timestamp") + 1_000;
    Snapshot {
        event,
        context: Context {
            client_ip: Some("203.0.113.42".parse().unwrap()),
            origin: Some("https://signup.test.invalid".into()),
            now_ms,
            device_accounts: 0,
            ..Context::default()
        },
    }
}

fn main() {
    // Refuse to time error paths: each input must take the path a real signup takes.
    request::parse(BODY).expect("the body parses");
    let decision = snapshot().decide(&Policy::default());
    assert_eq!(
        decision.verdict,
        Action::Block,
        "the bench event is a bad bot"
    );
    assert!(decision.codes().contains(&"bot_detected"));
    PasswordPolicy::default()
        .check(PASSPHRASE, USERNAME)
        .expect("the passphrase is strong enough");
    divan::main();
}

#[divan::bench]
fn parse_signup_body(bencher: Bencher) {
    bencher
        .counter(divan::counter::BytesCount::new(BODY.len()))
        .bench(|| request::parse(black_box(BODY)));
}

/// Every rule of the default policy, on the full event (fresh, from a bad bot): with every
/// rule's input in words (`explain`, the console), and with the findings' alone (a signup).
#[divan::bench(args = ["every_rule", "findings"])]
fn evaluate_default_policy(bencher: Bencher, words: &str) {
    let snapshot = snapshot();
    let policy = Policy::default();
    let every = words == "every_rule";
    bencher.bench(|| {
        let snapshot = black_box(&snapshot);
        if every {
            snapshot.evaluate(black_box(&policy))
        } else {
            snapshot.decide(black_box(&policy))
        }
    });
}

/// The audit trail's copy of what the decision saw.
#[divan::bench]
fn snapshot_to_json(bencher: Bencher) {
    let snapshot = snapshot();
    bencher.bench(|| black_box(&snapshot).to_json());
}

/// zxcvbn on the passphrase every bench signup sends, and on a 128-character password (the
/// longest the default policy accepts), its worst case.
#[divan::bench(args = ["passphrase", "max_length"])]
fn password_check(bencher: Bencher, which: &str) {
    let policy = PasswordPolicy::default();
    let password = match which {
        "passphrase" => PASSPHRASE.to_owned(),
        _ => "Tr0ub4dor&3-correct-horse-battery-staple-"
            .repeat(4)
            .chars()
            .take(policy.max_length)
            .collect(),
    };
    bencher.bench(|| policy.check(black_box(&password), black_box(USERNAME)));
}

/// What a signup that reaches account creation pays to compare its username: the key
/// (NFKC_Casefold) and the UTS #39 skeleton, on the ASCII name every bench signup sends and on
/// the longest name accepted, in mixed scripts with a ligature and a fullwidth letter (NFKC
/// expands both).
#[divan::bench(args = ["ascii", "max_length_mixed"])]
fn username_key_and_skeleton(bencher: Bencher, which: &str) {
    let username: String = match which {
        "ascii" => USERNAME.to_owned(),
        _ => "Straße-ｄéjà-\u{FB01}le-Ελλάδα-москва-"
            .repeat(16)
            .chars()
            .take(signup_guard::username::MAX_CHARS)
            .collect(),
    };
    bencher.bench(|| {
        let key = signup_guard::username::key(black_box(&username));
        let skeleton = signup_guard::username::skeleton(&key);
        (key, skeleton)
    });
}

/// What every verified signup pays, minus I/O: the body, the event, the policy and the
/// snapshot the audit trail stores.
fn decide(policy: &Policy, context: &Context) -> (request::SignupRequest, Decision, String) {
    let signup = request::parse(black_box(BODY)).unwrap();
    let event = fingerprint::Event::from_v4_json(black_box(EVENT_V4)).unwrap();
    let snapshot = Snapshot {
        event,
        context: context.clone(),
    };
    let decision = snapshot.decide(policy);
    (signup, decision, snapshot.to_json())
}

/// The CPU of one refused signup end to end, minus I/O. A refusal never reaches the strength
/// check, which runs only for signups the policy lets through.
#[divan::bench]
fn refusal_cpu_path(bencher: Bencher) {
    let policy = Policy::default();
    let context = snapshot().context;
    bencher.bench(|| decide(&policy, &context));
}

/// What a signup that creates an account pays before its hash, minus I/O: the refusal's path,
/// then the strength check and the username's key and skeleton.
#[divan::bench]
fn new_signup_cpu_path(bencher: Bencher) {
    let policy = Policy::default();
    let passwords = PasswordPolicy::default();
    let context = snapshot().context;
    bencher.bench(|| {
        let (signup, decision, snapshot) = decide(&policy, &context);
        let strength = passwords.check(&signup.password, &signup.username);
        let key = signup_guard::username::key(&signup.username);
        let skeleton = signup_guard::username::skeleton(&key);
        (decision, snapshot, strength, key, skeleton)
    });
}
