//! Capture [`anyhow::Error`]s with their whole chain of causes and the backtrace anyhow
//! recorded when the error was created.
//!
//! ```
//! use anyhow::Context;
//!
//! fn load_config() -> anyhow::Result<String> {
//!     std::fs::read_to_string("/etc/app/config.toml").context("could not load the configuration")
//! }
//!
//! let _guard = sentry_core::init(sentry_core::ClientOptions::new()); // SENTRY_DSN, etc.
//! if let Err(error) = load_config() {
//!     sentry_anyhow::capture_anyhow(&error);
//! }
//! ```
//!
//! # The chain
//!
//! Each context and cause is one exception, the root cause first and the outermost context
//! last, as [`sentry_core::capture_error`] does for any `std::error::Error`. anyhow erases
//! the types, so types are named from each error's `Debug` output (`Os`, `Error`, ...); the
//! messages are exact.
//!
//! # The backtrace
//!
//! anyhow records a [`std::backtrace::Backtrace`] when the error is created, if
//! `RUST_LIB_BACKTRACE=1` or `RUST_BACKTRACE=1` is set then (anyhow's rule, not ours; it
//! costs a stack walk per error). That backtrace shows where the error *happened*, which is
//! usually more useful than where it was reported.
//!
//! The standard library's `Backtrace` has no API for its frames on stable Rust
//! (`frames()` is unstable), so this crate parses its alternate display (`{:#}`), which
//! gives for each frame the instruction address, the function and the source location:
//!
//! ```text
//!    6:     0x55d5c2b1f75d - my_app::load_config::h0123456789abcdef
//!                                at /home/me/my_app/src/main.rs:12:5
//! ```
//!
//! From it the outermost exception gets a stack trace, oldest frame first, with the
//! backtrace machinery and anyhow's own frames removed from the newest end, and in-app
//! marked by the client's `in_app_include`/`in_app_exclude` rules. The addresses are this
//! process's, so the client adds the loaded modules (debug images) and a server can also
//! symbolicate the frames itself.
//!
//! Limits, stated plainly:
//!
//! * The format is documented as unstable; a future Rust may print it differently. What
//!   cannot be parsed is left out, and when no frame can be parsed the event is sent as
//!   without a backtrace.
//! * Without `RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` anyhow records nothing. The event then
//!   carries the stack of the place that called [`capture_anyhow`], when the client's
//!   `attach_stacktrace` option is on, like [`sentry_core::capture_error`].
//! * Inlined functions share their caller's address, as in every native stack trace; the
//!   function names of builds with `debug = "line-tables-only"` have no module path.
#![deny(missing_docs)]

use std::backtrace::{Backtrace, BacktraceStatus};

use sentry_core::Uuid;
use sentry_core::protocol::{Event, Frame, Stacktrace};
use sentry_core::stacktrace::InAppRules;

