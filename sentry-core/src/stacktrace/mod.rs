//! Capturing stack traces cheaply and turning them into protocol [`Stacktrace`]s later.
//!
//! Capturing happens on the thread that reports (inside a panic hook or an error path), so
//! it only records instruction addresses. Resolving them into function names, files and
//! lines reads debug info and is slow the first time; it is meant for a worker thread:
//!
//! ```
//! use sentry_core::stacktrace::{CapturedBacktrace, InAppRules};
//!
//! let captured = CapturedBacktrace::capture();
//! let stacktrace = std::thread::spawn(move || captured.resolve(&InAppRules::default()))
//!     .join()
//!     .unwrap();
//! assert!(!stacktrace.frames.is_empty());
//! ```

mod cache;
mod in_app;

use std::path::Path;

use crate::images::{ImageList, images_covering};
use crate::protocol::{Frame, Stacktrace};

pub use in_app::InAppRules;
use in_app::{is_sdk_frame, strip_hash_suffix};

/// How deep in a fresh capture this function's own frame can be: the unwinder's frames
/// come first, and there are only a few of them.
const MAX_UNWINDER_FRAMES: usize = 16;

/// The instruction addresses of a thread's stack, newest frame first, not yet resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapturedBacktrace {
    addresses: Vec<u64>,
    /// How many of the newest addresses belong to the capture itself (unwinder and
    /// [`capture`](Self::capture)); 0 when unknown.
    capture_frames: usize,
}

impl CapturedBacktrace {
    /// Captures the calling thread's stack: only walks it and copies the addresses.
    ///
    /// The frames of the capture itself are recorded here and left out by
    /// [`resolve`](Self::resolve).
    #[inline(never)]
    pub fn capture() -> Self {
        // This function's frame is found by address, not by name: builds with
        // `debug = "line-tables-only"` give inlined and even outer frames bare names.
        let this_function = Self::capture as fn() -> Self as usize;
        let mut addresses = Vec::with_capacity(64);
        let mut capture_frames = 0;
        backtrace::trace(|frame| {
            let ip = frame.ip() as usize as u64;
            // A zero address marks the end of some unwinders' walk; there is nothing to resolve.
            if ip == 0 {
                return true;
            }
            addresses.push(ip);
            let searching = capture_frames == 0 && addresses.len() <= MAX_UNWINDER_FRAMES;
            if searching && frame.symbol_address() as usize == this_function {
                capture_frames = addresses.len();
            }
            true
        });
        CapturedBacktrace {
            addresses,
            capture_frames,
        }
    }

    /// A backtrace from addresses captured elsewhere, newest frame first.
    pub fn from_addresses(addresses: Vec<u64>) -> Self {
        CapturedBacktrace {
            addresses,
            capture_frames: 0,
        }
    }

    /// The instruction addresses, newest frame first.
    pub fn addresses(&self) -> &[u64] {
        &self.addresses
    }

    /// Resolves the stack into protocol frames, oldest first.
    ///
    /// The frames of the SDK at the newest end (the capture itself and the SDK functions
    /// that called it) are removed, so the trace ends in the code that reported.
    pub fn resolve(&self, rules: &InAppRules) -> Stacktrace {
        self.resolve_inner(rules)
    }

    /// The frames with their addresses and modules only, without looking up any symbol:
    /// instant, for when there is no time to load debug information (a panic whose
    /// deadline passed). The server can still symbolicate them from the debug images.
    pub fn unresolved(&self) -> Stacktrace {
        let after_capture = self
            .addresses
            .get(self.capture_frames..)
            .unwrap_or_default();
        let images = images_covering(after_capture.iter().copied());
        let newest_first = after_capture
            .iter()
            .map(|&addr| Frame {
                instruction_addr: Some(format!("{addr:#x}")),
                package: images.find(addr).map(|image| image.code_file.clone()),
                ..Frame::default()
            })
            .collect();
        into_stacktrace(newest_first)
    }

