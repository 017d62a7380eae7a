//! The event that tells how the wrapped program ended.

use std::time::Duration;

use sentry_core::protocol::{
    Breadcrumb, Breadcrumbs, Event, Exception, Exceptions, Level, Map, Mechanism, Value,
};

use crate::tail::Line;

/// How the program ended, when that is worth a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Killed by a signal.
    Signal {
        /// The signal number.
        number: i32,
        /// Whether the kernel wrote a core dump.
        core_dumped: bool,
    },
    /// Exited with a non-zero status.
    ExitCode(i32),
}

/// Everything known about the run.
#[derive(Debug)]
pub struct Run<'a> {
    /// The program's file name, such as `backup.sh`.
    pub program: &'a str,
    /// The command line, already scrubbed of secrets.
    pub command_line: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it ran.
    pub duration: Duration,
    /// The last lines of its stderr, oldest first.
    pub stderr: Vec<Line>,
    /// What the program's own crash handler wrote, when it did (see `main.rs`).
    pub crash_reports: Vec<String>,
}

/// The event for `run`: an exception named after the signal (`SIGSEGV`) or `ExitCode`, the
/// command line, duration and stderr tail in `extra`, and the stderr lines as breadcrumbs
/// (timestamped when they were read, so the server shows when each was printed).
pub fn event(run: &Run<'_>) -> Event {
    let (ty, value, level, tag) = match run.outcome {
        Outcome::Signal {
            number,
            core_dumped,
        } => {
            let name = signal_name(number);
            let dumped = if core_dumped { ", core dumped" } else { "" };
            (
                name.clone(),
                format!(
                    "{} was killed by {name} (signal {number}){dumped}",
                    run.program
                ),
                Level::Fatal,
                ("signal", name),
            )
        }
        Outcome::ExitCode(code) => (
            "ExitCode".to_owned(),
            format!("{} exited with status {code}", run.program),
            Level::Error,
            ("exit_code", code.to_string()),
        ),
    };
    let mut mechanism = Mechanism {
        ty: "sentry-wrap".into(),
        description: Some("the program's exit status, seen by sentry-wrap".into()),
        handled: Some(false),
        ..Mechanism::default()
    };
    if let Outcome::Signal { number, .. } = run.outcome {
        let mut signal = Map::new();
        signal.insert("number".into(), number.into());
        signal.insert("name".into(), signal_name(number).into());
        mechanism
            .meta
            .insert("signal".into(), Value::Object(signal));
    }

    let mut extra = Map::new();
    extra.insert("command_line".into(), run.command_line.clone().into());
    extra.insert("duration_secs".into(), run.duration.as_secs_f64().into());
    let stderr: Vec<&str> = run.stderr.iter().map(|l| l.text.as_str()).collect();
    extra.insert("stderr_tail".into(), stderr.join("\n").into());
    match run.outcome {
        Outcome::Signal { number, .. } => extra.insert("signal".into(), number.into()),
        Outcome::ExitCode(code) => extra.insert("exit_code".into(), code.into()),
    };
    if !run.crash_reports.is_empty() {
        extra.insert("crash_reports".into(), run.crash_reports.clone().into());
    }

    let crumbs = run
        .stderr
        .iter()
        .map(|line| Breadcrumb {
            timestamp: line.timestamp,
            ..Breadcrumb::new(line.text.clone()).category("stderr")
        })
        .collect();

    let mut event = Event {
        level,
        transaction: Some(run.program.to_owned()),
        exception: Some(Exceptions {
            values: vec![Exception {
                ty,
                value: Some(value),
                mechanism: Some(mechanism),
                ..Exception::default()
            }],
        }),
        extra,
        breadcrumbs: Some(Breadcrumbs { values: crumbs }),
        ..Event::default()
    };
    // The SDK would describe the wrapper as the app; the program is what the user runs.
    let mut app = Map::new();
    app.insert("type".into(), "app".into());
    app.insert("app_name".into(), run.program.into());
    event.contexts.insert("app".into(), app);
    event.tags.insert("program".into(), run.program.to_owned());
    event.tags.insert(tag.0.into(), tag.1);
    event
}

/// `SIGSEGV` for 11; `signal 64` for a number without a name.
pub fn signal_name(number: i32) -> String {
    sentry_native_crash::signal_name(number)
        .map_or_else(|| format!("signal {number}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(outcome: Outcome) -> Run<'static> {
        Run {
            program: "backup.sh",
            command_line: "backup.sh --password [Filtered]".into(),
            outcome,
            duration: Duration::from_millis(1500),
            stderr: vec![Line {
                timestamp: 1.0,
                text: "disk full".into(),
            }],
            crash_reports: Vec::new(),
        }
    }

    #[test]
    fn a_signal_is_a_fatal_exception_named_after_it() {
        let event = event(&run(Outcome::Signal {
            number: 11,
            core_dumped: true,
        }));
        let exception = &event.exception.as_ref().unwrap().values[0];
        assert_eq!(exception.ty, "SIGSEGV");
        assert_eq!(
            exception.value.as_deref(),
            Some("backup.sh was killed by SIGSEGV (signal 11), core dumped")
        );
        assert_eq!(event.level, Level::Fatal);
        assert_eq!(event.tags["signal"], "SIGSEGV");
        assert_eq!(event.extra["stderr_tail"], "disk full");
        assert_eq!(event.breadcrumbs.unwrap().values[0].timestamp, 1.0);
    }

    #[test]
    fn an_exit_code_is_an_error() {
        let event = event(&run(Outcome::ExitCode(3)));
        let exception = &event.exception.as_ref().unwrap().values[0];
        assert_eq!(exception.ty, "ExitCode");
        assert_eq!(event.level, Level::Error);
        assert_eq!(event.extra["exit_code"], 3);
        assert_eq!(event.extra["duration_secs"], 1.5);
    }
}
