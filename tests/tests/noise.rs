//! Noise control end to end: against a real Bugsink, filtered events never arrive, secrets
//! arrive as `[Filtered]` (request headers, cookies and query string included), a loop of 1000 identical errors arrives as one event with its
//! repeat count, and the client report counting the held-back repeats is on the wire.

use std::time::Duration;

use e2e::{
    Bugsink, Project, assert_all_relay_valid, build_example, exception, project_dir,
    settled_events, test_dir,
};
use parking_lot::Mutex;
use sentry_core::envelope::Envelope;
use sentry_core::protocol::{Breadcrumb, Level, Request};
use sentry_core::{ClientOptions, REPEAT_COUNT_KEY};
use serde_json::{Value, json};

/// The SDK is process-wide; the tests of this file take turns with it.
static SDK: Mutex<()> = Mutex::new(());

const WAIT: Duration = Duration::from_secs(20);

fn options_for(project: &Project) -> ClientOptions {
    let database = project_dir("noise-db", project);
    ClientOptions::new()
        .dsn(project.dsn())
        .release("e2e-noise@1.0.0")
        .environment("e2e")
        .attach_stacktrace(true)
        .database_path(database)
}

#[derive(Debug)]
struct SyncFailed {
    attempt: u32,
}
impl std::fmt::Display for SyncFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sync failed (attempt {})", self.attempt)
    }
}
impl std::error::Error for SyncFailed {}

#[inline(never)]
fn sync_once() {
    sentry_core::capture_error(&SyncFailed { attempt: 1 });
}

/// The summed client report quantities the server received, by reason.
fn reported(project: &Project) -> Vec<(String, u64)> {
    let mut sums: Vec<(String, u64)> = Vec::new();
    for bytes in project.envelopes() {
        let envelope = Envelope::parse(&bytes).expect("the server got a valid envelope");
        for item in envelope.items() {
            if item.item_type() != "client_report" {
                continue;
            }
            let report: Value = serde_json::from_slice(item.payload()).unwrap();
            for entry in report["discarded_events"].as_array().unwrap() {
                let reason = entry["reason"].as_str().unwrap().to_owned();
                let quantity = entry["quantity"].as_u64().unwrap();
                match sums.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, sum)) => *sum += quantity,
                    None => sums.push((reason, quantity)),
                }
            }
        }
    }
    sums
}

#[test]
fn a_loop_of_1000_identical_errors_arrives_as_one_event_with_its_repeat_count() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("noise-loop");
    // A window longer than the loop can take on a loaded machine: the point is one event for
    // one loop, not how fast the loop runs. Flush releases the held event.
    let guard = sentry_core::init(options_for(&project).repeat_window(Duration::from_secs(60)));
    for _ in 0..1000 {
        sync_once();
    }
    assert!(sentry_core::flush(WAIT));
    drop(guard);

    let events = project.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["extra"][REPEAT_COUNT_KEY], 999);
    assert_eq!(
        event["exception"]["values"][0]["value"],
        "sync failed (attempt 1)"
    );
    assert_all_relay_valid(&events);
    // Bugsink ignores client reports but keeps the raw envelopes.
    assert_eq!(reported(&project), [("event_processor".to_owned(), 999)]);
}

