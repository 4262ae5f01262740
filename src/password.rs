//! The password policy, and Argon2id hashing on a fixed set of threads.

use argon2::password_hash::{Output, ParamsString, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};

/// What a password must satisfy. Checked only for a signup the fraud policy lets through, just
/// before the hash: a refused bot never pays for the strength estimate.
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

    /// [`check`](Self::check) on the blocking pool, in turn with the other checks: a strength
    /// estimate of a long password takes milliseconds of CPU, which must not stall the runtime
    /// serving every other request. The outer error is ours (the check could not run), the
    /// inner one the user's.
    pub async fn check_off_runtime(
        &self,
        password: &str,
        username: &str,
    ) -> anyhow::Result<Result<(), String>> {
        let (policy, password, username) = (*self, password.to_owned(), username.to_owned());
        on_a_core(move || policy.check(&password, &username)).await
    }
}

/// The CPUs this process may use (a container's quota included), or 2 where the system does not
/// say: the default count of hashing threads and of strength checks at once.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, NonZeroUsize::get)
}

/// Runs CPU-bound `work` on the blocking pool, at most one such task per core at a time; the
/// rest wait their turn on the runtime, holding no thread.
///
/// The blocking pool starts a thread for every task that finds none idle, up to 512. Checked
/// there unbounded, the 50 signups of a burst arriving together started 46 threads, each
/// keeping its stack and allocator cache until it idled out 10 s later; 200 at once took the
/// SQLite instance's peak RSS to 96-105 MiB, against 88-90 in turn (docs/performance.md, the
/// sixteenth machine). More tasks at once than cores would not finish sooner.
async fn on_a_core<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static TURNS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cpus()));
    let turn = TURNS.acquire().await?;
    // The turn ends with the work, not with the caller: a signup abandoned mid-check leaves
    // its check running on the pool, and that still counts.
    Ok(tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await?)
}

/// Argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1) on a fixed set of hashing threads.
///
/// Each thread allocates its 19 MiB of Argon2 memory once and reuses it for every hash of a
/// burst, releasing it after a few idle seconds. Run on
/// the blocking pool instead, each hash allocated afresh on whichever of many threads ran it,
/// and the allocator kept a 19 MiB arena per thread: 300-650 MB resident after a burst. The
/// thread count bounds memory and concurrency alike, so a burst of signups queues instead.
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    jobs: flume::Sender<HashJob>,
    threads: usize,
    /// Jobs sent and not yet finished: the queue depth `/metrics` shows.
    queued: Arc<AtomicUsize>,
}

struct HashJob {
    password: String,
    done: oneshot::Sender<anyhow::Result<String>>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("threads", &self.threads)
            .finish()
    }
}

/// OWASP Password Storage Cheat Sheet, Argon2id minimum configuration.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Iterations.
pub const ARGON2_ITERATIONS: u32 = 2;

impl Hasher {
    /// A hasher with `concurrency` hashing threads (at least one). They stop once every clone
    /// of the hasher is dropped.
    pub fn new(concurrency: usize) -> Self {
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, 1, None)
            .expect("the OWASP parameters are valid Argon2 parameters");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // Every thread waits on the queue itself (a channel with many receivers), so each one
        // idles out on its own and gives its memory back.
        let (jobs, queue) = flume::unbounded::<HashJob>();
        let threads = concurrency.max(1);
        let queued = Arc::new(AtomicUsize::new(0));
        for n in 0..threads {
            let (argon2, queue, queued) = (argon2.clone(), queue.clone(), queued.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hash_jobs(&argon2, &queue, &queued))
                .expect("a hashing thread starts");
        }
        Self {
            argon2,
            jobs,
            threads,
            queued,
        }
    }

    /// Passwords waiting for a hashing thread or being hashed.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Whether any password is waiting for a hashing thread or being hashed, asked without
    /// holding the hasher (which would keep its threads alive).
    pub fn busy_probe(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let queued = self.queued.clone();
        move || queued.load(Ordering::Relaxed) > 0
    }

    /// Hashes into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let (done, hashed) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(HashJob { password, done }).is_err() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            anyhow::bail!("the hashing threads have stopped");
        }
        hashed
            .await
            .map_err(|_| anyhow::anyhow!("a hashing thread stopped"))?
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

/// A hashing thread idle this long gives its Argon2 memory back, so a service between bursts
/// holds none of it; the next hash allocates it again (a few milliseconds).
#[cfg(not(test))]
const IDLE_RELEASE: Duration = Duration::from_secs(2);
#[cfg(test)]
const IDLE_RELEASE: Duration = Duration::from_millis(50);

