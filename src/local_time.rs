//! Time stamps as the user reads them: local time in the system's zone (or `TZ`), the zone and
//! the UTC time on hover. Stored data and deliverable names stay UTC; only display converts.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::sync::RwLock;

/// The zone every time stamp is shown in; read from the system on first use.
static ZONE: RwLock<Option<TimeZone>> = RwLock::new(None);

/// The zone time stamps are shown in.
pub fn zone() -> TimeZone {
    if let Some(tz) = ZONE.read().ok().and_then(|z| z.clone()) {
        return tz;
    }
    // jiff reads TZ, then /etc/localtime and the system tz database; UTC when none says.
    let tz = TimeZone::system();
    if let Ok(mut z) = ZONE.write() {
        *z = Some(tz.clone());
    }
    tz
}

/// Shows every later time stamp in `tz` (a user's choice; tests pin a zone).
pub fn set_zone(tz: TimeZone) {
    if let Ok(mut z) = ZONE.write() {
        *z = Some(tz);
    }
}

/// `YYYY-MM-DD HH:MM` of unix milliseconds in `tz`.
pub fn minute_in(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        // Out of jiff's range (±9999 years): the raw value says more than a made-up date.
        Err(_) => format!("{ms} ms"),
    }
}

/// What the hover says: the zone (its name where known, offset and abbreviation) and the
/// same instant in UTC, as stored.
pub fn zone_note_in(ms: i64, tz: &TimeZone) -> String {
    let Ok(t) = Timestamp::from_millisecond(ms) else {
        return format!("{ms} ms since 1970-01-01 UTC");
    };
    let local = t.to_zoned(tz.clone());
    let offset = local.strftime("UTC%:z").to_string();
    let abbreviation = local.strftime("%Z").to_string();
    let name = tz.iana_name().unwrap_or("local time");
    let utc = t.to_zoned(TimeZone::UTC).strftime("%Y-%m-%d %H:%M:%S UTC");
    format!("{name} ({offset}, {abbreviation}) · {utc}")
}

/// [`minute_in`] in the user's zone.
pub fn minute(ms: i64) -> String {
    minute_in(ms, &zone())
}

/// [`zone_note_in`] in the user's zone.
pub fn zone_note(ms: i64) -> String {
    zone_note_in(ms, &zone())
}

/// A time stamp label in local time, the zone and UTC on hover.
pub fn time_label(ui: &mut egui::Ui, ms: i64) -> egui::Response {
    let tz = zone();
    ui.label(minute_in(ms, &tz))
        .on_hover_text(zone_note_in(ms, &tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        // A POSIX rule rather than the tz database: the test does not depend on tzdata.
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("valid rule")
    }

    #[test]
    fn local_minutes_follow_the_zone_and_its_daylight_saving() {
        // 2023-11-14 22:13 UTC: winter, UTC+1.
        assert_eq!(minute_in(1_700_000_000_000, &berlin()), "2023-11-14 23:13");
        // 2024-07-01 12:00 UTC: summer, UTC+2.
        assert_eq!(minute_in(1_719_835_200_000, &berlin()), "2024-07-01 14:00");
        assert_eq!(minute_in(0, &TimeZone::UTC), "1970-01-01 00:00");
        assert_eq!(
            minute_in(951_782_400_000, &TimeZone::UTC),
            "2000-02-29 00:00"
        );
    }

    #[test]
    fn the_note_names_the_zone_and_the_stored_utc_instant() {
        let note = zone_note_in(1_719_835_200_000, &berlin());
        assert!(note.contains("UTC+02:00"), "{note}");
        assert!(note.contains("CEST"), "{note}");
        assert!(note.contains("2024-07-01 12:00:00 UTC"), "{note}");
        assert_eq!(
            zone_note_in(0, &TimeZone::UTC),
            "UTC (UTC+00:00, UTC) · 1970-01-01 00:00:00 UTC"
        );
    }

    #[test]
    fn out_of_range_values_are_shown_raw() {
        assert_eq!(
            minute_in(i64::MAX, &TimeZone::UTC),
            format!("{} ms", i64::MAX)
        );
    }
}
