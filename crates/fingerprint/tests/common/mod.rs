//! Where Fingerprint's own fixtures live. They are read in place, never copied into this
//! repository, so on a fresh clone without `../shared` the tests that need them skip.

use std::path::PathBuf;

/// `FINGERPRINT_FIXTURES_DIR`, or `../shared/fingerprint` beside the workspace; `None` (after
/// printing a notice) when it is absent.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FINGERPRINT_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/fingerprint"
            ))
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        // Past libtest's capture (which takes eprintln!), once per test binary.
        static NOTICE: std::sync::Once = std::sync::Once::new();
        NOTICE.call_once(|| {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"skipping Fingerprint fixture tests: ../shared/fingerprint not found \
                  (set FINGERPRINT_FIXTURES_DIR to run them)\n",
            );
        });
        None
    }
}
