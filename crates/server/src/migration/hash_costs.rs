//! What the exports' password hashes cost: the settings they were made
//! with, and how long a failed login on them takes on this machine, against
//! one on an unknown username and the wait every failed login gets
//! (`hashing.failed_login_ms`). A failed login whose answer comes later or
//! sooner than an unknown username's tells which usernames exist.

use std::{collections::HashMap, fmt, time::Duration};

use si_credentials::{Argon2Params, HashCost, HashFormat, costliest_password, dummy_verify, slowest_refusal};

use super::input::Row;

/// The highest `hashing.failed_login_ms` the configuration takes.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// Tries per timing; the shortest counts.
const TRIES: usize = 3;

/// Room for a node busier than the machine the plan runs on: half as long
/// again, for the marks and for the wait advised.
const HEADROOM: f64 = 1.5;

/// Differences smaller than this are lost in a network's jitter, and the
/// throttle allows a username few tries to average them out.
const SAME_WITHIN: Duration = Duration::from_millis(5);

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

/// Settings of one format, from `cheapest` to `costliest`, that all tell
/// the username apart or all do not.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub cheapest: HashCost,
    pub costliest: HashCost,
    pub rows: u64,
    /// A failed login on an account with such a hash, at worst: its check
    /// of the costliest password, and the argon2id work an old format
    /// adds. For the cheapest setting and the costliest.
    pub failed_login: (Duration, Duration),
    /// Whether that time tells the account apart from an unknown username.
    pub told_apart: bool,
}

/// The bands, slowest first, and what they are held against.
#[derive(Debug, Clone, PartialEq)]
pub struct HashTimes {
    pub bands: Vec<Band>,
    /// A failed login on a username no account has: the argon2id work of
    /// the costliest password.
    pub unknown_username: Duration,
    /// `hashing.failed_login_ms`.
    pub wait: Duration,
    /// Rows whose hash is weaker than OWASP asks of its format: kept as it
    /// is until the member's next login upgrades it.
    pub weak_rows: u64,
}

/// The shortest of a few tries: what the work itself takes, without the
/// pauses of a busy machine.
fn shortest(try_once: impl Fn() -> Duration) -> Duration {
    (0..TRIES).map(|_| try_once()).min().unwrap_or_default()
}

/// Times a failed login on the exports' hashes with the nodes' argon2id
/// parameters, as the login does it: the costliest password, and each
/// answer held back until the wait has passed. A setting tells the username
/// apart when its failed login, with half as much again for a busier node,
/// ends later than an unknown username's, or (an argon2id hash cheaper than
/// the nodes' settings, when the wait is short) sooner. Of each format the
/// costliest and the cheapest setting first; only when one of them tells
/// apart, a search for where that stops: a few timings per format however
/// many settings an old system made. Busy for seconds (a few times the
/// costliest check): run it off the runtime.
pub fn time(settings: HashSettings, current: &Argon2Params, wait: Duration) -> HashTimes {
    if settings.0.is_empty() {
        return HashTimes {
            bands: Vec::new(),
            unknown_username: Duration::ZERO,
            wait,
            weak_rows: 0,
        };
    }
    let weak_rows = settings
        .0
        .iter()
        .filter(|(cost, _)| !cost.meets_owasp_minimum())
        .map(|(_, (rows, _))| rows)
        .sum();
    let unknown_password = costliest_password(HashFormat::Argon2id);
    let unknown_username = shortest(|| {
        let started = std::time::Instant::now();
        dummy_verify(&unknown_password, current);
        started.elapsed()
    });
    // What the member waits for: the check, or the wait when that is longer.
    let answered = |failed_login: Duration| failed_login.max(wait);
    let later = |failed_login: Duration| {
        answered(failed_login.mul_f64(HEADROOM)) > answered(unknown_username.mul_f64(HEADROOM)) + SAME_WITHIN
    };
    let sooner = |failed_login: Duration| answered(failed_login) + SAME_WITHIN < answered(unknown_username);
    let mut by_format: HashMap<HashFormat, Vec<(HashCost, u64, String)>> = HashMap::new();
    for (cost, (rows, hash)) in settings.0 {
        by_format
            .entry(cost.format())
            .or_default()
            .push((cost, rows, hash));
    }
    let mut bands = Vec::new();
    for (format, mut settings) in by_format {
        settings.sort_by_key(|(cost, ..)| cost.work());
        let mut timed: HashMap<usize, Duration> = HashMap::new();
        let mut failed_login = |index: usize| {
            let (cost, _, hash) = &settings[index];
            *timed.entry(index).or_insert_with(|| {
                // The nodes' own settings: an unknown username's work, by
                // construction.
                if cost.is_current(current) {
                    return unknown_username;
                }
                // The plan kept only hashes that parse, and the password is
                // within every format's limit: nothing is refused here.
                let refusal = shortest(|| slowest_refusal(hash, current).unwrap_or_default());
                refusal
                    + if format.is_legacy() {
                        unknown_username
                    } else {
                        Duration::ZERO
                    }
            })
        };
        // More work is never faster: the settings that answer sooner come
        // first, those that answer later last, each found by a search.
        let count = settings.len();
        let first_not_sooner = if sooner(failed_login(0)) {
            first_where(1, count, |index| !sooner(failed_login(index)))
        } else {
            0
        };
        let first_later = if later(failed_login(count - 1)) {
            first_where(first_not_sooner, count - 1, |index| later(failed_login(index)))
        } else {
            count
        };
        let mut band = |range: std::ops::Range<usize>, told_apart: bool| {
            if range.is_empty() {
                return;
            }
            let (first, end) = (range.start, range.end - 1);
            bands.push(Band {
                cheapest: settings[first].0,
                costliest: settings[end].0,
                rows: settings[range].iter().map(|(_, rows, _)| rows).sum(),
                failed_login: (failed_login(first), failed_login(end)),
                told_apart,
            });
        };
        band(0..first_not_sooner, true);
        band(first_not_sooner..first_later, false);
        band(first_later..count, true);
    }
    bands.sort_by(|a, b| b.failed_login.1.cmp(&a.failed_login.1).then(b.rows.cmp(&a.rows)));
    HashTimes {
        bands,
        unknown_username,
        wait,
        weak_rows,
    }
}

