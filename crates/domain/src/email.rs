//! Email addresses: the RFC 5322 addr-spec forms that mail can be delivered to
//! here, as a browser's `type=email` field takes them: no quoted local parts,
//! no address literals, no obsolete forms, comments or folding whitespace.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("email address is empty")]
    Empty,
    #[error("email address is longer than {max} characters")]
    TooLong { max: usize },
    #[error("email address has no @")]
    MissingAt,
    #[error("part before the @ is invalid: {0}")]
    InvalidLocalPart(LocalPartError),
    #[error("part after the @ is invalid: {0}")]
    InvalidDomain(DomainError),
}

/// What is wrong with the part before the `@`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LocalPartError {
    #[error("it is empty")]
    Empty,
    #[error("it is longer than {max} characters")]
    TooLong { max: usize },
    #[error("it contains the character {0:?}, which is not allowed")]
    InvalidCharacter(char),
    #[error("it starts or ends with a dot, or has two dots in a row")]
    MisplacedDot,
}

/// What is wrong with the part after the `@`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("it is empty")]
    Empty,
    #[error("it contains the character {0:?}, which is not allowed")]
    InvalidCharacter(char),
    #[error("it starts or ends with a dot, or has two dots in a row")]
    EmptyLabel,
    #[error("a part between dots is longer than {max} characters")]
    LabelTooLong { max: usize },
    #[error("a part between dots starts or ends with a hyphen")]
    HyphenAtLabelEdge,
    #[error("it has no dot, so it cannot be a mail domain")]
    MissingDot,
    #[error("its last part is all digits")]
    NumericTopLevelDomain,
}

/// A syntactically valid email address.
///
/// Accepted: a local part that is a dot-atom (letters, digits and
/// ``!#$%&'*+-/=?^_`{|}~``, dots only between them); then `@`; then a domain of at least
/// two dot-separated labels (1–63 letters, digits or hyphens, no hyphen at either end, the
/// last not all digits). At most 64 characters before the `@` and 254 in total, after
/// trimming surrounding whitespace. RFC 5322 also allows a quoted local part
/// (`"jan jansen"@…`) and an address literal (`jan@[192.0.2.1]`): the mail sender
/// refuses both, so an account with one would never get its mail.
///
/// The domain is lower-cased; the local part is kept as typed because mail servers
/// may treat it case-sensitively (RFC 5321).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Email {
    address: String,
    at: usize,
}

