//! Usernames as people read them. Two usernames that a person cannot tell apart name one
//! account: `straße` and `STRASSE`, `admin` and `ａｄｍｉｎ`, `admin` with an invisible character
//! inside, `аdmin` spelt with a Cyrillic `а`.
//!
//! Two values decide it, after Unicode's identifier guidance:
//! - the [`key`], Unicode's NFKC_Casefold as UAX #31 recommends for identifiers compared
//!   without case: default-ignorable code points removed, compatibility characters folded
//!   (NFKC) and case folded in full, so the comparison no longer depends on case, width,
//!   ligatures, composed or decomposed accents, or zero-width characters;
//! - the [`skeleton`] of that key (UTS #39 confusable detection): characters that look alike
//!   across scripts (Latin `a`, Cyrillic `а`, Greek `α` in some fonts) map to one prototype.
//!
//! Each is unique among accounts. Bidirectional controls reorder what is displayed around them
//! (`admin\u{202E}gpj.exe` shows as `adminexe.jpg`), so a username with one is refused rather
//! than compared.

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint};
use icu_properties::CodePointSetData;

/// The longest username, in characters. Its key can be longer: NFKC and case folding expand
/// some characters (`ﷺ` to 18), which stays bounded.
pub const MAX_CHARS: usize = 254;

/// Why a username cannot be used, in words a sign-up form can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// Nothing but white space.
    #[error("username is required")]
    Empty,
    /// Over [`MAX_CHARS`].
    #[error("username must be at most {MAX_CHARS} characters")]
    TooLong,
    /// A C0 or C1 control character (NUL, newline, escape...).
    #[error("username must not contain control characters")]
    Control,
    /// A character that reorders the text shown around it.
    #[error(
        "username must not contain bidirectional control characters (found U+{:04X})",
        u32::from(*.0)
    )]
    BidiControl(char),
    /// Only invisible characters and white space: nothing anyone could read.
    #[error("username must contain a visible character")]
    Invisible,
}

/// Checks a username, already trimmed of white space, before anything is compared.
pub fn check(username: &str) -> Result<(), Unusable> {
    if username.is_empty() {
        return Err(Unusable::Empty);
    }
    if username.chars().count() > MAX_CHARS {
        return Err(Unusable::TooLong);
    }
    if username.chars().any(char::is_control) {
        return Err(Unusable::Control);
    }
    let bidi = CodePointSetData::new::<BidiControl>();
    if let Some(c) = username.chars().find(|&c| bidi.contains(c)) {
        return Err(Unusable::BidiControl(c));
    }
    // NFKC and case folding never map a character to nothing, so the key is empty exactly
    // when every character is ignorable or white space.
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    if username
        .chars()
        .all(|c| ignorable.contains(c) || c.is_whitespace())
    {
        return Err(Unusable::Invisible);
    }
    Ok(())
}

/// The uniqueness key: two usernames with the same key are the same name.
///
/// Ignorable characters go first, so that one between a letter and its accent does not stop
/// NFKC composing them; the second NFKC closes the form (case folding can undo NFKC), and the
/// last filter catches the rare ignorable that NFKC makes (U+FFA0 becomes U+3164). White space
/// is trimmed last, so a key never begins with a space: the store relies on that to park a key
/// that no username can produce.
pub fn key(username: &str) -> String {
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let visible: String = username
        .chars()
        .filter(|&c| !ignorable.contains(c))
        .collect();
    let folded = CaseMapper::new()
        .fold_string(&nfkc.normalize(&visible))
        .into_owned();
    let key: String = nfkc
        .normalize(&folded)
        .chars()
        .filter(|&c| !ignorable.contains(c))
        .collect();
    key.trim().to_owned()
}

