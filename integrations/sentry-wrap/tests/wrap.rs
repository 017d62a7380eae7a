//! The wrapper as a black box, without a server: it must be invisible to the program and to
//! whoever started it.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wrap() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sentry-wrap"));
    command.env_remove("SENTRY_DSN").env(
        "SENTRY_DATABASE_PATH",
        std::env::temp_dir().join(format!("sentry-wrap-test-{}", std::process::id())),
    );
    command
}

#[test]
fn stdin_stdout_and_exit_status_pass_through() {
    let mut child = wrap()
        .args(["--", "sh", "-c", "read line; echo \"got $line\"; exit 7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(output.stdout, b"got hello\n");
}

#[test]
fn the_wrapper_dies_of_the_programs_signal() {
    let status = wrap()
        .args(["--", "sh", "-c", "kill -ABRT $$"])
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGABRT));
}

#[test]
fn sigterm_sent_to_the_wrapper_reaches_the_program() {
    let child = wrap()
        .args([
            "--",
            "sh",
            "-c",
            "trap 'echo terminated >&2; exit 42' TERM; sleep 30 & wait",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Give the shell time to set its trap.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    sentry_native_crash::send_signal(child.id(), libc::SIGTERM).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(42), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("terminated"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_missing_program_is_status_127_and_bad_options_status_2() {
    let missing = wrap()
        .args(["--", "/nonexistent/program"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(127));
    let bad = wrap()
        .args(["--tail-lines", "many", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