/// One hashing thread: takes jobs until the hasher is dropped, allocating its Argon2 memory
/// once for a burst of hashes and releasing it when idle.
fn hash_jobs(argon2: &Argon2<'static>, queue: &flume::Receiver<HashJob>, queued: &AtomicUsize) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let HashJob { password, done } = match queue.recv_timeout(IDLE_RELEASE) {
            Ok(job) => job,
            Err(flume::RecvTimeoutError::Timeout) => {
                memory = Vec::new();
                continue;
            }
            Err(flume::RecvTimeoutError::Disconnected) => return,
        };
        // A caller that gave up (its deadline passed) no longer needs the hash.
        if done.is_closed() {
            queued.fetch_sub(1, Ordering::Relaxed);
            continue;
        }
        if memory.is_empty() {
            memory = vec![Block::new(); argon2.params().block_count()];
        }
        let hashed = hash_with(argon2, &password, &mut memory);
        queued.fetch_sub(1, Ordering::Relaxed);
        let _ = done.send(hashed);
    }
}

fn hash_with(
    argon2: &Argon2<'static>,
    password: &str,
    memory: &mut [Block],
) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut salt_bytes = [0u8; 16];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, &mut *memory)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("{e}"))?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn the_policy_refuses_weak_and_accepts_strong_passwords() {
        let policy = PasswordPolicy::default();
        let too_long = "x".repeat(129);
        let cases = vec![
            ("short1!", "alice@example.org", false, "under 8 characters"),
            (
                "password123",
                "alice@example.org",
                false,
                "a common password",
            ),
            (
                "alice@example.org1",
                "alice@example.org",
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cpu_bound_work_takes_turns_one_task_per_core() {
        let cores = cpus();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..cores * 4)
            .map(|n| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(on_a_core(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Long enough that unbounded tasks would all overlap.
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    n
                }))
            })
            .collect();
        let mut finished = Vec::new();
        for task in tasks {
            finished.push(task.await.expect("task").expect("turn"));
        }
        assert_eq!(finished, (0..cores * 4).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=cores).contains(&most),
            "{most} tasks ran at once on {cores} cores"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_work_keeps_its_turn_until_it_ends() {
        let cores = cpus();
        let started = Arc::new(AtomicUsize::new(0));
        // Released however the test ends, or a failing assertion would leave the runtime
        // waiting for ever on the spinning work when the test drops it.
        struct Release(Arc<AtomicBool>);
        impl Drop for Release {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let release = Release(Arc::new(AtomicBool::new(false)));
        let callers: Vec<_> = (0..cores)
            .map(|_| {
                let (started, released) = (started.clone(), release.0.clone());
                tokio::spawn(on_a_core(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    while !released.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }))
            })
            .collect();
        while started.load(Ordering::SeqCst) < cores {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Every caller gives up while its work goes on holding a core.
        for caller in &callers {
            caller.abort();
        }
        let ran = Arc::new(AtomicBool::new(false));
        let late = {
            let ran = ran.clone();
            tokio::spawn(on_a_core(move || ran.store(true, Ordering::SeqCst)))
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !ran.load(Ordering::SeqCst),
            "work ran while every core was busy with abandoned work"
        );
        drop(release);
        late.await.expect("task").expect("turn");
        assert!(ran.load(Ordering::SeqCst));
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

    #[tokio::test]
    async fn reused_memory_gives_every_hash_its_own_correct_result() {
        // One thread, so every hash below runs in the same reused memory: a leftover of the
        // previous hash in it would make the next one wrong.
        let hasher = Hasher::new(1);
        let passwords: Vec<String> = (0..4)
            .map(|n| format!("tangerine comet {n} ladder"))
            .collect();
        for password in &passwords {
            let hash = hasher.hash(password.clone()).await.unwrap();
            assert!(hasher.verify(password, &hash), "{password}");
            // Checked also by the crate's own allocate-afresh path.
            let parsed = PasswordHash::new(&hash).unwrap();
            assert!(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok());
        }
    }

    #[tokio::test]
    async fn a_hash_nobody_waits_for_any_more_is_skipped() {
        let hasher = Hasher::new(1);
        let (done, hashed) = oneshot::channel();
        drop(hashed);
        hasher
            .jobs
            .send(HashJob {
                password: "abandoned password here".into(),
                done,
            })
            .unwrap();
        // The thread skips the abandoned job and serves the next one.
        let hash = hasher.hash("served password here".into()).await.unwrap();
        assert!(hasher.verify("served password here", &hash));
    }

    #[tokio::test]
    async fn a_thread_that_released_its_memory_when_idle_hashes_again() {
        let hasher = Hasher::new(1);
        let first = hasher
            .hash("first password of a burst".into())
            .await
            .unwrap();
        tokio::time::sleep(IDLE_RELEASE * 4).await;
        let second = hasher
            .hash("second password after idling".into())
            .await
            .unwrap();
        assert!(hasher.verify("first password of a burst", &first));
        assert!(hasher.verify("second password after idling", &second));
    }
}
