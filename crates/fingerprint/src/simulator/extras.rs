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
}

impl ExtraSignal {
    /// Every extra signal, in declaration order.
    pub const ALL: [ExtraSignal; 14] = [
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
    ];
}

/// The visitor event count a high-velocity event reports for every window.
pub(crate) const HIGH_VELOCITY_EVENTS: i64 = 100;
/// How long before the event a recent factory reset happened.
pub(crate) const RECENT_RESET_AGO_MS: i64 = 60_000;
