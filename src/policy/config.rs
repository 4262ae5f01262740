//! The policy an operator writes: thresholds, switches and one action per rule.
//!
//! Every key has a default so that an empty `[policy]` table is a working, cautious policy,
//! and unknown keys are rejected so that a typo never silently falls back to a default.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::device_identity::Identity;
use super::origin;
use super::window::Window;

/// What to do with a signup. Ordered by strength, so the verdict is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Create the account.
    Allow,
    /// Create the account but hold it for a human or a second factor.
    Review,
    /// Refuse the signup.
    Block,
}

impl Action {
    /// The lowercase name used in the config file, logs and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Review => "review",
            Action::Block => "block",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[policy]` table. See `docs/policy.md` for the meaning of every key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Oldest event accepted, so a captured event id cannot be reused later; 0 turns it off.
    pub max_event_age_seconds: u64,
    /// How far in the future an event timestamp may be before it is refused as forged.
    pub clock_skew_seconds: u64,
    /// Identification confidence below this triggers `rules.low_confidence`.
    pub min_confidence: f64,
    /// Accounts one device may hold within the window; at least 1.
    pub accounts_per_device: u32,
    /// Only accounts created within this many days count toward the device limit; 0 = forever.
    pub device_window_days: u32,
    /// The identities the device limit counts accounts by: the visitor id, and optionally the
    /// high-recall id and the linked id. Accounts sharing any of them count.
    pub device_identity: Vec<Identity>,
    /// When non-empty, both the identified page and the request must come from these origins.
    pub allowed_origins: Vec<String>,
    /// When true, the IP Fingerprint saw must equal the IP of the signup request.
    pub ip_binding: bool,
    /// How many reverse proxies in front of the service append to `X-Forwarded-For`.
    pub trusted_proxy_hops: usize,
    /// Suspect scores at or above this trigger `rules.high_suspect_score`.
    pub suspect_score_threshold: i64,
    /// Proxy ML scores at or above this trigger `rules.proxy_ml_score`; within (0, 1].
    pub proxy_ml_score_threshold: f64,
    /// Visitor events in the last hour above this trigger `rules.velocity`.
    pub velocity_max_events_1h: i64,
    /// A factory reset this many days or fewer before the event triggers `rules.factory_reset`.
    pub factory_reset_window_days: u32,
    /// Evaluate and record everything but never refuse, to try a policy on live traffic.
    pub shadow: bool,
    /// An allow-list entry also lifts the device limit (off: shared devices still count).
    pub allow_overrides_device_limit: bool,
    /// Email providers whose `+tag` is dropped when comparing addresses (`email_alias`).
    pub email_plus_tag_providers: Vec<String>,
    /// A file of extra throwaway-inbox domains, one per line (`#` comments), beside the
    /// maintained list; relative to the policy file. Empty: none.
    pub disposable_domains_file: String,
    /// The domains read from `disposable_domains_file` when the policy was loaded.
    #[serde(skip)]
    pub disposable_domains: Vec<String>,
    /// The action taken when each signal fires.
    pub rules: Rules,
    /// Attempts and accounts per IP, network, device, email domain and ASN in a window.
    pub velocity: VelocityRules,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_event_age_seconds: 120,
            clock_skew_seconds: 30,
            min_confidence: 0.5,
            accounts_per_device: 1,
            device_window_days: 0,
            device_identity: vec![Identity::VisitorId],
            allowed_origins: Vec::new(),
            ip_binding: false,
            trusted_proxy_hops: 0,
            suspect_score_threshold: 20,
            proxy_ml_score_threshold: 0.8,
            velocity_max_events_1h: 30,
            factory_reset_window_days: 7,
            shadow: false,
            allow_overrides_device_limit: false,
            email_plus_tag_providers: crate::email::DEFAULT_PLUS_TAG_PROVIDERS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            disposable_domains_file: String::new(),
            disposable_domains: Vec::new(),
            rules: Rules::default(),
            velocity: VelocityRules::default(),
        }
    }
}

impl Policy {
    /// Demo mode's policy when no file is given: the defaults, except that an allow entry also
    /// lifts the device limit, so the demo's shared-device story can end with the analyst's fix.
    /// The banner and the README say so; a policy file replaces it whole.
    pub fn demo() -> Policy {
        Policy {
            allow_overrides_device_limit: true,
            ..Policy::default()
        }
    }
}

