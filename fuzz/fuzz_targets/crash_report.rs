//! Any bytes read as a crash report: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(report) = sentry_native_crash::parse_report(bytes) {
        let _ = report.description();
    }
});
