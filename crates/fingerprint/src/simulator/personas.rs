use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of visitor a simulated identification pretends to be.
///
/// Each persona sets the few signals that make it what it is and leaves every other signal
/// at its harmless value, so a test that asks for [`Persona::Vpn`] sees a VPN and nothing else.
/// It reads and writes as its snake_case name (`"new_device"`, `"bad_bot"`, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    /// A device Fingerprint has never seen: a fresh visitor id, `visitor_found: false`.
    #[default]
    NewDevice,
    /// A device seen before: it keeps its visitor id, `visitor_found: true`.
    ReturningDevice,
    /// Automation such as a headless browser (`bot: bad`).
    BadBot,
    /// A well-behaved crawler (`bot: good`).
    GoodBot,
    /// Traffic through a public VPN.
    Vpn,
    /// Traffic through a residential proxy.
    Proxy,
    /// Traffic from a Tor exit node.
    Tor,
    /// An anti-detect browser or otherwise tampered-with agent.
    Tampering,
    /// A browser running inside a virtual machine.
    VirtualMachine,
    /// Private (incognito) browsing.
    Incognito,
    /// An identification Fingerprint is unsure about (confidence 0.3).
    LowConfidence,
    /// The same identification payload submitted a second time.
    Replayed,
    /// No single alarming signal, but a high suspect score.
    HighSuspectScore,
    /// Identification finished but Smart Signals did not: none of them are present.
    PartiallyCompleted,
    /// A script on a server: the IP belongs to a hosting provider's data center.
    Datacenter,
    /// A visitor the workspace's own Rules Engine ruleset blocks; nothing else is wrong with
    /// it. Only a fetch that names a ruleset (`?ruleset_id=`) sees the block.
    RulesetBlock,
}

impl Persona {
    /// Every persona, in declaration order, for demo pages and exhaustive tests.
    pub const ALL: [Persona; 16] = [
        Persona::NewDevice,
        Persona::ReturningDevice,
        Persona::BadBot,
        Persona::GoodBot,
        Persona::Vpn,
        Persona::Proxy,
        Persona::Tor,
        Persona::Tampering,
        Persona::VirtualMachine,
        Persona::Incognito,
        Persona::LowConfidence,
        Persona::Replayed,
        Persona::HighSuspectScore,
        Persona::PartiallyCompleted,
        Persona::Datacenter,
        Persona::RulesetBlock,
    ];

    /// The snake_case name, the same string serde reads and writes.
    pub fn as_str(&self) -> &'static str {
        match self {
            Persona::NewDevice => "new_device",
            Persona::ReturningDevice => "returning_device",
            Persona::BadBot => "bad_bot",
            Persona::GoodBot => "good_bot",
            Persona::Vpn => "vpn",
            Persona::Proxy => "proxy",
            Persona::Tor => "tor",
            Persona::Tampering => "tampering",
            Persona::VirtualMachine => "virtual_machine",
            Persona::Incognito => "incognito",
            Persona::LowConfidence => "low_confidence",
            Persona::Replayed => "replayed",
            Persona::HighSuspectScore => "high_suspect_score",
            Persona::PartiallyCompleted => "partially_completed",
            Persona::Datacenter => "datacenter",
            Persona::RulesetBlock => "ruleset_block",
        }
    }

    /// Reads a persona name. Case and `-` versus `_` are forgiven, because the name often
    /// arrives from a query string or a command line typed by hand.
    pub fn parse(s: &str) -> Option<Persona> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Persona::ALL.into_iter().find(|p| p.as_str() == wanted)
    }

    /// One human sentence about what this persona simulates, for a demo page.
    pub fn description(&self) -> &'static str {
        match self {
            Persona::NewDevice => "A first visit from a device Fingerprint has never seen.",
            Persona::ReturningDevice => {
                "A device that has visited before and keeps its visitor id."
            }
            Persona::BadBot => "A headless Chrome driven by automation, flagged as a bad bot.",
            Persona::GoodBot => "A search engine crawler, flagged as a good bot.",
            Persona::Vpn => "A visitor behind a public VPN.",
            Persona::Proxy => "A visitor behind a residential proxy.",
            Persona::Tor => "A visitor coming from a Tor exit node.",
            Persona::Tampering => "An anti-detect browser with tampered device attributes.",
            Persona::VirtualMachine => "A browser running inside a virtual machine.",
            Persona::Incognito => "A visitor in private (incognito) browsing mode.",
            Persona::LowConfidence => "An identification with low confidence (0.3).",
            Persona::Replayed => "An identification payload replayed a second time.",
            Persona::HighSuspectScore => "No single red flag, but a high suspect score (40).",
            Persona::PartiallyCompleted => {
                "Identification only: Smart Signals did not complete and are absent."
            }
            Persona::Datacenter => "A script on a rented server: the IP is a data center's.",
            Persona::RulesetBlock => {
                "Nothing alarming, but your own Fingerprint Rules Engine ruleset blocks it."
            }
        }
    }

    /// Whether the event carries Smart Signals at all.
    pub(crate) fn has_smart_signals(&self) -> bool {
        !matches!(self, Persona::PartiallyCompleted)
    }

    /// A plausible suspect score: Fingerprint weighs each signal, so riskier personas score
    /// higher. The exact weights are ours, not Fingerprint's.
    pub(crate) fn suspect_score(&self) -> i64 {
        match self {
            Persona::NewDevice
            | Persona::ReturningDevice
            | Persona::GoodBot
            | Persona::LowConfidence
            | Persona::PartiallyCompleted
            | Persona::RulesetBlock => 0,
            Persona::Datacenter => 6,
            Persona::Incognito => 2,
            Persona::Vpn => 5,
            Persona::Proxy => 7,
            Persona::VirtualMachine => 10,
            Persona::Replayed => 12,
            Persona::Tampering => 18,
            Persona::Tor => 22,
            Persona::BadBot => 26,
            Persona::HighSuspectScore => 40,
        }
    }

    /// What the ruleset decides when the identification does not say: a block for the persona
    /// that stands for it.
    pub(crate) fn rule_action(&self) -> Option<super::RuleVerdict> {
        (*self == Persona::RulesetBlock).then_some(super::RuleVerdict::Block)
    }

    /// Identification confidence score.
    pub(crate) fn confidence(&self) -> f64 {
        match self {
            Persona::LowConfidence => 0.3,
            _ => 0.99,
        }
    }
}

impl fmt::Display for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