/// The UTS #39 skeleton of a [`key`]: usernames whose skeletons match can be mistaken for one
/// another on screen. Not for display: it mixes scripts freely (`modern` becomes `rnodern`).
pub fn skeleton(key: &str) -> String {
    unicode_security::confusable_detection::skeleton(key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair created two accounts when the key was `trim().to_lowercase()`.
    const SAME_KEY: &[(&str, &str, &str)] = &[
        ("ΟΔΟΣ", "οδοσ", "Greek capitals fold"),
        ("οδος", "οδοσ", "the final sigma folds like any sigma"),
        ("straße", "STRASSE", "ß folds to ss"),
        ("ad\u{200B}min", "admin", "zero-width space"),
        ("ad\u{200D}min", "admin", "zero-width joiner"),
        ("\u{FEFF}admin", "admin", "byte order mark"),
        ("ad\u{00AD}min", "admin", "soft hyphen"),
        (
            "caf\u{0065}\u{0301}",
            "caf\u{00E9}",
            "decomposed and composed é",
        ),
        ("ＡＤＭＩＮ", "admin", "fullwidth letters"),
        ("\u{FB01}le", "file", "the fi ligature"),
        ("Ann@Example.org", "ann@example.org", "plain case"),
        ("\u{200B} ann ", "ann", "trimmed after the ignorables go"),
        (
            "e\u{200B}\u{0301}",
            "\u{00E9}",
            "an ignorable between a letter and its accent",
        ),
        (
            "\u{FFA0}x",
            "x",
            "NFKC makes an ignorable (U+3164), which goes too",
        ),
    ];

    #[test]
    fn lookalike_pairs_share_a_key() {
        for (a, b, why) in SAME_KEY {
            assert_eq!(key(a), key(b), "{why}: {a:?} and {b:?}");
        }
    }

    #[test]
    fn a_cyrillic_a_shares_the_skeleton_not_the_key() {
        let latin = key("admin");
        let cyrillic = key("\u{0430}dmin");
        assert_ne!(latin, cyrillic, "different letters, so different keys");
        assert_eq!(skeleton(&latin), skeleton(&cyrillic));
    }

    /// The README promises these: the skeleton errs towards "taken".
    #[test]
    fn the_skeleton_is_strict_by_design() {
        let same = [
            ("modern", "rnodern"),
            ("user1", "userl"),
            ("\u{3B1}nn", "ann"),
        ];
        for (a, b) in same {
            assert_eq!(skeleton(&key(a)), skeleton(&key(b)), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn different_names_stay_different() {
        let distinct = ["ann", "anna", "bob", "b o b", "straßen", "admin1", "адм"];
        for (i, a) in distinct.iter().enumerate() {
            for b in &distinct[i + 1..] {
                assert_ne!(skeleton(&key(a)), skeleton(&key(b)), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn the_key_is_its_own_key_and_never_begins_with_white_space() {
        let mut samples: Vec<&str> = SAME_KEY.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
        samples.extend([
            "\u{2003}ǅemo\u{3000}",
            "ΐ",
            "İstanbul",
            "ﷺ",
            "Ꭰꭰ",
            "\u{0345}",
        ]);
        for sample in samples {
            let once = key(sample);
            assert_eq!(key(&once), once, "{sample:?}");
            assert!(!once.starts_with(char::is_whitespace), "{sample:?}");
            assert!(!once.is_empty(), "{sample:?}");
        }
    }

    #[test]
    fn unusable_usernames_are_refused_with_the_reason() {
        let too_long = "u".repeat(MAX_CHARS + 1);
        let cases = vec![
            ("", Unusable::Empty),
            ("a\u{0000}b", Unusable::Control),
            ("a\u{009B}b", Unusable::Control),
            ("admin\u{202E}gpj.exe", Unusable::BidiControl('\u{202E}')),
            ("a\u{2066}b\u{2069}", Unusable::BidiControl('\u{2066}')),
            ("a\u{200E}", Unusable::BidiControl('\u{200E}')),
            ("a\u{200F}", Unusable::BidiControl('\u{200F}')),
            ("a\u{061C}", Unusable::BidiControl('\u{061C}')),
            ("\u{200B}", Unusable::Invisible),
            ("\u{200B} \u{FEFF}\u{00AD}", Unusable::Invisible),
            (&*too_long, Unusable::TooLong),
        ];
        for (username, expected) in cases {
            assert_eq!(check(username), Err(expected), "{username:?}");
        }
        assert!(check(&"u".repeat(MAX_CHARS)).is_ok());
        assert!(check("ann@example.org").is_ok());
        let message = Unusable::BidiControl('\u{202E}').to_string();
        assert!(message.contains("bidirectional") && message.contains("U+202E"));
    }
}
