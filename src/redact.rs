//! Connection URLs as messages may show them: without the password they can carry.

/// The URL with its password hidden, whether in the user info (`postgres://u:pw@host`,
/// `redis://:pw@host`) or in the query (`?password=` for PostgreSQL, `?pass=` for a Redis
/// socket).
pub fn url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            if parsed
                .query_pairs()
                .any(|(k, _)| k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass"))
            {
                parsed.set_query(Some("***"));
            }
            parsed.to_string()
        }
        // An unparseable URL may still hold a password somewhere.
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_wherever_the_url_carries_them() {
        let cases = [
            (
                "postgres://app:s3cret@db.internal:5432/app",
                "postgres://app:***@db.internal:5432/app",
            ),
            ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=s3cret",
                "redis+unix:///run/redis.sock?***",
            ),
            ("postgres://db/app?password=s3cret", "postgres://db/app?***"),
            ("redis://cache:6379", "redis://cache:6379"),
            ("not a url s3cret", "<unparseable URL>"),
        ];
        for (given, shown) in cases {
            assert_eq!(super::url(given), shown, "{given}");
        }
    }
}
