//! Finding where a panic's stack trace leaves the user's code.
//!
//! A stack captured inside a panic hook has, newest first: the capture and the hook (the
//! SDK's frames), std calling the hook, std's panic entry points (`rust_begin_unwind`,
//! `core::panicking::panic_fmt`, ...), often std code that decided to panic (`unwrap`,
//! indexing), and only then the code that panicked. None of the first ones help a reader.
//!
//! Functions are matched by name, ignoring the `[hash]` disambiguators of v0 symbol names,
//! and by source path, because builds with `debug = "line-tables-only"` give bare names.

/// What the trimming looks at in one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// The demangled function name.
    pub function: Option<&'a str>,
    /// The source file's path.
    pub path: Option<&'a str>,
}

/// How many of the newest frames (given newest first) belong to the panic machinery and
/// what led to it, so that the trace starts at the code that panicked.
///
/// Everything up to and including the oldest of std's panic entry points is counted
/// (`std::panicking`, `core::panicking`, `rust_begin_unwind`, `begin_panic`), then the
/// standard library frames right below it (`Option::unwrap`, slice indexing), as long as
/// a frame of other code remains. When no panic entry point is found, 0: nothing says
/// which frames are the machinery, so none are removed.
///
/// ```
/// use sentry_panic::{FrameRef, frames_to_trim};
///
/// let f = |name| FrameRef { function: Some(name), path: None };
/// let newest_first = [
///     f("sentry_core::panic::hook"),
///     f("std::panicking::panic_with_hook"),
///     f("__rustc::rust_begin_unwind"),
///     f("core::panicking::panic_fmt"),
///     f("core::option::unwrap_failed"),
///     f("my_app::load"),
///     f("my_app::main"),
/// ];
/// assert_eq!(frames_to_trim(newest_first), 5);
/// ```
pub fn frames_to_trim<'a>(newest_first: impl IntoIterator<Item = FrameRef<'a>>) -> usize {
    let frames: Vec<FrameRef<'a>> = newest_first.into_iter().collect();
    let Some(first_entry) = frames.iter().position(is_panic_entry) else {
        return 0;
    };
    // The entry points form one run (std calling the hook down to the `panic_fmt` family).
    let mut cut = first_entry;
    while cut < frames.len() && is_panic_entry(&frames[cut]) {
        cut += 1;
    }
    // Then std code that raised the panic for the caller: keep at least one frame of other
    // code, or the trace would say nothing.
    let mut below = cut;
    while below < frames.len() && is_std_frame(&frames[below]) {
        below += 1;
    }
    if below < frames.len() { below } else { cut }
}

/// Whether the frame is one of std's panic entry points (not the catching side).
pub fn is_panic_entry(frame: &FrameRef<'_>) -> bool {
    if let Some(name) = frame.function {
        let name = without_disambiguators(name);
        let name = name.trim_start_matches('<');
        if is_catching(name) {
            return false;
        }
        const PREFIXES: &[&str] = &[
            "std::panicking::",
            "core::panicking::",
            "std::panic::panic_any",
            "std::rt::begin_panic",
            "std::sys::backtrace::__rust_end_short_backtrace",
            "std::sys_common::backtrace::__rust_end_short_backtrace",
            "__rustc::rust_begin_unwind",
            "rust_begin_unwind",
            "rust_panic",
            "__rust_start_panic",
            "begin_panic",
        ];
        if PREFIXES.iter().any(|p| name.starts_with(p)) {
            return true;
        }
    }
    // Bare names (line-tables-only builds): std's panic source files tell.
    match (frame.function, frame.path) {
        (Some(name), _) if is_catching(name) => false,
        (_, Some(path)) => {
            let path = path.replace('\\', "/");
            [
                "library/std/src/panicking.rs",
                "library/core/src/panicking.rs",
            ]
            .iter()
            .any(|file| path.ends_with(file))
                || (path.ends_with("library/std/src/sys/backtrace.rs")
                    && frame
                        .function
                        .is_some_and(|n| n.contains("__rust_end_short_backtrace")))
        }
        _ => false,
    }
}

/// `catch_unwind` and its helpers live in the same modules as the panic entry points, but
/// they sit below the code that panicked: they must never start the trimmed run.
fn is_catching(name: &str) -> bool {
    ["catch_unwind", "do_call", "do_catch", "::try", "__rust_try"]
        .iter()
        .any(|part| name.contains(part))
        || name == "try"
}

