//! Turning a crash report of an earlier run into the event the server gets.
//!
//! The event is what a crash looks like in Sentry: level `fatal`, one synthetic exception named
//! after the signal with mechanism `signalhandler`, the crashed thread with its registers and
//! stack trace, the earlier run's debug images and scope, timestamped at the crash.
//!
//! Frames keep the earlier run's addresses, which together with the report's images let the
//! server symbolicate them. When the module a frame points into is loaded in this process too
//! (same build id: the usual case for the executable, started again) the SDK symbolicates the
//! frame itself, by translating the address into this process
//! (`addr - old image_addr + new image_addr`) and resolving it as it resolves its own stacks.

use sentry_native_crash::{CrashReport, describe};

use super::snapshot::ScopeSnapshot;
use crate::images::{ImageList, NIL_DEBUG_ID, loaded_images, parse_hex_addr};
use crate::protocol::{
    Breadcrumbs, DebugImage, DebugMeta, Event, Exception, Exceptions, Frame, Level, Map, Mechanism,
    Stacktrace, Thread, Threads, Value,
};
use crate::stacktrace::{InAppRules, stacktrace_from_addresses};

/// The event for `report`, whose file held `bytes`.
pub(crate) fn event_from_report(report: &CrashReport, bytes: &[u8], rules: &InAppRules) -> Event {
    let images: Vec<DebugImage> = serde_json::from_slice(&report.images).unwrap_or_default();
    let old_images = ImageList::new(images);
    let mut scope: ScopeSnapshot = serde_json::from_slice(&report.scope).unwrap_or_default();
    scope.breadcrumbs.extend(
        report
            .breadcrumbs
            .iter()
            .filter_map(|crumb| crate::breadcrumb_log::record::decode(crumb)),
    );

    let mut stacktrace = symbolicate(&report.frames, &old_images, &loaded_images(), rules);
    for (name, value) in &report.registers {
        let value = Value::String(format!("{value:#018x}"));
        stacktrace.registers.insert(name.clone(), value);
    }

    let mut signal = Map::new();
    signal.insert("number".into(), report.signal.into());
    signal.insert("code".into(), report.code.into());
    signal.insert("name".into(), report.signal_name.clone().into());
    let mut meta = Map::new();
    meta.insert("signal".into(), Value::Object(signal));
    let mut data = Map::new();
    data.insert(
        "fault_address".into(),
        format!("{:#x}", report.fault_address).into(),
    );
    data.insert(
        "stack_walk".into(),
        match report.stack_walk {
            sentry_native_crash::StackWalk::FramePointers => "frame_pointers",
            sentry_native_crash::StackWalk::Scan => "scan",
            sentry_native_crash::StackWalk::None => "none",
        }
        .into(),
    );

    let exception = Exception {
        ty: report.signal_name.clone(),
        value: Some(describe(report.signal, report.code, report.fault_address)),
        stacktrace: Some(stacktrace.clone()),
        mechanism: Some(Mechanism {
            ty: "signalhandler".into(),
            handled: Some(false),
            synthetic: Some(true),
            meta,
            data,
            ..Mechanism::default()
        }),
        thread_id: Some(report.thread_id),
        ..Exception::default()
    };
    let thread = Thread {
        id: Some(report.thread_id),
        name: report.thread_name.clone(),
        stacktrace: Some(stacktrace),
        crashed: Some(true),
        current: Some(true),
        main: Some(u64::from(report.pid) == report.thread_id),
    };

    let (secs, nanos) = report.timestamp;
    let mut event = Event {
        event_id: event_id(bytes),
        timestamp: secs as f64 + f64::from(nanos) / 1e9,
        level: Level::Fatal,
        exception: Some(Exceptions {
            values: vec![exception],
        }),
        threads: Some(Threads {
            values: vec![thread],
        }),
        ..Event::default()
    };
    if !old_images.is_empty() {
        event.debug_meta = Some(DebugMeta {
            images: old_images.images().to_vec(),
        });
    }
    apply_scope(scope, &mut event);
    event
}

/// The scope of the crashed process. A crash stays `fatal` whatever level the scope set.
fn apply_scope(scope: ScopeSnapshot, event: &mut Event) {
    event.release = scope.release;
    event.environment = scope.environment;
    event.user = scope.user;
    event.request = scope.request;
    event.transaction = scope.transaction;
    event.fingerprint = scope.fingerprint.unwrap_or_default();
    event.tags = scope.tags;
    event.extra = scope.extra;
    event.contexts = scope.contexts;
    if !scope.breadcrumbs.is_empty() {
        event.breadcrumbs = Some(Breadcrumbs {
            values: scope.breadcrumbs,
        });
    }
}

