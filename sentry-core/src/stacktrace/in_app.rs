//! Deciding which frames are the application's own code (`in_app`), and cleaning up
//! function names.

/// Crates of this SDK and of the unwinder it uses. Their frames are never the application's,
/// and at the newest end of a captured stack they are the capture machinery itself.
const SDK_PREFIXES: &[&str] = &[
    "backtrace::",
    "sentry_core::",
    "sentry_panic::",
    "sentry_native_crash::",
];

/// Source directories of those crates, in a workspace (`sentry-core/src/...`) or in the
/// cargo registry (`sentry-core-0.1.0/src/...`). Needed because builds with
/// `debug = "line-tables-only"` name functions without their module path.
const SDK_CRATE_DIRS: &[&str] = &[
    "backtrace",
    "sentry-core",
    "sentry-panic",
    "sentry-native-crash",
];

/// Function-name prefixes of the Rust runtime, the C runtime and the unwinder.
const RUNTIME_PREFIXES: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "__rust_",
    "rust_begin_unwind",
    "rust_panic",
    "__libc_start",
    "_Unwind_",
    "__GI_",
];

/// Exact names of process and thread entry points.
const RUNTIME_NAMES: &[&str] = &[
    "_start",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
];

/// Path fragments of source that belongs to the toolchain or to downloaded dependencies.
/// Matching `cargo/registry/` rather than `.cargo/registry/` also covers a `CARGO_HOME`
/// like `/usr/local/cargo` (the official Docker images).
const DEPENDENCY_PATHS: &[&str] = &[
    "/rustc/",
    "/.rustup/toolchains/",
    "cargo/registry/",
    "cargo/git/checkouts/",
];

/// Rules that decide which frames are marked as the application's own code.
///
/// Prefixes are matched against the demangled function name, such as `my_app::db::` or
/// `my_app` (which also matches `my_app_utils`; end a prefix with `::` to mean one crate).
/// For trait impls like `<my_app::Db as Drop>::drop`, the prefix is matched against the
/// type after the `<` too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InAppRules {
    /// Function-name prefixes forced to be in-app; they win over `exclude`.
    pub include: Vec<String>,
    /// Function-name prefixes forced not to be in-app.
    pub exclude: Vec<String>,
}

impl InAppRules {
    /// Whether a frame with this function and source path is the application's code.
    ///
    /// The configured prefixes decide first (`include` over `exclude`). Otherwise frames
    /// of the standard library, this SDK, the C runtime and the unwinder, and frames whose
    /// source lies in the Rust toolchain or the cargo registry, are not in-app; every other
    /// frame with a name or a path is. A frame with neither is left undecided (`None`), so
    /// the server's own rules (by module path) apply to unknown native code.
    pub fn is_in_app(&self, function: Option<&str>, path: Option<&str>) -> Option<bool> {
        if let Some(name) = function {
            if matches_any(name, &self.include) {
                return Some(true);
            }
            if matches_any(name, &self.exclude) {
                return Some(false);
            }
            if is_runtime_function(name) || is_sdk_frame(Some(name), path) {
                return Some(false);
            }
            // rustc generates a C `main` without line info that only calls `std::rt`; a
            // C program's own `main` built with debug info keeps its path and stays in-app.
            if name == "main" && path.is_none() {
                return Some(false);
            }
        }
        if let Some(path) = path
            && (is_dependency_path(path) || is_sdk_source(path))
        {
            return Some(false);
        }
        (function.is_some() || path.is_some()).then_some(true)
    }
}

fn matches_any(name: &str, prefixes: &[String]) -> bool {
    let subject = impl_subject(name);
    prefixes
        .iter()
        .any(|p| name.starts_with(p.as_str()) || subject.starts_with(p.as_str()))
}

/// For a trait impl method such as `<alloc::boxed::Box<F> as Fn>::call` or
/// `<&mut T as Write>::flush`, the implementing type's path (`alloc::boxed::...`,
/// `T as ...`): that is the code the frame belongs to. Other names are returned as they are.
fn impl_subject(name: &str) -> &str {
    let Some(mut rest) = name.strip_prefix('<') else {
        return name;
    };
    for qualifier in ["&mut ", "&", "*const ", "*mut ", "dyn "] {
        if let Some(stripped) = rest.strip_prefix(qualifier) {
            rest = stripped;
        }
    }
    rest
}

