//! The integrations end to end against a real Bugsink: `log`, `tracing` and `anyhow` events
//! arrive as the adapters promise, and `sentry-wrap` reports programs that crash, in any
//! language, and delivers what a crashed program that uses the SDK left behind.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use e2e::{
    Bugsink, Project, assert_all_relay_valid, cargo_build, dsn_via, exception, free_port,
    project_dir, test_dir,
};
use parking_lot::Mutex;
use sentry_core::ClientOptions;
use tracing_subscriber::prelude::*;

/// The SDK is process-wide; the in-process tests take turns with it.
static SDK: Mutex<()> = Mutex::new(());

const WAIT: Duration = Duration::from_secs(20);

/// Options for an in-process test; the process scope is cleared too, since it outlives a
/// client and would carry the breadcrumbs of the test before.
fn options_for(project: &Project) -> ClientOptions {
    sentry_core::configure_scope(|scope| scope.clear());
    ClientOptions::new()
        .dsn(project.dsn())
        .release("e2e-integrations@1.0.0")
        .environment("e2e")
        .database_path(database_for(project))
}

fn database_for(project: &Project) -> PathBuf {
    project_dir("integrations-db", project)
}

#[test]
fn log_error_arrives_as_an_event_with_the_earlier_info_as_breadcrumb() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("log-integration");
    // The `log` logger is installed once per process; this is the only test that logs.
    sentry_log::SentryLogger::new()
        .install(log::LevelFilter::Info)
        .expect("the first logger of this process");
    let guard = sentry_core::init(options_for(&project));
    log::debug!(target: "importer", "not sent at all");
    log::info!(target: "importer", "reading {}", "orders.csv");
    log::error!(target: "importer", "import failed: {} rows invalid", 12);
    assert!(sentry_core::flush(WAIT));
    drop(guard);

    let events = project.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1);
    assert_all_relay_valid(&events);
    let event = &events[0];
    assert_eq!(event["message"], "import failed: 12 rows invalid");
    assert_eq!(event["level"], "error");
    assert_eq!(event["logger"], "importer");
    assert!(event["extra"]["line"].as_u64().is_some());
    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(crumbs.len(), 1, "{crumbs:#?}");
    assert_eq!(crumbs[0]["message"], "reading orders.csv");
    assert_eq!(crumbs[0]["category"], "importer");
    assert_eq!(crumbs[0]["level"], "info");
}

#[test]
fn tracing_error_arrives_with_its_fields_and_span_fields_in_context() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("tracing-integration");
    let guard = sentry_core::init(options_for(&project));
    let subscriber = tracing_subscriber::registry().with(sentry_tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", id = 7_u64, path = "/checkout");
        let _request = request.enter();
        tracing::info!(items = 3, "cart loaded");
        let payment = tracing::info_span!("payment", provider = "acme");
        let _payment = payment.enter();
        tracing::error!(order = 42, "payment provider timed out");
    });
    assert!(sentry_core::flush(WAIT));
    drop(guard);

    let events = project.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1);
    assert_all_relay_valid(&events);
    let event = &events[0];
    assert_eq!(event["message"], "payment provider timed out");
    assert_eq!(event["level"], "error");
    assert_eq!(event["extra"]["order"], 42);
    let context = &event["contexts"]["tracing"];
    assert_eq!(context["spans"], serde_json::json!(["request", "payment"]));
    assert_eq!(context["request.id"], 7);
    assert_eq!(context["request.path"], "/checkout");
    assert_eq!(context["payment.provider"], "acme");
    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(crumbs[0]["message"], "cart loaded");
    assert_eq!(crumbs[0]["data"]["items"], 3);
}

#[inline(never)]
fn parse_port(text: &str) -> anyhow::Result<u16> {
    Ok(text.parse::<u16>()?)
}

#[inline(never)]
fn load_settings() -> anyhow::Result<u16> {
    parse_port("80x").context("invalid settings")
}

