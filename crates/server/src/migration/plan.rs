//! The plan: which rows become one account, and which username each account
//! gets. Deterministic, so `plan` and every run of `import` decide alike.
//!
//! - **Same person**: rows with the same e-mail address (any case), name
//!   (any case, spacing and Unicode form) and birth date are one person with several
//!   memberships. Rows without an address are never merged: families share
//!   addresses, and a name and birth date alone are too weak a match.
//! - **Usernames** are exact and case-sensitive, as at the login: `jan` and
//!   `Jan` are two names. An account asks for the old username of its most
//!   recently used row. When several accounts ask for one name, the one whose
//!   member logged in most recently keeps it (ties: library code, then card
//!   number); a name already used outside the migration is kept by no one.
//!   Every other account gets the card number of its most recent row, or,
//!   when that is taken too, the card number with `-2`, `-3`, … appended.
//! - **Card numbers** are unique per library: a row whose card number an
//!   earlier row of the same library has is rejected, so that it is reported
//!   and not left out in silence by the import.
//! - **Cards imported before** stay in their account: a row whose card an
//!   earlier run put in another account than this plan would is rejected.

use std::{
    collections::{HashMap, HashSet},
    hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState},
    num::NonZeroU64,
};

use hashbrown::HashTable;

use sha2::{Digest, Sha256};
use si_domain::{AccountId, CardNumber, Username};
use si_store::legacy_import::UsernameOutcome;
use time::Date;
use unicode_normalization::UnicodeNormalization;

use super::{
    hash_costs::HashSettings,
    input::{Rejection, Row, allowed_username},
};

/// The little a row must keep while the plan is made: with 3.6 million rows,
/// whole rows would not fit the memory budget.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub library: usize,
    pub card: CardNumber,
    pub old_username: Option<Box<str>>,
    /// Name and birth date together with the e-mail address; none without
    /// one. Not zero, so that the option takes no room of its own.
    person: Option<NonZeroU64>,
    /// Name (any case, spacing and Unicode form) and birth date alone: the same for two
    /// accounts that may be one person's after all, for the report.
    pub namesake: u64,
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

/// A row's namesake and person keys (see [`Candidate`]): the name in any
/// case, spacing and Unicode form ("ë" composed as one character or
/// decomposed as "e" and a combining diaeresis), the e-mail address in
/// any case. Hashed a character at a time, with no lowercased copies: the
/// pass over an earlier import's memberships does this millions of times.
fn person_keys(name: &str, birth_date: Date, email: Option<&str>) -> (u64, Option<NonZeroU64>) {
    let lowercased = |text: &str, hasher: &mut DefaultHasher| {
        let hash = |c: char| c.hash(hasher);
        if text.is_ascii() {
            text.chars().flat_map(char::to_lowercase).for_each(hash);
        } else {
            text.nfc().flat_map(char::to_lowercase).for_each(hash);
        }
    };
    let mut hasher = DefaultHasher::new();
    for word in name.split_whitespace() {
        lowercased(word, &mut hasher);
        ' '.hash(&mut hasher);
    }
    birth_date.hash(&mut hasher);
    let namesake = hasher.finish();
    let person = email.map(|email| {
        let mut hasher = DefaultHasher::new();
        lowercased(email, &mut hasher);
        namesake.hash(&mut hasher);
        NonZeroU64::new(hasher.finish()).unwrap_or(NonZeroU64::MIN)
    });
    (namesake, person)
}

/// What differs between an export's row and its card's membership as an
/// earlier import wrote it (or the desk changed it since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    NameOrBirthDate,
    Email,
}

impl Changed {
    pub fn as_str(self) -> &'static str {
        match self {
            Changed::NameOrBirthDate => "name or birth date",
            Changed::Email => "e-mail address",
        }
    }
}

impl Candidate {
    pub fn of(row: &Row) -> Self {
        let email = row.email.as_ref().map(|email| email.as_str());
        let (namesake, person) = person_keys(row.name.as_str(), row.birth_date, email);
        Self {
            library: row.library,
            card: row.card.clone(),
            old_username: row.old_username.as_deref().map(Box::from),
            person,
            namesake,
            recency: row
                .last_login
                .map_or(i64::MIN, |at| (at.unix_timestamp_nanos() / 1_000_000) as i64),
            email: Presence::of(&row.email, &row.email_problem),
            password: Presence::of(&row.password_hash, &row.hash_problem),
        }
    }
}

/// The card numbers of the candidates so far, per library. It holds only
/// each candidate's index (4 bytes a row), not a copy of its card number.
#[derive(Default)]
pub struct SeenCards {
    table: HashTable<u32>,
    hasher: RandomState,
}

