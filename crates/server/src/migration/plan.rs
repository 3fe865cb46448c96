//! The plan: which rows become one account, and which username each account
//! gets. Deterministic, so `plan` and every run of `import` decide alike.
//!
//! - **Same person**: rows with the same e-mail address (any case), name
//!   (any case and spacing) and birth date are one person with several
//!   memberships. Rows without an address are never merged: families share
//!   addresses, and a name and birth date alone are too weak a match.
//! - **Usernames** are exact and case-sensitive, as at the login: `jan` and
//!   `Jan` are two names. An account asks for the old username of its most
//!   recently used row. When several accounts ask for one name, the one whose
//!   member logged in most recently keeps it (ties: library code, then card
//!   number); a name already used outside the migration is kept by no one.
//!   Every other account gets the card number of its most recent row, or,
//!   when that is taken too, the card number with `-2`, `-3`, … appended.

use std::{
    collections::{HashMap, HashSet},
    hash::{DefaultHasher, Hash, Hasher},
};

use si_domain::{CardNumber, Username};
use si_store::legacy_import::UsernameOutcome;

use super::input::{Rejection, Row, allowed_username};

/// The little a row must keep while the plan is made: with 3.6 million rows,
/// whole rows would not fit the memory budget.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub library: usize,
    pub card: CardNumber,
    pub old_username: Option<Box<str>>,
    person: Option<u64>,
    /// Milliseconds since the epoch; rows never used sort first.
    recency: i64,
    pub email: Presence,
    pub password: Presence,
}

/// Whether a row brought an e-mail address or a password hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Usable,
    Missing,
    /// Exported, but not valid: it is dropped.
    Unusable,
}

impl Presence {
    fn of<T>(value: &Option<T>, problem: &Option<String>) -> Self {
        match (value, problem) {
            (Some(_), _) => Presence::Usable,
            (None, Some(_)) => Presence::Unusable,
            (None, None) => Presence::Missing,
        }
    }
}

impl Candidate {
    pub fn of(row: &Row) -> Self {
        let person = row.email.as_ref().map(|email| {
            let mut hasher = DefaultHasher::new();
            email.as_str().to_lowercase().hash(&mut hasher);
            let name: Vec<String> = row
                .name
                .as_str()
                .split_whitespace()
                .map(str::to_lowercase)
                .collect();
            name.hash(&mut hasher);
            row.birth_date.hash(&mut hasher);
            hasher.finish()
        });
        Self {
            library: row.library,
            card: row.card.clone(),
            old_username: row.old_username.as_deref().map(Box::from),
            person,
            recency: row
                .last_login
                .map_or(i64::MIN, |at| (at.unix_timestamp_nanos() / 1_000_000) as i64),
            email: Presence::of(&row.email, &row.email_problem),
            password: Presence::of(&row.password_hash, &row.hash_problem),
        }
    }
}

/// One account to create.
#[derive(Debug, Clone)]
pub struct PlannedAccount {
    /// The account's most recently used row: its card number names the
    /// account's id, its password hash is kept.
    pub primary: u32,
    pub rows: u32,
    pub username: Username,
    pub outcome: UsernameOutcome,
    /// The old username of the primary row, as exported.
    pub old_username: Option<Box<str>>,
}

pub struct Plan {
    pub candidates: Vec<Candidate>,
    pub rejections: Vec<Rejection>,
    pub accounts: Vec<PlannedAccount>,
    /// For each accepted row, in reading order: its account.
    pub row_account: Vec<u32>,
}

impl Plan {
    /// Decides accounts and usernames. `in_use` are the names no migrated
    /// account may take; `library_codes` order ties.
    pub fn make(
        candidates: Vec<Candidate>,
        rejections: Vec<Rejection>,
        in_use: &HashSet<String>,
        library_codes: &[String],
    ) -> Self {
        let order = |row: u32| {
            let c = &candidates[row as usize];
            (
                c.recency,
                std::cmp::Reverse((&library_codes[c.library], c.card.as_str())),
            )
        };

        // Same person: one group per person key; rows without one stand alone.
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut by_person: HashMap<u64, usize> = HashMap::new();
        for (row, candidate) in candidates.iter().enumerate() {
            let row = row as u32;
            match candidate.person {
                Some(person) => match by_person.get(&person) {
                    Some(&group) => groups[group].push(row),
                    None => {
                        by_person.insert(person, groups.len());
                        groups.push(vec![row]);
                    }
                },
                None => groups.push(vec![row]),
            }
        }
        drop(by_person);

        let mut row_account = vec![0u32; candidates.len()];
        let mut primaries = Vec::with_capacity(groups.len());
        for (account, rows) in groups.iter().enumerate() {
            for &row in rows {
                row_account[row as usize] = account as u32;
            }
            let primary = rows.iter().copied().max_by_key(|&row| order(row)).unwrap_or(0);
            primaries.push((primary, rows.len() as u32));
        }
        drop(groups);

        // Who asks for which name, and who gets it.
        let wanted: Vec<Option<Username>> = primaries
            .iter()
            .map(|&(primary, _)| {
                candidates[primary as usize]
                    .old_username
                    .as_deref()
                    .and_then(allowed_username)
            })
            .collect();
        let mut winner: HashMap<&str, usize> = HashMap::new();
        for (account, name) in wanted.iter().enumerate() {
            let Some(name) = name else { continue };
            if in_use.contains(name.as_str()) {
                continue;
            }
            let better = match winner.get(name.as_str()) {
                Some(&held) => order(primaries[account].0) > order(primaries[held].0),
                None => true,
            };
            if better {
                winner.insert(name.as_str(), account);
            }
        }

        let mut taken: HashSet<String> = winner.keys().map(|name| (*name).to_owned()).collect();
        let mut accounts = Vec::with_capacity(primaries.len());
        for (account, &(primary, rows)) in primaries.iter().enumerate() {
            let candidate = &candidates[primary as usize];
            let (username, outcome) = match &wanted[account] {
                Some(name) if winner.get(name.as_str()) == Some(&account) => {
                    (name.clone(), UsernameOutcome::Kept)
                }
                _ => {
                    let outcome = match (&candidate.old_username, &wanted[account]) {
                        (None, _) => UsernameOutcome::Missing,
                        (Some(_), None) => UsernameOutcome::NotAllowed,
                        (Some(_), Some(_)) => UsernameOutcome::Taken,
                    };
                    (free_name(&candidate.card, in_use, &mut taken), outcome)
                }
            };
            accounts.push(PlannedAccount {
                primary,
                rows,
                username,
                outcome,
                old_username: candidate.old_username.clone(),
            });
        }
        Plan {
            candidates,
            rejections,
            accounts,
            row_account,
        }
    }
}

/// The card number, or the first of `<card>-2`, `<card>-3`, … that no one has.
fn free_name(card: &CardNumber, in_use: &HashSet<String>, taken: &mut HashSet<String>) -> Username {
    let mut name = Username::from_card_number(card);
    let mut number = 1;
    while in_use.contains(name.as_str()) || taken.contains(name.as_str()) {
        number += 1;
        // A card number is at most 32 characters, so this stays a valid username.
        name =
            Username::parse(&format!("{card}-{number}")).unwrap_or_else(|_| Username::from_card_number(card));
    }
    taken.insert(name.as_str().to_owned());
    name
}