/// anyhow records a backtrace only with `RUST_LIB_BACKTRACE` set when the error is created,
/// and the standard library reads it once per process: this test runs its capture half in a
/// child process (this test binary again) with the variable set and the project's DSN.
#[test]
fn anyhow_error_arrives_with_its_chain_and_the_frames_where_it_happened() {
    const CHILD_DSN: &str = "E2E_ANYHOW_DSN";
    if let Some(dsn) = std::env::var_os(CHILD_DSN) {
        let guard = sentry_core::init(
            ClientOptions::new()
                .dsn(dsn.to_string_lossy())
                .database_path(std::env::var_os("E2E_ANYHOW_DB").unwrap()),
        );
        sentry_anyhow::capture_anyhow(&load_settings().unwrap_err());
        assert!(sentry_core::flush(WAIT));
        drop(guard);
        return;
    }
    let project = Bugsink::shared().new_project("anyhow-integration");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "anyhow_error_arrives_with_its_chain_and_the_frames_where_it_happened",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_DSN, project.dsn())
        .env("E2E_ANYHOW_DB", database_for(&project))
        .env("RUST_LIB_BACKTRACE", "1")
        .status()
        .unwrap();
    assert!(status.success());

    let events = project.wait_for_events(1, WAIT);
    assert_all_relay_valid(&events);
    let values = events[0]["exception"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["type"], "ParseIntError");
    assert_eq!(values[0]["value"], "invalid digit found in string");
    assert_eq!(values[1]["value"], "invalid settings");
    let frames = values[1]["stacktrace"]["frames"].as_array().unwrap();
    let names: Vec<&str> = frames
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("?"))
        .collect();
    // Oldest first, ending where the error was made: parse_port's `?`, called by load_settings.
    let n = names.len();
    assert!(names[n - 1].ends_with("parse_port"), "{names:#?}");
    assert!(names[n - 2].ends_with("load_settings"), "{names:#?}");
    assert_eq!(frames[n - 1]["in_app"], true);
    assert!(frames[n - 1]["lineno"].as_u64().is_some());
    assert!(
        frames[n - 1]["instruction_addr"]
            .as_str()
            .unwrap()
            .starts_with("0x")
    );
    assert!(frames.iter().any(|f| f["in_app"] == false), "std frames");
    assert!(
        !events[0]["debug_meta"]["images"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// The wrapper and the example program, built once for this test binary; the executable
/// called `name`.
fn built(name: &str) -> PathBuf {
    static BUILT: OnceLock<Vec<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build(&["-p", "sentry-wrap", "--bins", "--examples"], |_| {}))
        .iter()
        .find(|path| path.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("building sentry-wrap made no {name}"))
        .clone()
}

/// Runs `sentry-wrap <wrap_args> -- <program>` reporting to `project`.
fn wrap(project: &Project, wrap_args: &[&str], program: &[&str]) -> Output {
    Command::new(built("sentry-wrap"))
        .arg("--dsn")
        .arg(project.dsn())
        .args(wrap_args)
        .arg("--")
        .args(program)
        .env("SENTRY_DATABASE_PATH", database_for(project))
        .env_remove("SENTRY_DSN")
        .output()
        .unwrap()
}

#[test]
fn wrap_reports_a_shell_killed_by_sigsegv_and_dies_the_same_way() {
    use std::os::unix::process::ExitStatusExt;
    let project = Bugsink::shared().new_project("wrap-signal");
    let output = wrap(
        &project,
        &["--release", "nightly@3", "--tag", "job=backup"],
        &[
            "sh",
            "-c",
            "echo to stdout; echo step 1 >&2; echo 'about to crash' >&2; kill -SEGV $$",
            "sh",
            "--password",
            "hunter2",
        ],
    );
    assert_eq!(output.status.signal(), Some(11), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "to stdout\n");
    assert!(String::from_utf8_lossy(&output.stderr).contains("step 1\nabout to crash\n"));

    let events = project.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1);
    assert_all_relay_valid(&events);
    let event = &events[0];
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["release"], "nightly@3");
    assert_eq!(event["tags"]["job"], "backup");
    assert_eq!(event["tags"]["signal"], "SIGSEGV");
    assert_eq!(exception(event)["type"], "SIGSEGV");
    assert_eq!(
        exception(event)["value"],
        "sh was killed by SIGSEGV (signal 11)"
    );
    assert_eq!(
        exception(event)["mechanism"]["meta"]["signal"]["number"],
        11
    );
    let command_line = event["extra"]["command_line"].as_str().unwrap();
    assert!(
        command_line.ends_with("--password [Filtered]"),
        "{command_line}"
    );
    assert!(!command_line.contains("hunter2"));
    assert_eq!(event["extra"]["stderr_tail"], "step 1\nabout to crash");
    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(crumbs[1]["message"], "about to crash");
    assert_eq!(crumbs[1]["category"], "stderr");
}

