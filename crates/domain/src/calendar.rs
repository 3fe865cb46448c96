//! Dates as the API and the exports write them: `YYYY-MM-DD` and nothing
//! else (ISO 8601 also has week dates such as `1980-W01-1` and ordinal dates
//! such as `1980-001`, into which a typo turns silently); as desk staff type
//! them, `DD-MM-YYYY` too; and the earliest birth date taken.

use time::{
    Date, Month,
    macros::{date, format_description},
};

/// The earliest birth date taken: an earlier one is a typo (`0001-01-01`,
/// `1090-05-17`), not a member.
pub const EARLIEST_BIRTH_DATE: Date = date!(1900 - 01 - 01);

/// `YYYY-MM-DD`, surrounding spaces ignored, and a day the calendar has.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if !digits_and_dashes_at(text, [4, 7]) {
        return None;
    }
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// A date as desk staff type it: `DD-MM-YYYY`, as the desk's screens show
/// dates (a day or month of one digit too: `1-2-1980`), or `YYYY-MM-DD`;
/// where the four-digit year stands tells which.
pub fn parse_typed_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let digits = |part: &str, most: usize| {
        (1..=most).contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    match text.split('-').collect::<Vec<_>>()[..] {
        [day, month, year] if digits(day, 2) && digits(month, 2) && year.len() == 4 && digits(year, 4) => {
            let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
            Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
        }
        _ => parse_date(text),
    }
}

/// Ten ASCII characters: dashes at `dashes`, digits elsewhere.
fn digits_and_dashes_at(text: &str, dashes: [usize; 2]) -> bool {
    text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| {
            if dashes.contains(&index) {
                byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_year_month_day_and_real_days() {
        assert_eq!(parse_date(" 1980-02-29 "), Some(date!(1980 - 02 - 29)));
        for refused in [
            "1981-02-29",
            "1980-W01-1",
            "1980-001",
            "19800229",
            "1980-2-29",
            "+1980-02-29",
            "80-02-29",
            "1980-02-29T00:00",
            "",
        ] {
            assert_eq!(parse_date(refused), None, "{refused}");
        }
    }

    #[test]
    fn typed_dates_day_first_or_year_first() {
        assert_eq!(parse_typed_date(" 03-03-2015 "), Some(date!(2015 - 03 - 03)));
        assert_eq!(parse_typed_date("2015-03-03"), Some(date!(2015 - 03 - 03)));
        assert_eq!(parse_typed_date("29-02-1980"), Some(date!(1980 - 02 - 29)));
        assert_eq!(parse_typed_date("1-2-1980"), Some(date!(1980 - 02 - 01)));
        assert_eq!(parse_typed_date("3-03-2015"), Some(date!(2015 - 03 - 03)));
        for refused in [
            "29-02-1981",
            "003-3-2015",
            "3-3-02015",
            "+3-3-2015",
            "3--2015",
            "0-3-2015",
            "03/03/2015",
            "03-03-15",
            "13-13-2015",
            "1980-W01-1",
            "",
        ] {
            assert_eq!(parse_typed_date(refused), None, "{refused}");
        }
    }
}
