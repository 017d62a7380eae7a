//! Capturing and resolving real stacks of this test binary.

use sentry_core::images::{loaded_images, parse_hex_addr};
use sentry_core::protocol::{Frame, Stacktrace};
use sentry_core::stacktrace::{CapturedBacktrace, InAppRules, stacktrace_from_addresses};

/// Captures here and reports the line of the capture call.
#[inline(never)]
fn capture_in_named_function() -> (CapturedBacktrace, u32) {
    let line = line!() + 1;
    let captured = CapturedBacktrace::capture();
    (captured, line)
}

/// Resolves on another thread, as the SDK's worker does.
fn resolve_elsewhere(captured: CapturedBacktrace, rules: InAppRules) -> Stacktrace {
    std::thread::spawn(move || captured.resolve(&rules))
        .join()
        .unwrap()
}

fn function(frame: &Frame) -> &str {
    frame.function.as_deref().unwrap_or("?")
}

/// Asserts the frame's function is `expected`. Optimized builds of this workspace use
/// `debug = "line-tables-only"`, whose debug info names functions without their module path,
/// so there the bare last segment is accepted too.
fn assert_function(frame: &Frame, expected: &str) {
    let name = function(frame);
    let bare = expected.rsplit("::").next().unwrap();
    let optimized_and_bare = !cfg!(debug_assertions) && name == bare;
    assert!(
        name == expected || optimized_and_bare,
        "{name} is not {expected}"
    );
}

fn is_std(frame: &Frame) -> bool {
    let name = function(frame);
    ["std::", "core::", "alloc::"]
        .iter()
        .any(|p| name.starts_with(p))
}

fn rules(include: &[&str], exclude: &[&str]) -> InAppRules {
    InAppRules {
        include: include.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn newest_frame_is_the_capturing_function() {
    let (captured, line) = capture_in_named_function();
    let trace = resolve_elsewhere(captured, InAppRules::default());
    let newest = trace.frames.last().expect("frames");

    assert_function(newest, "stacktrace::capture_in_named_function");
    assert_eq!(newest.filename.as_deref(), Some("stacktrace.rs"));
    let abs_path = newest.abs_path.as_deref().unwrap();
    assert!(abs_path.ends_with("tests/stacktrace.rs"), "{abs_path}");
    assert_eq!(newest.lineno, Some(line));
    assert_eq!(newest.in_app, Some(true));

    // The address lies in a loaded module, and the frame names that module.
    let addr = parse_hex_addr(newest.instruction_addr.as_deref().unwrap()).unwrap();
    let image = loaded_images()
        .find(addr)
        .cloned()
        .expect("address in an image");
    assert_eq!(newest.package.as_deref(), Some(image.code_file.as_str()));

    // Its caller comes right before it (oldest first).
    let caller = &trace.frames[trace.frames.len() - 2];
    assert_function(caller, "stacktrace::newest_frame_is_the_capturing_function");
}

#[test]
fn names_have_no_hash_and_std_frames_are_not_in_app() {
    let (captured, _) = capture_in_named_function();
    let trace = resolve_elsewhere(captured, InAppRules::default());
    for frame in &trace.frames {
        let name = function(frame);
        let tail = name.rsplit("::").next().unwrap();
        let is_hash = tail.len() == 17 && tail.starts_with('h');
        assert!(!is_hash, "hash left in {name}");
        assert!(frame.instruction_addr.is_some());
    }
    let std_frames: Vec<&Frame> = trace.frames.iter().filter(|f| is_std(f)).collect();
    assert!(
        !std_frames.is_empty(),
        "the test harness runs tests via std"
    );
    for frame in std_frames {
        assert_eq!(frame.in_app, Some(false), "{}", function(frame));
    }
    assert!(
        !trace
            .frames
            .iter()
            .any(|f| function(f).starts_with("backtrace::")),
        "capture frames are trimmed"
    );
}

#[test]
fn rules_override_the_defaults() {
    let (captured, _) = capture_in_named_function();
    let ours = "stacktrace::capture_in_named_function";

    let trace = resolve_elsewhere(captured.clone(), rules(&["std::"], &["stacktrace::"]));
    for frame in &trace.frames {
        if function(frame).starts_with("std::") {
            assert_eq!(frame.in_app, Some(true), "{}", function(frame));
        }
    }
    assert_eq!(trace.frames.last().unwrap().in_app, Some(false));

    // Include wins when both match.
    let trace = resolve_elsewhere(captured, rules(&[ours], &["stacktrace::"]));
    assert_function(trace.frames.last().unwrap(), ours);
    assert_eq!(trace.frames.last().unwrap().in_app, Some(true));
}

#[inline(always)]
fn inlined_capture() -> CapturedBacktrace {
    CapturedBacktrace::capture()
}

#[inline(never)]
fn calls_inlined_capture() -> CapturedBacktrace {
    inlined_capture()
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "optimized builds turn the outer call into a tail call"
)]
fn inlined_functions_get_their_own_frames() {
    let trace = resolve_elsewhere(calls_inlined_capture(), InAppRules::default());
    let n = trace.frames.len();
    let (outer, inner) = (&trace.frames[n - 2], &trace.frames[n - 1]);
    assert_eq!(function(inner), "stacktrace::inlined_capture");
    assert_eq!(function(outer), "stacktrace::calls_inlined_capture");
    assert_eq!(inner.instruction_addr, outer.instruction_addr);
}

#[test]
fn addresses_from_elsewhere_resolve_the_same_but_untrimmed() {
    let (captured, line) = capture_in_named_function();
    let untrimmed = stacktrace_from_addresses(captured.addresses(), &InAppRules::default());
    let trimmed = captured.resolve(&InAppRules::default());
    assert!(untrimmed.frames.len() > trimmed.frames.len());
    assert!(untrimmed.frames.starts_with(&trimmed.frames));
    let sdk_frame = untrimmed.frames.last().unwrap();
    assert_eq!(sdk_frame.in_app, Some(false), "{}", function(sdk_frame));
    let ours = &untrimmed.frames[trimmed.frames.len() - 1];
    assert_eq!(ours.lineno, Some(line));
}

#[test]
fn unknown_addresses_keep_just_the_address() {
    let trace = stacktrace_from_addresses(&[0x10], &InAppRules::default());
    assert_eq!(trace.frames.len(), 1);
    let frame = &trace.frames[0];
    assert_eq!(frame.instruction_addr.as_deref(), Some("0x10"));
    assert_eq!(frame.function, None);
    assert_eq!(frame.package, None);
    assert_eq!(frame.in_app, None);
}