    /// What [`resolve`](Self::resolve) gives, when every address was resolved before (by any
    /// resolution in this process) and so costs no look-up in debug information: `None`
    /// otherwise. Cheap enough for a panicking thread.
    pub fn resolve_cached(&self, rules: &InAppRules) -> Option<Stacktrace> {
        let after_capture = self
            .addresses
            .get(self.capture_frames..)
            .unwrap_or_default();
        let mut newest_first = cache::cached_frames(after_capture)?;
        let images = images_covering(after_capture.iter().copied());
        let mut start = 0;
        for (&addr, &count) in after_capture.iter().zip(&newest_first.1) {
            finish_frames(
                &mut newest_first.0[start..start + count],
                addr,
                &images,
                rules,
            );
            start += count;
        }
        let mut newest_first = newest_first.0;
        trim_sdk_frames(&mut newest_first);
        Some(into_stacktrace(newest_first))
    }

    /// Loads the debug information of the modules on the current stack, so that the first
    /// real resolution (often a panic's, under a deadline) does not pay for it.
    pub fn warm_up() {
        let _ = Self::capture().resolve(&InAppRules::default());
    }

    fn resolve_inner(&self, rules: &InAppRules) -> Stacktrace {
        let after_capture = self
            .addresses
            .get(self.capture_frames..)
            .unwrap_or_default();
        let mut newest_first = resolve_newest_first(after_capture, rules);
        trim_sdk_frames(&mut newest_first);
        into_stacktrace(newest_first)
    }
}

/// Resolves instruction addresses captured elsewhere (newest first, such as a crashed
/// thread's stack read from a crash report) into a stacktrace, oldest frame first.
///
/// Resolution is the same as [`CapturedBacktrace::resolve`], except that no frame is
/// trimmed: a crash inside the SDK must stay visible. Every address is treated as a return
/// address (looked up one byte earlier, to find the call rather than the instruction after).
pub fn stacktrace_from_addresses(addresses: &[u64], rules: &InAppRules) -> Stacktrace {
    into_stacktrace(resolve_newest_first(addresses, rules))
}

/// One frame per symbol, newest first. An address inside inlined code has several symbols,
/// innermost first, which become frames sharing the same `instruction_addr`.
fn resolve_newest_first(addresses: &[u64], rules: &InAppRules) -> Vec<Frame> {
    let images = images_covering(addresses.iter().copied());
    let mut frames = Vec::with_capacity(addresses.len());
    for &addr in addresses {
        let first = frames.len();
        if !cache::append_cached(addr, &mut frames) {
            let instruction_addr = format!("{addr:#x}");
            backtrace::resolve(std::ptr::without_provenance_mut(addr as usize), |symbol| {
                frames.push(frame_from_symbol(symbol, &instruction_addr));
            });
            if frames.len() == first {
                // Unknown code (no symbols, JIT, stripped library): the address alone still
                // lets the server symbolicate it against the image's debug file.
                frames.push(Frame {
                    instruction_addr: Some(instruction_addr),
                    ..Frame::default()
                });
            }
            cache::remember(addr, &frames[first..]);
        }
        finish_frames(&mut frames[first..], addr, &images, rules);
    }
    frames
}

fn frame_from_symbol(symbol: &backtrace::Symbol, instruction_addr: &str) -> Frame {
    let path = symbol.filename();
    Frame {
        function: symbol
            .name()
            .map(|name| strip_hash_suffix(&format!("{name:#}")).to_owned()),
        filename: path
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned()),
        abs_path: path.map(|p| p.to_string_lossy().into_owned()),
        lineno: symbol.lineno(),
        colno: symbol.colno(),
        instruction_addr: Some(instruction_addr.to_owned()),
        // symbol_addr stays empty: backtrace's `Symbol::addr` is the looked-up address with
        // some backends, not the function's start, and a wrong value misleads symbolication.
        ..Frame::default()
    }
}

/// Fills in what the symbol doesn't say: the containing module and whether it is in-app.
fn finish_frames(frames: &mut [Frame], addr: u64, images: &ImageList, rules: &InAppRules) {
    let package = images.find(addr).map(|image| &image.code_file);
    for frame in frames {
        frame.package = package.cloned();
        frame.in_app = rules.is_in_app(frame.function.as_deref(), frame.abs_path.as_deref());
    }
}

