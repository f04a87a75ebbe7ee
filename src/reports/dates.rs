//! Time in reports: aggregate report periods are seconds since the epoch
//! (RFC 7489 Appendix C `DateRangeType`), TLS report periods RFC 3339
//! date-times (RFC 8460 §4.4 `date-range`). Both become seconds, and a
//! period becomes the UTC day it is counted on.
//!
//! A report's messages carry no time of their own, only the report's
//! period, so a period is counted on the day of its middle: a daily report
//! from 22:00 to 21:59 the next day counts on that next day, where most of
//! it lies.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A UTC calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// The day a moment falls on.
    pub fn of(seconds: i64) -> Option<Day> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .map(|t| Day(t.date()))
    }

    /// The day a period is counted on: the day of its [middle].
    pub fn of_period(begin: i64, end: i64) -> Option<Day> {
        Day::of(middle(begin, end))
    }

    /// Seconds since the epoch at the start of the day.
    pub fn start(self) -> i64 {
        self.0.midnight().assume_utc().unix_timestamp()
    }
}

/// The middle of a period, each end halved first so no sum overflows
/// (within a second of the exact middle); the store selects a period's
/// reports by the same sum, so a report is in the period whose days it is
/// counted on.
pub fn middle(begin: i64, end: i64) -> i64 {
    begin / 2 + end / 2
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Seconds since the epoch as an RFC 3339 UTC date-time, or the number
/// itself for a moment no calendar date can be given for.
pub fn moment(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{seconds} (seconds since the epoch)"))
}

/// Seconds since the epoch of an RFC 3339 date-time (§5.6), read the way
/// TLS reporters write it: `T`, `t` or a space between date and time,
/// optional fractional seconds (dropped), `Z`, `z` or `±HH:MM`; with no
/// offset at all UTC is assumed, and a bare date means its midnight.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = parse_date(text.get(..10)?)?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(date.midnight().assume_utc().unix_timestamp());
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let number = |s: &str| -> Option<u8> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (hour, minute) = (number(rest.get(0..2)?)?, number(rest.get(3..5)?)?);
    // A leap second is counted as the last second of its minute.
    let second = number(rest.get(6..8)?)?.min(59);
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(fraction) = zone.strip_prefix('.') {
        zone = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match zone {
        "" | "Z" | "z" => UtcOffset::UTC,
        _ => {
            let sign: i8 = match zone.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if zone.len() != 6 || zone.get(3..4)? != ":" {
                return None;
            }
            let hours = i8::try_from(number(zone.get(1..3)?)?).ok()?;
            let minutes = i8::try_from(number(zone.get(4..6)?)?).ok()?;
            UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
        }
    };
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .unix_timestamp(),
    )
}

fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let year = i32::try_from(digits(&text[0..4])?).ok()?;
    let month = Month::try_from(u8::try_from(digits(&text[5..7])?).ok()?).ok()?;
    let day = u8::try_from(digits(&text[8..10])?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_as_tls_reporters_write_it() {
        assert_eq!(parse_rfc3339("2016-04-01T00:00:00Z"), Some(1_459_468_800));
        assert_eq!(parse_rfc3339("2016-04-01t00:00:00z"), Some(1_459_468_800));
        assert_eq!(
            parse_rfc3339("2016-04-01T23:59:59.999Z"),
            Some(1_459_555_199)
        );
        assert_eq!(
            parse_rfc3339("2016-04-01T02:00:00+02:00"),
            Some(1_459_468_800)
        );
        assert_eq!(
            parse_rfc3339("2016-03-31T22:00:00-02:00"),
            Some(1_459_468_800)
        );
        assert_eq!(parse_rfc3339("2016-04-01 00:00:00"), Some(1_459_468_800));
        assert_eq!(parse_rfc3339("2016-04-01"), Some(1_459_468_800));
        assert_eq!(parse_rfc3339("2016-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2016-04-01T00:00:00+0200"), None);
        assert_eq!(parse_rfc3339("2016-04-01T00:00"), None);
    }

    #[test]
    fn a_period_counts_on_the_day_of_its_middle() {
        // 2016-04-01 22:00 to 2016-04-02 21:59:59 UTC.
        let day = Day::of_period(1_459_548_000, 1_459_634_399).expect("in range");
        assert_eq!(day.to_string(), "2016-04-02");
        assert_eq!(Day::of(1_459_468_800).map(Day::start), Some(1_459_468_800));
    }

    #[test]
    fn moments_are_written_as_dates_where_there_is_one() {
        assert_eq!(moment(1_459_468_800), "2016-04-01T00:00:00Z");
        assert_eq!(moment(-86_400), "1969-12-31T00:00:00Z");
        assert_eq!(
            moment(3_155_760_000_000),
            "3155760000000 (seconds since the epoch)"
        );
        assert_eq!(
            moment(i64::MIN),
            "-9223372036854775808 (seconds since the epoch)"
        );
    }
}