impl SeenCards {
    /// Whether an earlier candidate has this row's library and card number;
    /// if not, the row is recorded as the next candidate.
    pub fn repeats(&mut self, candidates: &[Candidate], row: &Row) -> bool {
        let hash = |library: usize, card: &CardNumber| self.hasher.hash_one((library, card.as_str()));
        let same = |index: &u32| {
            let earlier = &candidates[*index as usize];
            earlier.library == row.library && earlier.card == row.card
        };
        let row_hash = hash(row.library, &row.card);
        if self.table.find(row_hash, same).is_some() {
            return true;
        }
        self.table
            .insert_unique(row_hash, candidates.len() as u32, |index| {
                let earlier = &candidates[*index as usize];
                hash(earlier.library, &earlier.card)
            });
        false
    }

    /// The candidate with this library and card number, if any.
    pub fn find(&self, candidates: &[Candidate], library: usize, card: &str) -> Option<u32> {
        let hash = self.hasher.hash_one((library, card));
        self.table
            .find(hash, |index| {
                let candidate = &candidates[*index as usize];
                candidate.library == library && candidate.card.as_str() == card
            })
            .copied()
    }
}

/// What differs between this row and a membership held with its card.
pub fn changed_from(
    candidate: &Candidate,
    name: &str,
    birth_date: Date,
    email: Option<&str>,
) -> Option<Changed> {
    let (namesake, person) = person_keys(name, birth_date, email);
    if namesake != candidate.namesake {
        Some(Changed::NameOrBirthDate)
    } else if person != candidate.person {
        Some(Changed::Email)
    } else {
        None
    }
}

/// The card-number names given so far, each held as its account's primary
/// row and suffix (8 bytes) instead of as text: with millions of accounts
/// renamed, the text alone would take a quarter of the memory budget.
struct GivenNames {
    table: HashTable<(u32, u32)>,
    hasher: RandomState,
}

impl GivenNames {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            table: HashTable::with_capacity(capacity),
            hasher: RandomState::new(),
        }
    }

    fn contains(&self, candidates: &[Candidate], name: &str) -> bool {
        let is_name = |&(row, suffix): &(u32, u32)| numbered(&candidates[row as usize].card, suffix) == name;
        self.table.find(self.hasher.hash_one(name), is_name).is_some()
    }

    fn insert(&mut self, candidates: &[Candidate], row: u32, suffix: u32) {
        let hash = |&(row, suffix): &(u32, u32)| {
            self.hasher
                .hash_one(numbered(&candidates[row as usize].card, suffix))
        };
        self.table
            .insert_unique(hash(&(row, suffix)), (row, suffix), hash);
    }
}

/// What earlier runs of the import made: their accounts, and the usernames
/// they gave. Both stay, whatever a changed export asks now:
/// - a row fixed after a first run, more recently active than the member
///   who got its old name then, must not take that name (the account holds
///   it, and the import would stop on it at every run);
/// - a fixed row of a person imported from another row joins that account,
///   whose row keeps deciding its id, instead of making a second one;
/// - a row whose card an earlier run put in another account than this plan
///   would (the person's details changed, or the row that named the
///   account is gone) is not imported again: the card stays where it is.
///
/// It is read from every account and membership (a desk's too: its name is
/// taken anyway, its random id never matches one the import derives, and
/// its cards are rejected before). Names, ids and cards are held as 8-byte
/// hashes, for the millions a national import makes.
#[derive(Default)]
pub struct EarlierImports {
    /// Name → its holder's id.
    holders: HashMap<u64, u64>,
    accounts: HashSet<u64>,
    /// Card (library and number) → its account, only for the cards that
    /// did not decide their account's id: a person's other rows (and the
    /// desk's cards, whose rows are rejected before).
    placed: HashMap<u64, u64>,
    hasher: RandomState,
    /// The import's salt, to know a planned account's id.
    salt: String,
}

impl EarlierImports {
    pub fn new(salt: String, accounts: usize) -> Self {
        Self {
            holders: HashMap::with_capacity(accounts),
            accounts: HashSet::with_capacity(accounts),
            salt,
            ..Self::default()
        }
    }

    pub fn insert(&mut self, name: &str, account: AccountId) {
        let account = short(account);
        self.holders.insert(self.hasher.hash_one(name), account);
        self.accounts.insert(account);
    }

    /// Notes the account an earlier run put a card in.
    pub fn place(&mut self, library: usize, library_code: &str, card: &str, account: AccountId) {
        let account = short(account);
        if account != short(account_id(&self.salt, library_code, card)) {
            self.placed.insert(self.hasher.hash_one((library, card)), account);
        }
    }

