//! The whole API, run offline against the simulator:
//!
//! ```sh
//! cargo run -p fingerprint --features simulator --example offline
//! ```
//!
//! Against the real Server API, drop the simulator and the `base_url` line and pass your secret
//! key and region instead. `cargo test` builds this file, so the crate README's API stays true.

use fingerprint::simulator::{ExtraSignal, IdentifyRequest, Persona, Simulator, SimulatorConfig};
use fingerprint::{sealed, webhook, ApiVersion, Client, ClientConfig, Region, SecretKey};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A Server API stand-in on a free loopback port; its secret key is `sim-secret-key`.
    let simulator = Simulator::new(SimulatorConfig::default());
    let handle = simulator.spawn("127.0.0.1:0".parse()?).await?;

    let mut config = ClientConfig::new(SecretKey::new("sim-secret-key"));
    config.region = Region::Eu; // us (default), eu or ap
    config.base_url = Some(handle.base_url()); // only for a proxy, a stub or the simulator
    config.api_version = ApiVersion::V4; // the default; V3 until its 2027-01-07 shutdown
    let client = Client::new(config)?; // one per process: clones share the connection pool

    // What the JS agent would return on the page, then the verified event.
    let issued = simulator.identify(IdentifyRequest {
        persona: Persona::Vpn,
        signals: vec![ExtraSignal::DeveloperTools],
        ..IdentifyRequest::default()
    });
    let event = client.get_event(&issued.request_id).await?;
    println!(
        "event {} visitor {:?} bot {:?} vpn {:?} devtools {:?}",
        event.event_id,
        event.visitor_id,
        event.bot,
        event.vpn.as_ref().map(|v| v.result),
        event.developer_tools
    );

    // Sealed Client Results: unsealed locally, keys tried newest first.
    let (old_key, new_key) = (
        sealed::DecryptionKey::generate(),
        sealed::DecryptionKey::generate(),
    );
    let payload = sealed::seal(event.raw.as_str().as_bytes(), &old_key);
    let unsealed = sealed::unseal(&payload, &[new_key, old_key])?;
    assert_eq!(unsealed.visitor_id, event.visitor_id);

    // Webhook signatures, checked in constant time against the raw body.
    let body = event.raw.as_str().as_bytes().to_vec();
    let header = webhook::sign(&body, b"webhook-secret");
    assert!(webhook::verify_signature(&header, &body, b"webhook-secret"));
    println!("unsealed and verified: ok");

    handle.shutdown_and_wait().await;
    Ok(())
}
