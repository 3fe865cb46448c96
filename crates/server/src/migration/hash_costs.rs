//! What the exports' password hashes cost: the settings they were made
//! with, and how long a failed login on each takes on this machine, against
//! the wait every failed login gets (`hashing.failed_login_ms`). A failed
//! login that takes longer than that wait tells which usernames exist.

use std::{collections::HashMap, fmt, time::Duration};

use si_credentials::{Argon2Params, HashCost, dummy_verify, slowest_refusal};

use super::input::Row;

/// The highest `hashing.failed_login_ms` the configuration takes.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// The settings of the exports' hashes, each with how many rows hold one
/// and one of them to time.
#[derive(Debug, Default)]
pub struct HashSettings(HashMap<HashCost, (u64, String)>);

impl HashSettings {
    pub fn count(&mut self, row: &Row) {
        if let (Some(cost), Some(hash)) = (row.hash_cost, &row.password_hash) {
            self.0.entry(cost).or_insert_with(|| (0, hash.clone())).0 += 1;
        }
    }
}

/// One setting, timed.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedSetting {
    pub cost: HashCost,
    pub rows: u64,
    /// A failed login on an account with such a hash, at worst: its check
    /// of the longest password, and the argon2id work an old format adds.
    pub failed_login: Duration,
}

/// The timed settings, slowest first, and what they are held against.
#[derive(Debug, Clone, PartialEq)]
pub struct HashTimes {
    pub settings: Vec<TimedSetting>,
    /// A failed login on a username no account has: one argon2id check.
    pub unknown_username: Duration,
    /// `hashing.failed_login_ms`.
    pub wait: Duration,
}

/// Times a failed login for each setting with the nodes' argon2id
/// parameters, as the login does it. Busy for a few times the slowest
/// check (bcrypt at its highest cost: seconds): run it off the runtime.
pub fn time(settings: HashSettings, current: &Argon2Params, wait: Duration) -> HashTimes {
    let unknown_username = (0..2)
        .map(|_| {
            let started = std::time::Instant::now();
            dummy_verify("not anyone's password", current);
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    let mut timed = Vec::new();
    for (cost, (rows, hash)) in settings.0 {
        // The plan kept only hashes that parse: none is refused here.
        let Ok(refusal) = slowest_refusal(&hash, current) else {
            continue;
        };
        let extra = if cost.format().is_legacy() {
            unknown_username
        } else {
            Duration::ZERO
        };
        timed.push(TimedSetting {
            cost,
            rows,
            failed_login: refusal + extra,
        });
    }
    timed.sort_by(|a, b| b.failed_login.cmp(&a.failed_login).then(b.rows.cmp(&a.rows)));
    HashTimes {
        settings: timed,
        unknown_username,
        wait,
    }
}

impl HashTimes {
    /// The settings whose failed login outlasts the wait.
    pub fn too_slow(&self) -> impl Iterator<Item = &TimedSetting> {
        self.settings
            .iter()
            .filter(|setting| setting.failed_login > self.wait)
    }

    /// A wait that covers the slowest setting with room for a busier node:
    /// half as long again, in whole tenths of a second.
    fn wait_needed(&self) -> Option<Duration> {
        let slowest = self.settings.first()?.failed_login.mul_f64(1.5);
        Some(Duration::from_millis(
            slowest.as_millis().div_ceil(100) as u64 * 100,
        ))
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

impl fmt::Display for HashTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "password hashes (kind, rows, a failed login on one here):")?;
        for setting in &self.settings {
            let marked = if setting.failed_login > self.wait {
                "  slower than the wait"
            } else {
                ""
            };
            write!(
                f,
                "\n  {:<34}{:>10}  {}{marked}",
                setting.cost.to_string(),
                setting.rows,
                seconds(setting.failed_login)
            )?;
        }
        write!(
            f,
            "\n  {:<34}{:>10}  {}",
            "(a username no account has)",
            "",
            seconds(self.unknown_username)
        )?;
        write!(
            f,
            "\nEvery failed login waits {} (hashing.failed_login_ms).",
            seconds(self.wait)
        )?;
        let rows: u64 = self.too_slow().map(|setting| setting.rows).sum();
        if rows == 0 {
            return Ok(());
        }
        let rows = if rows == 1 {
            "1 row".to_owned()
        } else {
            format!("{rows} rows")
        };
        write!(
            f,
            "\nWarning: a failed login on an account with a hash marked ({rows}) takes longer than that \
             wait, so its time tells those usernames apart from unknown ones."
        )?;
        match self.wait_needed() {
            Some(needed) if needed <= LONGEST_WAIT => write!(
                f,
                " Set hashing.failed_login_ms to {} or more on every node before go-live.",
                needed.as_millis()
            ),
            _ => write!(
                f,
                " No wait is that long (hashing.failed_login_ms is at most 10000): leave those hashes out \
                 of the export, so that these members set a password with \"Wachtwoord vergeten\"."
            ),
        }
    }
}