#[test]
fn wrap_reports_exit_codes_only_when_asked() {
    let project = Bugsink::shared().new_project("wrap-exit-code");
    let quiet = wrap(&project, &[], &["false"]);
    assert_eq!(quiet.status.code(), Some(1));
    let loud = wrap(
        &project,
        &["--report-exit-code", "--tail-lines", "1"],
        &["sh", "-c", "echo first >&2; echo last words >&2; exit 3"],
    );
    assert_eq!(loud.status.code(), Some(3));
    let ok = wrap(&project, &["--report-exit-code"], &["true"]);
    assert_eq!(ok.status.code(), Some(0));

    // The wrapper flushes before it exits, so everything it sent is stored by now.
    let events = project.wait_for_events(1, WAIT);
    assert_eq!(
        events.len(),
        1,
        "only the reported non-zero exit: {events:#?}"
    );
    assert_all_relay_valid(&events);
    assert_eq!(events[0]["level"], "error");
    assert_eq!(exception(&events[0])["type"], "ExitCode");
    assert_eq!(exception(&events[0])["value"], "sh exited with status 3");
    assert_eq!(events[0]["extra"]["exit_code"], 3);
    assert_eq!(events[0]["extra"]["stderr_tail"], "last words");
}

#[test]
fn wrap_reports_a_c_program_that_dereferences_null() {
    use std::os::unix::process::ExitStatusExt;
    let dir = test_dir("wrap-c");
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("crash.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { volatile int *p = 0; fprintf(stderr, \"c: going down\\n\"); return *p; }\n",
    )
    .unwrap();
    let binary = dir.join("crash");
    let compiled = Command::new("cc")
        .arg("-O0")
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .status();
    if !compiled.is_ok_and(|s| s.success()) {
        eprintln!("no C compiler (cc): skipping the C program case");
        return;
    }
    let project = Bugsink::shared().new_project("wrap-c");
    let output = wrap(&project, &[], &[binary.to_str().unwrap()]);
    assert_eq!(output.status.signal(), Some(11), "{output:?}");

    let events = project.wait_for_events(1, WAIT);
    assert_all_relay_valid(&events);
    assert_eq!(exception(&events[0])["type"], "SIGSEGV");
    assert_eq!(events[0]["transaction"], "crash");
    assert_eq!(events[0]["contexts"]["app"]["app_name"], "crash");
    assert_eq!(events[0]["extra"]["stderr_tail"], "c: going down");
}

#[test]
fn wrap_delivers_at_once_what_a_crashed_program_using_the_sdk_left_behind() {
    use std::os::unix::process::ExitStatusExt;
    let project = Bugsink::shared().new_project("wrap-leftovers");
    // The program's own DSN names a port where nothing listens: its message cannot be sent
    // and stays in its outbox when it aborts. The wrapper's DSN is the real one.
    let unreachable = dsn_via(&project, free_port());

    let output = Command::new(built("sentry-wrap"))
        .args(["--dsn", project.dsn(), "--"])
        .arg(built("crashy-app"))
        .env("SENTRY_DSN", &unreachable)
        .env("SENTRY_DATABASE_PATH", database_for(&project))
        .output()
        .unwrap();
    assert_eq!(output.status.signal(), Some(6), "{output:?}");

    let events = project.wait_for_events(2, WAIT);
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_all_relay_valid(&events);
    let left = events
        .iter()
        .find(|e| e["message"] == "crashy-app: this message was left behind")
        .expect("the program's own message, delivered by the wrapper");
    assert_eq!(left["level"], "warning");
    let abort = events
        .iter()
        .find(|e| exception(e)["type"] == "SIGABRT")
        .expect("the abort, reported once");
    // The program's own crash report, sent by the wrapper at once (not at the program's next
    // start), with the stack and scope of the crash and what the wrapper saw added to it.
    assert_eq!(exception(abort)["mechanism"]["type"], "signalhandler");
    assert!(
        abort["threads"]["values"][0]["stacktrace"]["frames"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    assert_eq!(abort["extra"]["stderr_tail"], "crashy-app: giving up");
    assert!(
        abort["extra"]["command_line"]
            .as_str()
            .unwrap()
            .contains("crashy-app")
    );
}