/// The `[policy.rules]` table: one action per signal, so operators tune outcomes, not code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Automation, headless browsers and other bad bots.
    pub bot_bad: Action,
    /// Known good bots such as crawlers: they never need an account.
    pub bot_good: Action,
    /// The same identification submitted again.
    pub replayed: Action,
    /// Browser tampering or an anti-detect browser.
    pub tampering: Action,
    /// An anti-detect browser, whatever the overall tampering verdict.
    pub anti_detect_browser: Action,
    /// Frida instrumentation of the app.
    pub frida: Action,
    /// A man-in-the-middle between the app and Fingerprint.
    pub mitm_attack: Action,
    /// A cloned app, the usual tool for multi-accounting on Android.
    pub cloned_app: Action,
    /// An Android emulator or an iOS simulator.
    pub emulator: Action,
    /// A rooted Android (`root_apps`) or jailbroken iOS device.
    pub rooted: Action,
    /// A mobile device factory reset within `factory_reset_window_days`: how a device is made
    /// to look new, but also what every new phone has been.
    pub factory_reset: Action,
    /// The IP is a known spam or attack source (Tor is left to `tor`).
    pub ip_blocklist: Action,
    /// The IP is a Tor exit node.
    pub tor: Action,
    /// A VPN was detected.
    pub vpn: Action,
    /// A proxy was detected.
    pub proxy: Action,
    /// The proxy model's score is at or above `proxy_ml_score_threshold`.
    pub proxy_ml_score: Action,
    /// The IP belongs to a data center or hosting provider.
    pub datacenter_ip: Action,
    /// The device location is spoofed.
    pub location_spoofing: Action,
    /// More visitor events in the last hour than `velocity_max_events_1h`.
    pub velocity: Action,
    /// The device is unusually active.
    pub high_activity: Action,
    /// Remote control tools (Server API v3 only).
    pub remote_control: Action,
    /// A device configuration among the rarest 0.1 %, or never seen before.
    pub rare_device: Action,
    /// A virtual machine.
    pub virtual_machine: Action,
    /// Developer tools are open.
    pub developer_tools: Action,
    /// Private browsing.
    pub incognito: Action,
    /// Privacy-focused browser settings.
    pub privacy_settings: Action,
    /// Suspect score at or above `suspect_score_threshold`.
    pub high_suspect_score: Action,
    /// The workspace's Rules Engine ruleset (`FINGERPRINT_RULESET_ID`) chose `block`.
    pub fingerprint_rule: Action,
    /// Identification confidence below `min_confidence`.
    pub low_confidence: Action,
    /// The username is an email address at a throwaway-inbox domain.
    pub disposable_email: Action,
    /// An account already has this email address, once dots, `+tags` and case are set aside.
    pub email_alias: Action,
}

impl Default for Rules {
    fn default() -> Self {
        use Action::{Allow, Block, Review};
        Rules {
            bot_bad: Block,
            bot_good: Block,
            replayed: Block,
            tampering: Block,
            anti_detect_browser: Block,
            frida: Block,
            mitm_attack: Block,
            cloned_app: Block,
            emulator: Review,
            rooted: Review,
            factory_reset: Allow,
            ip_blocklist: Block,
            tor: Block,
            vpn: Review,
            proxy: Review,
            proxy_ml_score: Review,
            datacenter_ip: Review,
            location_spoofing: Review,
            velocity: Review,
            high_activity: Review,
            remote_control: Review,
            rare_device: Allow,
            virtual_machine: Allow,
            developer_tools: Allow,
            incognito: Allow,
            privacy_settings: Allow,
            high_suspect_score: Review,
            fingerprint_rule: Block,
            low_confidence: Review,
            disposable_email: Review,
            email_alias: Block,
        }
    }
}

/// The `[policy.velocity.*]` tables: one per rule, each off until given a threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityRules {
    /// Attempts from one client IP address (`velocity_ip`).
    pub ip: VelocityRule,
    /// Attempts from one IPv4 /24 or IPv6 /64 network (`velocity_subnet`).
    pub subnet: VelocityRule,
    /// Attempts from one visitor id (`velocity_visitor`).
    pub visitor: VelocityRule,
    /// Accounts created with an email address at one domain (`velocity_email_domain`).
    pub email_domain: VelocityRule,
    /// Accounts created from one autonomous system, when the event names it (`velocity_asn`).
    pub asn: VelocityRule,
}

