//! Our own full v4 event (the benchmark's `benches/event_v4.json`), parsed and sealed: the
//! same paths as Fingerprint's fixtures, on every machine, `../shared` or not.

use fingerprint::sealed::{self, DecryptionKey};
use fingerprint::{BotResult, Event, IdentificationStatus};

const EVENT_V4: &[u8] = include_bytes!("../benches/event_v4.json");

#[test]
fn the_full_v4_event_parses_with_every_smart_signal() {
    let event = Event::from_v4_json(EVENT_V4).unwrap();
    assert_eq!(event.event_id, "1731412800123.qW3rTy");
    assert_eq!(event.visitor_id.as_deref(), Some("Zq8Lm2Xc4Vb6Nn0Pp1Rr"));
    assert_eq!(event.bot, Some(BotResult::Bad));
    assert_eq!(event.suspect_score, Some(7));
    assert_eq!(event.ip_blocklist.as_ref().unwrap().email_spam, Some(true));
    let events = event.velocity.as_ref().unwrap().events.as_ref().unwrap();
    assert_eq!(
        (events.m5, events.h1, events.h24),
        (Some(8), Some(31), Some(118))
    );
    assert_eq!(
        event.incremental_identification_status,
        Some(IdentificationStatus::Completed)
    );
    assert_eq!(event.factory_reset_ms, Some(0));
    let present = [
        event.vpn.is_some(),
        event.proxy.is_some(),
        event.tor.is_some(),
        event.tampering.is_some(),
        event.virtual_machine.is_some(),
        event.incognito.is_some(),
        event.developer_tools.is_some(),
        event.high_activity.is_some(),
        event.location_spoofing.is_some(),
        event.emulator.is_some(),
        event.simulator.is_some(),
        event.root_apps.is_some(),
        event.jailbroken.is_some(),
        event.frida.is_some(),
        event.cloned_app.is_some(),
        event.mitm_attack.is_some(),
        event.privacy_settings.is_some(),
        event.replayed.is_some(),
        event.high_recall_visitor_id.is_some(),
        event.source.is_some(),
        event.ip_info.is_some(),
        event.proxy_ml_score.is_some(),
        event.rare_device.is_some(),
    ];
    assert!(present.iter().all(|p| *p), "{present:?}");
}

#[test]
fn the_full_v4_event_survives_sealing_with_a_rotated_key() {
    let (old, new) = (DecryptionKey::generate(), DecryptionKey::generate());
    let payload = sealed::seal(EVENT_V4, &old);
    let event = sealed::unseal(&payload, &[new, old]).unwrap();
    assert_eq!(event, Event::from_v4_json(EVENT_V4).unwrap());
}
