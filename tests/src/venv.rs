//! Locating the workspace and bootstrapping the Python virtualenv that holds Bugsink and sentry-relay.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Environment variable that points the harness at another virtualenv than `target/e2e-venv`.
pub const VENV_ENV: &str = "E2E_VENV";

/// Environment variable naming the Python used to create the virtualenv (default `python3`).
pub const PYTHON_ENV: &str = "E2E_PYTHON";

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives one level below the workspace root")
}

/// `<workspace>/target`, where the venv and the servers' data directories live.
///
/// Deliberately not `CARGO_TARGET_DIR`: the venv is worth keeping across builds with different target dirs, and
/// `target/` is ignored by git either way.
pub fn target_dir() -> PathBuf {
    workspace_root().join("target")
}

/// The Python helper scripts and pinned requirements (`tests/support`).
pub fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("support")
}

/// Where the venv is (or will be): `$E2E_VENV`, else `<workspace>/target/e2e-venv`.
pub fn venv_dir() -> PathBuf {
    match std::env::var_os(VENV_ENV) {
        Some(dir) if !dir.is_empty() => {
            std::path::absolute(PathBuf::from(dir)).expect("E2E_VENV can be made absolute")
        }
        _ => target_dir().join("e2e-venv"),
    }
}

/// The venv's Python interpreter.
pub fn venv_python() -> PathBuf {
    ensure_venv().join("bin").join("python")
}

/// Makes sure the venv exists and is complete, creating it on first use; returns its directory.
///
/// Runs once per test process; the actual work is in `tests/support/bootstrap_venv.py`, under a file lock, so test
/// binaries started together install only once.
///
/// # Panics
///
/// If the venv cannot be created; the message carries pip's output tail.
pub fn ensure_venv() -> &'static Path {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    // The result, failure included, is kept: every later test then fails at once with the same message instead of
    // retrying a slow install.
    match VENV.get_or_init(bootstrap) {
        Ok(dir) => dir,
        Err(msg) => panic!("{msg}"),
    }
}

fn is_complete(venv: &Path) -> bool {
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    let support = support_dir();
    match (
        read(venv.join("e2e-installed.txt")),
        read(support.join("requirements.txt")),
        read(support.join("constraints.txt")),
    ) {
        // Same rule as bootstrap_venv.py: the marker holds the requirement files the venv was built from.
        (Some(marker), Some(req), Some(cons)) => marker == req + &cons,
        _ => false,
    }
}

fn bootstrap() -> Result<PathBuf, String> {
    let venv = venv_dir();
    if is_complete(&venv) {
        return Ok(venv);
    }
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".to_owned());
    let script = support_dir().join("bootstrap_venv.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&venv)
        .output()
        .map_err(|e| {
            format!(
                "e2e: cannot run `{python}` to create the test venv ({e}); the end-to-end tests need python3 \
                 with the venv module (set {PYTHON_ENV} to use another interpreter)"
            )
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "e2e: creating the test venv {} failed ({}):\n{stderr}",
            venv.display(),
            output.status
        ));
    }
    eprint!("{stderr}");
    if !is_complete(&venv) {
        return Err(format!(
            "e2e: {} reported success but {} has no matching install marker",
            script.display(),
            venv.display()
        ));
    }
    Ok(venv)
}