/// Whether a frame is the SDK's or the unwinder's, by function name or by source path.
pub(crate) fn is_sdk_frame(function: Option<&str>, path: Option<&str>) -> bool {
    let by_name = function.is_some_and(|name| {
        let subject = impl_subject(name);
        SDK_PREFIXES.iter().any(|p| subject.starts_with(p)) || name.starts_with("_Unwind_")
    });
    by_name || path.is_some_and(is_sdk_source)
}

/// Whether the path is a source file of one of the SDK's crates: a directory named after the
/// crate (optionally with `-<version>`) directly holding `src`.
fn is_sdk_source(path: &str) -> bool {
    let path = normalize_separators(path);
    let mut parts = path.split('/').peekable();
    while let Some(dir) = parts.next() {
        if parts.peek() == Some(&"src") && SDK_CRATE_DIRS.iter().any(|c| is_crate_dir(dir, c)) {
            return true;
        }
    }
    false
}

/// `name` itself or `name-<version>`, as cargo names unpacked registry crates.
fn is_crate_dir(dir: &str, name: &str) -> bool {
    match dir.strip_prefix(name) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())),
        None => false,
    }
}

pub(crate) fn is_runtime_function(name: &str) -> bool {
    let subject = impl_subject(name);
    RUNTIME_PREFIXES.iter().any(|p| subject.starts_with(p)) || RUNTIME_NAMES.contains(&name)
}

fn is_dependency_path(path: &str) -> bool {
    let path = normalize_separators(path);
    DEPENDENCY_PATHS
        .iter()
        .any(|fragment| path.contains(fragment))
}

/// Windows paths in debug info use backslashes; the rules are written with slashes.
fn normalize_separators(path: &str) -> std::borrow::Cow<'_, str> {
    if path.contains('\\') {
        path.replace('\\', "/").into()
    } else {
        path.into()
    }
}

