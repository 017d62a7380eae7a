//! Noise control through the whole client: what is dropped, merged, scrubbed and trimmed
//! before it leaves, and the client reports that count the drops. Envelopes are collected
//! in memory; tests/tests/noise.rs checks the same against a real server.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sentry_core::envelope::Envelope;
use sentry_core::protocol::{Breadcrumb, Level, Request, User};
use sentry_core::transport::MemoryTransport;
use sentry_core::{ClientOptions, DropReason, REPEAT_COUNT_KEY};
use serde_json::{Value, json};

/// The SDK is process-wide; tests that init it take turns.
static SERIAL: Mutex<()> = Mutex::new(());

struct Run {
    envelopes: Vec<Envelope>,
    dropped: Vec<(DropReason, u64)>,
}

impl Run {
    fn events(&self) -> Vec<Value> {
        self.envelopes
            .iter()
            .filter_map(|e| e.event_json().ok())
            .collect()
    }

    /// The summed quantities of every client report, by reason.
    fn reported(&self) -> Vec<(String, u64)> {
        let mut sums: Vec<(String, u64)> = Vec::new();
        for envelope in &self.envelopes {
            for item in envelope.items() {
                if item.item_type() != "client_report" {
                    continue;
                }
                let report: Value = serde_json::from_slice(item.payload()).unwrap();
                assert!(report["timestamp"].as_u64().is_some(), "{report}");
                for entry in report["discarded_events"].as_array().unwrap() {
                    assert_eq!(entry["category"], "error");
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

    fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }
}

/// Runs `body` with the SDK initialized with `options` and a memory transport; returns
/// every envelope sent, through shutdown.
fn run(options: ClientOptions, body: impl FnOnce()) -> Run {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let database =
        std::env::temp_dir().join(format!("sentry-noise-test-{}-{n}", std::process::id()));
    let guard = sentry_core::init(
        options
            .database_path(&database)
            .transport(move |_| Box::new(slot.lock().take().expect("one client"))),
    );
    sentry_core::configure_scope(|scope| scope.clear());
    body();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    let client = guard.client().unwrap().clone();
    drop(guard);
    let dropped = DropReason::ALL
        .iter()
        .map(|&reason| (reason, client.dropped(reason)))
        .collect();
    let _ = std::fs::remove_dir_all(database);
    Run {
        envelopes: collected.envelopes(),
        dropped,
    }
}

#[derive(Debug)]
struct JobFailed(u32);
impl std::fmt::Display for JobFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {} failed", self.0)
    }
}
impl std::error::Error for JobFailed {}

#[inline(never)]
fn fail_job(id: u32) {
    sentry_core::capture_error(&JobFailed(id));
}

#[test]
fn a_loop_of_identical_errors_is_one_event_with_its_repeat_count() {
    let run = run(ClientOptions::new().attach_stacktrace(true), || {
        for _ in 0..1000 {
            fail_job(7);
        }
    });
    let events = run.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["extra"][REPEAT_COUNT_KEY], 999);
    assert_eq!(events[0]["exception"]["values"][0]["value"], "job 7 failed");
    assert_eq!(run.dropped(DropReason::EventProcessor), 999);
    assert_eq!(run.reported(), [("event_processor".to_owned(), 999)]);
}

