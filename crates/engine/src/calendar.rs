//! Dates for deliverable names (`{date}`): always UTC, so a name does not depend on the zone
//! of the machine that rendered it. Calendar arithmetic is jiff's (the app shows local time
//! through the same crate).

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// `YYYY-MM-DD` (UTC) of unix milliseconds; `None` outside jiff's range (±9999 years).
pub fn utc_date(ms: i64) -> Option<String> {
    let t = Timestamp::from_millisecond(ms).ok()?;
    Some(t.to_zoned(TimeZone::UTC).strftime("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DD HH:MM UTC` of unix milliseconds (command-line listings, which have no
/// user zone to show); the milliseconds themselves when out of range.
pub fn utc_minute(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(TimeZone::UTC)
            .strftime("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    Timestamp::now().strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0).as_deref(), Some("1970-01-01"));
        assert_eq!(utc_date(951_782_400_000).as_deref(), Some("2000-02-29"));
        assert_eq!(utc_date(1_709_164_800_000).as_deref(), Some("2024-02-29"));
        // Late evening UTC is still that day, whatever the machine's zone.
        assert_eq!(utc_date(1_700_000_000_000).as_deref(), Some("2023-11-14"));
        assert_eq!(utc_date(i64::MAX), None);
        assert_eq!(today_utc().len(), "2026-01-01".len());
        assert_eq!(utc_minute(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }
}
