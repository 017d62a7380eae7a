//! Delivery under faults: a server that is down, fails, rate limits, hangs or resets; an
//! unusable database directory. Nothing is lost that could be kept, and nothing blocks.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sentry_core::protocol::Level;
use sentry_core::{ClientOptions, DropReason};
use support::fault_server::{FaultServer, Reply};

static SERIAL: Mutex<()> = Mutex::new(());

fn temp_database(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sentry-delivery-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn ok() -> Reply {
    Reply::Status(200, vec![])
}

fn options(dsn: &str, database: &PathBuf) -> ClientOptions {
    ClientOptions::new()
        .dsn(dsn)
        .database_path(database)
        .shutdown_timeout(Duration::from_millis(500))
}

/// Event ids in the envelopes a server accepted.
fn ids(bodies: &[Vec<u8>]) -> Vec<String> {
    let mut ids: Vec<String> = bodies
        .iter()
        .filter_map(|b| sentry_core::envelope::Envelope::parse(b).ok())
        .filter_map(|e| e.event_id().map(|id| id.simple().to_string()))
        .collect();
    ids.sort();
    ids
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

#[test]
fn server_down_at_start_then_up_everything_arrives_once() {
    let _serial = SERIAL.lock();
    let database = temp_database("down-up");
    // A port with nothing listening: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dsn = format!("http://public@127.0.0.1:{port}/1");
    let guard = sentry_core::init(options(&dsn, &database));
    let mut sent: Vec<String> = (0..5)
        .map(|i| {
            sentry_core::capture_message(&format!("while down {i}"), Level::Error)
                .simple()
                .to_string()
        })
        .collect();
    assert!(
        sentry_core::flush(Duration::from_secs(5)),
        "flush returns once events are on disk"
    );
    // The server comes back; the SDK retries after its backoff, in this same run.
    let server = FaultServer::start_on(port, |_| ok());
    assert!(
        wait_until(Duration::from_secs(20), || server.accepted().len() >= 5),
        "only {} arrived",
        server.accepted().len()
    );
    drop(guard);
    sent.sort();
    assert_eq!(ids(&server.accepted()), sent);
    let _ = std::fs::remove_dir_all(&database);
}

#[test]
fn what_a_run_could_not_send_is_sent_by_the_next_start() {
    let _serial = SERIAL.lock();
    let database = temp_database("next-start");
    let failing = FaultServer::start(|_| Reply::Status(503, vec![]));
    let guard = sentry_core::init(options(&failing.dsn(), &database));
    let id = sentry_core::capture_message("kept for later", Level::Error)
        .simple()
        .to_string();
    sentry_core::flush(Duration::from_secs(5));
    drop(guard);
    assert!(failing.accepted().is_empty());

    let server = FaultServer::start(|_| ok());
    let guard = sentry_core::init(options(&server.dsn(), &database));
    assert!(wait_until(Duration::from_secs(10), || !server
        .accepted()
        .is_empty()));
    drop(guard);
    assert_eq!(ids(&server.accepted()), [id]);
    let _ = std::fs::remove_dir_all(&database);
}

#[test]
fn a_burst_of_500s_then_recovery_loses_nothing() {
    let _serial = SERIAL.lock();
    let database = temp_database("burst");
    let server = FaultServer::start(|n| {
        if n < 3 {
            Reply::Status(500, vec![])
        } else {
            ok()
        }
    });
    let guard = sentry_core::init(options(&server.dsn(), &database));
    let mut sent: Vec<String> = (0..3)
        .map(|i| {
            sentry_core::capture_message(&format!("burst {i}"), Level::Error)
                .simple()
                .to_string()
        })
        .collect();
    assert!(wait_until(Duration::from_secs(20), || server
        .accepted()
        .len()
        >= 3));
    drop(guard);
    sent.sort();
    assert_eq!(ids(&server.accepted()), sent);
    let _ = std::fs::remove_dir_all(&database);
}

#[test]
fn rate_limits_in_each_form_stop_sending_and_are_counted() {
    let _serial = SERIAL.lock();
    for (name, headers) in [
        (
            "sentry-header",
            vec![("X-Sentry-Rate-Limits", "60:error:key".to_owned())],
        ),
        (
            "retry-after-seconds",
            vec![("Retry-After", "60".to_owned())],
        ),
        (
            "retry-after-date",
            vec![("Retry-After", "Fri, 31 Dec 2100 23:59:59 GMT".to_owned())],
        ),
        ("bare-429", vec![]),
    ] {
        let database = temp_database(name);
        let server = FaultServer::start(move |_| Reply::Status(429, headers.clone()));
        // Requests and drops are counted one by one here: no dedupe of the repeated
        // message, and no client reports (which are sent while errors are limited).
        let guard = sentry_core::init(
            options(&server.dsn(), &database)
                .dedupe(false)
                .send_client_reports(false),
        );
        sentry_core::capture_message("first", Level::Error);
        sentry_core::flush(Duration::from_secs(5));
        for _ in 0..10 {
            sentry_core::capture_message("while limited", Level::Error);
        }
        sentry_core::flush(Duration::from_secs(5));
        let client = guard.client().unwrap().clone();
        drop(guard);
        assert_eq!(
            server.requests(),
            1,
            "{name}: nothing is sent while limited"
        );
        assert_eq!(client.dropped(DropReason::RateLimitBackoff), 11, "{name}");
        let _ = std::fs::remove_dir_all(&database);
    }
}

#[test]
fn a_rate_limit_header_on_a_200_limits_only_its_category() {
    let _serial = SERIAL.lock();
    let database = temp_database("limit-200");
    let server = FaultServer::start(|_| {
        Reply::Status(
            200,
            vec![(
                "X-Sentry-Rate-Limits",
                "60:transaction;span:organization".into(),
            )],
        )
    });
    let guard = sentry_core::init(options(&server.dsn(), &database));
    for i in 0..3 {
        sentry_core::capture_message(&format!("allowed {i}"), Level::Error);
    }
    sentry_core::flush(Duration::from_secs(5));
    drop(guard);
    assert_eq!(
        server.accepted().len(),
        3,
        "errors are not limited by a transaction limit"
    );
    let _ = std::fs::remove_dir_all(&database);
}

#[test]
fn hangs_and_resets_do_not_block_and_lose_nothing() {
    let _serial = SERIAL.lock();
    let database = temp_database("hang-reset");
    let server = FaultServer::start(|n| match n {
        0 => Reply::Reset,
        1 => Reply::Hang,
        _ => ok(),
    });
    let guard = sentry_core::init(
        options(&server.dsn(), &database).request_timeout(Duration::from_secs(1)),
    );
    let id = sentry_core::capture_message("survives a reset and a hang", Level::Error)
        .simple()
        .to_string();
    let start = Instant::now();
    sentry_core::flush(Duration::from_millis(300));
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(wait_until(Duration::from_secs(20), || !server
        .accepted()
        .is_empty()));
    drop(guard);
    assert_eq!(ids(&server.accepted()), [id]);
    let _ = std::fs::remove_dir_all(&database);
}

#[cfg(unix)]
#[test]
fn an_unusable_database_directory_keeps_the_application_running() {
    let _serial = SERIAL.lock();
    // A path below a regular file can never be created, whoever runs the test (root included).
    let blocker = temp_database("blocker");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let server = FaultServer::start(|_| ok());
    let guard = sentry_core::init(options(&server.dsn(), &blocker.join("db")));
    sentry_core::capture_message("sent without a copy on disk", Level::Error);
    assert!(sentry_core::flush(Duration::from_secs(5)));
    drop(guard);
    assert_eq!(server.accepted().len(), 1);
    let _ = std::fs::remove_file(&blocker);
}

/// Not a test of its own: the child process of `kill_9_during_a_send_...`, which runs this
/// test binary again with `DELIVERY_CHILD_DSN` set. It captures one event, prints its id
/// and waits to be killed while the send hangs.
#[test]
fn child_process_for_the_kill_test() {
    let (Ok(dsn), Ok(database)) = (
        std::env::var("DELIVERY_CHILD_DSN"),
        std::env::var("DELIVERY_CHILD_DB"),
    ) else {
        return;
    };
    let _guard = sentry_core::init(options(&dsn, &PathBuf::from(database)));
    let id = sentry_core::capture_message("killed while sending", Level::Fatal);
    println!("EVENT {}", id.simple());
    std::thread::sleep(Duration::from_secs(120));
}

#[cfg(unix)]
#[test]
fn kill_9_during_a_send_the_event_arrives_after_the_next_start_once() {
    use std::io::BufRead;
    let _serial = SERIAL.lock();
    let database = temp_database("kill9");
    let hanging = FaultServer::start(|_| Reply::Hang);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_for_the_kill_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DELIVERY_CHILD_DSN", hanging.dsn())
        .env("DELIVERY_CHILD_DB", &database)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let id = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.split("EVENT ").nth(1).map(|id| id.trim().to_owned()))
        .expect("the child printed its event id");
    assert!(
        wait_until(Duration::from_secs(20), || hanging.requests() >= 1),
        "the send started"
    );
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, nothing
    child.wait().unwrap();

    let server = FaultServer::start(|_| ok());
    let guard = sentry_core::init(options(&server.dsn(), &database));
    assert!(wait_until(Duration::from_secs(10), || !server
        .accepted()
        .is_empty()));
    std::thread::sleep(Duration::from_millis(300));
    drop(guard);
    assert_eq!(
        ids(&server.accepted()),
        [id],
        "delivered once, after the next start"
    );
    let _ = std::fs::remove_dir_all(&database);
}

/// Eight threads capture 100k events each against a slow server: capturing never blocks,
/// and every event is delivered, dropped with a reason, or kept in the outbox.
#[test]
fn load_every_event_is_delivered_dropped_with_a_reason_or_kept() {
    let _serial = SERIAL.lock();
    let database = temp_database("load");
    let server = FaultServer::start(|_| {
        std::thread::sleep(Duration::from_millis(20));
        ok()
    });
    let guard = sentry_core::init(options(&server.dsn(), &database));
    let captured: usize = std::thread::scope(|threads| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                threads.spawn(move || {
                    for i in 0..100_000 {
                        sentry_core::capture_message(&format!("load {t}-{i}"), Level::Info);
                    }
                    100_000
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let client = guard.client().unwrap().clone();
    drop(guard);
    assert_eq!(captured, 800_000);
    let tally = || {
        let dropped: u64 = DropReason::ALL.iter().map(|r| client.dropped(*r)).sum();
        let kept = std::fs::read_dir(database.join("runs"))
            .unwrap()
            .flatten()
            .flat_map(|run| std::fs::read_dir(run.path()).unwrap().flatten())
            .filter(|f| f.file_name().to_string_lossy().ends_with(".envelope"))
            .count() as u64;
        (server.accepted().len() as u64, dropped, kept)
    };
    // Shutdown hands what is still queued to the outbox; let the worker finish writing.
    let settled = wait_until(Duration::from_secs(10), || {
        let (delivered, dropped, kept) = tally();
        delivered + dropped + kept == 800_000
    });
    let (delivered, dropped, kept) = tally();
    assert!(
        settled,
        "delivered {delivered}, dropped {dropped}, kept {kept}"
    );
    assert!(
        client.dropped(DropReason::QueueOverflow) > 0,
        "the bounded queue overflowed"
    );
    let _ = std::fs::remove_dir_all(&database);
}

/// Not a test of its own: the child of `a_full_disk_...`, started under a file-size limit.
#[test]
fn child_process_for_the_full_disk_test() {
    let (Ok(dsn), Ok(database)) = (
        std::env::var("FULL_DISK_CHILD_DSN"),
        std::env::var("FULL_DISK_CHILD_DB"),
    ) else {
        return;
    };
    let guard = sentry_core::init(options(&dsn, &PathBuf::from(database)));
    sentry_core::capture_message(
        &"a message longer than the file-size limit ".repeat(64),
        Level::Error,
    );
    assert!(sentry_core::flush(Duration::from_secs(10)));
    drop(guard);
    println!("CHILD DONE");
}

/// A full disk, simulated with a file-size limit (`ulimit -f`, SIGXFSZ ignored) so every
/// outbox write fails like ENOSPC would: the application keeps running, the SDK says what it
/// could not keep, and the event is still sent.
#[cfg(unix)]
#[test]
fn a_full_disk_keeps_the_application_running_and_the_event_is_sent() {
    let _serial = SERIAL.lock();
    let database = temp_database("full-disk");
    let server = FaultServer::start(|_| ok());
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 1 && trap '' XFSZ && exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_for_the_full_disk_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FULL_DISK_CHILD_DSN", server.dsn())
        .env("FULL_DISK_CHILD_DB", &database)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("CHILD DONE"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(
        server.accepted().len(),
        1,
        "sent without a copy on disk: {stderr}"
    );
    assert!(
        stderr.contains("could not keep an event in the outbox"),
        "the SDK says so: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&database);
}
