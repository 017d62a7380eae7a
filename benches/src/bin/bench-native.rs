//! Native crash figures: from the signal to the report complete on disk, with 200 loaded
//! shared libraries, and the report's size.
//!
//! Method: `bench-crash-child` stamps `CLOCK_MONOTONIC` right before writing to an unmapped address (SIGSEGV). This
//! program watches the report directory with inotify for the rename of `*.tmp` to `*.crash`,
//! which is the handler's last step on the report (a `.crash` file is complete by
//! construction), and stamps the same clock when the event arrives: signal to report complete,
//! plus the inotify wake-up (microseconds). As a cross-check it also stamps the child's exit
//! as seen by `waitpid`, with and without the handler; the difference is the handler's whole
//! cost including chaining to the default action.

// dlopen, setrlimit, inotify and poll are C calls; this crate never ships.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sentry_benches::results::Results;
use sentry_benches::{median, monotonic_ns, scratch_dir, sibling};

/// Shared libraries the child loads.
const LIBRARIES: usize = 200;
/// Crashes timed with the handler, and without.
const RUNS: usize = 20;

fn main() {
    let mut results = Results::default();
    let libs = libraries();
    let child = sibling("bench-crash-child");
    let mut to_report = Vec::new();
    let mut to_exit = [Vec::new(), Vec::new()];
    let mut size = 0u64;
    let mut cpu = [Vec::new(), Vec::new()];
    let mut images = String::new();
    for install in [true, false] {
        for _ in 0..RUNS {
            let dir = scratch_dir("native-reports");
            set_private(&dir);
            let stamp = dir.with_extension("stamp");
            let watch = install.then(|| Watch::new(&dir));
            let cpu_before = children_cpu_ms();
            let output = Command::new(&child)
                .arg(&dir)
                .arg(&libs)
                .arg(&stamp)
                .arg(if install { "1" } else { "0" })
                .env_remove("RUST_BACKTRACE")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .expect("run the crash child");
            let exited = monotonic_ns();
            // The child's whole CPU time (it is reaped by now): with and without the handler,
            // the difference is the handler's own work, whatever the machine's load.
            cpu[usize::from(!install)].push(children_cpu_ms() - cpu_before);
            let stamped: u64 = std::fs::read_to_string(&stamp)
                .expect("the stamp file")
                .trim()
                .parse()
                .expect("a stamp");
            images = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            to_exit[usize::from(!install)].push((exited - stamped) as f64 / 1e6);
            if let Some(watch) = watch {
                let renamed = watch.wait_for_crash_file().expect("a .crash file appeared");
                to_report.push((renamed - stamped) as f64 / 1e6);
                let report = std::fs::read_dir(&dir)
                    .expect("the report directory")
                    .flatten()
                    .find(|e| e.path().extension().is_some_and(|x| x == "crash"))
                    .expect("the report");
                size = size.max(report.metadata().map(|m| m.len()).unwrap_or(0));
            }
        }
    }
    results.set("libraries_loaded", LIBRARIES);
    results.set("child_says", images);
    results.set("signal_to_report_ms", median(&mut to_report));
    results.set(
        "signal_to_report_max_ms",
        to_report.iter().copied().fold(0.0, f64::max),
    );
    results.set("signal_to_exit_with_handler_ms", median(&mut to_exit[0]));
    results.set("signal_to_exit_without_handler_ms", median(&mut to_exit[1]));
    results.set("report_bytes", size);
    results.set("child_cpu_with_handler_ms", median(&mut cpu[0]));
    results.set("child_cpu_without_handler_ms", median(&mut cpu[1]));
    results.save("native");
}

/// User and system CPU time of this process's reaped children so far, in ms.
fn children_cpu_ms() -> f64 {
    // SAFETY: an all-zero rusage is a valid value for getrusage to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid rusage to write to.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// The directory of `LIBRARIES` small generated shared libraries, compiled with gcc once and
/// kept between runs.
fn libraries() -> PathBuf {
    let dir = sentry_benches::results::dir().join("native-libs");
    let done = dir.join("complete");
    if done.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the libraries directory");
    for i in 0..LIBRARIES {
        let source = dir.join(format!("bench{i:03}.c"));
        // A few functions and some data, so each library has text, data and a build id.
        let code = format!(
            "int bench_table_{i}[64] = {{ {i} }};\n\
             int bench_add_{i}(int x) {{ return x + bench_table_{i}[x & 63]; }}\n\
             int bench_mul_{i}(int x) {{ return x * {i} + bench_add_{i}(x); }}\n"
        );
        std::fs::write(&source, code).expect("write a library source");
        let status = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O1", "-Wl,--build-id", "-o"])
            .arg(dir.join(format!("libbench{i:03}.so")))
            .arg(&source)
            .status()
            .expect("run gcc");
        assert!(status.success(), "gcc failed on {}", source.display());
    }
    std::fs::write(&done, b"").expect("mark the libraries complete");
    dir
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .expect("make the report directory private");
}

/// An inotify watch on a directory, with a thread blocked on it from before the child starts,
/// so that the moment the event arrives is stamped as it arrives.
struct Watch {
    waiter: std::thread::JoinHandle<Option<u64>>,
}

impl Watch {
    fn new(dir: &Path) -> Watch {
        // SAFETY: a plain system call.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1 failed");
        let path = CString::new(dir.to_string_lossy().as_bytes()).expect("a path without NUL");
        // SAFETY: `fd` is our inotify descriptor and `path` a valid C string.
        let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), libc::IN_MOVED_TO) };
        assert!(wd >= 0, "inotify_add_watch failed");
        let waiter = std::thread::spawn(move || {
            let found = wait_for_crash_file(fd);
            // SAFETY: `fd` is ours and closed once.
            unsafe { libc::close(fd) };
            found
        });
        Watch { waiter }
    }

    /// The `CLOCK_MONOTONIC` time at which a `*.crash` file was renamed into the directory;
    /// `None` if none was within 10 s.
    fn wait_for_crash_file(self) -> Option<u64> {
        self.waiter.join().expect("the watch thread")
    }
}

fn wait_for_crash_file(fd: libc::c_int) -> Option<u64> {
    let deadline = monotonic_ns() + 10_000_000_000;
    let mut buffer = [0u8; 4096];
    while monotonic_ns() < deadline {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, 10_000) };
        let arrived = monotonic_ns();
        if ready <= 0 {
            continue;
        }
        // SAFETY: reading into our own buffer of the stated length.
        let n = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        if n <= 0 {
            continue;
        }
        // Each record: wd, mask, cookie, len (4 bytes each), then `len` bytes of name.
        let mut at = 0usize;
        while at + 16 <= n as usize {
            let len = u32::from_ne_bytes(buffer[at + 12..at + 16].try_into().expect("4 bytes"));
            let name = &buffer[at + 16..(at + 16 + len as usize).min(n as usize)];
            let name = name.split(|b| *b == 0).next().unwrap_or_default();
            if name.ends_with(b".crash") {
                return Some(arrived);
            }
            at += 16 + len as usize;
        }
    }
    None
}
