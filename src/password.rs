//! The password policy, and Argon2id hashing on the blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What a password must satisfy. Checked before any network call, so a weak password costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (default 8).
    pub min_length: usize,
    /// Most characters (default 128): bounds the hashing and strength-estimation cost.
    pub max_length: usize,
    /// Lowest zxcvbn score, 0 to 4 (default 2). Common passwords and variations of the username
    /// score 0 or 1.
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            min_score: 2,
        }
    }
}

impl PasswordPolicy {
    /// Returns why the password is refused, in words the user can act on.
    pub fn check(&self, password: &str, username: &str) -> Result<(), String> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(format!(
                "password must be at least {} characters",
                self.min_length
            ));
        }
        if length > self.max_length {
            return Err(format!(
                "password must be at most {} characters",
                self.max_length
            ));
        }
        let name = username.trim().to_lowercase();
        let lowered = password.to_lowercase();
        if name.chars().count() >= 4 && (lowered.contains(&name) || name.contains(&lowered)) {
            return Err("password must not contain the username".into());
        }
        let local_part = name.split('@').next().unwrap_or_default();
        let estimate = zxcvbn::zxcvbn(password, &[name.as_str(), local_part]);
        if u8::from(estimate.score()) < self.min_score {
            let hint = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!(": {w}"))
                .unwrap_or_default();
            return Err(format!("password is too easy to guess{hint}"));
        }
        Ok(())
    }

    /// [`check`](Self::check) on the blocking pool: a strength estimate of a long password takes
    /// milliseconds of CPU, which must not stall the runtime serving every other request. The
    /// outer error is ours (the check could not run), the inner one the user's.
    pub async fn check_off_runtime(
        &self,
        password: &str,
        username: &str,
    ) -> anyhow::Result<Result<(), String>> {
        let (policy, password, username) = (*self, password.to_owned(), username.to_owned());
        let check = tokio::task::spawn_blocking(move || policy.check(&password, &username));
        Ok(check.await?)
    }
}

/// Argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1), run off the async runtime with bounded
/// concurrency so a burst of signups cannot exhaust memory or starve other requests.
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("permits", &self.permits.available_permits())
            .finish()
    }
}

/// OWASP Password Storage Cheat Sheet, Argon2id minimum configuration.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Iterations.
pub const ARGON2_ITERATIONS: u32 = 2;

impl Hasher {
    /// A hasher that runs at most `concurrency` hashes at once.
    pub fn new(concurrency: usize) -> Self {
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, 1, None)
            .expect("the OWASP parameters are valid Argon2 parameters");
        Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Hashes into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        // The permit travels into the job: a caller that gives up must not free a slot while
        // its 19 MiB hash is still running.
        let permit = self.permits.clone().acquire_owned().await?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut salt = [0u8; 16];
            rand::thread_rng().fill_bytes(&mut salt);
            let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
            let hash = argon2
                .hash_password(password.as_bytes(), &salt)
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
            Ok(hash.to_string())
        })
        .await?
    }

    /// Checks a password against a stored PHC string.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        PasswordHash::new(phc)
            .map(|hash| {
                self.argon2
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_weak_and_accepts_strong_passwords() {
        let policy = PasswordPolicy::default();
        let too_long = "x".repeat(129);
        let cases = vec![
            ("short1!", "alice@example.com", false, "under 8 characters"),
            (
                "password123",
                "alice@example.com",
                false,
                "a common password",
            ),
            (
                "alice@example.com1",
                "alice@example.com",
                false,
                "contains the username",
            ),
            (
                "aliceexample",
                "aliceexample@x.io",
                false,
                "the username's local part",
            ),
            (too_long.as_str(), "alice", false, "over 128 characters"),
            ("qwertyuiop", "bob", false, "a keyboard walk"),
            (
                "correct horse battery staple",
                "alice",
                true,
                "a passphrase",
            ),
            ("T7#qv9!Lm2pZ", "alice", true, "random characters"),
        ];
        for (password, username, ok, why) in cases {
            assert_eq!(
                policy.check(password, username).is_ok(),
                ok,
                "{why}: {:?}",
                policy.check(password, username)
            );
        }
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        let policy = PasswordPolicy {
            min_score: 0,
            ..Default::default()
        };
        assert!(
            policy.check("ééééééé", "bob").is_err(),
            "7 characters, 14 bytes"
        );
        assert!(policy.check(&"é".repeat(128), "bob").is_ok());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_at_owasp_parameters_and_verify() {
        let hasher = Hasher::new(2);
        let hash = hasher
            .hash("correct horse battery staple".into())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        assert!(hasher.verify("correct horse battery staple", &hash));
        assert!(!hasher.verify("correct horse battery stapl", &hash));
        let again = hasher
            .hash("correct horse battery staple".into())
            .await
            .unwrap();
        assert_ne!(hash, again, "each hash has its own salt");
    }
}
