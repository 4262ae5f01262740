//! The real `signup-guard` binary as a subprocess: help, migrate, startup failures, `explain`,
//! `backtest`, and that no secret ever reaches the logs.
//!
//! Each subprocess runs with a cleared environment and a temporary working directory, so
//! neither a developer's `.env` nor a `signup-guard.toml` lying around can change the result.

use fingerprint::simulator::{IdentifyRequest, Persona};
use serde_json::{json, Value};
use signup_guard::policy::Policy;
use signup_guard::store::PoolSettings;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/mod.rs"]
mod common;

mod backtest;
mod connections;
mod explain;
mod help;
mod lists;
mod logs;
mod migrate;
mod serve;
mod settings;
mod simulator;

const BIN: &str = env!("CARGO_BIN_EXE_signup-guard");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// The binary with an empty environment, run in `cwd`.
fn command(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// [`command`] under a soft and hard limit of `descriptors` open files, set by the shell's
/// `ulimit` (a `pre_exec` hook calling `setrlimit` would need `unsafe`, forbidden here).
fn command_with_descriptor_limit(
    cwd: &Path,
    descriptors: u64,
    args: &[&str],
    env: &[(&str, &str)],
) -> Command {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {descriptors} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs to completion, failing the test if it takes longer than a minute.
fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = command(cwd, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (stdout, stderr) = drain(&mut child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("signup-guard {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

type Reader = std::thread::JoinHandle<Vec<u8>>;

/// Reads both pipes on their own threads, so a chatty child never blocks on a full pipe.
fn drain(child: &mut Child) -> (Reader, Reader) {
    fn reader(mut pipe: impl Read + Send + 'static) -> Reader {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            out
        })
    }
    (
        reader(child.stdout.take().unwrap()),
        reader(child.stderr.take().unwrap()),
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `run` on a blocking thread, for tests whose runtime also serves the simulator or the app.
async fn run_async(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let cwd = cwd.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run(&cwd, &args, &env)
    })
    .await
    .unwrap()
}

/// The application in process, on a free port, with a simulator of its own: built by the one
/// harness every test binary shares.
async fn spawn_app(database_url: &str) -> common::TestApp {
    common::spawn_app_with(common::Options {
        database_url: Some(database_url.to_owned()),
        ..common::Options::default()
    })
    .await
}

/// Everything in the audit trail and the accounts table, to show a backtest changed nothing.
async fn database_dump(url: &str) -> (Vec<String>, i64) {
    let store = signup_guard::store::Store::connect(url, PoolSettings::default())
        .await
        .unwrap();
    let filter = signup_guard::store::AttemptFilter::default();
    let attempts = store.list_attempts(&filter, 10_000).await.unwrap();
    let accounts = store.count_accounts().await.unwrap();
    store.close().await;
    (
        attempts.iter().map(|a| format!("{a:?}")).collect(),
        accounts,
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child when the test ends, however it ends.
struct Running(Child);

impl Running {
    fn sigterm(&self) {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits up to 20 s for the process to end, and asserts it exited 0.
    async fn exits_cleanly(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "a graceful stop exits 0: {status:?}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `signup-guard` process serving HTTP, started by [`serve`]: killed when dropped, both its
/// pipes read on threads of their own so it never blocks on a full pipe.
struct Server {
    process: Running,
    /// `http://127.0.0.1:PORT`.
    base: String,
    stdout: Reader,
    stderr: Reader,
}

impl Server {
    /// Stops the process (unless it has exited already) and returns what it wrote to stdout
    /// and stderr.
    fn stop(self) -> (String, String) {
        let Server {
            process,
            stdout,
            stderr,
            ..
        } = self;
        drop(process);
        (text(&stdout.join().unwrap()), text(&stderr.join().unwrap()))
    }

    /// Stops the process and returns its stderr, where it logs.
    fn stderr(self) -> String {
        self.stop().1
    }
}

/// Starts the binary (as [`command`] does) and returns once its /health answers 200. The port
/// is the one `args` give with `--port`, or else `env` with `PORT`. Fails the test, showing what
/// the process wrote, if it exits first or is not healthy within a minute.
async fn serve(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    start_serving(command(cwd, args, env), args, env).await
}

/// [`serve`] under a limit of `descriptors` open files.
async fn serve_with_descriptor_limit(
    cwd: &Path,
    descriptors: u64,
    args: &[&str],
    env: &[(&str, &str)],
) -> Server {
    let command = command_with_descriptor_limit(cwd, descriptors, args, env);
    start_serving(command, args, env).await
}

/// Starts `command`, run with `args` and `env`, and returns once its /health answers 200.
async fn start_serving(mut command: Command, args: &[&str], env: &[(&str, &str)]) -> Server {
    let port = args
        .iter()
        .skip_while(|a| **a != "--port")
        .nth(1)
        .or_else(|| env.iter().find(|(k, _)| *k == "PORT").map(|(_, v)| v))
        .expect("a --port argument or a PORT variable");
    let base = format!("http://127.0.0.1:{port}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let (stdout, stderr) = drain(&mut child);
    let mut server = Server {
        process: Running(child),
        base,
        stdout,
        stderr,
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.process.0.try_wait().unwrap() {
            let (stdout, stderr) = server.stop();
            panic!("signup-guard {args:?} exited with {status} before answering /health:\n{stdout}{stderr}");
        }
        let healthy = http
            .get(format!("{}/health", server.base))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if healthy {
            return server;
        }
        if Instant::now() > deadline {
            let (stdout, stderr) = server.stop();
            panic!(
                "signup-guard {args:?} did not answer /health within a minute:\n{stdout}{stderr}"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until `check` passes, or fails the test after 30 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
