//! Native crashes end to end: `examples/crash.rs` crashes for real with the project's DSN,
//! starts again with `none`, and the crash arrives at Bugsink as a fatal, symbolicated event
//! with the scope of the crashed run, valid for Relay.

#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::{
    Bugsink, Project, assert_all_relay_valid, build_example, exception, fresh_dir, hex,
    symbolic_ids,
};

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGABRT: i32 = 6;
const SIGBUS: i32 = 7;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;

const WAIT: Duration = Duration::from_secs(30);

/// Builds the crash example once, into the target directory of this test, and returns it.
fn crash_example() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // <target>/<profile>/deps/<this test>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        build_example("sentry-examples", "crash", |build| {
            build.arg("--target-dir").arg(profile_dir.parent().unwrap());
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
        })
    })
}

fn run(kind: &str, project: &Project, database: &Path) -> (ExitStatus, String) {
    let output = Command::new(crash_example())
        .arg(kind)
        .env("SENTRY_DSN", project.dsn())
        .env("SENTRY_DATABASE_PATH", database)
        .env("SENTRY_DEBUG", "1")
        .env_remove("SENTRY_DRY_RUN")
        .env_remove("SENTRY_RELEASE")
        .env_remove("SENTRY_ENVIRONMENT")
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What a kind of crash must look like.
struct Case {
    kind: &'static str,
    /// Signal the process dies of.
    exit: i32,
    /// Signal in the report (a stack overflow is a SIGSEGV that Rust's handler turns into
    /// an abort after ours ran).
    signal: i32,
    name: &'static str,
    /// The function of `sentry_native_crash::trigger` that crashed (without the module path).
    trigger: &'static str,
    /// Whether the trigger is where the crash happened (the innermost frame); not so where it
    /// crashes inside the C library.
    innermost: bool,
    /// The example's function that called the trigger, which must be one of the few named
    /// frames right outside it. None for a stack overflow: the caller is thousands of frames
    /// out, beyond what a report keeps.
    function: Option<&'static str>,
    thread: Option<&'static str>,
}

/// Crashes with `case.kind`, starts again, and checks the event Bugsink stored.
fn check(case: Case) {
    let kind = case.kind;
    let project = Bugsink::shared().new_project(&format!("native-{kind}"));
    let database = fresh_dir(&format!("native-db-{kind}"));

    let (status, stderr) = run(kind, &project, &database);
    assert_eq!(
        status.signal(),
        Some(case.exit),
        "{kind}: {status:?}\n{stderr}"
    );
    assert!(
        project.events().is_empty(),
        "{kind}: nothing is sent from inside the crash"
    );
    let (status, stderr) = run("none", &project, &database);
    assert!(status.success(), "{kind}: second start: {stderr}");

    let events = project.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1, "{kind}: one event");
    assert_all_relay_valid(&events);
    let event = &events[0];
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["platform"], "native");

    let exception = exception(event);
    assert_eq!(exception["type"], case.name, "{kind}");
    assert!(!exception["value"].as_str().unwrap().is_empty());
    let mechanism = &exception["mechanism"];
    assert_eq!(mechanism["type"], "signalhandler");
    assert_eq!(mechanism["handled"], false);
    assert_eq!(mechanism["synthetic"], true);
    assert_eq!(mechanism["meta"]["signal"]["number"], case.signal);
    assert_eq!(mechanism["meta"]["signal"]["name"], case.name);

    let thread = &event["threads"]["values"][0];
    assert_eq!(thread["crashed"], true);
    assert_eq!(thread["id"], exception["thread_id"]);
    if let Some(name) = case.thread {
        assert_eq!(thread["name"], name, "{kind}");
    }
    let trace = &exception["stacktrace"];
    let frames = trace["frames"].as_array().expect("frames");
    let pc_register = if cfg!(target_arch = "x86_64") {
        "rip"
    } else {
        "pc"
    };
    assert_eq!(
        hex(&frames.last().unwrap()["instruction_addr"]),
        hex(&trace["registers"][pc_register]),
        "{kind}: the innermost frame is the pc"
    );
    let names: Vec<&str> = frames
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    let trigger = format!("sentry_native_crash::trigger::{}", case.trigger);
    if case.innermost {
        // In a debug build `black_box` is a real call: a stack overflow can hit the guard
        // page on the call into it, one frame inside the recursing function.
        let inside_hint = |f: &serde_json::Value| {
            f["function"]
                .as_str()
                .is_some_and(|n| n.starts_with("core::hint::"))
        };
        let crashing_frames = match frames.iter().rposition(|f| !inside_hint(f)) {
            Some(last) if case.trigger == "recurse" => &frames[..=last],
            _ => &frames[..],
        };
        let crashing = crashing_frames.last().unwrap();
        let innermost = crashing_frames
            .iter()
            .rev()
            .take_while(|f| f["instruction_addr"] == crashing["instruction_addr"])
            .filter_map(|f| f["function"].as_str())
            .collect::<Vec<_>>();
        assert!(
            innermost.contains(&trigger.as_str()),
            "{kind}: the crashing frame is {innermost:?}, not {trigger}"
        );
        assert!(crashing["lineno"].is_u64(), "{kind}: {crashing}");
    }
    let at = names
        .iter()
        .rposition(|n| *n == trigger)
        .unwrap_or_else(|| panic!("{kind}: {trigger} is not among {names:?}"));
    if let Some(function) = case.function {
        assert!(
            names[at.saturating_sub(3)..at].contains(&function),
            "{kind}: {function} is not right outside {trigger}: {names:?}"
        );
    }

    // The breadcrumb added just before the crash, the tag, and the crashed run's release.
    let crumbs = event["breadcrumbs"]["values"]
        .as_array()
        .expect("breadcrumbs");
    assert_eq!(
        crumbs.last().unwrap()["message"],
        format!("about to crash: {kind}")
    );
    assert_eq!(event["tags"]["crash.kind"], kind);
    assert!(
        event["release"]
            .as_str()
            .is_some_and(|r| r.starts_with("sentry-crash-example@"))
    );

    // The main executable is among the images, with the ids symbolic computes; every
    // frame lies in an image.
    let images = event["debug_meta"]["images"].as_array().expect("images");
    let exe = crash_example().canonicalize().unwrap();
    let main = images
        .iter()
        .find(|i| {
            Path::new(i["code_file"].as_str().unwrap())
                .canonicalize()
                .ok()
                .as_deref()
                == Some(exe.as_path())
        })
        .unwrap_or_else(|| panic!("{kind}: the executable is not among {images:#?}"));
    let (debug_id, code_id) = symbolic_ids(&exe);
    assert_eq!(main["debug_id"], debug_id);
    assert_eq!(main["code_id"], code_id);
    for frame in frames {
        let addr = hex(&frame["instruction_addr"]);
        let inside = images.iter().any(|i| {
            let start = hex(&i["image_addr"]);
            addr >= start && addr < start + i["image_size"].as_u64().unwrap()
        });
        // A stack scan may pick up an address outside every module; a frame-pointer walk
        // and the pc never do.
        if frame == frames.last().unwrap() {
            assert!(inside, "{kind}: the pc {frame} is in no image");
        }
    }
    let _ = std::fs::remove_dir_all(&database);
}

