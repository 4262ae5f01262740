//! Email identity: the address a username stands for, so that `a.b.c+1@gmail.com` and
//! `abc@googlemail.com` are one inbox, and whether its domain hands out throwaway inboxes.

use icu_normalizer::ComposingNormalizerBorrowed;

/// Providers that deliver `name+anything@` to `name@`, so the tag is dropped: the default of
/// the policy key `email_plus_tag_providers`. Each documents sub-addressing with `+`: Gmail,
/// Outlook.com (and its older Hotmail and Live domains), iCloud, Fastmail, Proton Mail, Zoho.
pub const DEFAULT_PLUS_TAG_PROVIDERS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "fastmail.fm",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "zoho.com",
];

/// The normalised address a username stands for, or `None` when it is not an email address:
/// NFKC and lower case, the domain in ASCII (IDN), `googlemail.com` as `gmail.com`, Gmail's
/// dots dropped, and a `+tag` dropped for the providers in `plus_tag_providers`.
pub fn identity(username: &str, plus_tag_providers: &[String]) -> Option<String> {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(username.trim());
    let (local, domain) = nfkc.rsplit_once('@')?;
    let mut domain = idna::domain_to_ascii(domain).ok()?;
    if !domain.contains('.') || local.is_empty() {
        return None;
    }
    if domain == "googlemail.com" {
        domain = "gmail.com".into();
    }
    let mut local = local.to_lowercase();
    if plus_tag_providers
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&domain))
    {
        if let Some((name, _tag)) = local.split_once('+') {
            local = name.to_owned();
        }
    }
    if domain == "gmail.com" {
        local.retain(|c| c != '.');
    }
    (!local.is_empty()).then(|| format!("{local}@{domain}"))
}

/// The domain of a normalised address.
pub fn domain(identity: &str) -> &str {
    identity.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether the domain (or a parent of it) is a known throwaway-inbox provider: the maintained
/// list of the `disposable-emails` crate, plus `extra` from the policy's
/// `disposable_domains_file`.
pub fn is_disposable(domain: &str, extra: &[String]) -> bool {
    let mut candidate = domain;
    loop {
        if disposable_emails::is_disposable_domain(candidate)
            || extra.iter().any(|d| d.eq_ignore_ascii_case(candidate))
        {
            return true;
        }
        match candidate.split_once('.') {
            Some((_, parent)) if parent.contains('.') => candidate = parent,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn providers() -> Vec<String> {
        DEFAULT_PLUS_TAG_PROVIDERS
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn gmail_dots_tags_and_googlemail_are_one_inbox() {
        let id = |u: &str| identity(u, &providers());
        assert_eq!(id("a.b.c+1@gmail.com").as_deref(), Some("abc@gmail.com"));
        assert_eq!(id("ABC@GoogleMail.com").as_deref(), Some("abc@gmail.com"));
        assert_eq!(
            id("ａｂｃ@gmail.com").as_deref(),
            Some("abc@gmail.com"),
            "NFKC"
        );
        assert_eq!(
            id("ann+shop@outlook.com").as_deref(),
            Some("ann@outlook.com")
        );
        assert_eq!(
            id("a.nn+x@example.org").as_deref(),
            Some("a.nn+x@example.org"),
            "other providers keep dots and tags"
        );
        assert_eq!(id("ann@bücher.de").as_deref(), Some("ann@xn--bcher-kva.de"));
        assert_eq!(id("not-an-email"), None);
        assert_eq!(id("+tag@gmail.com"), None);
    }

    #[test]
    fn throwaway_domains_are_known_and_extendable() {
        assert!(is_disposable("mailinator.com", &[]));
        assert!(is_disposable("sub.mailinator.com", &[]), "parents count");
        assert!(!is_disposable("gmail.com", &[]));
        assert!(is_disposable("burner.example", &["burner.example".into()]));
    }
}