/// A stable id from the report's bytes: a report sent twice (the process died between
/// storing its event and deleting it) is one event for the server.
fn event_id(bytes: &[u8]) -> uuid::Uuid {
    let hash = |seed: u64| {
        bytes.iter().fold(seed, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_le_bytes());
    id[8..].copy_from_slice(&hash(0x6c62_272e_07bb_0142).to_le_bytes());
    uuid::Builder::from_random_bytes(id).into_uuid()
}

/// Whether two images are the same file: same build id, or (without one) the same debug id
/// computed from the code and the same path.
fn same_module(old: &DebugImage, now: &DebugImage) -> bool {
    match (&old.code_id, &now.code_id) {
        (Some(a), Some(b)) => a == b,
        (None, None) => {
            old.debug_id == now.debug_id
                && old.debug_id != NIL_DEBUG_ID
                && old.code_file == now.code_file
        }
        _ => false,
    }
}

/// Frames for the report's addresses (innermost first, the first is the pc), oldest first.
///
/// `instruction_addr` and `package` always describe the crashed process; function, file and
/// line are filled in where the module is loaded here too.
pub(crate) fn symbolicate(
    addresses: &[u64],
    old_images: &ImageList,
    current: &ImageList,
    rules: &InAppRules,
) -> Stacktrace {
    let mut newest_first: Vec<Frame> = Vec::with_capacity(addresses.len());
    for (index, &addr) in addresses.iter().enumerate() {
        let image = old_images.find(addr);
        let instruction_addr = format!("{addr:#x}");
        let translated = image.and_then(|image| {
            let old_base = parse_hex_addr(&image.image_addr)?;
            // Where the old image is loaded now, if it is.
            let now = current
                .images()
                .iter()
                .find(|now| same_module(image, now))?;
            (addr - old_base).checked_add(parse_hex_addr(&now.image_addr)?)
        });
        let mut frames = match translated {
            // Every address but the pc is a return address, which the resolver looks up one
            // byte earlier (at the call); the pc is the faulting instruction itself.
            Some(here) => {
                let lookup = if index == 0 {
                    here.saturating_add(1)
                } else {
                    here
                };
                stacktrace_from_addresses(&[lookup], rules).frames
            }
            None => Vec::new(),
        };
        frames.retain(|f| f.function.is_some());
        if frames.is_empty() {
            frames.push(Frame {
                in_app: rules.is_in_app(None, None),
                ..Frame::default()
            });
        }
        // Inlined functions share the address; the innermost comes last in `frames`.
        for mut frame in frames.into_iter().rev() {
            frame.instruction_addr = Some(instruction_addr.clone());
            frame.package = image.map(|i| i.code_file.clone());
            newest_first.push(frame);
        }
    }
    newest_first.reverse();
    Stacktrace {
        frames: newest_first,
        ..Stacktrace::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(addr: u64, size: u64, file: &str, code_id: &str) -> DebugImage {
        DebugImage {
            ty: "elf".into(),
            code_file: file.into(),
            code_id: Some(code_id.into()),
            debug_id: NIL_DEBUG_ID.into(),
            image_addr: format!("{addr:#x}"),
            image_size: size,
            arch: None,
        }
    }

    #[inline(never)]
    fn a_function_to_find() -> u64 {
        std::hint::black_box(7)
    }

    #[test]
    fn addresses_of_an_image_loaded_elsewhere_are_translated_and_resolved() {
        let here = loaded_images();
        let function = a_function_to_find as *const () as u64;
        let exe = here
            .find(function)
            .expect("the test binary is an image")
            .clone();
        let base = parse_hex_addr(&exe.image_addr).unwrap();
        // The same binary, loaded 16 MiB higher in the crashed process.
        let old_base = base + 0x100_0000;
        let mut old = exe.clone();
        old.image_addr = format!("{old_base:#x}");
        let other = image(0x10_0000, 0x1000, "/gone/lib.so", "abcd");
        let old_list = ImageList::new(vec![old.clone(), other]);
        let pc = function - base + old_base + 1; // inside the function
        let trace = symbolicate(
            &[pc, 0x10_0010, 0x42],
            &old_list,
            &here,
            &InAppRules::default(),
        );
        let last = trace.frames.last().unwrap();
        assert!(
            last.function
                .as_deref()
                .is_some_and(|f| f.ends_with("a_function_to_find")),
            "{trace:#?}"
        );
        assert_eq!(last.instruction_addr, Some(format!("{pc:#x}")));
        assert_eq!(last.package.as_deref(), Some(old.code_file.as_str()));
        // The unknown module and the address outside any module keep their address only.
        let first = &trace.frames[0];
        assert_eq!(first.instruction_addr.as_deref(), Some("0x42"));
        assert!(first.function.is_none() && first.package.is_none());
        let second = &trace.frames[1];
        assert_eq!(second.package.as_deref(), Some("/gone/lib.so"));
        assert!(second.function.is_none());
    }

    #[test]
    fn modules_match_by_build_id_or_by_debug_id_and_path() {
        let a = image(0x1000, 1, "/bin/a", "11");
        let mut b = image(0x2000, 1, "/bin/a", "11");
        assert!(same_module(&a, &b));
        b.code_id = Some("22".into());
        assert!(!same_module(&a, &b));
        let mut c = a.clone();
        c.code_id = None;
        let mut d = c.clone();
        assert!(!same_module(&c, &d), "no identity at all");
        c.debug_id = "0740df9b-9e5b-8faf-5a49-86421fa68a83".into();
        d.debug_id = c.debug_id.clone();
        assert!(same_module(&c, &d));
    }

    #[test]
    fn event_ids_are_stable_per_report() {
        assert_eq!(event_id(b"abc"), event_id(b"abc"));
        assert_ne!(event_id(b"abc"), event_id(b"abd"));
        assert_eq!(event_id(b"abc").get_version_num(), 4);
    }
}