fn case(kind: &'static str, exit: i32, signal: i32, name: &'static str) -> Case {
    Case {
        kind,
        exit,
        signal,
        name,
        trigger: "segfault",
        innermost: true,
        function: Some("crash::segfault"),
        thread: None,
    }
}

#[test]
fn segfault() {
    check(Case {
        thread: Some("crash"),
        ..case("segfault", SIGSEGV, SIGSEGV, "SIGSEGV")
    });
}

#[test]
fn abort() {
    check(Case {
        trigger: "abort",
        innermost: false,
        function: Some("crash::abort"),
        ..case("abort", SIGABRT, SIGABRT, "SIGABRT")
    });
}

#[test]
fn illegal_instruction() {
    check(Case {
        trigger: "illegal_instruction",
        function: Some("crash::illegal"),
        ..case("illegal", SIGILL, SIGILL, "SIGILL")
    });
}

#[test]
fn bus_error() {
    check(Case {
        trigger: "bus_error",
        function: Some("crash::bus"),
        ..case("bus", SIGBUS, SIGBUS, "SIGBUS")
    });
}

#[test]
fn floating_point_exception() {
    check(Case {
        trigger: "divide_by_zero",
        // aarch64 does not trap on division by zero: the trigger raises SIGFPE in libc.
        innermost: cfg!(target_arch = "x86_64"),
        function: Some("crash::fpe"),
        ..case("fpe", SIGFPE, SIGFPE, "SIGFPE")
    });
}

#[test]
fn trap() {
    check(Case {
        trigger: "breakpoint",
        function: Some("crash::trap"),
        ..case("trap", SIGTRAP, SIGTRAP, "SIGTRAP")
    });
}

#[test]
fn stack_overflow() {
    check(Case {
        trigger: "recurse",
        function: None,
        ..case("stack-overflow", SIGABRT, SIGSEGV, "SIGSEGV")
    });
}

#[test]
fn thread_segfault() {
    check(Case {
        thread: Some("crashy-worker"),
        ..case("thread-segfault", SIGSEGV, SIGSEGV, "SIGSEGV")
    });
}

#[test]
fn thread_stack_overflow() {
    check(Case {
        trigger: "recurse",
        function: None,
        thread: Some("deep-worker"),
        ..case("thread-stack-overflow", SIGABRT, SIGSEGV, "SIGSEGV")
    });
}

#[test]
fn c_thread() {
    check(Case {
        thread: Some("c-worker"),
        ..case("c-thread", SIGSEGV, SIGSEGV, "SIGSEGV")
    });
}

#[test]
fn crash_inside_libc() {
    check(Case {
        trigger: "libc_strlen",
        innermost: false,
        function: Some("crash::libc_strlen"),
        ..case("libc", SIGSEGV, SIGSEGV, "SIGSEGV")
    });
}

#[test]
fn abort_inside_malloc() {
    check(Case {
        trigger: "heap_corruption",
        innermost: false,
        function: Some("crash::corrupt_heap"),
        ..case("malloc", SIGABRT, SIGABRT, "SIGABRT")
    });
}

#[test]
fn concurrent_crashes_make_one_event() {
    check(case("concurrent", SIGSEGV, SIGSEGV, "SIGSEGV"));
}
