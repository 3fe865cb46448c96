//! When to try again after a temporary failure (mail, logout notifications).

use std::time::Duration;

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Longest wait between two attempts, jitter included.
pub const LONGEST_BACKOFF: Duration = Duration::from_secs(MAX_BACKOFF.as_secs() * 6 / 5);
/// Wait after the first failed attempt; doubles with every further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);

/// 30 s, 1 min, 2 min, … up to an hour, each ±20 % so that work that failed
/// together does not all come back in the same second.
pub fn backoff(attempts: u32) -> time::Duration {
    let doubling = FIRST_BACKOFF.saturating_mul(1 << attempts.saturating_sub(1).min(16));
    let base = doubling.min(MAX_BACKOFF).as_secs_f64();
    let jitter = 0.8 + 0.4 * rand::random::<f64>();
    time::Duration::seconds_f64(base * jitter)
}

#[cfg(test)]
mod tests {
    use super::{LONGEST_BACKOFF, backoff};

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_an_hour() {
        for (attempts, base) in [(1, 30.0), (2, 60.0), (3, 120.0), (8, 3600.0), (40, 3600.0)] {
            let wait = backoff(attempts).as_seconds_f64();
            assert!(
                (base * 0.8..=base * 1.2).contains(&wait),
                "attempt {attempts}: {wait}"
            );
            assert!(
                wait <= LONGEST_BACKOFF.as_secs_f64(),
                "attempt {attempts}: {wait}"
            );
        }
    }
}