/// Captures `error` with its chain and, when anyhow recorded one, its backtrace. Returns
/// the event id (nil when the SDK is off or dropped the event).
pub fn capture_anyhow(error: &anyhow::Error) -> Uuid {
    let event = event_from_anyhow(error);
    if event.stacktraces().next().is_some() {
        sentry_core::capture_event(event)
    } else {
        // No backtrace recorded: the core then attaches the reporting thread's stack
        // (with `attach_stacktrace`), resolved on its worker.
        sentry_core::capture_error(error.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// The event [`capture_anyhow`] sends for `error`, to change it before sending it with
/// [`sentry_core::capture_event`].
///
/// ```
/// let error = anyhow::anyhow!("disk full").context("could not save the report");
/// let event = sentry_anyhow::event_from_anyhow(&error);
/// let values = &event.exception.as_ref().unwrap().values;
/// assert_eq!(values[0].value.as_deref(), Some("disk full"));
/// assert_eq!(values[1].value.as_deref(), Some("could not save the report"));
/// ```
pub fn event_from_anyhow(error: &anyhow::Error) -> Event {
    let mut event =
        sentry_core::event_from_error(error.as_ref() as &(dyn std::error::Error + 'static));
    let stacktrace = stacktrace_from_backtrace(error.backtrace(), &sentry_core::in_app_rules());
    if let (Some(stacktrace), Some(exceptions)) = (stacktrace, event.exception.as_mut())
        && let Some(outermost) = exceptions.values.last_mut()
    {
        outermost.stacktrace = Some(stacktrace);
    }
    event
}

/// The stack trace of a captured `backtrace`, oldest frame first, with the frames of the
/// backtrace machinery and of anyhow removed from the newest end. `None` when the backtrace
/// was not captured or nothing in it could be parsed.
///
/// ```
/// use sentry_core::stacktrace::InAppRules;
///
/// let backtrace = std::backtrace::Backtrace::force_capture();
/// let stacktrace = sentry_anyhow::stacktrace_from_backtrace(&backtrace, &InAppRules::default());
/// let newest = stacktrace.unwrap().frames.pop().unwrap();
/// assert!(newest.function.unwrap().contains("main"));
/// ```
pub fn stacktrace_from_backtrace(backtrace: &Backtrace, rules: &InAppRules) -> Option<Stacktrace> {
    if backtrace.status() != BacktraceStatus::Captured {
        return None;
    }
    let mut newest_first = parse_backtrace(&format!("{backtrace:#}"));
    let machinery = newest_first.iter().take_while(|f| is_machinery(f)).count();
    if machinery < newest_first.len() {
        newest_first.drain(..machinery);
    }
    if newest_first.is_empty() {
        return None;
    }
    for frame in &mut newest_first {
        frame.in_app = rules.is_in_app(frame.function.as_deref(), frame.abs_path.as_deref());
    }
    newest_first.reverse();
    Some(Stacktrace {
        frames: newest_first,
        ..Stacktrace::default()
    })
}

/// Frames of `std::backtrace`, of the runtime around it and of anyhow, recognised by
/// function name, or by source path for the bare names of `line-tables-only` builds.
fn is_machinery(frame: &Frame) -> bool {
    let name = frame.function.as_deref().unwrap_or("");
    let name = name.trim_start_matches('<');
    let by_name = ["std::", "core::", "alloc::", "anyhow::"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
    let path = frame.abs_path.as_deref().unwrap_or("");
    by_name || path.starts_with("/rustc/") || is_anyhow_source(path)
}

/// Whether `path` is in anyhow's downloaded source: `.../anyhow-1.0.98/src/...`.
fn is_anyhow_source(path: &str) -> bool {
    path.match_indices("/anyhow-")
        .any(|(at, found)| path[at + found.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// Parses the alternate display of a `std::backtrace::Backtrace` into frames, newest
/// first. Lines that do not look like a frame or its location are skipped.
fn parse_backtrace(text: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(location) = line.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                set_location(frame, location);
            }
            continue;
        }
        let Some((index, rest)) = line.split_once(':') else {
            continue;
        };
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let rest = rest.trim();
        let (address, function) = match rest.split_once(" - ") {
            Some((address, function)) if address.starts_with("0x") => (Some(address), function),
            _ => (None, rest),
        };
        let address = address.and_then(|a| u64::from_str_radix(&a[2..], 16).ok());
        if address == Some(0) {
            continue; // the end marker of some unwinders
        }
        frames.push(Frame {
            function: (function != "<unknown>").then(|| clean_function_name(function)),
            instruction_addr: address.map(|a| format!("{a:#x}")),
            ..Frame::default()
        });
    }
    frames
}

/// `path/to/file.rs:12:5` (the column may be missing) into the frame.
fn set_location(frame: &mut Frame, location: &str) {
    let mut parts = location.rsplitn(3, ':');
    let (last, middle, first) = (parts.next(), parts.next(), parts.next());
    let number = |s: Option<&str>| s.and_then(|s| s.parse::<u32>().ok());
    let (path, line, column) = match (number(middle), number(last)) {
        (Some(line), Some(column)) => (first, Some(line), Some(column)),
        (None, Some(line)) => (
            Some(location.rsplit_once(':').map_or(location, |(p, _)| p)),
            Some(line),
            None,
        ),
        _ => (Some(location), None, None),
    };
    let Some(path) = path else { return };
    frame.filename = std::path::Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned());
    frame.abs_path = Some(path.to_owned());
    frame.lineno = line;
    frame.colno = column;
}

/// Removes what the full format adds to names: crate disambiguators (`std[e2829…]::`) and
/// the hash suffix (`::h0123456789abcdef`).
fn clean_function_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        match after[1..].find(']') {
            Some(close) if after[1..=close].bytes().all(|b| b.is_ascii_hexdigit()) => {
                rest = &after[close + 2..];
            }
            _ => {
                out.push('[');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    if let Some(pos) = out.rfind("::h") {
        let hash = &out[pos + 3..];
        if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.truncate(pos);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "   0:     0x564dec1a42fb - std[e28293b1aa0f68bd]::backtrace_rs::backtrace::libunwind::trace
                               at /rustc/5980/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9
   1:     0x564dec1a450c - <std[e28293b1aa0f68bd]::backtrace::Backtrace>::capture
                               at /rustc/5980/library/std/src/backtrace.rs:296:9
   2:     0x564dec1886ff - msg<&str>
                               at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/anyhow-1.0.104/src/backtrace.rs:10:14
   3:     0x564dec17f75d - my_app::inner::he6df5e6310acfa98
                               at /src/my_app/src/main.rs:1:40
   4:     0x564dec17f776 - my_app::outer::h085e88a9b701f51d
                               at /src/my_app/src/main.rs:2
   5:     0x564dec17f777 - main
   6:                0x0 - <unknown>
";

    #[test]
    fn parses_addresses_names_and_locations() {
        let frames = parse_backtrace(FULL);
        assert_eq!(frames.len(), 6);
        assert_eq!(
            frames[1].function.as_deref(),
            Some("<std::backtrace::Backtrace>::capture")
        );
        let inner = &frames[3];
        assert_eq!(inner.function.as_deref(), Some("my_app::inner"));
        assert_eq!(inner.instruction_addr.as_deref(), Some("0x564dec17f75d"));
        assert_eq!(inner.abs_path.as_deref(), Some("/src/my_app/src/main.rs"));
        assert_eq!(inner.filename.as_deref(), Some("main.rs"));
        assert_eq!((inner.lineno, inner.colno), (Some(1), Some(40)));
        assert_eq!((frames[4].lineno, frames[4].colno), (Some(2), None));
        assert_eq!(frames[5].abs_path, None);
    }

    #[test]
    fn machinery_is_trimmed_from_the_newest_end_only() {
        let frames = parse_backtrace(FULL);
        let trimmed: Vec<_> = frames.iter().skip_while(|f| is_machinery(f)).collect();
        assert_eq!(trimmed[0].function.as_deref(), Some("my_app::inner"));
        assert!(is_anyhow_source(
            "/r/src/index.crates.io-1/anyhow-1.0.104/src/lib.rs"
        ));
        assert!(!is_anyhow_source("/home/me/anyhow-demo/src/main.rs"));
    }

    #[test]
    fn names_lose_disambiguators_and_hashes_only() {
        assert_eq!(
            clean_function_name(
                "<&dyn core[c1f1a4ba060b9bfa]::ops::Fn<()> as core[c1f1a4ba060b9bfa]::X>::call_once"
            ),
            "<&dyn core::ops::Fn<()> as core::X>::call_once"
        );
        assert_eq!(
            clean_function_name("f::<[u8; 4]>::hzz"),
            "f::<[u8; 4]>::hzz"
        );
        assert_eq!(clean_function_name("a::b::h0123456789abcdef"), "a::b");
    }
}
