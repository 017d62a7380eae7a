//! Any bytes read back as an envelope (an outbox file): parsing never panics, and what
//! parses serializes to bytes that parse to the same envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentry_core::envelope::Envelope;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(envelope) = Envelope::parse(bytes) {
        let again = Envelope::parse(&envelope.to_bytes()).expect("a written envelope parses");
        assert_eq!(again, envelope);
        let _ = envelope.event();
    }
});