    /// The account an earlier run put the row's card in, if any; `own` is
    /// the id of the account the row decides the id of.
    fn holder_of(&self, row: &Candidate, own: u64) -> Option<u64> {
        let placed = self
            .placed
            .get(&self.hasher.hash_one((row.library, row.card.as_str())));
        placed
            .copied()
            .or_else(|| self.accounts.contains(&own).then_some(own))
    }

    fn id_of(&self, row: &Candidate, library_codes: &[String]) -> u64 {
        short(account_id(
            &self.salt,
            &library_codes[row.library],
            row.card.as_str(),
        ))
    }

    /// Whether the account of `primary` may have `name`: no earlier account
    /// holds it, or this is that account.
    fn may_take(&self, name: &str, primary: &Candidate, library_codes: &[String]) -> bool {
        self.holders
            .get(&self.hasher.hash_one(name))
            .is_none_or(|holder| *holder == self.id_of(primary, library_codes))
    }

    /// Whether an earlier run made the account `row` decides the id of.
    fn made_account_of(&self, row: &Candidate, library_codes: &[String]) -> bool {
        !self.accounts.is_empty() && self.accounts.contains(&self.id_of(row, library_codes))
    }
}

/// An account id's first 8 bytes: enough to tell millions apart.
fn short(id: AccountId) -> u64 {
    let bytes = id.to_bytes();
    u64::from_be_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// The same id on every run, from a salt kept in the database, so a second
/// run recognises what the first one wrote.
pub fn account_id(salt: &str, library: &str, card: &str) -> AccountId {
    let digest = Sha256::new()
        .chain_update(salt)
        .chain_update(":")
        .chain_update(library)
        .chain_update(":")
        .chain_update(card)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    AccountId::from_bytes(bytes)
}

/// One account to create, in 16 bytes: with millions of accounts, names are
/// not copied but derived from the primary row when needed.
#[derive(Debug, Clone, Copy)]
pub struct PlannedAccount {
    /// The account's most recently used row: its card number names the
    /// account's id, its password hash is kept.
    pub primary: u32,
    pub rows: u32,
    pub outcome: UsernameOutcome,
    /// For a new name: 0 for the card number itself, else the `-N` appended.
    suffix: u32,
}

pub struct Plan {
    pub candidates: Vec<Candidate>,
    pub rejections: Vec<Rejection>,
    pub accounts: Vec<PlannedAccount>,
    /// For each accepted row, in reading order: its account.
    pub row_account: Vec<u32>,
    /// Rows (places in `candidates`) whose card an earlier import holds
    /// with another name, birth date or address: the import leaves the card
    /// as it is. 8 bytes each, should an export change every row.
    pub changed: Vec<(u32, Changed)>,
    /// The settings of the password hashes of the rows accepted as they
    /// were read (before rows imported elsewhere are taken out).
    pub hash_settings: HashSettings,
}

impl Plan {
    /// Decides accounts and usernames. `in_use` are the names no migrated
    /// account may take, `earlier` those only their holders may;
    /// `library_codes` order ties.
    pub fn make(
        candidates: Vec<Candidate>,
        rejections: Vec<Rejection>,
        in_use: &HashSet<String>,
        earlier: &EarlierImports,
        library_codes: &[String],
    ) -> Self {
        let order = |row: u32| {
            let c = &candidates[row as usize];
            (
                c.recency,
                std::cmp::Reverse((&library_codes[c.library], c.card.as_str())),
            )
        };

        // Same person: one account per person key; rows without one stand alone.
        let mut accounts: Vec<PlannedAccount> = Vec::new();
        let mut row_account = Vec::with_capacity(candidates.len());
        let mut by_person: HashMap<NonZeroU64, u32> = HashMap::new();
        for (row, candidate) in candidates.iter().enumerate() {
            let row = row as u32;
            let existing = candidate
                .person
                .and_then(|person| by_person.get(&person).copied());
            let account = match existing {
                Some(account) => {
                    let planned = &mut accounts[account as usize];
                    planned.rows += 1;
                    if order(row) > order(planned.primary) {
                        planned.primary = row;
                    }
                    account
                }
                None => {
                    let account = accounts.len() as u32;
                    if let Some(person) = candidate.person {
                        by_person.insert(person, account);
                    }
                    accounts.push(PlannedAccount {
                        primary: row,
                        rows: 1,
                        outcome: UsernameOutcome::Kept,
                        suffix: 0,
                    });
                    account
                }
            };
            row_account.push(account);
        }
        drop(by_person);
        // An account an earlier run made stays its person's: the row that
        // decided its id then decides it now, however recent the others.
        for (row, &account) in row_account.iter().enumerate() {
            let planned = &mut accounts[account as usize];
            if planned.rows > 1
                && earlier.made_account_of(&candidates[row], library_codes)
                && !earlier.made_account_of(&candidates[planned.primary as usize], library_codes)
            {
                planned.primary = row as u32;
            }
        }

        // Who asks for which name, and who gets it.
        let wanted = |account: &PlannedAccount| {
            candidates[account.primary as usize]
                .old_username
                .as_deref()
                .filter(|old| allowed_username(old).is_some())
        };
        let mut winner: HashMap<&str, u32> = HashMap::new();
        for (index, account) in accounts.iter().enumerate() {
            let Some(name) = wanted(account) else { continue };
            let primary = &candidates[account.primary as usize];
            if in_use.contains(name) || !earlier.may_take(name, primary, library_codes) {
                continue;
            }
            let better = match winner.get(name) {
                Some(&held) => order(account.primary) > order(accounts[held as usize].primary),
                None => true,
            };
            if better {
                winner.insert(name, index as u32);
            }
        }

        let mut fallbacks = GivenNames::with_capacity(accounts.len());
        let mut decided = Vec::with_capacity(accounts.len());
        for (index, account) in accounts.iter().enumerate() {
            let candidate = &candidates[account.primary as usize];
            let name = wanted(account);
            let decision = match name {
                Some(name) if winner.get(name) == Some(&(index as u32)) => (UsernameOutcome::Kept, 0),
                _ => {
                    let outcome = match (&candidate.old_username, name) {
                        (None, _) => UsernameOutcome::Missing,
                        (Some(_), None) => UsernameOutcome::NotAllowed,
                        (Some(_), Some(_)) => UsernameOutcome::Taken,
                    };
                    let free = |name: &str| {
                        !in_use.contains(name)
                            && !winner.contains_key(name)
                            && !fallbacks.contains(&candidates, name)
                            && earlier.may_take(name, candidate, library_codes)
                    };
                    let suffix = (0u32..)
                        .find(|&suffix| free(&numbered(&candidate.card, suffix)))
                        .unwrap_or_default();
                    fallbacks.insert(&candidates, account.primary, suffix);
                    (outcome, suffix)
                }
            };
            decided.push(decision);
        }
        drop(winner);
        for (account, (outcome, suffix)) in accounts.iter_mut().zip(decided) {
            account.outcome = outcome;
            account.suffix = suffix;
        }
        Plan {
            candidates,
            rejections,
            accounts,
            row_account,
            changed: Vec::new(),
            hash_settings: HashSettings::default(),
        }
    }

    /// The rows whose card an earlier run put in another account than the
    /// one this plan gives them.
    pub fn imported_elsewhere(&self, earlier: &EarlierImports, library_codes: &[String]) -> Vec<u32> {
        if earlier.accounts.is_empty() {
            return Vec::new();
        }
        let mut rows = Vec::new();
        for (row, candidate) in self.candidates.iter().enumerate() {
            let own = earlier.id_of(candidate, library_codes);
            let Some(holder) = earlier.holder_of(candidate, own) else {
                continue;
            };
            let primary = self.accounts[self.row_account[row] as usize].primary as usize;
            let planned = if primary == row {
                own
            } else {
                earlier.id_of(&self.candidates[primary], library_codes)
            };
            if holder != planned {
                rows.push(row as u32);
            }
        }
        rows
    }

    /// The username the account gets.
    pub fn username(&self, account: &PlannedAccount) -> Username {
        let candidate = &self.candidates[account.primary as usize];
        match (
            account.outcome,
            candidate.old_username.as_deref().and_then(allowed_username),
        ) {
            (UsernameOutcome::Kept, Some(kept)) => kept,
            // A card number is at most 32 characters: with `-N` it is still a valid username.
            _ => Username::parse(&numbered(&candidate.card, account.suffix))
                .unwrap_or_else(|_| Username::from_card_number(&candidate.card)),
        }
    }

    /// The old portal username of the account's primary row, as exported.
    pub fn old_username(&self, account: &PlannedAccount) -> Option<&str> {
        self.candidates[account.primary as usize].old_username.as_deref()
    }
}

/// The card number, or the card number with `-N` appended (`N` ≥ 2).
fn numbered(card: &CardNumber, suffix: u32) -> String {
    if suffix == 0 {
        card.as_str().to_owned()
    } else {
        format!("{card}-{}", suffix + 1)
    }
}