impl Email {
    /// Most characters accepted in a whole address (RFC 5321 path limit minus `<>`).
    pub const MAX_CHARS: usize = 254;
    /// Most characters accepted before the `@`.
    pub const MAX_LOCAL_CHARS: usize = 64;
    const MAX_LABEL_CHARS: usize = 63;

    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(EmailError::TooLong { max: Self::MAX_CHARS });
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        check_local_part(local).map_err(EmailError::InvalidLocalPart)?;
        let domain = normalize_domain(domain).map_err(EmailError::InvalidDomain)?;
        let address = format!("{local}@{domain}");
        // The ASCII form of an internationalized domain is longer than typed.
        if address.len() > Self::MAX_CHARS {
            return Err(EmailError::TooLong { max: Self::MAX_CHARS });
        }
        Ok(Email {
            address,
            at: local.len(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn into_inner(self) -> String {
        self.address
    }

    /// The part before the `@`, as typed.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The part after the `@`, lower-cased.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// A partly hidden form for desk staff search results, e.g. `jansen@example.nl` →
    /// `j***n@e***.nl`.
    ///
    /// The hidden characters become `***` whatever their number, so that the form does
    /// not tell the length. The local part keeps its first and last character when it
    /// has at least 4 characters, and only its first otherwise (`jan` → `j***`). Of the
    /// domain, the first label keeps only its first character and the other labels stay
    /// visible (`mail.example.nl` → `m***.example.nl`). A part of one character, whose
    /// first would be all of it, is hidden (`a@b.nl` → `*@*.nl`).
    pub fn masked(&self) -> String {
        let local = self.local_part();
        let local_keeps_last = local.chars().count() >= 4;
        let domain = self.domain();
        let (first_label, rest) = domain.split_once('.').unwrap_or((domain, ""));
        format!(
            "{}@{}.{rest}",
            mask(local, local_keeps_last),
            mask(first_label, false)
        )
    }
}

/// The first character, `***` for the rest but (if asked) the last, and
/// the last; a part of one character as `*`.
fn mask(part: &str, keep_last: bool) -> String {
    let mut chars = part.chars();
    match (chars.next(), chars.next_back()) {
        (Some(first), Some(last)) if keep_last => format!("{first}***{last}"),
        (Some(first), Some(_)) => format!("{first}***"),
        _ => "*".to_owned(),
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

fn check_local_part(local: &str) -> Result<(), LocalPartError> {
    if local.is_empty() {
        return Err(LocalPartError::Empty);
    }
    if local.chars().count() > Email::MAX_LOCAL_CHARS {
        return Err(LocalPartError::TooLong {
            max: Email::MAX_LOCAL_CHARS,
        });
    }
    for atom in local.split('.') {
        if atom.is_empty() {
            return Err(LocalPartError::MisplacedDot);
        }
        if let Some(bad) = atom.chars().find(|&c| !is_atext(c)) {
            return Err(LocalPartError::InvalidCharacter(bad));
        }
    }
    Ok(())
}

/// Returns the domain in its stored, lower-case ASCII form: an
/// internationalized name (`bücher.de`) as mail carries it
/// (`xn--bcher-kva.de`, IDNA), so that both spellings are one address.
fn normalize_domain(domain: &str) -> Result<String, DomainError> {
    if domain.is_empty() {
        return Err(DomainError::Empty);
    }
    let ascii;
    let domain = match domain.chars().find(|c| !c.is_ascii()) {
        None => domain,
        Some(first) => {
            ascii = idna::domain_to_ascii_strict(domain).map_err(|_| DomainError::InvalidCharacter(first))?;
            ascii.as_str()
        }
    };
    for label in domain.split('.') {
        check_label(label)?;
    }
    match domain.rsplit_once('.') {
        None => Err(DomainError::MissingDot),
        // An all-digit last label would make `1.2.3.4` look like a host name.
        Some((_, top)) if top.chars().all(|c| c.is_ascii_digit()) => Err(DomainError::NumericTopLevelDomain),
        Some(_) => Ok(domain.to_ascii_lowercase()),
    }
}

fn check_label(label: &str) -> Result<(), DomainError> {
    if label.is_empty() {
        return Err(DomainError::EmptyLabel);
    }
    if let Some(bad) = label.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '-')) {
        return Err(DomainError::InvalidCharacter(bad));
    }
    if label.len() > Email::MAX_LABEL_CHARS {
        return Err(DomainError::LabelTooLong {
            max: Email::MAX_LABEL_CHARS,
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(DomainError::HyphenAtLabelEdge);
    }
    Ok(())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl std::str::FromStr for Email {
    type Err = EmailError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn local_error(input: &str) -> LocalPartError {
        match Email::parse(input) {
            Err(EmailError::InvalidLocalPart(e)) => e,
            other => panic!("{input:?}: expected a local-part error, got {other:?}"),
        }
    }

    fn domain_error(input: &str) -> DomainError {
        match Email::parse(input) {
            Err(EmailError::InvalidDomain(e)) => e,
            other => panic!("{input:?}: expected a domain error, got {other:?}"),
        }
    }

    #[test]
    fn lower_cases_domain_only_and_trims() {
        let email = Email::parse("  Jan.Jansen@Example.NL \n").unwrap();
        assert_eq!(email.as_str(), "Jan.Jansen@example.nl");
        assert_eq!(email.local_part(), "Jan.Jansen");
        assert_eq!(email.domain(), "example.nl");
        assert_ne!(email, Email::parse("jan.jansen@example.nl").unwrap());
        assert_eq!(email, Email::parse("Jan.Jansen@EXAMPLE.nl").unwrap());
    }

    #[test]
    fn top_level_errors() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        assert_eq!(Email::parse("jan.example.nl"), Err(EmailError::MissingAt));
        let address = |last_label: usize| {
            let labels = ["b".repeat(63), "c".repeat(63), "d".repeat(last_label)];
            format!("{}@{}", "a".repeat(64), labels.join("."))
        };
        let at_limit = address(61);
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = address(62);
        assert_eq!(Email::parse(&over), Err(EmailError::TooLong { max: 254 }));
    }

    #[test]
    fn dot_atom_local_parts() {
        assert!(Email::parse("!#$%&'*+-/=?^_`{|}~@example.nl").is_ok());
        assert!(Email::parse("a.b.c@example.nl").is_ok());
        assert_eq!(local_error("@example.nl"), LocalPartError::Empty);
        assert_eq!(local_error(".jan@example.nl"), LocalPartError::MisplacedDot);
        assert_eq!(local_error("jan.@example.nl"), LocalPartError::MisplacedDot);
        assert_eq!(local_error("j..an@example.nl"), LocalPartError::MisplacedDot);
        assert_eq!(
            local_error("jan jansen@example.nl"),
            LocalPartError::InvalidCharacter(' ')
        );
        assert_eq!(
            local_error("jan(x)@example.nl"),
            LocalPartError::InvalidCharacter('(')
        );
        assert_eq!(
            local_error("jöns@example.nl"),
            LocalPartError::InvalidCharacter('ö')
        );
        assert!(Email::parse(&format!("{}@example.nl", "a".repeat(64))).is_ok());
        assert_eq!(
            local_error(&format!("{}@example.nl", "a".repeat(65))),
            LocalPartError::TooLong { max: 64 }
        );
    }

    #[test]
    fn quoted_local_parts_and_address_literals_are_refused() {
        // Valid RFC 5322, but the mail sender refuses them.
        assert_eq!(
            local_error(r#""Jan Jansen"@example.nl"#),
            LocalPartError::InvalidCharacter('"')
        );
        assert_eq!(
            local_error(r#""a@b"@example.nl"#),
            LocalPartError::InvalidCharacter('"')
        );
        assert_eq!(
            local_error(r#"""@example.nl"#),
            LocalPartError::InvalidCharacter('"')
        );
        assert_eq!(
            domain_error("jan@[192.168.0.1]"),
            DomainError::InvalidCharacter('[')
        );
        assert_eq!(
            domain_error("jan@[IPv6:2001:db8::1]"),
            DomainError::InvalidCharacter('[')
        );
    }

    #[test]
    fn domain_names() {
        assert!(Email::parse("a@x-1.example.co.uk").is_ok());
        assert_eq!(domain_error("jan@"), DomainError::Empty);
        assert_eq!(domain_error("jan@localhost"), DomainError::MissingDot);
        assert_eq!(domain_error("jan@.example.nl"), DomainError::EmptyLabel);
        assert_eq!(domain_error("jan@example.nl."), DomainError::EmptyLabel);
        assert_eq!(domain_error("jan@example..nl"), DomainError::EmptyLabel);
        assert_eq!(domain_error("jan@-example.nl"), DomainError::HyphenAtLabelEdge);
        assert_eq!(domain_error("jan@example-.nl"), DomainError::HyphenAtLabelEdge);
        assert_eq!(
            domain_error("jan@exa_mple.nl"),
            DomainError::InvalidCharacter('_')
        );
        assert_eq!(domain_error("jan@bü cher.de"), DomainError::InvalidCharacter('ü'));
        assert_eq!(domain_error("jan@1.2.3.4"), DomainError::NumericTopLevelDomain);
        assert!(Email::parse(&format!("a@{}.nl", "b".repeat(63))).is_ok());
        assert_eq!(
            domain_error(&format!("a@{}.nl", "b".repeat(64))),
            DomainError::LabelTooLong { max: 63 }
        );
    }

    #[test]
    fn internationalized_domains_are_kept_in_their_ascii_form() {
        let typed = Email::parse("Jan@Bücher.de").unwrap();
        assert_eq!(typed.as_str(), "Jan@xn--bcher-kva.de");
        assert_eq!(typed, Email::parse("Jan@xn--bcher-kva.de").unwrap());
        assert_eq!(typed, Email::parse("Jan@BÜCHER.DE").unwrap());
        assert_eq!(
            Email::parse("a@bibliothèque.fr").unwrap().domain(),
            "xn--bibliothque-59a.fr"
        );
        // Not a name IDNA can write: refused at its first non-ASCII character.
        assert_eq!(
            domain_error("jan@bücher\u{202e}.de"),
            DomainError::InvalidCharacter('ü')
        );
        // Longer once written in ASCII than the 254 a mail path holds.
        let long = format!("{}@{}.de", "a".repeat(64), vec!["ü".repeat(40); 4].join("."));
        assert!(long.chars().count() <= 254);
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong { max: 254 }));
    }

    #[test]
    fn masking() {
        let masked = |s: &str| Email::parse(s).unwrap().masked();
        assert_eq!(masked("jansen@example.nl"), "j***n@e***.nl");
        assert_eq!(masked("jans@example.nl"), "j***s@e***.nl");
        assert_eq!(masked("jan@example.nl"), "j***@e***.nl");
        assert_eq!(masked("j@x.nl"), "*@*.nl");
        assert_eq!(masked("jo@xy.nl"), "j***@x***.nl");
        assert_eq!(masked("jansen@mail.example.co.uk"), "j***n@m***.example.co.uk");
        // No length shows: a long address looks like a short one.
        assert_eq!(masked("annemarie.vandenberg@gmail.com"), "a***g@g***.com");
        assert_eq!(masked("abcg@gg.com"), "a***g@g***.com");
    }

    #[test]
    fn serde_uses_the_parser() {
        let email = Email::parse("Jan@Example.nl").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), r#""Jan@example.nl""#);
        assert_eq!(
            serde_json::from_str::<Email>(r#""Jan@EXAMPLE.NL""#).unwrap(),
            email
        );
        assert!(serde_json::from_str::<Email>(r#""jan""#).is_err());
    }

    const ATOM: &str = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}";
    const LABEL: &str = "[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?";

    fn valid_local() -> impl Strategy<Value = String> {
        prop::collection::vec(ATOM, 1..=4).prop_map(|atoms| atoms.join("."))
    }

    fn valid_domain() -> impl Strategy<Value = String> {
        (prop::collection::vec(LABEL, 1..=3), "[A-Za-z]{2,10}")
            .prop_map(|(labels, top)| format!("{}.{top}", labels.join(".")))
    }

    proptest! {
        #[test]
        fn valid_addresses_parse_with_only_the_domain_lower_cased(
            local in valid_local(),
            domain in valid_domain(),
        ) {
            let email = Email::parse(&format!(" {local}@{domain} ")).unwrap();
            prop_assert_eq!(email.local_part(), local.as_str());
            prop_assert_eq!(email.domain(), domain.to_ascii_lowercase());
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
        }

        #[test]
        fn masking_hides_without_moving_the_at(local in valid_local(), domain in valid_domain()) {
            let email = Email::parse(&format!("{local}@{domain}")).unwrap();
            let masked = email.masked();
            let (masked_local, masked_domain) = masked.split_once('@').unwrap();
            let (first_label, other_labels) = email.domain().split_once('.').unwrap();
            let (masked_first, masked_others) = masked_domain.split_once('.').unwrap();

            // The same form whatever the length: a head, three stars, maybe a tail.
            let expected_local = match local.len() {
                1 => "*".to_owned(),
                2 | 3 => format!("{}***", &local[..1]),
                n => format!("{}***{}", &local[..1], &local[n - 1..]),
            };
            prop_assert_eq!(masked_local, expected_local);
            let expected_first = match first_label.len() {
                1 => "*".to_owned(),
                _ => format!("{}***", &first_label[..1]),
            };
            prop_assert_eq!(masked_first, expected_first);
            prop_assert_eq!(masked_others, other_labels);
        }

        #[test]
        fn non_ascii_in_local_part_is_refused(
            head in "[a-z]{0,5}",
            bad in any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii() && !c.is_whitespace()),
            tail in "[a-z]{1,5}",
        ) {
            let input = format!("{head}{bad}{tail}@example.nl");
            prop_assert_eq!(
                Email::parse(&input),
                Err(EmailError::InvalidLocalPart(LocalPartError::InvalidCharacter(bad)))
            );
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,300}") {
            if let Ok(email) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
            }
        }
    }
}
