//! The command line of the wrapper itself: `sentry-wrap [options] -- program args...`.

use std::ffi::OsString;

/// What the wrapper was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Args {
    /// `--dsn`; `SENTRY_DSN` when absent (read by the SDK).
    pub dsn: Option<String>,
    /// `--release`; `SENTRY_RELEASE` when absent.
    pub release: Option<String>,
    /// `--environment`; `SENTRY_ENVIRONMENT` when absent.
    pub environment: Option<String>,
    /// `--report-exit-code`: a non-zero exit is reported too, not only death by a signal.
    pub report_exit_code: bool,
    /// `--tail-lines N`: how many of the last stderr lines go with a report.
    pub tail_lines: usize,
    /// `--tag k=v`, repeatable.
    pub tags: Vec<(String, String)>,
    /// `--database-path`; `SENTRY_DATABASE_PATH` when absent.
    pub database_path: Option<OsString>,
    /// The program and its arguments.
    pub command: Vec<OsString>,
}

/// The default of `--tail-lines`.
pub const DEFAULT_TAIL_LINES: usize = 50;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Run a program.
    Run(Args),
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
}

/// The help text.
pub const HELP: &str = "\
sentry-wrap: run a program and report to Sentry when it crashes (or fails)

usage: sentry-wrap [options] -- program [args...]

The program's stdin, stdout and stderr pass through unchanged, and sentry-wrap exits with
the program's status (dying of the same signal when the program did). When the program is
killed by a signal (or, with --report-exit-code, exits non-zero) an event is sent with the
signal or exit status, the command line (secrets masked) and the last lines of its stderr.

options:
  --dsn DSN              where to send (default: $SENTRY_DSN; none: report nothing)
  --release NAME         release of the event (default: $SENTRY_RELEASE)
  --environment NAME     environment of the event (default: $SENTRY_ENVIRONMENT, else production)
  --report-exit-code     also report a non-zero exit status
  --tail-lines N         stderr lines to send with a report (default: 50)
  --tag KEY=VALUE        a tag on the event; repeatable
  --database-path DIR    where undelivered reports wait (default: $SENTRY_DATABASE_PATH,
                         else ~/.cache/sentry-rs/<program name>)
  -h, --help             this text
  -V, --version          the version
";

/// Parses the wrapper's arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    let mut parsed = Args {
        tail_lines: DEFAULT_TAIL_LINES,
        ..Args::default()
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            // Not an option (options are ASCII): the program starts here.
            parsed.command.push(arg);
            break;
        };
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (text, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match &inline {
                Some(value) => Ok(value.clone()),
                None => args
                    .next()
                    .and_then(|v| v.into_string().ok())
                    .ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag {
            "--" => break,
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "--dsn" => parsed.dsn = Some(value(flag)?),
            "--release" => parsed.release = Some(value(flag)?),
            "--environment" => parsed.environment = Some(value(flag)?),
            "--database-path" => parsed.database_path = Some(value(flag)?.into()),
            "--report-exit-code" => parsed.report_exit_code = true,
            "--tail-lines" => {
                let text = value(flag)?;
                parsed.tail_lines = text
                    .parse()
                    .map_err(|_| format!("--tail-lines needs a number, not {text:?}"))?;
            }
            "--tag" => {
                let text = value(flag)?;
                let (key, value) = text
                    .split_once('=')
                    .ok_or_else(|| format!("--tag needs KEY=VALUE, not {text:?}"))?;
                parsed.tags.push((key.to_owned(), value.to_owned()));
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            _ => {
                // No `--`: the first word that is not an option is the program.
                parsed.command.push(arg);
                break;
            }
        }
    }
    parsed.command.extend(args);
    if parsed.command.is_empty() {
        return Err("no program to run (usage: sentry-wrap [options] -- program args...)".into());
    }
    Ok(Parsed::Run(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Args {
        match parse(args.iter().map(OsString::from)).unwrap() {
            Parsed::Run(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_then_program() {
        let args = run(&[
            "--dsn=https://k@h/1",
            "--release",
            "cron@2",
            "--tag",
            "job=backup",
            "--report-exit-code",
            "--tail-lines",
            "5",
            "--",
            "backup.sh",
            "--dsn",
            "-x",
        ]);
        assert_eq!(args.dsn.as_deref(), Some("https://k@h/1"));
        assert_eq!(args.release.as_deref(), Some("cron@2"));
        assert_eq!(args.tags, [("job".to_owned(), "backup".to_owned())]);
        assert!(args.report_exit_code);
        assert_eq!(args.tail_lines, 5);
        assert_eq!(args.command, ["backup.sh", "--dsn", "-x"]);
    }

    #[test]
    fn program_without_separator_and_errors() {
        assert_eq!(run(&["ls", "-l"]).command, ["ls", "-l"]);
        assert_eq!(run(&["ls"]).tail_lines, DEFAULT_TAIL_LINES);
        let parse = |a: &[&str]| parse(a.iter().map(OsString::from));
        assert!(parse(&["--bogus", "--", "ls"]).is_err());
        assert!(parse(&["--tail-lines", "x", "ls"]).is_err());
        assert!(parse(&["--tag", "novalue", "ls"]).is_err());
        assert!(parse(&["--dsn"]).is_err());
        assert!(parse(&["--"]).is_err());
        assert_eq!(parse(&["--help", "ls"]), Ok(Parsed::Help));
    }
}
