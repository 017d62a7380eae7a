//! A long-running Python process that answers one JSON line with one JSON line.
//!
//! Django takes about a second to start, so the Bugsink helper is started once per test process and asked many
//! questions, instead of running one `bugsink-manage` command per question.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout};

use serde_json::Value;

/// One child process speaking the JSON-lines protocol of `tests/support/bugsink_helper.py`.
pub(crate) struct JsonLines {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl JsonLines {
    /// Takes over a child spawned with piped stdin and stdout.
    pub(crate) fn new(mut child: Child) -> Self {
        let stdin = child.stdin.take().expect("child spawned with piped stdin");
        let stdout = BufReader::new(
            child
                .stdout
                .take()
                .expect("child spawned with piped stdout"),
        );
        JsonLines {
            child,
            stdin,
            stdout,
        }
    }

    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads one `{"ok": ...}` / `{"error": ...}` line; returns the `ok` value or the error text.
    pub(crate) fn read_reply(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => {
                let status = self.child.try_wait().ok().flatten();
                Err(format!(
                    "the helper closed its output (exit status: {status:?})"
                ))
            }
            Ok(_) => {
                let mut reply: Value = serde_json::from_str(&line).map_err(|e| {
                    format!("the helper sent a line that is not JSON ({e}): {line}")
                })?;
                if let Some(ok) = reply.get_mut("ok") {
                    return Ok(ok.take());
                }
                let error = reply
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                let trace = reply.get("traceback").and_then(Value::as_str).unwrap_or("");
                Err(format!("{error}\n{trace}"))
            }
            Err(e) => Err(format!("reading from the helper failed: {e}")),
        }
    }

    /// Sends `request` (an object with a `cmd` field) and waits for its reply.
    pub(crate) fn call(&mut self, request: &Value) -> Result<Value, String> {
        let mut line = serde_json::to_string(request).expect("a JSON value serializes");
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("writing to the helper failed: {e}"))?;
        self.read_reply()
    }
}
