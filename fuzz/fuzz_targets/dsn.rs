//! Any text given as a DSN: parsing never panics, and what parses displays back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentry_core::dsn::Dsn;

fuzz_target!(|text: &str| {
    if let Ok(dsn) = text.parse::<Dsn>() {
        let again: Dsn = dsn.to_string().parse().expect("a displayed DSN parses");
        assert_eq!(again, dsn);
        let _ = dsn.envelope_url();
        let _ = dsn.auth_header("fuzz/1");
    }
});
