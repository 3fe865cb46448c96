//! Subscription terms and the cost overview of the desk screen "Opbouw abonnementskosten".

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Date, Month};

/// A non-negative amount of euros up to a million, held in cents so sums
/// are exact (and every amount is a number JavaScript reads exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("amount of {cents} cents is negative")]
    Negative { cents: i64 },
    #[error("the amount is more than a million euros")]
    TooLarge,
    #[error("{typed:?} is not an amount in euros such as 52.50")]
    NotAnAmount { typed: String },
}

impl Money {
    pub const ZERO: Money = Money(0);
    /// A million euros: no fee or discount of a library comes near it, so
    /// an amount above is a typing mistake.
    pub const MAX_CENTS: i64 = 100_000_000;

    pub fn from_cents(cents: i64) -> Result<Money, MoneyError> {
        if cents < 0 {
            return Err(MoneyError::Negative { cents });
        }
        if cents > Self::MAX_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(cents))
    }

    /// Euros as typed at a desk or a command line: `52`, `52.5`, `52.50` or
    /// `52,50`, spaces around it left out.
    pub fn parse_euros(typed: &str) -> Result<Money, MoneyError> {
        let not_an_amount = || MoneyError::NotAnAmount {
            typed: typed.to_owned(),
        };
        let normalized = typed.trim().replace(',', ".");
        let (whole, fraction) = match normalized.split_once('.') {
            Some((whole, fraction)) if (1..=2).contains(&fraction.len()) => (whole, fraction),
            Some(_) => return Err(not_an_amount()),
            None => (normalized.as_str(), ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) {
            return Err(not_an_amount());
        }
        // Past a million euros by its length alone: refused as too large
        // before it could overflow.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 7 {
            return Err(MoneyError::TooLarge);
        }
        // All zeros, or none after them: no whole euros.
        let euros: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| not_an_amount())?
        };
        let cents: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
        Money::from_cents(euros * 100 + cents)
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// Dutch notation: `€ 1.234,50`.
    pub fn format_nl(self) -> String {
        format!("€ {}", self.amount('.', ','))
    }

    /// English notation: `€1,234.50`.
    pub fn format_en(self) -> String {
        format!("€{}", self.amount(',', '.'))
    }

    fn amount(self, thousands: char, decimal: char) -> String {
        let euros = (self.0 / 100).to_string();
        let mut grouped = String::with_capacity(euros.len() + euros.len() / 3);
        for (i, digit) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push(thousands);
            }
            grouped.push(digit);
        }
        format!("{grouped}{decimal}{:02}", self.0 % 100)
    }
}

impl TryFrom<i64> for Money {
    type Error = MoneyError;

    fn try_from(cents: i64) -> Result<Self, Self::Error> {
        Money::from_cents(cents)
    }
}

impl From<Money> for i64 {
    fn from(money: Money) -> i64 {
        money.0
    }
}

/// The ages, in completed years, a subscription is meant for; both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgeRange {
    min_years: u8,
    max_years: Option<u8>,
}

/// Why an age range was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AgeRangeError {
    #[error("minimum age {min_years} is above maximum age {max_years}")]
    MinAboveMax { min_years: u8, max_years: u8 },
    #[error("age {years} is past the oldest a member can be ({oldest})")]
    PastOldest { years: u8, oldest: u8 },
}

impl AgeRange {
    /// No member is older: the earliest birth date accepted is in 1900.
    pub const OLDEST_YEARS: u8 = 130;

    /// `max_years: None` means no upper limit.
    pub fn new(min_years: u8, max_years: Option<u8>) -> Result<AgeRange, AgeRangeError> {
        if let Some(years) = Some(min_years)
            .into_iter()
            .chain(max_years)
            .find(|&y| y > Self::OLDEST_YEARS)
        {
            return Err(AgeRangeError::PastOldest {
                years,
                oldest: Self::OLDEST_YEARS,
            });
        }
        match max_years {
            Some(max_years) if min_years > max_years => {
                Err(AgeRangeError::MinAboveMax { min_years, max_years })
            }
            _ => Ok(AgeRange { min_years, max_years }),
        }
    }

    pub fn min_years(self) -> u8 {
        self.min_years
    }