/// The first index in `from..=to` where `holds`, given that it holds at
/// `to` and, once it holds, for every index after.
fn first_where(from: usize, to: usize, mut holds: impl FnMut(usize) -> bool) -> usize {
    let (mut low, mut high) = (from, to);
    while low < high {
        let middle = (low + high) / 2;
        if holds(middle) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    high
}

impl HashTimes {
    /// A wait that covers the slowest failed login with room for a busier
    /// node: half as long again, in whole tenths of a second.
    fn wait_needed(&self) -> Duration {
        let slowest = self
            .bands
            .first()
            .map_or(Duration::ZERO, |band| band.failed_login.1);
        let slowest = slowest.max(self.unknown_username).mul_f64(HEADROOM);
        Duration::from_millis(slowest.as_millis().div_ceil(100) as u64 * 100)
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

impl Band {
    /// `bcrypt (cost 12)`, or `bcrypt (cost 4 to cost 12)`.
    fn kind(&self) -> String {
        if self.cheapest == self.costliest {
            return self.costliest.to_string();
        }
        format!(
            "{} ({} to {})",
            self.costliest.format(),
            self.cheapest.settings(),
            self.costliest.settings()
        )
    }

    fn time(&self) -> String {
        let (cheapest, costliest) = (seconds(self.failed_login.0), seconds(self.failed_login.1));
        if cheapest == costliest {
            costliest
        } else {
            format!("{cheapest} to {costliest}")
        }
    }
}

/// `1 row`, `212 rows`.
fn counted_rows(rows: u64) -> String {
    match rows {
        1 => "1 row".to_owned(),
        rows => format!("{rows} rows"),
    }
}

impl fmt::Display for HashTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bands.is_empty() {
            return write!(f, "No password hashes in the rows accepted.");
        }
        write!(f, "password hashes (kind, rows, a failed login on one here):")?;
        let unknown = "(a username no account has)";
        let kinds: Vec<String> = self.bands.iter().map(Band::kind).collect();
        let width = kinds
            .iter()
            .map(String::len)
            .chain([unknown.len()])
            .max()
            .unwrap_or_default();
        for (band, kind) in self.bands.iter().zip(kinds) {
            let marked = if band.told_apart {
                "  tells the username apart"
            } else {
                ""
            };
            write!(f, "\n  {kind:<width$}{:>10}  {}{marked}", band.rows, band.time())?;
        }
        write!(
            f,
            "\n  {unknown:<width$}{:>10}  {}",
            "",
            seconds(self.unknown_username)
        )?;
        if self.wait.is_zero() {
            write!(f, "\nFailed logins do not wait (hashing.failed_login_ms is 0).")?;
        } else {
            write!(
                f,
                "\nEvery failed login waits {} (hashing.failed_login_ms).",
                seconds(self.wait)
            )?;
        }
        if self.weak_rows > 0 {
            write!(
                f,
                "\nWarning: {} a hash weaker than OWASP's minimum for storing passwords \
                 (an unsalted or fast digest, MD5-crypt, bcrypt below cost 10, too few PBKDF2 rounds). \
                 Each stays as it is until its member's next login upgrades it to argon2id, so a copy \
                 of the database or of its backups lets those passwords be cracked quickly. Guard such \
                 copies until then, or leave those hashes out of the export, so that these members set \
                 a password with \"Wachtwoord vergeten\".",
                match self.weak_rows {
                    1 => "1 row holds".to_owned(),
                    rows => format!("{rows} rows hold"),
                }
            )?;
        }
        let rows: u64 = self
            .bands
            .iter()
            .filter(|band| band.told_apart)
            .map(|band| band.rows)
            .sum();
        if rows == 0 {
            return Ok(());
        }
        let rows = counted_rows(rows);
        write!(
            f,
            "\nWarning: a failed login on an account with a hash marked ({rows}) does not take \
             the same time as one on an unknown username, so its time tells those usernames apart."
        )?;
        let leave_out = "leave those hashes out of the export, so that these members set a password with \
                         \"Wachtwoord vergeten\"";
        match self.wait_needed() {
            needed if needed <= LONGEST_WAIT => write!(
                f,
                " Set hashing.failed_login_ms to {} or more on every node before go-live, or {leave_out}.",
                needed.as_millis()
            ),
            _ => write!(
                f,
                " No wait is that long (hashing.failed_login_ms is at most 10000): {leave_out}."
            ),
        }
    }
}
