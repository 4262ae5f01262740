//! The raw Argon2id rate on this machine: how many password hashes a second `THREADS` threads
//! compute with the service's parameters (m = 19 MiB, t = 2, p = 1), with nothing else around
//! them. `bench/flood.sh` compares new-device signups against it.
//!
//!   cargo run --release --example argon2_rate -- [threads, default 2] [seconds, default 5]
//!
//! Prints one line: `argon2id threads=2 seconds=5.0 hashes=... hashes_per_s=...`.

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use signup_guard::password::{ARGON2_ITERATIONS, ARGON2_MEMORY_KIB};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(2, |a| a.parse().expect("threads"));
    let seconds: f64 = args.next().map_or(5.0, |a| a.parse().expect("seconds"));
    // The same construction as `signup_guard::password::Hasher`: Argon2id, v0x13, p = 1,
    // and a PHC string with a fresh 16-byte salt per hash.
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, 1, None).expect("params");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let hashes: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let argon2 = argon2.clone();
                scope.spawn(move || {
                    let mut done = 0u64;
                    while Instant::now() < deadline {
                        let mut salt = [0u8; 16];
                        rand::thread_rng().fill_bytes(&mut salt);
                        let salt = SaltString::encode_b64(&salt).expect("salt");
                        let hash = argon2
                            .hash_password(b"correct horse battery staple", &salt)
                            .expect("hash");
                        std::hint::black_box(hash.to_string());
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "argon2id threads={threads} seconds={elapsed:.1} hashes={hashes} hashes_per_s={:.1} \
         m={ARGON2_MEMORY_KIB} t={ARGON2_ITERATIONS} p=1",
        hashes as f64 / elapsed
    );
}
