//! The event of a panic.

use sentry_panic::{FrameRef, PanicReport};

use crate::protocol::{
    Event, Exception, Exceptions, Frame, Level, Map, Mechanism, Stacktrace, Thread, Threads, Value,
};
use crate::stacktrace::{CapturedBacktrace, InAppRules};

/// The event for `report`, without its stack trace (see [`attach_stacktrace`]). Cheap: it is
/// built on the panicking thread.
pub(super) fn panic_event(report: &PanicReport, handled: bool) -> Event {
    let mut data = Map::new();
    if let Some(location) = &report.location {
        data.insert("file".into(), location.file.clone().into());
        data.insert("line".into(), location.line.into());
        data.insert("column".into(), location.column.into());
    }
    data.insert(
        "payload_type".into(),
        report.payload_type.unwrap_or("Box<dyn Any>").into(),
    );
    let exception = Exception {
        ty: "panic".into(),
        value: Some(report.message.clone()),
        mechanism: Some(Mechanism {
            ty: "panic".into(),
            handled: Some(handled),
            data,
            ..Mechanism::default()
        }),
        thread_id: Some(report.thread_id),
        ..Exception::default()
    };
    let thread = Thread {
        id: Some(report.thread_id),
        name: report.thread_name.clone(),
        crashed: Some(!handled),
        current: Some(true),
        main: Some(report.thread_name.as_deref() == Some("main")),
        stacktrace: None,
    };
    let mut event = Event {
        level: if handled { Level::Error } else { Level::Fatal },
        exception: Some(Exceptions {
            values: vec![exception],
        }),
        threads: Some(Threads {
            values: vec![thread],
        }),
        ..Event::default()
    };
    if let Some(location) = &report.location {
        event
            .extra
            .insert("panic.location".into(), Value::String(location.to_string()));
    }
    event
}

/// A copy of the panic's `event` whose exception has the frames' addresses and modules only:
/// instant, with no symbol lookup, for the copy written before (or instead of) the complete
/// event. The server can still symbolicate it from the debug images.
pub(super) fn with_addresses_only(event: &Event, backtrace: &CapturedBacktrace) -> Event {
    let mut copy = event.clone();
    if let Some(exception) = copy.exception.as_mut().and_then(|e| e.values.last_mut()) {
        exception.stacktrace = Some(backtrace.unresolved());
    }
    copy
}

/// Resolves the backtrace (slow the first time: on the helper thread), cuts the panic
/// machinery off, and puts it on the panic's exception (see [`put_stacktrace`]).
pub(super) fn attach_stacktrace(
    event: &mut Event,
    report: &PanicReport,
    backtrace: &CapturedBacktrace,
    rules: &InAppRules,
) {
    put_stacktrace(event, report, backtrace.resolve(rules));
}

/// Cuts the panic machinery off a resolved stack trace and puts it on the panic's
/// exception. Without any frame, one made from the panic's location stands in, so the
/// event still points at the code.
pub(super) fn put_stacktrace(event: &mut Event, report: &PanicReport, mut stacktrace: Stacktrace) {
    trim_panic_frames(&mut stacktrace);
    if stacktrace.frames.is_empty()
        && let Some(location) = &report.location
    {
        stacktrace.frames.push(Frame {
            filename: std::path::Path::new(&location.file)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()),
            abs_path: Some(location.file.clone()),
            lineno: Some(location.line),
            colno: Some(location.column),
            in_app: Some(true),
            ..Frame::default()
        });
    }
    if let Some(exception) = event.exception.as_mut().and_then(|e| e.values.last_mut()) {
        exception.stacktrace = Some(stacktrace);
    }
}

/// Removes the newest frames up to where the program's code starts (frames are oldest
/// first).
pub(super) fn trim_panic_frames(stacktrace: &mut Stacktrace) {
    let newest_first = stacktrace.frames.iter().rev().map(|frame| FrameRef {
        function: frame.function.as_deref(),
        path: frame.abs_path.as_deref().or(frame.filename.as_deref()),
    });
    let trim = sentry_panic::frames_to_trim(newest_first);
    let keep = stacktrace.frames.len() - trim;
    stacktrace.frames.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_the_oldest_frames() {
        let named = |name: &str| Frame {
            function: Some(name.into()),
            ..Frame::default()
        };
        let mut trace = Stacktrace {
            frames: vec![
                named("my_app::main"),
                named("my_app::load"),
                named("core::panicking::panic_fmt"),
                named("std::panicking::panic_with_hook"),
                named("sentry_core::panic::hook::on_panic"),
            ],
            ..Stacktrace::default()
        };
        trim_panic_frames(&mut trace);
        let names: Vec<_> = trace.frames.iter().map(|f| f.function.clone()).collect();
        assert_eq!(
            names,
            [Some("my_app::main".into()), Some("my_app::load".into())]
        );
    }
}