    pub fn max_years(self) -> Option<u8> {
        self.max_years
    }

    pub fn contains(self, age: u8) -> bool {
        age >= self.min_years && self.max_years.is_none_or(|max| age <= max)
    }
}

/// `4-17`, or `65+` without an upper limit.
impl fmt::Display for AgeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max_years {
            Some(max) => write!(f, "{}-{max}", self.min_years),
            None => write!(f, "{}+", self.min_years),
        }
    }
}

/// What a library's subscription type costs, how long it runs and for whom it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionTerms {
    yearly_fee: Money,
    validity_months: u8,
    age_range: AgeRange,
}

/// Why subscription terms were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubscriptionTermsError {
    #[error("validity of {months} months is outside 1 to 120 months")]
    ValidityOutOfRange { months: u8 },
}

impl SubscriptionTerms {
    pub const VALIDITY_MONTHS: std::ops::RangeInclusive<u8> = 1..=120;

    pub fn new(
        yearly_fee: Money,
        validity_months: u8,
        age_range: AgeRange,
    ) -> Result<SubscriptionTerms, SubscriptionTermsError> {
        if !Self::VALIDITY_MONTHS.contains(&validity_months) {
            return Err(SubscriptionTermsError::ValidityOutOfRange {
                months: validity_months,
            });
        }
        Ok(SubscriptionTerms {
            yearly_fee,
            validity_months,
            age_range,
        })
    }

    pub fn yearly_fee(self) -> Money {
        self.yearly_fee
    }

    pub fn validity_months(self) -> u8 {
        self.validity_months
    }

    pub fn age_range(self) -> AgeRange {
        self.age_range
    }
}

/// Written as the flat fields an operator typed: fee in cents, months, ages.
impl serde::Serialize for SubscriptionTerms {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut terms = serializer.serialize_struct("SubscriptionTerms", 4)?;
        terms.serialize_field("yearly_fee_cents", &self.yearly_fee.cents())?;
        terms.serialize_field("validity_months", &self.validity_months)?;
        terms.serialize_field("min_age", &self.age_range.min_years())?;
        terms.serialize_field("max_age", &self.age_range.max_years())?;
        terms.end()
    }
}

/// Age in completed years on `today`.
///
/// Someone born on 29 February turns a year older on 1 March in common years. Before the
/// birth date the age is 0; ages beyond 255 saturate.
pub fn age_on(birth: Date, today: Date) -> u8 {
    let had_birthday = (today.month(), today.day()) >= (birth.month(), birth.day());
    let years = today.year() - birth.year() - i32::from(!had_birthday);
    u8::try_from(years.max(0)).unwrap_or(u8::MAX)
}

/// Why the cost overview could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CostError {
    #[error("birth date {birth_date} is after today ({today})")]
    BirthDateInFuture { birth_date: Date, today: Date },
    #[error("age {age} is outside the subscription's age range {range}")]
    AgeOutOfRange { age: u8, range: AgeRange },
    #[error(
        "discount of {} cents exceeds the fee of {} cents",
        .discount.cents(),
        .fee.cents()
    )]
    DiscountExceedsFee { fee: Money, discount: Money },
    #[error("the subscription would end after the last supported date")]
    ValidityBeyondCalendar,
}

/// The figures of the desk screen "Opbouw abonnementskosten".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostOverview {
    subscription_fee: Money,
    discount: Money,
    balance: Money,
    age: u8,
    valid_until: Date,
}

impl CostOverview {
    /// Computes the overview for a member born on `birth_date` who subscribes `today`.
    ///
    /// The subscription's expiry month (vervalmaand) is today's month plus
    /// `validity_months`; it is valid until the last day of the month before, e.g.
    /// 2024-06-19 with 12 months expires in 2025-06 and is valid until 2025-05-31.
    pub fn compute(
        terms: &SubscriptionTerms,
        birth_date: Date,
        today: Date,
        discount: Money,
    ) -> Result<CostOverview, CostError> {
        if birth_date > today {
            return Err(CostError::BirthDateInFuture { birth_date, today });
        }
        let age = age_on(birth_date, today);
        if !terms.age_range.contains(age) {
            return Err(CostError::AgeOutOfRange {
                age,
                range: terms.age_range,
            });
        }
        let fee = terms.yearly_fee;
        if discount > fee {
            return Err(CostError::DiscountExceedsFee { fee, discount });
        }
        let valid_until =
            end_of_month_after(today, terms.validity_months - 1).ok_or(CostError::ValidityBeyondCalendar)?;
        Ok(CostOverview {
            subscription_fee: fee,
            discount,
            balance: Money(fee.0 - discount.0),
            age,
            valid_until,
        })
    }

