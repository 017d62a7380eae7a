//! What a newcomer runs first: `cargo run --example demo`.
//!
//! Without `SENTRY_DSN` it runs as a dry run and prints every envelope it would have sent,
//! so you see exactly what leaves the machine. With `SENTRY_DSN` set it reports to that
//! server.
//!
//! It also shows what the SDK keeps out of your error stream: the breadcrumb, extra data
//! and message below hold a password, tokens and credentials, and every one of them
//! leaves the machine as `[Filtered]`; an error raised 1000 times in a loop is sent as one
//! event carrying `"repeat_count": 999`, and a client report counts what was held back.
//!
//! And a native crash, first (Linux on x86_64 and aarch64): the demo runs itself as a child
//! process (`--crash-child`) that starts the SDK and dies of a segmentation fault. Its crash
//! handler leaves a report in the database; the demo's own start, which comes next, turns it
//! into a fatal event and sends it (or prints it, in a dry run), like any program's next
//! start after a crash. The database is a private temporary directory, unless
//! `SENTRY_DATABASE_PATH` names one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sentry_core::protocol::{Breadcrumb, Level, User};
use sentry_core::{ClientOptions, DropReason};

/// The argument that makes the demo the child that crashes.
const CRASH_CHILD: &str = "--crash-child";

/// A small error with a cause, like most application errors.
#[derive(Debug)]
struct CatalogError {
    path: String,
    source: std::io::Error,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not load the catalog from {}", self.path)
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn load_catalog(path: &str) -> Result<String, CatalogError> {
    std::fs::read_to_string(path).map_err(|source| CatalogError {
        path: path.into(),
        source,
    })
}

/// The options of both the demo and its crashing child, so that they share the database.
fn options(has_dsn: bool, database: &Path) -> ClientOptions {
    ClientOptions::new()
        .release(concat!("sentry-demo@", env!("CARGO_PKG_VERSION")))
        .attach_stacktrace(true)
        // Repeats of one error within this window are held back and counted. The default
        // (1 s) suits production; the demo's loop must fit in one window even in a slow debug
        // build on a busy machine. Shutdown sends the held event at once, so nothing waits.
        .repeat_window(std::time::Duration::from_secs(30))
        .dry_run(!has_dsn)
        .database_path(database)
}

fn main() {
    let has_dsn = std::env::var("SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty());
    if std::env::args().nth(1).as_deref() == Some(CRASH_CHILD) {
        let database = std::env::var_os("SENTRY_DATABASE_PATH").expect("set by the demo");
        crash_child(options(has_dsn, Path::new(&database)));
    }
    if !has_dsn {
        eprintln!(
            "demo: SENTRY_DSN is not set, so this is a dry run: envelopes are printed, not sent."
        );
    }
    let database = Database::new();
    run_crashing_child(&database.path);
    let guard = sentry_core::init(options(has_dsn, &database.path));
    sentry_core::configure_scope(|scope| {
        scope.set_tag("demo", "yes");
        scope.set_user(Some(User {
            id: Some("demo-user".into()),
            ..Default::default()
        }));
    });
    sentry_core::add_breadcrumb(Breadcrumb::new("demo started").category("app.lifecycle"));

    let id = sentry_core::capture_message("Hello from the demo", Level::Info);
    eprintln!("demo: captured a message, event id {}", id.simple());

    sentry_core::add_breadcrumb(Breadcrumb::new("loading the catalog").category("io"));
    if let Err(error) = load_catalog("/nonexistent/catalog.json") {
        let id = sentry_core::capture_error(&error);
        eprintln!(
            "demo: captured an error with its cause, event id {}",
            id.simple()
        );
    }

    // Secrets in breadcrumbs, extra data and the message: scrubbing is on by default.
    sentry_core::add_breadcrumb(
        Breadcrumb::new("signing in")
            .category("auth")
            .data("username", "demo-user")
            .data("password", "correct horse battery staple"),
    );
    sentry_core::configure_scope(|scope| {
        scope.set_extra("api_token", "tok_live_4f9a8b7c6d5e");
        scope.set_extra("attempt", 2);
    });
    let id = sentry_core::capture_message(
        "sign-in failed: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2ln \
         from https://deploy:s3cr3t-pa55@auth.example.com/token",
        Level::Error,
    );
    eprintln!(
        "demo: captured a message full of secrets, event id {}",
        id.simple()
    );

    // The same error 1000 times from a loop: sent once, with how often it repeated.
    for _ in 0..1000 {
        if let Err(error) = load_catalog("/nonexistent/hot-loop.json") {
            sentry_core::capture_error(&error);
        }
    }
    sentry_core::flush(Duration::from_secs(2));
    if let Some(client) = guard.client() {
        eprintln!(
            "demo: raised one error 1000 times in a loop; {} repeats were held back and are \
             counted on the event that was sent",
            client.dropped(DropReason::EventProcessor)
        );
    }
    // Dropping the guard sends what is pending (at most `shutdown_timeout`, 2 s by default),
    // and a client report of what was dropped.
    drop(guard);
    database.finish();
}

/// Where the demo keeps what it has not sent yet, crash reports included.
struct Database {
    path: PathBuf,
    /// Whether the demo made it (and may remove it), or `SENTRY_DATABASE_PATH` named it.
    temporary: bool,
}

impl Database {
    /// `SENTRY_DATABASE_PATH` when set, else a new private directory: the demo's crash report
    /// must be the only one its start finds, not one some earlier program left.
    fn new() -> Self {
        if let Some(path) = std::env::var_os("SENTRY_DATABASE_PATH").filter(|p| !p.is_empty()) {
            return Database {
                path: path.into(),
                temporary: false,
            };
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("sentry-demo-{}-{nanos:08x}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .unwrap_or_else(|e| panic!("demo: cannot create {}: {e}", path.display()));
        Database {
            path,
            temporary: true,
        }
    }

    /// Removes a temporary database once nothing in it waits to be sent; keeps it, and says
    /// how to send the rest, otherwise (a slow or unreachable server).
    fn finish(self) {
        if !self.temporary {
            return;
        }
        if holds_only_locks(&self.path) {
            let _ = std::fs::remove_dir_all(&self.path);
        } else {
            eprintln!(
                "demo: not everything was sent in time; it waits in {0}: run the demo again \
                 with SENTRY_DATABASE_PATH={0} to send it",
                self.path.display()
            );
        }
    }
}

/// Whether the files under `dir` are only the run directories' `lock` files: every envelope
/// and crash report was delivered (an undelivered one stays a file until the next start).
fn holds_only_locks(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|entry| match entry.file_type() {
        Ok(kind) if kind.is_dir() => holds_only_locks(&entry.path()),
        Ok(_) => entry.file_name() == "lock",
        Err(_) => false,
    })
}

/// Runs this program again as the child that crashes, and waits for it to die.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn run_crashing_child(database: &Path) {
    use std::os::unix::process::ExitStatusExt;

    eprintln!(
        "demo: a child process will now start the SDK and crash with SIGSEGV (a write to \
         address 0x8); its crash handler writes a report into {}",
        database.display()
    );
    let exe = std::env::current_exe().expect("the demo's own executable");
    let status = std::process::Command::new(exe)
        .arg(CRASH_CHILD)
        .env("SENTRY_DATABASE_PATH", database)
        .status()
        .expect("the demo starts its child");
    match status.signal().and_then(sentry_native_crash::signal_name) {
        Some(signal) => eprintln!(
            "demo: the child died of {signal}; the next start (this one) sends its crash report"
        ),
        None => eprintln!("demo: the child did not crash as planned ({status})"),
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn run_crashing_child(_: &Path) {
    eprintln!("demo: native crashes are captured on Linux (x86_64, aarch64) only; no crash here");
}

/// The child: starts the SDK as any program would, sets a little scope, and crashes.
fn crash_child(options: ClientOptions) -> ! {
    let _guard = sentry_core::init(options);
    sentry_core::configure_scope(|scope| scope.set_tag("demo", "crash-child"));
    sentry_core::add_breadcrumb(
        Breadcrumb::new("about to crash on purpose").category("app.lifecycle"),
    );
    eprintln!("demo (child): crashing now");
    segfault();
    // Only where native crashes are not captured.
    std::process::exit(1)
}

/// Crashes with SIGSEGV. At the crate root and never inlined, so that the stack trace shows
/// `demo::segfault` right below `sentry_native_crash::trigger::segfault`.
#[inline(never)]
fn segfault() {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        // Its core dump would be clutter, not a finding.
        let _ = sentry_native_crash::trigger::disable_core_dumps();
        sentry_native_crash::trigger::segfault();
    }
}
