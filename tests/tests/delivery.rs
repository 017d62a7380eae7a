//! Delivery faults against the real Bugsink: the server is unreachable when events are
//! captured and comes back later; the process is killed with SIGKILL while a send is under
//! way. A small forwarder in front of Bugsink plays the network: refusing, hanging, or
//! passing bytes through untouched.

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::{
    Bugsink, Project, assert_all_relay_valid, dsn_via, free_port, fresh_dir, settled_events,
    sorted_ids, wait_until,
};
use parking_lot::Mutex;
use sentry_core::ClientOptions;
use sentry_core::protocol::Level;

static SDK: Mutex<()> = Mutex::new(());
const WAIT: Duration = Duration::from_secs(30);

/// What the forwarder does with a connection.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Passes bytes both ways to Bugsink.
    Forward,
    /// Accepts and never answers.
    Hang,
}

/// A TCP forwarder on its own port in front of Bugsink.
struct Forwarder {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Forwarder {
    fn start_on(listener: TcpListener, upstream: u16, mode: Mode) -> Forwarder {
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                match mode {
                    Mode::Hang => held.push(client),
                    Mode::Forward => {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                }
            }
        });
        Forwarder { port, connections }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

fn bugsink_port(project: &Project) -> u16 {
    project
        .server()
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

#[test]
fn server_down_at_start_then_up_every_event_arrives_once() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("delivery-down-up");
    let db = fresh_dir("delivery-down-up");
    // Reserve a port and close it: connections are refused until the forwarder takes it.
    let port = free_port();
    let guard = sentry_core::init(
        ClientOptions::new()
            .dsn(dsn_via(&project, port))
            .database_path(&db),
    );
    let mut sent: Vec<String> = (0..3)
        .map(|i| {
            sentry_core::capture_message(&format!("while the server was down {i}"), Level::Error)
        })
        .map(|id| id.simple().to_string())
        .collect();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    assert!(project.events().is_empty());

    let _forwarder = Forwarder::start_on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        bugsink_port(&project),
        Mode::Forward,
    );
    // The SDK retries from its outbox after its backoff, in this same run.
    assert!(
        wait_until(WAIT, || project.events().len() >= 3),
        "{} arrived",
        project.events().len()
    );
    drop(guard);
    std::thread::sleep(Duration::from_millis(500));
    let events = project.events();
    sent.sort();
    assert_eq!(sorted_ids(&events), sent, "each event arrives, once");
    assert_all_relay_valid(&events);
    let _ = std::fs::remove_dir_all(&db);
}

/// Not a test of its own: the child of the SIGKILL test. It captures one event, prints its
/// id and waits to be killed while the send hangs.
#[test]
fn child_for_the_kill_test() {
    let (Ok(dsn), Ok(db)) = (
        std::env::var("E2E_KILL_CHILD_DSN"),
        std::env::var("E2E_KILL_CHILD_DB"),
    ) else {
        return;
    };
    let _guard = sentry_core::init(ClientOptions::new().dsn(dsn).database_path(db));
    let id = sentry_core::capture_message("killed with SIGKILL while sending", Level::Fatal);
    println!("EVENT {}", id.simple());
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn sigkill_during_a_send_the_event_arrives_after_the_next_start_once() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("delivery-kill9");
    let db = fresh_dir("delivery-kill9");
    let hanging = Forwarder::start_on(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        bugsink_port(&project),
        Mode::Hang,
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_for_the_kill_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("E2E_KILL_CHILD_DSN", dsn_via(&project, hanging.port))
        .env("E2E_KILL_CHILD_DB", &db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let id = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.split("EVENT ").nth(1).map(|id| id.trim().to_owned()))
        .expect("the child printed its event id");
    assert!(
        wait_until(WAIT, || hanging.connections.load(Ordering::SeqCst) >= 1),
        "the send started"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(project.events().is_empty());

    let guard = sentry_core::init(ClientOptions::new().dsn(project.dsn()).database_path(&db));
    assert!(sentry_core::flush(WAIT));
    drop(guard);
    let events = settled_events(&project, 1, WAIT);
    assert_eq!(
        sorted_ids(&events),
        [id],
        "delivered by the next start, once"
    );
    assert_eq!(events[0]["message"], "killed with SIGKILL while sending");
    let _ = std::fs::remove_dir_all(&db);
}