/// Removes the SDK's frames from the newest end, up to the first frame of other code.
///
/// Standard library frames between SDK frames (a closure run by `bool::then` inside a
/// capture function) go too: above the first user frame they are the SDK's doing. Frames
/// known by neither name nor source path stop the trimming: nothing says they are the
/// SDK's. When every frame is the SDK's (a capture from the SDK's own thread) nothing is
/// removed.
fn trim_sdk_frames(newest_first: &mut Vec<Frame>) {
    let sdk_frames = newest_first
        .iter()
        .take_while(|f| {
            let (function, path) = (f.function.as_deref(), f.abs_path.as_deref());
            is_sdk_frame(function, path) || function.is_some_and(in_app::is_runtime_function)
        })
        .count();
    if sdk_frames < newest_first.len() {
        newest_first.drain(..sdk_frames);
    }
}

fn into_stacktrace(mut newest_first: Vec<Frame>) -> Stacktrace {
    newest_first.reverse();
    Stacktrace {
        frames: newest_first,
        ..Stacktrace::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Frame {
        Frame {
            function: Some(name.to_owned()),
            ..Frame::default()
        }
    }

    fn names(frames: &[Frame]) -> Vec<&str> {
        frames
            .iter()
            .map(|f| f.function.as_deref().unwrap_or("?"))
            .collect()
    }

    #[test]
    fn trimming_removes_only_the_sdk_frames_at_the_newest_end() {
        let mut frames = vec![
            named("backtrace::backtrace::trace"),
            named("sentry_core::stacktrace::CapturedBacktrace::capture"),
            named("sentry_core::capture_message"),
            named("my_app::report"),
            named("sentry_core::with_scope"),
            named("my_app::main"),
        ];
        trim_sdk_frames(&mut frames);
        assert_eq!(
            names(&frames),
            ["my_app::report", "sentry_core::with_scope", "my_app::main"]
        );
    }

    #[test]
    fn trimming_keeps_everything_when_nothing_else_is_left_or_names_are_unknown() {
        let mut only_sdk = vec![named("backtrace::trace"), named("sentry_core::worker")];
        trim_sdk_frames(&mut only_sdk);
        assert_eq!(only_sdk.len(), 2);

        let mut unknown_first = vec![Frame::default(), named("sentry_core::x"), named("a::b")];
        trim_sdk_frames(&mut unknown_first);
        assert_eq!(unknown_first.len(), 3);
    }

    #[test]
    fn trimming_recognises_short_names_by_their_source() {
        // What `debug = "line-tables-only"` gives: bare names, full paths.
        let at = |name: &str, path: &str| Frame {
            abs_path: Some(path.to_owned()),
            ..named(name)
        };
        let registry = "/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f";
        let mut frames = vec![
            at(
                "trace",
                &format!("{registry}/backtrace-0.3.76/src/backtrace/libunwind.rs"),
            ),
            at("capture", "/home/me/sdk/sentry-core/src/stacktrace/mod.rs"),
            at(
                "capture_message",
                &format!("{registry}/sentry-core-0.1.0/src/lib.rs"),
            ),
            at("report", "/home/me/my_app/src/main.rs"),
        ];
        trim_sdk_frames(&mut frames);
        assert_eq!(names(&frames), ["report"]);
    }

    #[test]
    fn capture_finds_its_own_frame_by_address() {
        let captured = CapturedBacktrace::capture();
        assert!(captured.capture_frames > 0, "{captured:?}");
        // The last of the capture's frames is `capture` itself (its name may be bare).
        let own = captured.addresses[captured.capture_frames - 1];
        let trace = stacktrace_from_addresses(&[own], &InAppRules::default());
        let name = trace.frames.last().and_then(|f| f.function.clone());
        assert!(
            name.as_deref().is_some_and(|n| n.ends_with("capture")),
            "{name:?}"
        );
        assert!(CapturedBacktrace::from_addresses(vec![1, 2]).capture_frames == 0);
    }

    #[test]
    fn stacktrace_is_oldest_first() {
        let trace = into_stacktrace(vec![named("newest"), named("oldest")]);
        assert_eq!(names(&trace.frames), ["oldest", "newest"]);
    }
}
