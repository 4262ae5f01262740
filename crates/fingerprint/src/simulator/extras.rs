//! Smart Signals a simulated identification can raise on top of its persona, so that every
//! policy rule can be driven end to end, not only those a persona stands for.

use serde::{Deserialize, Serialize};

/// One extra signal, named in snake_case (`"developer_tools"`, `"ip_blocklist"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraSignal {
    /// Browser developer tools are open.
    DeveloperTools,
    /// Privacy-focused browser settings.
    PrivacySettings,
    /// An unusually active device.
    HighActivity,
    /// Spoofed device location (mobile).
    LocationSpoofing,
    /// A man-in-the-middle between the agent and Fingerprint.
    MitmAttack,
    /// Root apps on an Android device.
    RootApps,
    /// A jailbroken iOS device.
    Jailbroken,
    /// An Android emulator.
    Emulator,
    /// A cloned Android app.
    ClonedApp,
    /// Frida instrumentation.
    Frida,
    /// The IP is on a blocklist as an attack source.
    IpBlocklist,
    /// Remote-control tools (reported by v3 only; v4 dropped the signal).
    RemoteControl,
    /// 100 events from this visitor in the last hour.
    HighVelocity,
    /// The device was factory reset a minute before the event.
    RecentFactoryReset,
    /// The IP belongs to a hosting provider's data center.
    DatacenterIp,
    /// The proxy model scores the IP 0.95, though no proxy list knows it (`proxy` stays false).
    ProxyMlScore,
    /// An anti-detect browser, on its own: `tampering` itself stays false.
    AntiDetectBrowser,
    /// A device in the rarest 0.1 % of configurations.
    RareDevice,
}

impl ExtraSignal {
    /// Every extra signal, in declaration order.
    pub const ALL: [ExtraSignal; 18] = [
        ExtraSignal::DeveloperTools,
        ExtraSignal::PrivacySettings,
        ExtraSignal::HighActivity,
        ExtraSignal::LocationSpoofing,
        ExtraSignal::MitmAttack,
        ExtraSignal::RootApps,
        ExtraSignal::Jailbroken,
        ExtraSignal::Emulator,
        ExtraSignal::ClonedApp,
        ExtraSignal::Frida,
        ExtraSignal::IpBlocklist,
        ExtraSignal::RemoteControl,
        ExtraSignal::HighVelocity,
        ExtraSignal::RecentFactoryReset,
        ExtraSignal::DatacenterIp,
        ExtraSignal::ProxyMlScore,
        ExtraSignal::AntiDetectBrowser,
        ExtraSignal::RareDevice,
    ];
}

/// The visitor event count a high-velocity event reports for every window.
pub(crate) const HIGH_VELOCITY_EVENTS: i64 = 100;
/// How long before the event a recent factory reset happened.
pub(crate) const RECENT_RESET_AGO_MS: i64 = 60_000;
/// The proxy model's score with [`ExtraSignal::ProxyMlScore`].
pub(crate) const HIGH_PROXY_ML_SCORE: f64 = 0.95;
/// The proxy model's score for a persona behind a proxy: the lists know the IP, the model is
/// unsure, so a test of the proxy persona sees `proxy` and nothing else.
pub(crate) const LISTED_PROXY_ML_SCORE: f64 = 0.5;
/// The proxy model's score for everyone else.
pub(crate) const LOW_PROXY_ML_SCORE: f64 = 0.02;