    pub fn subscription_fee(&self) -> Money {
        self.subscription_fee
    }

    pub fn discount(&self) -> Money {
        self.discount
    }

    /// Fee minus discount; never negative because a larger discount is refused.
    pub fn balance(&self) -> Money {
        self.balance
    }

    /// Age in completed years on the day of computing.
    pub fn age(&self) -> u8 {
        self.age
    }

    /// Last day the subscription is valid ("geldig t/m").
    pub fn valid_until(&self) -> Date {
        self.valid_until
    }

    /// Last day the member may borrow ("rechten t/m"). The desk guide shows it separately
    /// but, for every subscription it describes, it equals [`Self::valid_until`].
    pub fn rights_until(&self) -> Date {
        self.valid_until
    }
}

/// The last day of the month `months` after `date`'s month; `None` beyond year 9999.
fn end_of_month_after(date: Date, months: u8) -> Option<Date> {
    // Counting months from year 0 turns calendar arithmetic into integer arithmetic.
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + i32::from(months);
    let year = index.div_euclid(12);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    Date::from_calendar_date(year, month, month.length(year)).ok()
}

const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// Dutch month and year, as the desk guide writes "Geldig t/m mei 2025".
pub fn format_month_nl(date: Date) -> String {
    format!(
        "{} {}",
        MONTHS_NL[usize::from(u8::from(date.month())) - 1],
        date.year()
    )
}

