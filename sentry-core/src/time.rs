//! RFC 3339 timestamps in UTC, written without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC. Times before 1970 (a clock set
/// very wrong) are written as the epoch: a server only uses `sent_at` to correct clock
/// drift, and a negative date would help no one.
pub(crate) fn format_utc_millis(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let millis = since_epoch.subsec_millis();
    let days = seconds / 86_400;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01.
///
/// Counts in 400-year eras, which all have the same length (146 097 days), starting each
/// year in March so the leap day falls at the end of the year and needs no special case.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the origin from 1970-01-01 to 0000-03-01, the start of an era.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    // Leap years every 4 years, except every 100, except every 400 (the last day of the era).
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 29/28, in a
    // 153-day five-month cycle.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis)
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_utc_millis(at(951_782_400, 1)),
            "2000-02-29T00:00:00.001Z"
        );
        assert_eq!(
            format_utc_millis(at(1_795_272_534, 123)),
            "2026-11-21T14:48:54.123Z"
        );
        assert_eq!(
            format_utc_millis(at(4_107_542_399, 999)),
            "2100-02-28T23:59:59.999Z"
        );
        assert_eq!(
            format_utc_millis(at(4_107_542_400, 0)),
            "2100-03-01T00:00:00.000Z"
        );
    }

    #[test]
    fn times_before_the_epoch_are_clamped() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(format_utc_millis(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn civil_dates_advance_one_day_at_a_time() {
        // Walks 1970..2500 day by day against a plain calendar count.
        let (mut year, mut month, mut day) = (1970, 1, 1);
        for days in 0..194_000 {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let month_length = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > month_length {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }
}
