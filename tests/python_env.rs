//! Python peers for the tests, installed from PyPI on first use into one virtual
//! environment (`$SEGMINT_PY_VENV`, default `~/.cache/segmint-py-venv`): the `deltalake`
//! package as an independent reader of segmint's Delta tables, and `chdb` (embedded
//! ClickHouse 26.x) as the live reference for the ClickHouse-compatible functions. Installing needs `python3` with `venv` and access to PyPI; a failure panics
//! with pip's output (never a skipped test).

use std::path::PathBuf;
use std::process::Command;

/// The pinned packages (pip requirement specifiers).
pub const PACKAGES: [&str; 3] = ["deltalake>=1.1,<2", "pyarrow>=17", "chdb>=4.4,<5"];

/// The virtual environment's Python, with [`PACKAGES`] installed.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("SEGMINT_PY_VENV").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
            PathBuf::from(home).join(".cache/segmint-py-venv")
        },
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    let ready = python.is_file()
        && Command::new(&python)
            .args(["-c", "import deltalake, pyarrow, chdb"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let created = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .output()
            .expect("python3 runs");
        assert!(created.status.success(), "python3 -m venv: {created:?}");
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PACKAGES)
            .output()
            .expect("pip runs");
        assert!(
            installed.status.success(),
            "pip install {PACKAGES:?}:\n{}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    python
}

/// A script under `tests/python/`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}