/// Whether the frame is standard library code (std, core, alloc), by name or by path.
fn is_std_frame(frame: &FrameRef<'_>) -> bool {
    if let Some(name) = frame.function {
        let name = without_disambiguators(name);
        let subject = name.trim_start_matches('<');
        if ["std::", "core::", "alloc::"]
            .iter()
            .any(|p| subject.starts_with(p))
        {
            return true;
        }
    }
    frame.path.is_some_and(|path| {
        let path = path.replace('\\', "/");
        path.starts_with("/rustc/")
            || path.contains("/.rustup/toolchains/")
            || [
                "library/std/src/",
                "library/core/src/",
                "library/alloc/src/",
            ]
            .iter()
            .any(|dir| path.contains(dir))
    })
}

/// `std[1a2b3c]::panicking::x` as `std::panicking::x`: v0 names carry crate hashes.
fn without_disambiguators(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.contains('[') {
        return name.into();
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) if after[..close].bytes().all(|b| b.is_ascii_hexdigit()) => {
                rest = &after[close + 1..];
            }
            // A slice type such as `[T]`: keep it.
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> FrameRef<'_> {
        FrameRef {
            function: Some(name),
            path: None,
        }
    }

    #[test]
    fn trims_hook_entry_points_and_std_helpers() {
        let frames = [
            named("backtrace::backtrace::trace"),
            named("sentry_core::panic::on_panic"),
            named("<alloc::boxed::Box<F,A> as core::ops::function::Fn<Args>>::call"),
            named("std::panicking::panic_with_hook"),
            named("std::panicking::panic_handler::{closure#0}"),
            named("std::sys::backtrace::__rust_end_short_backtrace"),
            named("__rustc::rust_begin_unwind"),
            named("core::panicking::panic_fmt"),
            named("core::panicking::panic_bounds_check"),
            named("<usize as core::slice::index::SliceIndex<[T]>>::index"),
            named("<alloc::vec::Vec<T,A> as core::ops::index::Index<I>>::index"),
            named("my_app::lookup"),
            named("std::panicking::catch_unwind::do_call"),
            named("std::panicking::catch_unwind"),
            named("my_app::main"),
        ];
        // `<usize as ...>` is std by its path only; by name it is kept.
        assert_eq!(frames_to_trim(frames), 9);
    }

    #[test]
    fn v0_names_and_bare_names_with_paths() {
        let at = |name, path| FrameRef {
            function: Some(name),
            path: Some(path),
        };
        let rustc = "/rustc/abc/library";
        let panicking = format!("{rustc}/std/src/panicking.rs");
        let core_panicking = format!("{rustc}/core/src/panicking.rs");
        let option = format!("{rustc}/core/src/option.rs");
        let frames = [
            named("sentry_panic::hook"),
            named("std[e28293b1aa0f68bd]::panicking::panic_with_hook"),
            at("rust_begin_unwind", &panicking),
            at("panic_fmt", &core_panicking),
            at("unwrap_failed", &option),
            at("load", "/home/me/app/src/main.rs"),
        ];
        assert_eq!(frames_to_trim(frames), 5);
    }

    #[test]
    fn catch_unwind_never_starts_the_run() {
        let frames = [
            named("my_app::work"),
            named("std::panicking::catch_unwind::do_call"),
            named("std::panicking::catch_unwind"),
            named("std::panic::catch_unwind"),
            named("my_app::main"),
        ];
        assert_eq!(frames_to_trim(frames), 0);
    }

    #[test]
    fn keeps_something_when_only_std_is_left() {
        let frames = [
            named("core::panicking::panic_fmt"),
            named("core::option::unwrap_failed"),
            named("std::rt::lang_start"),
        ];
        assert_eq!(frames_to_trim(frames), 1);
        assert_eq!(frames_to_trim([named("a::b"), named("c::d")]), 0);
    }

    #[test]
    fn disambiguators_are_removed_but_slices_kept() {
        assert_eq!(
            without_disambiguators("<std[12ab]::x as core[ff]::Y<[T]>>::z"),
            "<std::x as core::Y<[T]>>::z"
        );
    }
}