/// English month and year: "May 2025".
pub fn format_month_en(date: Date) -> String {
    // `Month`'s Display gives the English name.
    format!("{} {}", date.month(), date.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn money(cents: i64) -> Money {
        Money::from_cents(cents).unwrap()
    }

    fn terms(fee: i64, months: u8, min: u8, max: Option<u8>) -> SubscriptionTerms {
        SubscriptionTerms::new(money(fee), months, AgeRange::new(min, max).unwrap()).unwrap()
    }

    #[test]
    fn money_formats() {
        let cases = [
            (0, "€ 0,00", "€0.00"),
            (5, "€ 0,05", "€0.05"),
            (1250, "€ 12,50", "€12.50"),
            (99_999, "€ 999,99", "€999.99"),
            (123_456, "€ 1.234,56", "€1,234.56"),
            (100_000_000, "€ 1.000.000,00", "€1,000,000.00"),
        ];
        for (cents, nl, en) in cases {
            assert_eq!(money(cents).format_nl(), nl);
            assert_eq!(money(cents).format_en(), en);
        }
        assert_eq!(Money::from_cents(-1), Err(MoneyError::Negative { cents: -1 }));
        assert_eq!(Money::from_cents(100_000_001), Err(MoneyError::TooLarge));
    }

    #[test]
    fn euros_are_read_as_typed() {
        for (typed, cents) in [
            ("52,50", 5250),
            ("52.5", 5250),
            (" 7 ", 700),
            ("0", 0),
            ("0001,05", 105),
        ] {
            assert_eq!(Money::parse_euros(typed), Ok(money(cents)), "{typed}");
        }
        assert_eq!(Money::parse_euros("1000000"), Ok(money(Money::MAX_CENTS)));
        for bad in ["", "-1", "1.234", "1,2,3", "5.", ".5", "abc", "1 000"] {
            assert!(
                matches!(Money::parse_euros(bad), Err(MoneyError::NotAnAmount { .. })),
                "{bad}"
            );
        }
        for too_large in ["1000000,01", "99999999999999999999"] {
            assert!(
                Money::parse_euros(too_large) == Err(MoneyError::TooLarge),
                "{too_large}"
            );
        }
    }

    #[test]
    fn money_serializes_as_cents() {
        assert_eq!(serde_json::to_string(&money(1250)).unwrap(), "1250");
        assert_eq!(serde_json::from_str::<Money>("1250").unwrap(), money(1250));
        assert!(serde_json::from_str::<Money>("-1").is_err());
    }

    #[test]
    fn age_ranges() {
        assert_eq!(
            AgeRange::new(18, Some(17)),
            Err(AgeRangeError::MinAboveMax {
                min_years: 18,
                max_years: 17
            })
        );
        let youth = AgeRange::new(0, Some(17)).unwrap();
        assert!(youth.contains(0) && youth.contains(17) && !youth.contains(18));
        let adult = AgeRange::new(18, None).unwrap();
        assert!(!adult.contains(17) && adult.contains(18) && adult.contains(u8::MAX));
        assert!(AgeRange::new(5, Some(5)).unwrap().contains(5));
        assert_eq!(youth.to_string(), "0-17");
        assert_eq!(adult.to_string(), "18+");
        assert!(AgeRange::new(0, Some(130)).is_ok());
        for (min, max) in [(131, None), (18, Some(200)), (200, Some(255))] {
            assert!(
                matches!(
                    AgeRange::new(min, max),
                    Err(AgeRangeError::PastOldest { oldest: 130, .. })
                ),
                "{min}-{max:?}"
            );
        }
    }

    #[test]
    fn validity_months_bounds() {
        let any_age = AgeRange::new(0, None).unwrap();
        for months in [0, 121] {
            assert_eq!(
                SubscriptionTerms::new(Money::ZERO, months, any_age),
                Err(SubscriptionTermsError::ValidityOutOfRange { months })
            );
        }
        assert!(SubscriptionTerms::new(Money::ZERO, 1, any_age).is_ok());
        assert!(SubscriptionTerms::new(Money::ZERO, 120, any_age).is_ok());
    }

    #[test]
    fn age_around_birthdays() {
        let birth = date!(2010 - 06 - 19);
        assert_eq!(age_on(birth, date!(2024 - 06 - 18)), 13);
        assert_eq!(age_on(birth, date!(2024 - 06 - 19)), 14);
        assert_eq!(age_on(birth, birth), 0);
        assert_eq!(age_on(birth, date!(2010 - 06 - 18)), 0);
    }

    #[test]
    fn age_of_leap_day_births() {
        let birth = date!(2008 - 02 - 29);
        assert_eq!(age_on(birth, date!(2023 - 02 - 28)), 14);
        assert_eq!(age_on(birth, date!(2023 - 03 - 01)), 15);
        assert_eq!(age_on(birth, date!(2024 - 02 - 28)), 15);
        assert_eq!(age_on(birth, date!(2024 - 02 - 29)), 16);
    }

    #[test]
    fn guide_example() {
        let overview = CostOverview::compute(
            &terms(2650, 12, 18, None),
            date!(1980 - 01 - 01),
            date!(2024 - 06 - 19),
            money(650),
        )
        .unwrap();
        assert_eq!(overview.subscription_fee().format_nl(), "€ 26,50");
        assert_eq!(overview.discount().format_nl(), "€ 6,50");
        assert_eq!(overview.balance().format_nl(), "€ 20,00");
        assert_eq!(overview.age(), 44);
        assert_eq!(overview.valid_until(), date!(2025 - 05 - 31));
        assert_eq!(overview.rights_until(), date!(2025 - 05 - 31));
        assert_eq!(format_month_nl(overview.valid_until()), "mei 2025");
        assert_eq!(format_month_en(overview.valid_until()), "May 2025");
    }

    #[test]
    fn valid_until_crosses_years_and_leap_days() {
        let valid_until = |today: Date, months: u8| {
            CostOverview::compute(&terms(0, months, 0, None), today, today, Money::ZERO)
                .unwrap()
                .valid_until()
        };
        assert_eq!(valid_until(date!(2024 - 12 - 05), 12), date!(2025 - 11 - 30));
        assert_eq!(valid_until(date!(2024 - 12 - 05), 1), date!(2024 - 12 - 31));
        assert_eq!(valid_until(date!(2024 - 01 - 31), 2), date!(2024 - 02 - 29));
        assert_eq!(valid_until(date!(2023 - 03 - 10), 12), date!(2024 - 02 - 29));
        assert_eq!(valid_until(date!(2024 - 06 - 19), 120), date!(2034 - 05 - 31));
        assert_eq!(
            CostOverview::compute(
                &terms(0, 12, 0, None),
                date!(9999 - 01 - 01),
                date!(9999 - 03 - 01),
                Money::ZERO
            ),
            Err(CostError::ValidityBeyondCalendar)
        );
    }

    #[test]
    fn refusals() {
        let youth = terms(0, 12, 0, Some(17));
        let today = date!(2024 - 06 - 19);
        assert_eq!(
            CostOverview::compute(&youth, date!(2006 - 06 - 19), today, Money::ZERO),
            Err(CostError::AgeOutOfRange {
                age: 18,
                range: youth.age_range()
            })
        );
        assert!(CostOverview::compute(&youth, date!(2006 - 06 - 20), today, Money::ZERO).is_ok());
        assert_eq!(
            CostOverview::compute(&youth, date!(2024 - 06 - 20), today, Money::ZERO),
            Err(CostError::BirthDateInFuture {
                birth_date: date!(2024 - 06 - 20),
                today
            })
        );
        let paid = terms(1000, 12, 0, None);
        assert_eq!(
            CostOverview::compute(&paid, date!(2000 - 01 - 01), today, money(1001)),
            Err(CostError::DiscountExceedsFee {
                fee: money(1000),
                discount: money(1001)
            })
        );
        let free = CostOverview::compute(&paid, date!(2000 - 01 - 01), today, money(1000));
        assert_eq!(free.unwrap().balance(), Money::ZERO);
    }

    #[test]
    fn dutch_month_names() {
        assert_eq!(format_month_nl(date!(2025 - 01 - 15)), "januari 2025");
        assert_eq!(format_month_nl(date!(2025 - 03 - 01)), "maart 2025");
        assert_eq!(format_month_nl(date!(2025 - 12 - 31)), "december 2025");
        assert_eq!(format_month_en(date!(2025 - 03 - 01)), "March 2025");
    }

    fn any_date() -> impl Strategy<Value = Date> {
        // 1900-01-01 to about 2100.
        (2_415_021i32..2_488_070).prop_map(|julian| Date::from_julian_day(julian).unwrap())
    }

    proptest! {
        #[test]
        fn balance_is_fee_minus_discount(fee in 0i64..1_000_000, discount in 0i64..1_000_000) {
            let result = CostOverview::compute(
                &terms(fee, 12, 0, None),
                date!(2000 - 01 - 01),
                date!(2024 - 06 - 19),
                money(discount),
            );
            if discount <= fee {
                prop_assert_eq!(result.unwrap().balance(), money(fee - discount));
            } else {
                prop_assert!(
                    matches!(result, Err(CostError::DiscountExceedsFee { .. })),
                    "got {:?}", result
                );
            }
        }

        #[test]
        fn age_is_monotone(birth in any_date(), a in any_date(), b in any_date()) {
            let (earlier, later) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(age_on(birth, earlier) <= age_on(birth, later));
        }

        #[test]
        fn age_counts_completed_years(birth in any_date(), today in any_date()) {
            prop_assume!(birth <= today);
            let age = i32::from(age_on(birth, today));
            // Birthday `age` has passed and birthday `age + 1` has not, using 1 March for
            // 29 February in common years.
            let birthday = |years: i32| {
                let year = birth.year() + years;
                Date::from_calendar_date(year, birth.month(), birth.day())
                    .unwrap_or_else(|_| date!(2000 - 03 - 01).replace_year(year).unwrap())
            };
            prop_assert!(birthday(age) <= today);
            prop_assert!(birthday(age + 1) > today);
        }

        #[test]
        fn valid_until_is_a_month_end_within_the_validity(today in any_date(), months in 1u8..=120) {
            let overview = CostOverview::compute(&terms(0, months, 0, None), today, today, Money::ZERO)
                .unwrap();
            let until = overview.valid_until();
            prop_assert_eq!(until.next_day().unwrap().day(), 1);
            let months_between = (until.year() - today.year()) * 12
                + i32::from(u8::from(until.month())) - i32::from(u8::from(today.month()));
            prop_assert_eq!(months_between, i32::from(months) - 1);
        }
    }
}
