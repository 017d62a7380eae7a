//! Any `X-Sentry-Rate-Limits` and `Retry-After` values: reading them never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, u16)| {
    let (rate_limits, retry_after, status) = input;
    sentry_core::__fuzz::rate_limit_headers(Some(status), Some(rate_limits), Some(retry_after));
    sentry_core::__fuzz::rate_limit_headers(Some(429), None, Some(retry_after));
});