/// One velocity rule. Every rule shares these defaults, so a table that sets only `threshold`
/// means the same whichever rule it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VelocityRule {
    /// How many attempts (or accounts) a window lets through; the next one fires. 0: off.
    pub threshold: u32,
    /// The window's length.
    pub window: Window,
    /// What to do when the rule fires.
    pub action: Action,
}

impl Default for VelocityRule {
    fn default() -> Self {
        VelocityRule {
            threshold: 0,
            window: Window::from_seconds(3600),
            action: Action::Block,
        }
    }
}

impl VelocityRule {
    /// Whether the rule is switched on (a threshold above 0).
    pub fn enabled(&self) -> bool {
        self.threshold > 0
    }
}

impl VelocityRules {
    /// Whether a rule that counts attempts is on: only then does an attempt add to counters.
    pub fn counts_attempts(&self) -> bool {
        self.ip.enabled() || self.subnet.enabled() || self.visitor.enabled()
    }
}

impl Policy {
    /// A short, stable fingerprint of the policy, stored with each attempt so a decision can
    /// be traced to the exact policy that made it. Origin order does not change it.
    pub fn hash(&self) -> String {
        let mut canonical = self.clone();
        canonical.allowed_origins = canonical
            .allowed_origins
            .iter()
            .map(|o| origin::normalize(o).unwrap_or_else(|| o.clone()))
            .collect();
        canonical.allowed_origins.sort();
        canonical.allowed_origins.dedup();
        canonical.device_identity = self.identities();
        let json = serde_json::to_vec(&canonical).expect("a policy always serializes");
        let mut hasher = Sha256::new();
        hasher.update(b"signup-guard policy v1\n");
        hasher.update(&json);
        // The file's contents, not only its name, make the version.
        for domain in &self.disposable_domains {
            hasher.update(b"\n");
            hasher.update(domain.as_bytes());
        }
        hex::encode(&hasher.finalize()[..6])
    }

    /// The identities the device limit counts by, once each, in counting order.
    pub fn identities(&self) -> Vec<Identity> {
        Identity::ALL
            .into_iter()
            .filter(|i| self.device_identity.contains(i))
            .collect()
    }

    /// Checks values serde cannot: ranges and origin syntax. The message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(format!(
                "policy.min_confidence must be between 0 and 1, got {}",
                self.min_confidence
            ));
        }
        if self.accounts_per_device == 0 {
            return Err("policy.accounts_per_device must be at least 1".into());
        }
        if !self.device_identity.contains(&Identity::VisitorId) {
            return Err("policy.device_identity must include \"visitor_id\" (it can add \"high_recall_id\" and \"linked_id\")".into());
        }
        if self.identities().len() != self.device_identity.len() {
            return Err("policy.device_identity names an identity twice".into());
        }
        if self.suspect_score_threshold < 1 {
            return Err(format!(
                "policy.suspect_score_threshold must be at least 1 (set rules.high_suspect_score = \"allow\" to ignore the score), got {}",
                self.suspect_score_threshold
            ));
        }
        // Also refuses NaN, which no comparison would ever fire on.
        if !(self.proxy_ml_score_threshold > 0.0 && self.proxy_ml_score_threshold <= 1.0) {
            return Err(format!(
                "policy.proxy_ml_score_threshold must be above 0 and at most 1 (set rules.proxy_ml_score = \"allow\" to ignore the score), got {}",
                self.proxy_ml_score_threshold
            ));
        }
        if self.velocity_max_events_1h < 1 {
            return Err(format!(
                "policy.velocity_max_events_1h must be at least 1 (set rules.velocity = \"allow\" to ignore velocity), got {}",
                self.velocity_max_events_1h
            ));
        }
        if self.factory_reset_window_days < 1 {
            return Err("policy.factory_reset_window_days must be at least 1 (set rules.factory_reset = \"allow\" to ignore resets)".into());
        }
        for o in &self.allowed_origins {
            if origin::parse_allowed(o).is_none() {
                return Err(format!(
                    "policy.allowed_origins: {o:?} is not an origin like \"https://example.com\" or \"http://localhost:3000\""
                ));
            }
        }
        Ok(())
    }
}
