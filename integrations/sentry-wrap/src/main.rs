//! `sentry-wrap [options] -- program args...`: runs a program, passes its input and output
//! through, exits the way it exited, and reports to Sentry when it crashed (or failed).
//!
//! For cron jobs, shell scripts, services started by a supervisor, and programs in any
//! language: nothing in the program changes. What the wrapper does, in order:
//!
//! 1. Starts the program with stdin and stdout inherited and stderr through a pipe that is
//!    copied to the wrapper's stderr as it arrives, keeping the last `--tail-lines` lines
//!    (`--tail-lines 0` leaves stderr inherited, so a terminal stays a terminal).
//!    `SENTRY_DATABASE_PATH` is set for the program, and `SENTRY_DSN`, `SENTRY_RELEASE` and
//!    `SENTRY_ENVIRONMENT` from the options when the environment lacks them, so a program
//!    that uses this SDK reports to the same place and leaves its files where the wrapper
//!    looks.
//! 2. Forwards SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1 and SIGUSR2 sent to the wrapper to
//!    the program (not the terminal's own Ctrl-C, which the program receives anyway).
//! 3. When the program is gone: if it was killed by a signal, or exited non-zero with
//!    `--report-exit-code`, sends one event (see `report.rs`). It also starts the SDK when
//!    the program's dead runs left undelivered envelopes or crash reports in the database,
//!    which the SDK adopts and sends at once instead of at the program's next start. When the
//!    program wrote a crash report of its own, that report's event (stack, scope) is the one
//!    event of the crash, and the wrapper's information is added to it.
//! 4. Exits with the program's status, or dies of the program's signal.
#![deny(missing_docs)]

mod cli;
mod report;
mod scrub;
mod tail;

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use sentry_core::ClientOptions;
use sentry_core::protocol::Event;

use crate::cli::{Args, Parsed};
use crate::report::{Outcome, Run};

/// Signals sent to the wrapper that the program should get.
const FORWARDED: &[i32] = &[
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// How long to wait for the end of the program's stderr after it exited: a background
/// process it started may hold the pipe open indefinitely.
const STDERR_GRACE: Duration = Duration::from_secs(2);

/// How long to wait for the report (and left-over envelopes) to be sent.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    let args = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{}", cli::HELP);
            return;
        }
        Ok(Parsed::Version) => {
            println!("sentry-wrap {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(error) => {
            eprintln!("sentry-wrap: {error}");
            std::process::exit(2);
        }
    };
    let program = program_name(&args.command[0]);
    let database = database_path(&args, &program);

    let mut command = Command::new(&args.command[0]);
    command
        .args(&args.command[1..])
        .env("SENTRY_DATABASE_PATH", &database);
    for (name, value) in [
        ("SENTRY_DSN", &args.dsn),
        ("SENTRY_RELEASE", &args.release),
        ("SENTRY_ENVIRONMENT", &args.environment),
    ] {
        if let Some(value) = value
            && std::env::var_os(name).is_none()
        {
            command.env(name, value);
        }
    }
    if args.tail_lines > 0 {
        command.stderr(Stdio::piped());
    }
    let started = Instant::now();
    let started_at = SystemTime::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!(
                "sentry-wrap: cannot run {}: {error}",
                args.command[0].to_string_lossy()
            );
            // The shell's codes: 127 not found, 126 found but not runnable.
            let code = if error.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            std::process::exit(code);
        }
    };
    // Before any other thread starts: the blocked mask is inherited by threads.
    if let Err(error) = sentry_native_crash::forward_signals(child.id(), FORWARDED) {
        eprintln!("sentry-wrap: signals will not be forwarded: {error}");
    }
    let tee = child.stderr.take().and_then(|stderr| {
        tail::tee(stderr, std::io::stderr(), args.tail_lines)
            .inspect_err(|e| eprintln!("sentry-wrap: cannot copy stderr: {e}"))
            .ok()
    });

    let status = match child.wait() {
        Ok(status) => status,
        Err(error) => {
            eprintln!("sentry-wrap: lost the program: {error}");
            std::process::exit(125);
        }
    };
    let stderr = match &tee {
        Some((tail, done)) => {
            tail::wait_for_end(done, STDERR_GRACE);
            tail.lock().map(|mut t| t.lines()).unwrap_or_default()
        }
        None => Vec::new(),
    };

    let outcome = match (status.signal(), status.code()) {
        (Some(number), _) => Some(Outcome::Signal {
            number,
            core_dumped: status.core_dumped(),
        }),
        (None, Some(code)) if code != 0 && args.report_exit_code => Some(Outcome::ExitCode(code)),
        _ => None,
    };
    let run = outcome.map(|outcome| Run {
        program: &program,
        command_line: scrub::display_command(
            &args
                .command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>(),
        ),
        outcome,
        duration: started.elapsed(),
        stderr,
        crash_reports: crash_reports_since(&database, started_at),
    });
    deliver(&args, &database, run.as_ref(), started_at);

    match (status.signal(), status.code()) {
        (Some(signal), _) => sentry_native_crash::die_by_signal(signal),
        (None, Some(code)) => std::process::exit(code),
        (None, None) => std::process::exit(1),
    }
}

