//! Self-tests of the end-to-end harness: the server stores what it is sent, per project, and the Relay check tells
//! valid events from invalid ones. These use hand-made envelopes only, so they pass whatever state the SDK is in.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime};

use e2e::{
    Bugsink, assert_relay_valid, event_envelope, new_event_id, relay_check_all, relay_errors,
    send_envelope,
};
use serde_json::{Value, json};

fn sample_event() -> Value {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();
    json!({
        "event_id": new_event_id(),
        "timestamp": now,
        "platform": "native",
        "level": "error",
        "release": "e2e-harness@1.0.0",
        "sdk": {"name": "e2e.harness", "version": env!("CARGO_PKG_VERSION")},
        "contexts": {"os": {"type": "os", "name": "Linux"}},
        "exception": {"values": [{
            "type": "Panic",
            "value": "boom",
            "mechanism": {"type": "panic", "handled": false},
            "stacktrace": {"frames": [
                {"function": "main", "instruction_addr": "0x5555deadbeef"},
                {"function": "crash", "instruction_addr": "0x5555deadc0de", "in_app": true}
            ]}
        }]}
    })
}

#[test]
fn event_is_stored_exactly_as_sent_and_only_in_its_project() {
    let server = Bugsink::shared();
    let target = server.new_project("harness-target");
    let other = server.new_project("harness-other");
    assert_ne!(target.dsn(), other.dsn());

    let event = sample_event();
    let envelope = event_envelope(&event);
    let response = send_envelope(&target, &envelope);
    assert_eq!(response.status, 200, "ingest answered {response:?}");

    // Snappea runs eagerly, so the 200 above already means stored: no waiting needed.
    assert_eq!(target.events(), vec![event.clone()]);
    assert_eq!(
        target.wait_for_events(1, Duration::from_secs(5)),
        vec![event]
    );
    assert_eq!(target.envelopes(), vec![envelope]);
    assert!(
        other.events().is_empty(),
        "the other project got {:?}",
        other.events()
    );
    assert!(other.envelopes().is_empty());
}

#[test]
fn server_rejects_wrong_key_and_missing_event_id() {
    let project = Bugsink::shared().new_project("harness-rejects");
    let event = sample_event();

    let mut no_id = event.clone();
    no_id.as_object_mut().expect("object").remove("event_id");
    let payload = serde_json::to_vec(&no_id).expect("serializes");
    let mut envelope = b"{}\n".to_vec();
    envelope.extend(format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes());
    envelope.extend(&payload);
    assert_eq!(send_envelope(&project, &envelope).status, 400);

    // A second project's key does not open this project's endpoint.
    let stranger = Bugsink::shared().new_project("harness-rejects");
    assert_ne!(
        stranger.name(),
        project.name(),
        "duplicate names get a suffix"
    );
    let status = send_to_other_project(&stranger, project.id(), &event_envelope(&event));
    assert_eq!(status, 403);
    assert!(project.events().is_empty());
    assert!(stranger.events().is_empty());
}

/// Posts with `key_owner`'s key to project `project_id`'s endpoint.
fn send_to_other_project(key_owner: &e2e::Project, project_id: u64, envelope: &[u8]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "{}/api/{project_id}/envelope/",
        key_owner.server().base_url()
    );
    let auth = format!(
        "Sentry sentry_version=7, sentry_key={}",
        key_owner.public_key()
    );
    agent
        .post(&url)
        .header("X-Sentry-Auth", &auth)
        .send(envelope)
        .expect("an HTTP response")
        .status()
        .as_u16()
}

#[test]
fn relay_accepts_a_good_event() {
    let event = sample_event();
    assert_eq!(relay_errors(&event), Vec::<String>::new());
    assert_relay_valid(&event);
}

#[test]
fn relay_rejects_an_invalid_level() {
    let mut event = sample_event();
    event["level"] = json!("catastrophic");
    let errors = relay_errors(&event);
    assert!(
        errors.iter().any(|e| e.contains("level")),
        "expected a complaint about the level, got {errors:?}"
    );
    let panic = catch_unwind(AssertUnwindSafe(|| assert_relay_valid(&event)))
        .expect_err("assert_relay_valid must fail for an invalid level");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("invalid level"),
        "panic message: {message}"
    );
}

#[test]
fn relay_checks_a_batch_in_one_call() {
    let good = sample_event();
    let mut bad = sample_event();
    bad["contexts"]["os"]["name"] = json!(5);
    let reports = relay_check_all(&[good.clone(), bad]);
    assert_eq!(reports.len(), 2);
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert_eq!(reports[0].normalized["event_id"], good["event_id"]);
    assert_eq!(
        reports[0].normalized["type"], "error",
        "Relay fills in defaults"
    );
    assert!(
        reports[1]
            .errors
            .iter()
            .any(|e| e.contains("contexts.os.name")),
        "{:?}",
        reports[1].errors
    );
}

#[test]
fn event_ids_are_uuid_v4_shaped() {
    let id = new_event_id();
    assert_eq!(id.len(), 32);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(&id[12..13], "4");
    assert!("89ab".contains(&id[16..17]));
    assert_ne!(id, new_event_id());
}
