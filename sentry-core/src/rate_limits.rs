//! The server's rate limits: what it asked the SDK not to send, and until when.
//!
//! A Sentry server says it in three ways, all honoured here:
//! - `X-Sentry-Rate-Limits` on any response: `seconds:categories:scope[:reason]` quotas,
//!   comma-separated; categories separated by `;`, an empty list meaning every category;
//!   unknown categories are ignored and, when quotas overlap, the longest one wins;
//! - `Retry-After` on a 429, in seconds or as an HTTP date;
//! - a bare 429, which means one minute for everything.
//!
//! While a category is limited nothing of it is sent: items of that category are dropped
//! and counted (`ratelimit_backoff`), so the server is not hammered and the count reaches
//! the user in a client report once the limit ends.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The data categories the SDK sends, as the server names them.
pub(crate) const KNOWN_CATEGORIES: [&str; 6] = [
    "default",
    "error",
    "transaction",
    "session",
    "attachment",
    "internal",
];

/// How long a bare 429 blocks everything.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Longest limit accepted, so a broken header cannot silence the SDK for ever.
const MAX_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// The data category of an envelope item type.
pub(crate) fn category_of(item_type: &str) -> &'static str {
    match item_type {
        "event" => "error",
        "transaction" => "transaction",
        "session" | "sessions" => "session",
        "attachment" => "attachment",
        "client_report" => "internal",
        _ => "default",
    }
}

/// The limits in force, by category.
#[derive(Debug, Default)]
pub(crate) struct RateLimits {
    /// Deadline for every category (an empty category list).
    all: Option<Instant>,
    by_category: HashMap<&'static str, Instant>,
}

impl RateLimits {
    /// Learns the limits from one response's status and headers.
    pub(crate) fn update(
        &mut self,
        status: Option<u16>,
        rate_limits: Option<&str>,
        retry_after: Option<&str>,
    ) {
        let now = Instant::now();
        if let Some(header) = rate_limits {
            for (delay, categories) in parse_rate_limits(header) {
                self.extend(now + delay, &categories);
            }
        } else if status == Some(429) {
            let delay = retry_after
                .and_then(|value| parse_retry_after(value, SystemTime::now()))
                .unwrap_or(DEFAULT_RETRY_AFTER);
            self.extend(now + delay, &[]);
        }
    }

    fn extend(&mut self, until: Instant, categories: &[&'static str]) {
        if categories.is_empty() {
            self.all = Some(self.all.map_or(until, |current| current.max(until)));
            return;
        }
        for category in categories {
            let entry = self.by_category.entry(category).or_insert(until);
            *entry = (*entry).max(until);
        }
    }

    /// How much longer `category` is limited, if it is.
    pub(crate) fn limited_for(&self, category: &str) -> Option<Duration> {
        let now = Instant::now();
        let until = [self.all, self.by_category.get(category).copied()]
            .into_iter()
            .flatten()
            .max()?;
        until.checked_duration_since(now).filter(|d| !d.is_zero())
    }
}

/// Parses `X-Sentry-Rate-Limits` into (delay, known categories) pairs. Quotas that cannot be
/// read, or that name only categories this SDK does not know, are skipped; an empty list
/// stays empty and means every category.
pub(crate) fn parse_rate_limits(header: &str) -> Vec<(Duration, Vec<&'static str>)> {
    let mut limits = Vec::new();
    for quota in header.split(',') {
        let mut parts = quota.trim().split(':');
        let Some(seconds) = parts.next().and_then(parse_seconds) else {
            continue;
        };
        let categories_text = parts.next().unwrap_or("").trim();
        let mut categories = Vec::new();
        let mut named_any = false;
        for name in categories_text
            .split(';')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            named_any = true;
            if let Some(known) = KNOWN_CATEGORIES.iter().find(|k| **k == name) {
                categories.push(*known);
            }
        }
        if named_any && categories.is_empty() {
            continue; // only categories we never send: nothing to hold back
        }
        limits.push((seconds, categories));
    }
    limits
}

/// Parses a delay in (possibly fractional) seconds, capped at one day.
fn parse_seconds(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        seconds.min(MAX_LIMIT.as_secs_f64()),
    ))
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`) taken relative to `now`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Some(delay) = parse_seconds(value) {
        return Some(delay);
    }
    let at = parse_http_date(value.trim())?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_LIMIT),
    )
}

/// Parses an IMF-fixdate. Other historic formats are not worth the code: servers send this.
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let (_, rest) = text.split_once(", ")?;
    let mut fields = rest.split(' ');
    let day: u64 = fields.next()?.parse().ok()?;
    let month = match fields.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = fields.next()?.parse().ok()?;
    let mut clock = fields.next()?.split(':').map(|n| n.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if fields.next()? != "GMT"
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's algorithm), for years ≥ 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
