//! Usernames that look the same are one name: over HTTP, on both backends. Every signup comes
//! from a device of its own, so the device limit is never what refuses.

use crate::common::*;
use fingerprint::simulator::Persona;

crate::common::both_backends!(
    a_username_that_looks_the_same_as_a_taken_one_is_409_username_taken,
    a_username_with_a_bidirectional_control_is_400_invalid_request_naming_it,
    a_username_of_invisible_characters_is_400_invalid_request,
);

async fn app_on(db: &TestDb) -> TestApp {
    spawn_app_with(Options {
        database_url: Some(db.url.clone()),
        ..Options::default()
    })
    .await
}

/// Signs up from a new device.
async fn sign_up(app: &TestApp, username: &str) -> (u16, serde_json::Value) {
    let event = app.identify(Persona::NewDevice);
    app.signup_as(&event.request_id, username).await
}

async fn a_username_that_looks_the_same_as_a_taken_one_is_409_username_taken(db: &TestDb) {
    let app = app_on(db).await;
    // Each of these pairs made two accounts when usernames were only lower-cased.
    let pairs = [
        ("ΟΔΟΣ", "οδοσ", "Greek capitals, and a final sigma"),
        ("straße", "STRASSE", "ß is ss"),
        ("admin", "ad\u{200B}min", "zero-width space"),
        ("admin", "ad\u{200D}min", "zero-width joiner"),
        ("admin", "\u{FEFF}admin", "byte order mark"),
        ("admin", "ad\u{00AD}min", "soft hyphen"),
        ("admin", "ＡＤＭＩＮ", "fullwidth letters"),
        ("admin", "\u{0430}dmin", "a Cyrillic а"),
        ("caf\u{00E9}", "cafe\u{0301}", "composed, then decomposed é"),
        ("\u{FB01}le", "file", "the ligature ﬁ"),
    ];
    let mut holders = 0;
    for (first, second, why) in pairs {
        let (status, body) = sign_up(&app, first).await;
        if status == 200 {
            holders += 1;
        } else {
            assert_error(status, &body, 409, "username_taken");
        }
        let (status, body) = sign_up(&app, second).await;
        assert_eq!(status, 409, "{why}: {first:?} then {second:?}: {body}");
        assert_error(status, &body, 409, "username_taken");
    }
    assert_eq!(holders, 5, "ΟΔΟΣ, straße, admin, café and ﬁle");
    assert_eq!(app.accounts().await, 5);
}

async fn a_username_with_a_bidirectional_control_is_400_invalid_request_naming_it(db: &TestDb) {
    let app = app_on(db).await;
    let controls = [
        '\u{202E}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
    ];
    for control in controls {
        let username = format!("admin{control}gpj.exe");
        let (status, body) = sign_up(&app, &username).await;
        assert_error(status, &body, 400, "invalid_request");
        let message = body["error"].as_str().unwrap();
        let named = format!("U+{:04X}", u32::from(control));
        assert!(
            message.contains("bidirectional control") && message.contains(&named),
            "{username:?}: {body}"
        );
    }
    assert_eq!(app.accounts().await, 0);
}

async fn a_username_of_invisible_characters_is_400_invalid_request(db: &TestDb) {
    let app = app_on(db).await;
    for username in ["\u{200B}", "\u{FEFF}\u{200D} \u{00AD}"] {
        let (status, body) = sign_up(&app, username).await;
        assert_error(status, &body, 400, "invalid_request");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("visible character"),
            "{username:?}: {body}"
        );
    }
    assert_eq!(app.accounts().await, 0);
}
