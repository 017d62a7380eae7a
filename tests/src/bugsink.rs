//! One real Bugsink server per test process, and per-test projects on it.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helper::JsonLines;
use crate::venv::{support_dir, target_dir, venv_python};

/// A Bugsink server private to this test process, bound to 127.0.0.1 on a port of its own.
///
/// The server runs under `tests/support/bugsink_helper.py`, which also answers the harness's questions about what was
/// stored. It stops when the test process ends: the helper reads its requests from a pipe whose write end only this
/// process holds, and on end-of-file (however this process ended) it stops gunicorn and exits.
pub struct Bugsink {
    base_url: String,
    data_dir: PathBuf,
    helper_pid: u32,
    helper: Mutex<JsonLines>,
}

/// A project on the shared [`Bugsink`] server: its own DSN, its own events.
#[derive(Debug, Clone)]
pub struct Project {
    server: &'static Bugsink,
    id: u64,
    name: String,
    dsn: String,
}

impl std::fmt::Debug for Bugsink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bugsink")
            .field("base_url", &self.base_url)
            .field("data_dir", &self.data_dir)
            .field("helper_pid", &self.helper_pid)
            .finish_non_exhaustive()
    }
}

impl Bugsink {
    /// The server of this test process, started (and the venv bootstrapped) on first use.
    ///
    /// # Panics
    ///
    /// If the server cannot be started; every later call panics with the same message, so one broken setup does
    /// not cost one slow start-up attempt per test.
    pub fn shared() -> &'static Bugsink {
        static SHARED: OnceLock<Result<Bugsink, String>> = OnceLock::new();
        match SHARED.get_or_init(Bugsink::start) {
            Ok(server) => server,
            Err(msg) => panic!("{msg}"),
        }
    }

    fn start() -> Result<Bugsink, String> {
        let python = venv_python();
        let runs = target_dir().join("e2e-runs");
        prune_stale_runs(&runs);
        let data_dir = runs.join(std::process::id().to_string());
        // A leftover from an earlier process with the same pid must not leak its databases into this run.
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("e2e: cannot create {}: {e}", data_dir.display()))?;
        let log_path = data_dir.join("helper.log");
        let log = File::create(&log_path)
            .map_err(|e| format!("e2e: cannot create {}: {e}", log_path.display()))?;

        let started = Instant::now();
        let child = Command::new(&python)
            .arg(support_dir().join("bugsink_helper.py"))
            .arg(&data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group: Ctrl-C on `cargo test` then reaches only the test process, and the helper
            // still gets to stop gunicorn cleanly when it sees the pipe close.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("e2e: cannot start {}: {e}", python.display()))?;
        let mut helper = JsonLines::new(child);
        let ready = helper.read_reply().map_err(|e| {
            format!(
                "e2e: Bugsink did not start: {e}\n--- {} ---\n{}\n--- gunicorn.log ---\n{}",
                log_path.display(),
                tail(&log_path),
                tail(&data_dir.join("gunicorn.log")),
            )
        })?;
        let base_url = ready["base_url"]
            .as_str()
            .ok_or_else(|| format!("e2e: the helper's ready line has no base_url: {ready}"))?
            .to_owned();
        eprintln!(
            "e2e: Bugsink at {base_url} ready in {:.1} s (data in {})",
            started.elapsed().as_secs_f64(),
            data_dir.display()
        );
        Ok(Bugsink {
            base_url,
            data_dir,
            helper_pid: helper.pid(),
            helper: Mutex::new(helper),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// This server's databases, settings and logs (`target/e2e-runs/<test pid>`); kept after the run for
    /// inspection and removed by the next run once this process is gone.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The process id of the helper, which leads the process group the server runs in.
    pub fn helper_pid(&self) -> u32 {
        self.helper_pid
    }

    /// Sends one request to the helper; panics with the helper's error and traceback when it fails.
    pub(crate) fn call(&self, request: Value) -> Value {
        // A test that panicked while holding the lock leaves the pipe in a consistent state (calls are whole
        // request/reply pairs), so a poisoned lock is safe to keep using.
        let mut helper = self.helper.lock().unwrap_or_else(|p| p.into_inner());
        helper
            .call(&request)
            .unwrap_or_else(|e| panic!("e2e: Bugsink helper request {request} failed: {e}"))
    }

    /// Creates a fresh project (own DSN, own event list, quotas out of the way).
    ///
    /// Project names are unique per server; if `name` is taken, a numeric suffix is added, so tests may simply
    /// pass their own name.
    pub fn new_project(&'static self, name: &str) -> Project {
        let reply = self.call(json!({"cmd": "create_project", "name": name}));
        Project {
            server: self,
            id: reply["id"].as_u64().expect("project id is a number"),
            name: reply["name"]
                .as_str()
                .expect("project name is a string")
                .to_owned(),
            dsn: reply["dsn"]
                .as_str()
                .expect("project dsn is a string")
                .to_owned(),
        }
    }
}

impl Project {
    /// The numeric project id (the last path segment of the DSN).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The project's name on the server (the requested name, possibly with a suffix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The DSN to configure the SDK with: `http://KEY@127.0.0.1:PORT/ID`.
    pub fn dsn(&self) -> &str {
        &self.dsn
    }

    /// The public key of the DSN (the part before `@`).
    pub fn public_key(&self) -> &str {
        let rest = self
            .dsn
            .split_once("://")
            .map_or(self.dsn.as_str(), |(_, r)| r);
        rest.split_once('@').map_or("", |(key, _)| key)
    }

    /// The envelope endpoint: `http://127.0.0.1:PORT/api/ID/envelope/`.
    pub fn envelope_url(&self) -> String {
        format!("{}/api/{}/envelope/", self.server.base_url, self.id)
    }

    /// The server this project lives on.
    pub fn server(&self) -> &'static Bugsink {
        self.server
    }

    /// Every event stored for this project, in the order it was digested, each as the SDK sent it.
    ///
    /// Bugsink does not normalize events, so every field and value is the SDK's own; only the JSON text is
    /// re-serialized by Python on ingest (whitespace differs). For the bytes on the wire, see [`Project::envelopes`].
    pub fn events(&self) -> Vec<Value> {
        self.stored_texts()
            .iter()
            .map(|text| {
                serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("e2e: a stored event is not JSON ({e}): {text}"))
            })
            .collect()
    }

    fn stored_texts(&self) -> Vec<String> {
        match self
            .server
            .call(json!({"cmd": "events", "project_id": self.id}))
        {
            Value::Array(events) => events
                .into_iter()
                .map(|e| match e {
                    Value::String(text) => text,
                    other => panic!("e2e: a stored event came back as {other}, not as text"),
                })
                .collect(),
            other => panic!("e2e: events reply is not a list: {other}"),
        }
    }

    /// Polls [`Project::events`] until at least `n` events are stored, and returns them all.
    ///
    /// # Panics
    ///
    /// If fewer than `n` arrive within `timeout`; the message lists what did arrive.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.events();
            if events.len() >= n {
                return events;
            }
            if Instant::now() >= deadline {
                panic!(
                    "e2e: project {} ({}) has {} of {n} expected events after {timeout:?}; stored: {}",
                    self.name,
                    self.id,
                    events.len(),
                    serde_json::to_string_pretty(&events).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every envelope the server received for this project, raw as it arrived (after content decoding), including
    /// items Bugsink itself ignores (sessions, client reports, transactions ...).
    pub fn envelopes(&self) -> Vec<Vec<u8>> {
        let reply = self
            .server
            .call(json!({"cmd": "envelopes", "project_id": self.id}));
        let list = reply.as_array().expect("envelopes reply is a list");
        list.iter()
            .map(|hex| decode_hex(hex.as_str().expect("envelope is a hex string")))
            .collect()
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("e2e: not a lowercase hex digit: {c}"),
    };
    hex.as_bytes()
        .chunks(2)
        .map(|pair| digit(pair[0]) << 4 | digit(pair[1]))
        .collect()
}

/// The last lines of a log file, for failure messages.
fn tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}

/// Removes the data directories of earlier test processes that have exited, keeping those of running ones.
fn prune_stale_runs(runs: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // Linux only, like the rest of the harness; a reused pid merely keeps an old directory one run longer.
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