#[test]
fn filtered_events_never_arrive_and_secrets_arrive_filtered() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("noise-filter");
    let guard = sentry_core::init(
        options_for(&project)
            .ignore_errors(["re:^health ?check"])
            .deny_urls(["re:/vendor/"])
            .scrub_patterns([(r"(auth\.token|SENTRY_AUTH_TOKEN)=\w+", "$1=[Filtered]")]),
    );
    sentry_core::configure_scope(|scope| {
        scope.set_extra("password", "hunter2");
        scope.set_extra("service", json!({"api_key": "ak_live_1", "region": "eu"}));
        scope.set_tag("session_id", "s-123");
    });
    sentry_core::configure_scope(|scope| {
        scope.set_request(Some(
            Request::new(
                "POST",
                "https://api.example.com/upload?token=tq-9f8e7d&part=2",
            )
            .header("Authorization", "Bearer hdr.eyJzdWIiOiIxIn0.sig")
            .header("Cookie", "sessionid=ck-5a4b3c; theme=dark")
            .header("X-Forwarded-For", "203.0.113.7")
            .header("Content-Type", "application/json")
            .cookies("sessionid=ck-5a4b3c; theme=dark")
            .data(json!({"file": "a.bin", "password": "body-pw-1"}))
            .env("REMOTE_ADDR", "203.0.113.7"),
        ));
    });
    sentry_core::add_breadcrumb(
        Breadcrumb::new("GET https://bot:t0ps3cret@api.example.com/v1")
            .category("http")
            .data("token", "tk-abc"),
    );
    sentry_core::capture_message("healthcheck failed", Level::Error);
    sentry_core::capture_message(
        "upload failed: Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln via \
         https://ci:pa55w0rd@artifacts.example.com with auth.token=abc123",
        Level::Error,
    );
    assert!(sentry_core::flush(WAIT));
    drop(guard);

    // Gives a wrongly sent ignored event the time to show up before saying it did not.
    let events = settled_events(&project, 1, WAIT);
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(
        event["message"],
        "upload failed: Bearer [Filtered] via \
         https://[Filtered]@artifacts.example.com with auth.token=[Filtered]"
    );
    assert_eq!(event["extra"]["password"], "[Filtered]");
    assert_eq!(event["extra"]["service"]["api_key"], "[Filtered]");
    assert_eq!(event["extra"]["service"]["region"], "eu");
    assert_eq!(event["tags"]["session_id"], "[Filtered]");
    let crumb = &event["breadcrumbs"]["values"][0];
    assert_eq!(
        crumb["message"],
        "GET https://[Filtered]@api.example.com/v1"
    );
    assert_eq!(crumb["data"]["token"], "[Filtered]");
    let request = &event["request"];
    assert_eq!(request["url"], "https://api.example.com/upload");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["query_string"], "token=[Filtered]&part=2");
    assert_eq!(request["headers"]["Authorization"], "[Filtered]");
    assert_eq!(request["headers"]["Cookie"], "[Filtered]");
    assert_eq!(request["headers"]["X-Forwarded-For"], "[Filtered]");
    assert_eq!(request["headers"]["Content-Type"], "application/json");
    assert_eq!(request["cookies"], "sessionid=[Filtered]; theme=[Filtered]");
    assert_eq!(request["data"]["file"], "a.bin");
    assert_eq!(request["data"]["password"], "[Filtered]");
    assert!(request.get("env").is_none(), "{request}");
    let stored = event.to_string();
    for secret in [
        "hunter2",
        "ak_live_1",
        "s-123",
        "t0ps3cret",
        "tk-abc",
        "eyJhbGci",
        "pa55w0rd",
        "abc123",
        "tq-9f8e7d",
        "hdr.eyJ",
        "ck-5a4b3c",
        "body-pw-1",
        "203.0.113.7",
    ] {
        assert!(
            !stored.contains(secret),
            "{secret} reached the server: {stored}"
        );
    }
    assert_all_relay_valid(&events);
    assert_eq!(reported(&project), [("event_processor".to_owned(), 1)]);
}

/// What a newcomer sees: the demo's secrets arrive filtered and its loop as one event.
#[test]
fn the_demo_sends_no_secret_and_its_loop_as_one_event() {
    let project = Bugsink::shared().new_project("noise-demo");
    let database = test_dir("noise-demo-db");
    // The demo (`examples/demo.rs`).
    let demo = build_example("sentry-examples", "demo", |_| {});
    let output = std::process::Command::new(demo)
        .env("SENTRY_DSN", project.dsn())
        .env("SENTRY_DATABASE_PATH", &database)
        .env_remove("SENTRY_DRY_RUN")
        .output()
        .expect("the demo runs");
    let _ = std::fs::remove_dir_all(&database);
    assert!(output.status.success(), "{output:?}");

    // Four events of the demo itself, and the crash of the child it runs first.
    let events = project.wait_for_events(5, WAIT);
    assert_eq!(events.len(), 5, "{events:#?}");
    assert_all_relay_valid(&events);
    let stored = serde_json::to_string(&events).unwrap();
    for secret in [
        "correct horse",
        "tok_live_4f9a8b7c6d5e",
        "eyJhbGciOiJIUzI1NiJ9",
        "s3cr3t-pa55",
    ] {
        assert!(!stored.contains(secret), "{secret} reached the server");
    }
    let looped: Vec<_> = events
        .iter()
        .filter(|e| {
            e["exception"]["values"][1]["value"]
                .as_str()
                .is_some_and(|v| v.contains("hot-loop"))
        })
        .collect();
    assert_eq!(looped.len(), 1, "{events:#?}");
    assert_eq!(looped[0]["extra"][REPEAT_COUNT_KEY], 999);
    let crashes: Vec<_> = events
        .iter()
        .filter(|e| {
            let exception = exception(e);
            exception["type"] == "SIGSEGV" && exception["mechanism"]["type"] == "signalhandler"
        })
        .collect();
    assert_eq!(crashes.len(), 1, "the child's crash, once: {events:#?}");
    assert_eq!(reported(&project), [("event_processor".to_owned(), 999)]);
}