/// Sends the report, if any, and what the program's dead runs left in the database.
///
/// The SDK is started only now, after the program is gone: at start its outbox adopts the
/// files of runs whose process has exited, which now includes the program's, and its worker
/// sends them before anything captured later; a flush waits for that first pass.
fn deliver(args: &Args, database: &Path, run: Option<&Run<'_>>, started_at: SystemTime) {
    if run.is_none() && !has_leftovers(database) {
        return;
    }
    // No crash handler in the wrapper itself; the SDK still turns the crash report the
    // program just wrote into an event and sends it now. That event has the real stack and
    // scope, so it stands for this crash: the wrapper adds what it saw (command line, stderr
    // tail, status) to it instead of sending a second event.
    let native_report = run.is_some_and(|run| !run.crash_reports.is_empty());
    let what_the_wrapper_saw = run.filter(|_| native_report).map(report::event);
    let mut options = ClientOptions::new()
        .database_path(database)
        .native_crash_handler(false)
        .before_send(move |mut event| {
            // Only the crash of this run gets what this run saw; older reports keep theirs.
            if let Some(seen) = &what_the_wrapper_saw
                && is_native_crash(&event)
                && event.timestamp >= sentry_core::protocol::to_timestamp(started_at)
            {
                for (key, value) in &seen.extra {
                    event
                        .extra
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
                for (key, value) in &seen.tags {
                    event
                        .tags
                        .entry(key.clone())
                        .or_insert_with(|| value.clone());
                }
            }
            Some(event)
        });
    options.dsn = args.dsn.clone();
    options.release = args.release.clone().map(Into::into);
    options.environment = args.environment.clone().map(Into::into);
    let guard = sentry_core::init(options);
    if !guard.is_enabled() {
        return;
    }
    sentry_core::configure_scope(|scope| {
        for (key, value) in &args.tags {
            scope.set_tag(key.clone(), value);
        }
    });
    if let Some(run) = run.filter(|_| !native_report) {
        sentry_core::capture_event(report::event(run));
    }
    // Flush waits for the worker's first pass (the adopted envelopes and crash reports run
    // before anything queued after init), so it covers what the program left too.
    if !sentry_core::flush(SEND_TIMEOUT) {
        eprintln!("sentry-wrap: the report could not be sent yet; it is kept for the next run");
    }
    drop(guard);
}

/// Whether an event is one the SDK made from a native crash report.
fn is_native_crash(event: &Event) -> bool {
    event
        .exception
        .iter()
        .flat_map(|e| e.values.iter())
        .filter_map(|e| e.mechanism.as_ref())
        .any(|m| m.ty == "signalhandler")
}

/// The program's file name, for the event and the default database directory.
fn program_name(program: &OsString) -> String {
    Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "program".to_owned())
}

/// `--database-path`, else `SENTRY_DATABASE_PATH`, else the directory the SDK would pick
/// for the program itself (`$XDG_CACHE_HOME/sentry-rs/<program>` or
/// `~/.cache/sentry-rs/<program>`), so the program's unwrapped runs are found too.
fn database_path(args: &Args, program: &str) -> PathBuf {
    if let Some(path) = &args.database_path {
        return PathBuf::from(path);
    }
    if let Some(path) = std::env::var_os("SENTRY_DATABASE_PATH").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    sentry_core::database_path_for(program)
}

/// The files of every run directory in the database.
fn run_files(database: &Path) -> Vec<PathBuf> {
    let Ok(runs) = std::fs::read_dir(database.join("runs")) else {
        return Vec::new();
    };
    runs.flatten()
        .filter_map(|run| std::fs::read_dir(run.path()).ok())
        .flat_map(|files| files.flatten().map(|f| f.path()))
        .collect()
}

/// Whether earlier runs left envelopes or crash reports to send.
fn has_leftovers(database: &Path) -> bool {
    run_files(database).iter().any(|path| {
        path.extension()
            .is_some_and(|ext| ext == "envelope" || ext == sentry_native_crash::REPORT_EXTENSION)
    })
}

/// The descriptions of crash reports the program's own crash handler (this SDK's
/// `native-crash` feature) wrote during this run.
///
/// When there is one, the SDK started by [`deliver`] sends it as a full event (stack trace,
/// scope, debug images) and the wrapper sends no event of its own: it adds what it saw,
/// `extra.crash_reports` included, to the report's event.
fn crash_reports_since(database: &Path, since: SystemTime) -> Vec<String> {
    run_files(database)
        .into_iter()
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == sentry_native_crash::REPORT_EXTENSION)
        })
        .filter(|path| {
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified >= since)
        })
        .filter_map(|path| sentry_native_crash::read_report(&path).ok())
        .map(|report| report.description())
        .collect()
}
