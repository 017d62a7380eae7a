//! Small helpers the test files in `tests/tests/` share: scratch directories, waiting,
//! reading events, DSNs pointed elsewhere, building example binaries and what the real
//! `symbolic` library says about a file.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Project, target_dir, venv_python, workspace_root};

/// A directory of this test process under the target directory, `e2e-<name>-<pid>`; not
/// created, and left as it is if it exists (see [`fresh_dir`]).
pub fn test_dir(name: &str) -> PathBuf {
    target_dir().join(format!("e2e-{name}-{}", std::process::id()))
}

/// [`test_dir`] with whatever an earlier run left there removed.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = test_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The [`test_dir`] of `name` for one project, `e2e-<name>-<pid>-<project id>`: a database
/// path of its own for each test.
pub fn project_dir(name: &str, project: &Project) -> PathBuf {
    target_dir().join(format!(
        "e2e-{name}-{}-{}",
        std::process::id(),
        project.id()
    ))
}

/// Polls `done` every 100 ms until it holds or `timeout` has passed; whether it held at the
/// end.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The events of `project` once at least `count` arrived (or `timeout` passed), after half a
/// second more, so that an event sent when it should not have been has the time to show up.
pub fn settled_events(project: &Project, count: usize, timeout: Duration) -> Vec<Value> {
    let events = project.wait_for_events(count, timeout);
    std::thread::sleep(Duration::from_millis(500));
    let now = project.events();
    if now.len() > events.len() {
        now
    } else {
        events
    }
}

/// The first exception value of an event (`exception.values[0]`).
pub fn exception(event: &Value) -> &Value {
    &event["exception"]["values"][0]
}

/// The `event_id`s of `events`, sorted.
pub fn sorted_ids(events: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// A port on 127.0.0.1 that was free a moment ago and where nothing listens now: connections
/// to it are refused (until someone else binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The project's DSN with its host replaced by `127.0.0.1:<port>`.
pub fn dsn_via(project: &Project, port: u16) -> String {
    let (key, rest) = project.dsn().split_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    format!("{key}@127.0.0.1:{port}/{path}")
}

/// Parses a `0x`-prefixed hexadecimal address of an event.
pub fn hex(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// The debug id and code id the real symbolic library computes for a file.
pub fn symbolic_ids(path: &Path) -> (String, String) {
    let script = "import sys, symbolic\n\
        o = next(symbolic.Archive.open(sys.argv[1]).iter_objects())\n\
        print(o.debug_id); print(o.code_id)";
    let out = Command::new(venv_python())
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap().to_owned(),
    )
}

/// Runs `cargo build <args>` in the workspace root (after `configure` had its say: a target
/// directory, environment, `--release`) and returns the executables it built or found up to
/// date, as cargo names them. Panics with cargo's errors when the build fails.
pub fn cargo_build(args: &[&str], configure: impl FnOnce(&mut Command)) -> Vec<PathBuf> {
    let mut build = Command::new(env!("CARGO"));
    build
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root());
    configure(&mut build);
    let output = build.output().expect("run cargo");
    assert!(
        output.status.success(),
        "cargo build {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .collect()
}

/// Builds the example `example` of `package` with [`cargo_build`] and returns its executable.
pub fn build_example(
    package: &str,
    example: &str,
    configure: impl FnOnce(&mut Command),
) -> PathBuf {
    cargo_build(&["--quiet", "-p", package, "--example", example], configure)
        .into_iter()
        .find(|path| path.file_name() == Some(OsStr::new(example)))
        .unwrap_or_else(|| panic!("cargo names no executable for the example {example}"))
}