/// Removes the `::h0123456789abcdef` hash rustc appends to legacy-mangled names.
///
/// Demangling with `{:#}` already drops it; this also cleans names that reach us in
/// another form (symbol tables of other tools, already-demangled strings).
pub(crate) fn strip_hash_suffix(name: &str) -> &str {
    const HASH_LEN: usize = 17; // 'h' and 16 hex digits
    let Some(split) = name.len().checked_sub(HASH_LEN + 2) else {
        return name;
    };
    let (head, tail) = name.split_at_checked(split).unwrap_or((name, ""));
    let is_hash = tail.starts_with("::h")
        && tail[3..].len() == 16
        && tail[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if is_hash && !head.is_empty() {
        head
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(include: &[&str], exclude: &[&str]) -> InAppRules {
        InAppRules {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn runtime_and_sdk_functions_are_not_in_app() {
        let rules = InAppRules::default();
        for name in [
            "std::panicking::begin_panic_handler",
            "core::ops::function::FnOnce::call_once",
            "alloc::boxed::Box<T>::new",
            "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once",
            "<&mut std::io::Stdout as std::io::Write>::flush",
            "<core::pin::Pin<P> as core::future::Future>::poll",
            "backtrace::backtrace::trace",
            "sentry_core::stacktrace::CapturedBacktrace::capture",
            "sentry_panic::hook",
            "<sentry_native_crash::Handler as core::ops::drop::Drop>::drop",
            "__rust_begin_short_backtrace",
            "rust_begin_unwind",
            "__libc_start_main",
            "__libc_start_call_main",
            "_start",
            "start_thread",
            "__clone3",
            "_Unwind_Backtrace",
        ] {
            assert_eq!(rules.is_in_app(Some(name), None), Some(false), "{name}");
        }
    }

    #[test]
    fn application_functions_are_in_app() {
        let rules = InAppRules::default();
        for name in [
            "my_app::main",
            "my_app::db::connect::{{closure}}",
            "<my_app::Db as core::ops::drop::Drop>::drop",
            "<my_app::Error as sentry_core::IntoEvent>::into_event",
            "standard_library_fan::run",
            "backtrace_printer::print",
            "c_function",
        ] {
            assert_eq!(rules.is_in_app(Some(name), None), Some(true), "{name}");
        }
    }

    #[test]
    fn toolchain_and_registry_sources_are_not_in_app() {
        let rules = InAppRules::default();
        for path in [
            "/rustc/59807616e/library/core/src/ops/function.rs",
            "/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.0/src/lib.rs",
            "/usr/local/cargo/registry/src/index.crates.io-x/serde-1/src/de.rs",
            "/home/me/.cargo/git/checkouts/dep-abc/1234/src/lib.rs",
            "C:\\Users\\me\\.cargo\\registry\\src\\index.crates.io-x\\a\\lib.rs",
        ] {
            let generic = "<F as core::ops::function::FnOnce<()>>::call_once";
            assert_eq!(rules.is_in_app(Some(generic), Some(path)), Some(false));
            assert_eq!(rules.is_in_app(None, Some(path)), Some(false), "{path}");
        }
        let own = "/home/me/my_app/src/main.rs";
        assert_eq!(rules.is_in_app(Some("my_app::main"), Some(own)), Some(true));
        assert_eq!(rules.is_in_app(None, Some(own)), Some(true));
        assert_eq!(rules.is_in_app(None, None), None);
        // The `main` rustc generates has no source; a C `main` with debug info has.
        assert_eq!(rules.is_in_app(Some("main"), None), Some(false));
        assert_eq!(
            rules.is_in_app(Some("main"), Some("/src/app/main.c")),
            Some(true)
        );
    }

    #[test]
    fn configured_prefixes_override_and_include_wins() {
        let rules = rules(
            &["std::thread", "my_app::vendored::x"],
            &["my_app::vendored"],
        );
        assert_eq!(
            rules.is_in_app(Some("std::thread::spawn"), None),
            Some(true)
        );
        assert_eq!(
            rules.is_in_app(Some("my_app::vendored::y::f"), None),
            Some(false)
        );
        assert_eq!(
            rules.is_in_app(Some("my_app::vendored::x::f"), None),
            Some(true)
        );
        // Include beats the toolchain-path rule too, and exclude beats the default "in app".
        let path = "/rustc/abc/library/std/src/thread/mod.rs";
        assert_eq!(
            rules.is_in_app(Some("std::thread::spawn"), Some(path)),
            Some(true)
        );
        let impl_rules = self::rules(&[], &["my_app::Db"]);
        assert_eq!(
            impl_rules.is_in_app(Some("<my_app::Db as core::ops::drop::Drop>::drop"), None),
            Some(false)
        );
    }

    #[test]
    fn sdk_frames_are_recognized_by_name_or_source() {
        let by_name = |name| is_sdk_frame(Some(name), None);
        assert!(by_name("backtrace::backtrace::libunwind::trace"));
        assert!(by_name("sentry_core::capture_message"));
        assert!(by_name("<sentry_core::Hub as core::ops::drop::Drop>::drop"));
        assert!(by_name("_Unwind_Backtrace"));
        assert!(!by_name("my_app::main"));
        assert!(!by_name(
            "<my_app::E as sentry_core::IntoEvent>::into_event"
        ));
        assert!(!by_name("std::panicking::begin_panic"));

        let by_path = |path| is_sdk_frame(Some("short_name"), Some(path));
        assert!(by_path("/ws/sentry-core/src/stacktrace/mod.rs"));
        assert!(by_path("/ws/sentry-panic/src/lib.rs"));
        assert!(by_path(
            "/r/index.crates.io-x/sentry-native-crash-0.1.0/src/lib.rs"
        ));
        assert!(by_path(
            "/r/index.crates.io-x/backtrace-0.3.76/src/backtrace/mod.rs"
        ));
        assert!(by_path("C:\\r\\backtrace-0.3.76\\src\\lib.rs"));
        assert!(!by_path("/ws/sentry-core/tests/stacktrace.rs"));
        assert!(!by_path("/ws/sentry-core-app/src/main.rs"));
        assert!(!by_path("/ws/my_app/src/backtrace.rs"));
        // Short SDK names are not in-app either.
        let rules = InAppRules::default();
        let sdk_path = Some("/ws/sentry-core/src/stacktrace/mod.rs");
        assert_eq!(rules.is_in_app(Some("capture"), sdk_path), Some(false));
    }

    #[test]
    fn hash_suffix_is_stripped() {
        assert_eq!(
            strip_hash_suffix("my_app::main::h0123456789abcdef"),
            "my_app::main"
        );
        assert_eq!(
            strip_hash_suffix("<T as Tr>::f::hABCDEF0123456789"),
            "<T as Tr>::f"
        );
        // Not a hash: wrong length, not hex, no `::h`, or nothing else.
        for name in [
            "my_app::main",
            "my_app::h0123456789abcde",
            "my_app::h0123456789abcdeg",
            "my_app::x0123456789abcdef",
            "::h0123456789abcdef",
            "",
            "é::h0123456789abcdeé",
        ] {
            assert_eq!(strip_hash_suffix(name), name);
        }
    }
}