#[test]
fn different_errors_in_one_loop_are_each_sent() {
    let run = run(ClientOptions::new().attach_stacktrace(true), || {
        for round in 0..10 {
            for id in 0..3 {
                fail_job(id);
            }
            // The same message from another place in the code is another error.
            if round == 0 {
                sentry_core::capture_error(&JobFailed(0));
            }
        }
    });
    let events = run.events();
    assert_eq!(events.len(), 4, "{events:#?}");
    let repeats: Vec<_> = events
        .iter()
        .map(|e| e["extra"][REPEAT_COUNT_KEY].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(repeats.iter().sum::<u64>(), 27);
}

#[test]
fn a_long_loop_is_sent_once_per_window_and_nothing_is_lost() {
    let window = Duration::from_millis(100);
    let mut raised = 0u64;
    let run = run(ClientOptions::new().repeat_window(window), || {
        let start = std::time::Instant::now();
        while start.elapsed() < window * 5 / 2 {
            sentry_core::capture_message("still broken", Level::Error);
            raised += 1;
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    let events = run.events();
    // About one per window; a loaded machine may stretch a window or skip one.
    assert!((2..=5).contains(&events.len()), "{} events", events.len());
    let held: u64 = events
        .iter()
        .map(|e| e["extra"][REPEAT_COUNT_KEY].as_u64().unwrap_or(0))
        .sum();
    // Every occurrence is either an event or counted on one.
    assert_eq!(held + events.len() as u64, raised);
    assert_eq!(run.dropped(DropReason::EventProcessor), held);
}

#[test]
fn dedupe_off_sends_every_repeat() {
    let run = run(ClientOptions::new().dedupe(false), || {
        for _ in 0..20 {
            sentry_core::capture_message("again", Level::Error);
        }
    });
    assert_eq!(run.events().len(), 20);
    assert!(run.reported().is_empty());
}

#[test]
fn ignore_errors_drops_matching_messages_and_errors() {
    let options =
        ClientOptions::new().ignore_errors(["healthcheck", "re:^JobFailed: job [0-9]+ failed$"]);
    let run = run(options, || {
        sentry_core::capture_message("healthcheck timed out", Level::Warning);
        fail_job(3);
        sentry_core::capture_message("disk full", Level::Error);
    });
    let events = run.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message"], "disk full");
    assert_eq!(run.dropped(DropReason::EventProcessor), 2);
    assert_eq!(run.reported(), [("event_processor".to_owned(), 2)]);
}

#[test]
fn deny_urls_and_allow_urls_judge_the_frame_where_the_error_happened() {
    let this_file = "tests/noise.rs";
    let denied = run(
        ClientOptions::new()
            .attach_stacktrace(true)
            .deny_urls([this_file]),
        || {
            fail_job(1);
            // No stack trace, no path: kept.
            sentry_core::capture_event(sentry_core::protocol::Event {
                message: Some("no frames".into()),
                ..Default::default()
            });
        },
    );
    let events = denied.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message"], "no frames");

    let allowed_elsewhere = run(
        ClientOptions::new()
            .attach_stacktrace(true)
            .allow_urls(["re:/src/main\\.rs$"]),
        || fail_job(2),
    );
    assert!(allowed_elsewhere.events().is_empty());
    assert_eq!(allowed_elsewhere.dropped(DropReason::EventProcessor), 1);

    let allowed_here = run(
        ClientOptions::new()
            .attach_stacktrace(true)
            .allow_urls([this_file]),
        || fail_job(3),
    );
    assert_eq!(allowed_here.events().len(), 1);
}

#[test]
fn secrets_arrive_filtered_and_the_users_own_values_are_kept() {
    let options = ClientOptions::new()
        .sensitive_keys(["iban"])
        .scrub_patterns([(r"(auth\.token|SENTRY_AUTH_TOKEN)=\w+", "$1=[Filtered]")]);
    let run = run(options, || {
        sentry_core::configure_scope(|scope| {
            scope.set_extra("password", "hunter2");
            scope.set_extra(
                "db",
                json!({"url": "postgres://app:s3cret@db:5432/app", "pool": 4}),
            );
            scope.set_extra("customer_iban", "DE89370400440532013000");
            scope.set_tag("api_token", "tok_live_123");
            scope.set_user(Some(User {
                id: Some("42".into()),
                email: Some("ada@example.com".into()),
                username: Some("ada".into()),
                ..Default::default()
            }));
        });
        sentry_core::add_breadcrumb(
            Breadcrumb::new("POST https://u:p@api.example.com/login")
                .data("Authorization", "Bearer abc.def.ghi")
                .data("headers", json!({"Cookie": "sid=1", "Accept": "*/*"})),
        );
        sentry_core::capture_message(
            "request failed: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig to \
             https://deploy:pa55word@ci.example.com/hook with SENTRY_AUTH_TOKEN=sntrys_abc, \
             card 4111 1111 1111 1111",
            Level::Error,
        );
    });
    let events = run.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(
        event["message"],
        "request failed: Authorization: Bearer [Filtered] to \
         https://[Filtered]@ci.example.com/hook with SENTRY_AUTH_TOKEN=[Filtered], \
         card [Filtered]"
    );
    assert_eq!(event["extra"]["password"], "[Filtered]");
    assert_eq!(
        event["extra"]["db"]["url"],
        "postgres://[Filtered]@db:5432/app"
    );
    assert_eq!(event["extra"]["db"]["pool"], 4);
    assert_eq!(event["extra"]["customer_iban"], "[Filtered]");
    assert_eq!(event["tags"]["api_token"], "[Filtered]");
    let crumb = &event["breadcrumbs"]["values"][0];
    assert_eq!(
        crumb["message"],
        "POST https://[Filtered]@api.example.com/login"
    );
    assert_eq!(crumb["data"]["Authorization"], "[Filtered]");
    assert_eq!(crumb["data"]["headers"]["Cookie"], "[Filtered]");
    assert_eq!(crumb["data"]["headers"]["Accept"], "*/*");
    // What the application set itself is sent as set; the SDK adds no IP address.
    assert_eq!(
        event["user"],
        json!({"id": "42", "email": "ada@example.com", "username": "ada"})
    );
    let text = event.to_string();
    for secret in [
        "hunter2",
        "s3cret",
        "pa55word",
        "eyJhbGci",
        "sntrys_abc",
        "tok_live",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

/// A request as a web service would record it, with every kind of secret a request carries.
fn login_request() -> Request {
    Request::new(
        "POST",
        "https://api.example.com/login?token=tk_abc123&next=/home",
    )
    .header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
    .header("Cookie", "sessionid=s3ss; theme=dark")
    .header("X-Forwarded-For", "203.0.113.7")
    .header("User-Agent", "curl/8.5.0")
    .cookies("sessionid=s3ss; theme=dark")
    .data(json!({"user": "ada", "password": "hunter2", "profile": {"api_key": "ak_9"}}))
    .env("REMOTE_ADDR", "203.0.113.7")
    .env("SERVER_NAME", "web-1")
}

#[test]
fn the_request_arrives_scrubbed_and_without_personal_data() {
    let run = run(ClientOptions::new(), || {
        sentry_core::configure_scope(|scope| scope.set_request(Some(login_request())));
        sentry_core::capture_message("login failed", Level::Error);
    });
    let events = run.events();
    assert_eq!(events.len(), 1);
    let request = &events[0]["request"];
    assert_eq!(request["url"], "https://api.example.com/login");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["query_string"], "token=[Filtered]&next=/home");
    assert_eq!(request["headers"]["Authorization"], "[Filtered]");
    assert_eq!(request["headers"]["Cookie"], "[Filtered]");
    assert_eq!(request["headers"]["X-Forwarded-For"], "[Filtered]");
    assert_eq!(request["headers"]["User-Agent"], "curl/8.5.0");
    assert_eq!(request["cookies"], "sessionid=[Filtered]; theme=[Filtered]");
    assert_eq!(request["data"]["user"], "ada");
    assert_eq!(request["data"]["password"], "[Filtered]");
    assert_eq!(request["data"]["profile"]["api_key"], "[Filtered]");
    assert_eq!(request["env"], json!({"SERVER_NAME": "web-1"}));
    let text = events[0].to_string();
    for secret in [
        "tk_abc123",
        "eyJhbGci",
        "s3ss",
        "hunter2",
        "ak_9",
        "203.0.113.7",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn send_default_pii_keeps_cookies_and_the_address_but_not_secrets() {
    let run = run(ClientOptions::new().send_default_pii(true), || {
        sentry_core::configure_scope(|scope| scope.set_request(Some(login_request())));
        sentry_core::capture_message("login failed", Level::Error);
    });
    let request = &run.events()[0]["request"];
    assert_eq!(request["cookies"], "sessionid=[Filtered]; theme=dark");
    assert_eq!(request["env"]["REMOTE_ADDR"], "203.0.113.7");
    assert_eq!(request["headers"]["X-Forwarded-For"], "203.0.113.7");
    // A cookie header is a sensitive key whatever send_default_pii says.
    assert_eq!(request["headers"]["Cookie"], "[Filtered]");
    assert_eq!(request["headers"]["Authorization"], "[Filtered]");
    assert_eq!(request["query_string"], "token=[Filtered]&next=/home");

    // Without scrubbing, personal data still stays home unless send_default_pii allows it.
    let run = self::run(ClientOptions::new().scrub_data(false), || {
        sentry_core::configure_scope(|scope| scope.set_request(Some(login_request())));
        sentry_core::capture_message("login failed", Level::Error);
    });
    let request = &run.events()[0]["request"];
    assert_eq!(request["cookies"], "sessionid=[Filtered]; theme=[Filtered]");
    assert_eq!(request["headers"]["Cookie"], "[Filtered]");
    assert!(request["env"].get("REMOTE_ADDR").is_none());
    assert_eq!(request["query_string"], "token=tk_abc123&next=/home");
}

#[test]
fn scrubbing_can_be_turned_off() {
    let run = run(ClientOptions::new().scrub_data(false), || {
        sentry_core::configure_scope(|scope| scope.set_extra("password", "hunter2"));
        sentry_core::capture_message("Bearer abcdefgh12345678", Level::Error);
    });
    let events = run.events();
    assert_eq!(events[0]["extra"]["password"], "hunter2");
    assert_eq!(events[0]["message"], "Bearer abcdefgh12345678");
}

#[test]
fn oversized_texts_are_trimmed_and_a_huge_event_is_shrunk() {
    let run = run(ClientOptions::new().max_breadcrumbs(200), || {
        for n in 0..200 {
            sentry_core::add_breadcrumb(Breadcrumb::new(format!("{n} {}", "b".repeat(8000))));
        }
        sentry_core::configure_scope(|scope| scope.set_extra("blob", "x".repeat(400_000)));
        sentry_core::capture_message(&"m".repeat(20_000), Level::Error);
    });
    let envelope = run
        .envelopes
        .iter()
        .find(|e| e.event_json().is_ok())
        .unwrap();
    let item = &envelope.items()[0];
    assert!(
        item.payload().len() <= 1024 * 1024,
        "{}",
        item.payload().len()
    );
    let event = envelope.event_json().unwrap();
    let message = event["message"].as_str().unwrap();
    assert_eq!(message.len(), 8192);
    assert!(message.ends_with("..."));
    assert_eq!(event["extra"]["blob"].as_str().unwrap().len(), 400_000);
    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert!(!crumbs.is_empty() && crumbs.len() < 200, "{}", crumbs.len());
    assert!(
        crumbs.last().unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("199 ")
    );
}

#[test]
fn a_panicking_before_breadcrumb_keeps_the_breadcrumb() {
    let options = ClientOptions::new().before_breadcrumb(|crumb| {
        if crumb.message.as_deref() == Some("trap") {
            panic!("callback bug");
        }
        Some(crumb)
    });
    let run = run(options, || {
        sentry_core::add_breadcrumb(Breadcrumb::new("trap"));
        sentry_core::capture_message("after the trap", Level::Error);
    });
    let events = run.events();
    // The callback's panic is the SDK's to handle: no panic event of its own.
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["message"], "after the trap");
    assert_eq!(events[0]["breadcrumbs"]["values"][0]["message"], "trap");
}

#[test]
fn every_drop_reason_reaches_a_client_report() {
    let options = ClientOptions::new()
        .sample_rate(0.0)
        .ignore_errors(["never reached"]);
    let run = run(options, || {
        for _ in 0..5 {
            sentry_core::capture_message("sampled out", Level::Error);
        }
    });
    assert!(run.events().is_empty());
    assert_eq!(run.reported(), [("sample_rate".to_owned(), 5)]);

    let options = ClientOptions::new()
        .before_send(|event| (event.message.as_deref() != Some("vetoed")).then_some(event));
    let run = self::run(options, || {
        sentry_core::capture_message("vetoed", Level::Error);
        sentry_core::capture_message("kept", Level::Error);
    });
    assert_eq!(run.events().len(), 1);
    assert_eq!(run.reported(), [("before_send".to_owned(), 1)]);

    let run = self::run(ClientOptions::new().send_client_reports(false), || {
        sentry_core::capture_message("twice", Level::Error);
        sentry_core::capture_message("twice", Level::Error);
    });
    assert_eq!(run.dropped(DropReason::EventProcessor), 1);
    assert!(run.reported().is_empty());
}

#[test]
fn a_flush_keeps_the_order_of_capture() {
    // The first event is held for its repeat window; a flush starting before the second is
    // prepared must not let the second overtake it.
    for _ in 0..20 {
        let run = run(ClientOptions::new(), || {
            sentry_core::capture_message("first", Level::Warning);
            sentry_core::capture_message("second", Level::Error);
        });
        let messages: Vec<_> = run
            .events()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
