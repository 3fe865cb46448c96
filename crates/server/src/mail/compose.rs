//! Composing a mail: every `Mail` kind becomes a small content model (subject,
//! greeting, paragraphs, a list, an optional button, notes) in the member's
//! language, and one HTML and one plain-text template lay out any of them with
//! the parts every mail shares (help link, sign-off, footer). Every sentence
//! comes from `locales/{nl,en}/mail.ftl`.

use askama::Template;
use lettre::message::{
    Mailbox, MultiPart,
    header::{HeaderName, HeaderValue},
};
use time::Date;

use super::{Mail, RenameReason, UsernameChange};
use crate::{
    config::MailConfig,
    http::i18n::{Language, LinkedText},
    selfservice::FORGOT_PASSWORD_PATH,
};

/// A mail ready to send: the subject and the same content as text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a mail could not be turned into a message.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid sender address {address:?} (mail.sender): {source}")]
    Sender {
        address: String,
        source: lettre::address::AddressError,
    },
    /// The address itself is left out: it is a member's personal data.
    #[error("invalid recipient address: {0}")]
    Recipient(lettre::address::AddressError),
    #[error("could not build the message: {0}")]
    Build(#[from] lettre::error::Error),
}

/// The subject and the text of `mail` in `language`, as plain text and HTML.
/// `public_url` is the service's, for the links a mail names; they open
/// their pages in the mail's language.
pub fn render(mail: &Mail, language: Language, settings: &MailConfig, public_url: &str) -> ComposedMail {
    let forgot_password_url = language.asked_by_link(&format!("{public_url}{FORGOT_PASSWORD_PATH}"));
    let body = Body::of(mail, language, settings, &forgot_password_url);
    let frame = Frame::new(language, settings, forgot_password_url);
    let text = TextMail {
        body: &body,
        frame: &frame,
    };
    let html = HtmlMail {
        body: &body,
        frame: &frame,
    };
    ComposedMail {
        text: text.render().expect("the mail templates only write strings"),
        html: html.render().expect("the mail templates only write strings"),
        subject: body.subject,
    }
}

/// `mail` as a message from `settings.sender` to `to`: text first, then HTML.
pub fn message(
    mail: &Mail,
    language: Language,
    to: &str,
    (settings, public_url): (&MailConfig, &str),
    message_id: &str,
) -> Result<lettre::Message, ComposeError> {
    let from: Mailbox = settings.sender.parse().map_err(|source| ComposeError::Sender {
        address: settings.sender.clone(),
        source,
    })?;
    let to: Mailbox = to.parse().map_err(ComposeError::Recipient)?;
    let composed = render(mail, language, settings, public_url);
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(composed.subject)
        .date_now()
        .message_id(Some(message_id.to_owned()))
        // RFC 3834: tells auto-responders (out of office) not to reply.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Content-Language"),
            language.code().to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(composed.text, composed.html))?;
    Ok(message)
}

/// What one kind of mail says.
struct Body {
    subject: String,
    greeting: String,
    /// Before the list and the button.
    paragraphs: Vec<String>,
    /// Usernames, shown on lines of their own.
    list: Vec<String>,
    button: Option<Button>,
    /// After the button.
    notes: Vec<String>,
}

struct Button {
    label: String,
    url: String,
}

/// What every mail says around its body.
struct Frame<'a> {
    lang: &'static str,
    button_fallback: String,
    /// The help sentence, split around its link.
    help: LinkedText,
    /// Sentences that send the member to "Wachtwoord vergeten?" name this.
    forgot_password_url: String,
    closing: String,
    signature: &'a str,
    footer: String,
    logo_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/mail.html")]
struct HtmlMail<'a> {
    body: &'a Body,
    frame: &'a Frame<'a>,
}

#[derive(Template)]
#[template(path = "mail/mail.txt")]
struct TextMail<'a> {
    body: &'a Body,
    frame: &'a Frame<'a>,
}

impl Body {
    fn of(mail: &Mail, language: Language, settings: &MailConfig, forgot_password_url: &str) -> Self {
        let text = |key: &str| language.text(key);
        // A sentence that sends the member to "Wachtwoord vergeten?", with its address.
        let forgot = |key: &str| language.text_with(key, &[("forgot_url", forgot_password_url.into())]);
        let with =
            |key: &str, name: &'static str, value: &str| language.text_with(key, &[(name, value.into())]);
        let library = settings.library_name.as_str();
        let greet = |name: &str| {
            if name.trim().is_empty() {
                text("mail-greeting")
            } else {
                with("mail-greeting-name", "name", name)
            }
        };
        let confirm = |link: &str| {
            Some(Button {
                label: text("mail-button-confirm"),
                url: language.asked_by_link(link),
            })
        };
        match mail {
            Mail::AccountConfirmation { name, username, link } => Body {
                subject: text("mail-confirm-subject"),
                greeting: greet(name),
                paragraphs: vec![text("mail-confirm-intro")],
                list: Vec::new(),
                button: confirm(link),
                notes: vec![
                    text("mail-confirm-password"),
                    with("mail-confirm-username", "username", username),
                ],
            },
            Mail::MigrationAnnouncement { name, go_live } => {
                let date = format_date(*go_live, language);
                Body {
                    subject: with("mail-announce-subject", "library_name", library),
                    greeting: greet(name),
                    paragraphs: vec![
                        with("mail-announce-intro", "library_name", library),
                        with("mail-announce-date", "date", &date),
                        text("mail-announce-services"),
                        with("mail-announce-next", "date", &date),
                        text("mail-announce-nothing"),
                        text("mail-announce-spam"),
                    ],
                    list: Vec::new(),
                    button: None,
                    notes: Vec::new(),
                }
            }
            Mail::GoLiveUsername {
                name,
                username,
                change,
                merged,
                has_password,
            } => {
                let mut paragraphs = vec![with("mail-golive-intro", "library_name", library)];
                match change {
                    UsernameChange::Kept => paragraphs.push(match merged {
                        Some(merged) => with("mail-golive-kept-at", "library", &merged.kept_from),
                        None => text("mail-golive-kept"),
                    }),
                    UsernameChange::Replaced { old, reason } => {
                        paragraphs.push(match reason {
                            RenameReason::TakenByAnother => with("mail-golive-taken", "old", old),
                            RenameReason::NotAllowed => with("mail-golive-not-allowed", "old", old),
                            RenameReason::Missing => match merged {
                                Some(merged) => with("mail-golive-missing-at", "library", &merged.kept_from),
                                None => text("mail-golive-missing"),
                            },
                        });
                        paragraphs.push(text("mail-golive-new"));
                    }
                }
                // The old usernames of a merged account's other rows stop working: each is named.
                let mut notes: Vec<String> = merged
                    .iter()
                    .flat_map(|merged| &merged.dropped)
                    .map(|dropped| {
                        language.text_with(
                            "mail-golive-dropped",
                            &[
                                ("library", dropped.library.as_str().into()),
                                ("old", dropped.username.as_str().into()),
                            ],
                        )
                    })
                    .collect();
                notes.push(match merged {
                    Some(merged) if !*has_password && merged.other_passwords => language.text_with(
                        "mail-golive-password-missing-at",
                        &[
                            ("library", merged.kept_from.as_str().into()),
                            ("forgot_url", forgot_password_url.into()),
                        ],
                    ),
                    _ if !*has_password => forgot("mail-golive-password-missing"),
                    Some(merged) if merged.other_passwords => {
                        with("mail-golive-password-kept-at", "library", &merged.kept_from)
                    }
                    _ => text("mail-golive-password-kept"),
                });
                notes.push(text("mail-golive-change"));
                Body {
                    subject: with("mail-golive-subject", "library_name", library),
                    greeting: greet(name),
                    paragraphs,
                    list: vec![username.clone()],
                    button: None,
                    notes,
                }
            }
            Mail::ForgotPassword {
                username,
                link,
                valid_minutes,
            } => Body {
                subject: text("mail-forgot-password-subject"),
                greeting: text("mail-greeting"),
                paragraphs: vec![with("mail-forgot-password-intro", "username", username)],
                list: Vec::new(),
                button: Some(Button {
                    label: text("mail-forgot-password-button"),
                    url: language.asked_by_link(link),
                }),
                notes: vec![
                    language.text_with(
                        "mail-forgot-password-valid",
                        &[("minutes", (*valid_minutes).into())],
                    ),
                    text("mail-forgot-password-ignore"),
                ],
            },
            Mail::ForgotUsername { usernames } => {
                let count = [("count", usernames.len().into())];
                let mut notes = Vec::new();
                if usernames.len() > 1 {
                    notes.push(text("mail-forgot-username-family"));
                }
                notes.push(text("mail-forgot-username-case"));
                // A username holds no bracket: one opens the member's name.
                if usernames.iter().any(|line| line.contains('(')) {
                    notes.push(text("mail-forgot-username-names"));
                }
                notes.extend([forgot("mail-forgot-username-password"), text("mail-ignore")]);
                Body {
                    subject: language.text_with("mail-forgot-username-subject", &count),
                    greeting: text("mail-greeting"),
                    paragraphs: vec![language.text_with("mail-forgot-username-intro", &count)],
                    list: usernames.clone(),
                    button: None,
                    notes,
                }
            }
            Mail::EmailChangeVerification { username, link } => Body {
                subject: text("mail-email-verify-subject"),
                greeting: text("mail-greeting"),
                paragraphs: vec![with("mail-email-verify-intro", "username", username)],
                list: Vec::new(),
                button: confirm(link),
                notes: vec![text("mail-email-verify-ignore")],
            },
            Mail::EmailChangedNotice {
                username,
                new_email_masked,
            } => Body {
                subject: text("mail-email-changed-subject"),
                greeting: text("mail-greeting"),
                paragraphs: vec![language.text_with(
                    "mail-email-changed-intro",
                    &[
                        ("username", username.as_str().into()),
                        ("new_email", new_email_masked.as_str().into()),
                    ],
                )],
                list: Vec::new(),
                button: None,
                notes: vec![text("mail-done-yourself"), text("mail-not-you-library")],
            },
            Mail::AccountLinked {
                username,
                library_name,
            } => Body {
                subject: with("mail-linked-subject", "library_name", library_name),
                greeting: text("mail-greeting"),
                paragraphs: vec![
                    language.text_with(
                        "mail-linked-intro",
                        &[
                            ("username", username.as_str().into()),
                            ("library_name", library_name.as_str().into()),
                        ],
                    ),
                    text("mail-linked-same"),
                ],
                list: Vec::new(),
                button: None,
                notes: vec![text("mail-not-you-library")],
            },
            Mail::AccountUnlinked {
                username,
                library_name,
            } => Body {
                subject: with("mail-unlinked-subject", "library_name", library_name),
                greeting: text("mail-greeting"),
                paragraphs: vec![
                    language.text_with(
                        "mail-unlinked-intro",
                        &[
                            ("username", username.as_str().into()),
                            ("library_name", library_name.as_str().into()),
                        ],
                    ),
                    text("mail-unlinked-rest"),
                ],
                list: Vec::new(),
                button: None,
                notes: vec![text("mail-not-you-library")],
            },
            Mail::PasswordChanged { username } => Body {
                subject: text("mail-password-changed-subject"),
                greeting: text("mail-greeting"),
                paragraphs: vec![with("mail-password-changed-intro", "username", username)],
                list: Vec::new(),
                button: None,
                notes: vec![
                    text("mail-done-yourself"),
                    forgot("mail-password-changed-not-you"),
                ],
            },
            Mail::UsernameChanged { old, new } => Body {
                subject: text("mail-username-changed-subject"),
                greeting: text("mail-greeting"),
                paragraphs: vec![language.text_with(
                    "mail-username-changed-intro",
                    &[("old", old.as_str().into()), ("new", new.as_str().into())],
                )],
                list: Vec::new(),
                button: None,
                notes: vec![
                    text("mail-done-yourself"),
                    language.text_with(
                        "mail-username-changed-not-you",
                        &[
                            ("new", new.as_str().into()),
                            ("forgot_url", forgot_password_url.into()),
                        ],
                    ),
                ],
            },
            Mail::RecoveryEmailReset {
                username,
                library_name,
                new_email_masked,
            } => Body {
                subject: text("mail-recovery-reset-subject"),
                greeting: text("mail-greeting"),
                paragraphs: vec![
                    language.text_with(
                        "mail-recovery-reset-intro",
                        &[
                            ("library_name", library_name.as_str().into()),
                            ("username", username.as_str().into()),
                        ],
                    ),
                    with("mail-recovery-reset-address", "new_email", new_email_masked),
                    text("mail-recovery-reset-use"),
                ],
                list: Vec::new(),
                button: None,
                notes: vec![with(
                    "mail-recovery-reset-not-right",
                    "library_name",
                    library_name,
                )],
            },
        }
    }
}

impl<'a> Frame<'a> {
    fn new(language: Language, settings: &'a MailConfig, forgot_password_url: String) -> Self {
        let help_url = settings.help_url.as_str();
        let help = language.text_with("mail-help", &[("help_url", help_url.into())]);
        Frame {
            lang: language.code(),
            button_fallback: language.text("mail-button-fallback"),
            help: LinkedText::around(help, help_url),
            forgot_password_url,
            closing: language.text("mail-closing"),
            signature: &settings.library_name,
            footer: language.text("mail-footer"),
            logo_url: settings.logo_url.as_deref().filter(|url| !url.is_empty()),
        }
    }

    /// A note of the body, with the "Wachtwoord vergeten?" address in it as a link.
    fn linked(&self, note: &str) -> LinkedText {
        LinkedText::around(note.to_owned(), &self.forgot_password_url)
    }
}

/// "19 juni 2024", "19 June 2024".
fn format_date(date: Date, language: Language) -> String {
    language.text_with(
        "mail-date",
        &[
            ("day", date.day().into()),
            ("month", u8::from(date.month()).into()),
            ("year", date.year().into()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use si_store::legacy_import::{DroppedUsername, MergedLogins};
    use time::macros::date;

    use super::*;

    #[test]
    fn every_address_the_service_accepts_is_one_the_mail_sender_takes() {
        let accepted = [
            "jan@example.nl",
            "Jan.de.Vries+bieb@mail.example.co.uk",
            "!#$%&'*+-/=?^_`{|}~@example.nl",
            "a@x-1.example.nl",
            &format!("{}@{}.nl", "a".repeat(64), "b".repeat(63)),
        ];
        for address in accepted {
            let email = si_domain::Email::parse(address).expect("the service accepts it");
            assert!(email.as_str().parse::<Mailbox>().is_ok(), "{address}");
        }
        // What RFC 5322 allows but the sender refuses, the service refuses too.
        for refused in [
            r#""jan jansen"@example.nl"#,
            r#"""@example.nl"#,
            "j@[127.0.0.1]",
            "j@[IPv6:::1]",
        ] {
            assert!(refused.parse::<Mailbox>().is_err(), "{refused}");
            assert!(si_domain::Email::parse(refused).is_err(), "{refused}");
        }
    }

    const PUBLIC_URL: &str = "https://login.example";
    const LINK: &str = "https://login.example/confirm?token=abc123";
    /// The link as a Dutch mail shows it: its page opens in Dutch.
    const DUTCH_LINK: &str = "https://login.example/confirm?token=abc123&lang=nl";
    const DUTCH_LINK_IN_HTML: &str = "https://login.example/confirm?token=abc123&#38;lang=nl";

    fn settings() -> MailConfig {
        MailConfig::default()
    }

    fn confirmation(name: &str) -> Mail {
        Mail::AccountConfirmation {
            name: name.to_owned(),
            username: "21234567890123".to_owned(),
            link: LINK.to_owned(),
        }
    }

    fn go_live(change: UsernameChange, has_password: bool) -> Mail {
        Mail::GoLiveUsername {
            name: "Sanne".to_owned(),
            username: "sanne_2012".to_owned(),
            change,
            merged: None,
            has_password,
        }
    }

    /// Sanne had cards at Assen (kept) and Emmen, with another username there.
    fn go_live_merged(other_passwords: bool) -> Mail {
        let mut mail = go_live(UsernameChange::Kept, true);
        if let Mail::GoLiveUsername { merged, .. } = &mut mail {
            *merged = Some(MergedLogins {
                kept_from: "Bibliotheek Assen".to_owned(),
                dropped: vec![DroppedUsername {
                    library: "Bibliotheek Emmen".to_owned(),
                    username: "sanne.dv".to_owned(),
                }],
                other_passwords,
            });
        }
        mail
    }

    fn replaced(reason: RenameReason) -> UsernameChange {
        UsernameChange::Replaced {
            old: "sanne".to_owned(),
            reason,
        }
    }

    /// Every kind of mail, with every go-live variant.
    fn samples() -> Vec<Mail> {
        vec![
            confirmation("Anna de Vries"),
            Mail::MigrationAnnouncement {
                name: "Anna de Vries".to_owned(),
                go_live: date!(2024 - 06 - 19),
            },
            go_live(UsernameChange::Kept, true),
            go_live(replaced(RenameReason::TakenByAnother), true),
            go_live(replaced(RenameReason::NotAllowed), false),
            go_live(replaced(RenameReason::Missing), false),
            Mail::ForgotPassword {
                username: "anna88".to_owned(),
                link: LINK.to_owned(),
                valid_minutes: 60,
            },
            Mail::ForgotUsername {
                usernames: vec![
                    "mama_jansen (Els Jansen)".into(),
                    "Tim2015 (Tim Jansen)".into(),
                    "lotte.j".into(),
                ],
            },
            Mail::EmailChangeVerification {
                username: "anna88".to_owned(),
                link: LINK.to_owned(),
            },
            Mail::EmailChangedNotice {
                username: "anna88".to_owned(),
                new_email_masked: "a***@example.nl".to_owned(),
            },
            Mail::AccountLinked {
                username: "anna88".to_owned(),
                library_name: "Bibliotheek Assen".to_owned(),
            },
            Mail::PasswordChanged {
                username: "anna88".to_owned(),
            },
            Mail::RecoveryEmailReset {
                username: "anna88".to_owned(),
                library_name: "Bibliotheek Assen".to_owned(),
                new_email_masked: "a***@example.nl".to_owned(),
            },
            Mail::UsernameChanged {
                old: "anna88".to_owned(),
                new: "Anna.deBoer".to_owned(),
            },
            Mail::AccountUnlinked {
                username: "anna88".to_owned(),
                library_name: "Bibliotheek Assen".to_owned(),
            },
            go_live_merged(true),
        ]
    }

    /// What askama writes for `text` in HTML.
    fn escaped(text: &str) -> String {
        text.replace('&', "&#38;")
            .replace('<', "&#60;")
            .replace('>', "&#62;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    }

    /// Renders `mail` and checks that each phrase is in the text and the HTML.
    fn assert_says(mail: &Mail, language: Language, phrases: &[&str]) -> ComposedMail {
        let composed = render(mail, language, &settings(), PUBLIC_URL);
        for phrase in phrases {
            assert!(
                composed.text.contains(phrase),
                "{language:?} text lacks {phrase:?}:\n{}",
                composed.text
            );
            assert!(
                composed.html.contains(&escaped(phrase)),
                "{language:?} HTML lacks {phrase:?}:\n{}",
                composed.html
            );
        }
        composed
    }

    #[test]
    fn the_samples_cover_every_kind() {
        let kinds: BTreeSet<_> = samples().iter().map(Mail::template).collect();
        assert_eq!(kinds.len(), 12);
    }

    #[test]
    fn account_confirmation_follows_the_guide() {
        let mail = confirmation("Anna de Vries");
        let nl = assert_says(
            &mail,
            Language::Nl,
            &[
                "Beste Anna de Vries,",
                "Je inlogaccount is bijna klaar voor gebruik. Bevestig je e-mailadres door op de knop hieronder te klikken.",
                "Bevestigen",
                "Je gebruikersnaam is 21234567890123.",
                "nummer van je bibliotheekpas",
                "Met vriendelijke groet,",
                "de Bibliotheek",
            ],
        );
        assert_eq!(nl.subject, "Bevestig je inlogaccount");
        assert!(
            nl.text
                .contains("Kijk voor meer informatie op https://www.bibliotheek.nl/hulp-bij-inloggen.html\n")
        );
        assert!(nl.html.contains(
            r#"Kijk voor meer informatie op <a href="https://www.bibliotheek.nl/hulp-bij-inloggen.html""#
        ));
        assert!(nl.text.lines().any(|line| line == DUTCH_LINK), "{}", nl.text);
        assert!(nl.html.contains(&format!(r#"<a href="{DUTCH_LINK_IN_HTML}""#)));
        assert!(nl.html.contains(&format!(">{DUTCH_LINK_IN_HTML}</a>")));

        let en = assert_says(
            &mail,
            Language::En,
            &[
                "Hello Anna de Vries,",
                "Your login account is almost ready to use. Confirm your e-mail address by clicking the button below.",
                "Confirm",
                "Your username is 21234567890123.",
                "Kind regards,",
            ],
        );
        assert_eq!(en.subject, "Confirm your login account");
        assert!(
            en.text
                .contains("For more information, go to https://www.bibliotheek.nl/hulp-bij-inloggen.html\n")
        );
        assert!(en.text.lines().any(|line| line == format!("{LINK}&lang=en")));
        assert!(!en.text.contains("Je inlogaccount"));
    }

    #[test]
    fn a_mail_without_a_name_greets_without_one() {
        let composed = assert_says(&confirmation(" "), Language::Nl, &["Hallo,"]);
        assert!(!composed.text.contains("Beste"));
    }

    #[test]
    fn migration_announcement_gives_the_date() {
        let mail = &samples()[1];
        let nl = assert_says(
            mail,
            Language::Nl,
            &[
                "Binnenkort kun je op één manier, met één account inloggen voor alle diensten van de Bibliotheek.",
                "Dat kan vanaf 19 juni 2024.",
                "Op 19 juni 2024 krijg je nog een mail.",
                "spam",
            ],
        );
        assert_eq!(nl.subject, "Binnenkort één account voor de Bibliotheek");
        assert_says(
            mail,
            Language::En,
            &[
                "Soon you can log in to all services of de Bibliotheek in one way, with one account.",
                "This starts on 19 June 2024.",
            ],
        );
    }

    #[test]
    fn dates_are_written_out_per_language() {
        assert_eq!(format_date(date!(2025 - 03 - 01), Language::Nl), "1 maart 2025");
        assert_eq!(
            format_date(date!(2024 - 12 - 31), Language::Nl),
            "31 december 2024"
        );
        assert_eq!(format_date(date!(2025 - 03 - 01), Language::En), "1 March 2025");
        assert_eq!(format_date(date!(2024 - 01 - 09), Language::En), "9 January 2024");
    }

    #[test]
    fn go_live_with_the_old_username_and_password() {
        let mail = go_live(UsernameChange::Kept, true);
        let nl = assert_says(
            &mail,
            Language::Nl,
            &[
                "Beste Sanne,",
                "Je gebruikersnaam blijft hetzelfde als voor Mijn Menu:",
                "Je wachtwoord blijft hetzelfde als voor Mijn Menu.",
                "zelf wijzigen",
            ],
        );
        assert!(nl.text.contains("\n- sanne_2012\n"), "{}", nl.text);
        assert!(nl.html.contains(">sanne_2012</li>"));
        assert!(!nl.text.contains("nieuwe gebruikersnaam"));
        assert_says(
            &mail,
            Language::En,
            &[
                "Your username stays the same as for Mijn Menu:",
                "Your password stays the same as for Mijn Menu.",
                "sanne_2012",
            ],
        );
    }

    #[test]
    fn go_live_of_a_merged_account_names_the_login_it_keeps_and_those_that_stop_working() {
        let nl = assert_says(
            &go_live_merged(true),
            Language::Nl,
            &[
                "Je gebruikersnaam blijft hetzelfde als voor Mijn Menu van Bibliotheek Assen:",
                "Voor Mijn Menu van Bibliotheek Emmen had je de gebruikersnaam sanne.dv. Die werkt vanaf nu niet meer",
                "Je wachtwoord is het wachtwoord dat je had voor Mijn Menu van Bibliotheek Assen.",
            ],
        );
        let username = nl.text.find("\n- sanne_2012\n").expect("the username in a list");
        assert!(
            nl.text.find("sanne.dv").is_some_and(|dropped| dropped > username),
            "below it: {}",
            nl.text
        );
        assert!(!nl.text.contains("Je wachtwoord blijft hetzelfde"));
        assert_says(
            &go_live_merged(true),
            Language::En,
            &[
                "Your username stays the same as for Mijn Menu of Bibliotheek Assen:",
                "For Mijn Menu of Bibliotheek Emmen you had the username sanne.dv. It no longer works",
                "Your password is the one you had for Mijn Menu of Bibliotheek Assen.",
            ],
        );
        // No other password: the one there was stays, as for any member.
        let nl = assert_says(
            &go_live_merged(false),
            Language::Nl,
            &["sanne.dv", "Je wachtwoord blijft hetzelfde als voor Mijn Menu."],
        );
        assert!(!nl.text.contains("Je wachtwoord is het wachtwoord"));

        // The row kept had neither a username nor a password; the other had both.
        let mut neither = go_live_merged(true);
        if let Mail::GoLiveUsername {
            change, has_password, ..
        } = &mut neither
        {
            *change = replaced(RenameReason::Missing);
            *has_password = false;
        }
        let nl = assert_says(
            &neither,
            Language::Nl,
            &[
                "Je had nog geen gebruikersnaam voor Mijn Menu van Bibliotheek Assen.",
                "Voor Mijn Menu van Bibliotheek Emmen had je de gebruikersnaam sanne.dv.",
                "Voor Mijn Menu van Bibliotheek Assen had je nog geen wachtwoord",
            ],
        );
        assert!(!nl.text.contains("Je hebt nog geen wachtwoord"), "{}", nl.text);
        assert_says(
            &neither,
            Language::En,
            &[
                "You did not have a username for Mijn Menu of Bibliotheek Assen yet.",
                "For Mijn Menu of Bibliotheek Assen you did not have a password yet",
            ],
        );
    }

    #[test]
    fn go_live_with_a_new_username_says_why() {
        let cases = [
            (
                RenameReason::TakenByAnother,
                "Iemand anders gebruikt de gebruikersnaam sanne al.",
                "Someone else already uses the username sanne.",
            ),
            (
                RenameReason::NotAllowed,
                "Je oude gebruikersnaam sanne past niet bij de nieuwe regels",
                "Your old username sanne does not fit the new rules",
            ),
            (
                RenameReason::Missing,
                "Je had nog geen gebruikersnaam voor Mijn Menu.",
                "You did not have a username for Mijn Menu yet.",
            ),
        ];
        for (reason, nl, en) in cases {
            let mail = go_live(replaced(reason), true);
            assert_says(
                &mail,
                Language::Nl,
                &[
                    nl,
                    "Daarom heb je een nieuwe gebruikersnaam gekregen:",
                    "sanne_2012",
                ],
            );
            assert_says(
                &mail,
                Language::En,
                &[en, "So you have been given a new username:", "sanne_2012"],
            );
        }
    }

    #[test]
    fn go_live_without_a_password_points_to_forgot_password() {
        let mail = go_live(UsernameChange::Kept, false);
        let nl = assert_says(
            &mail,
            Language::Nl,
            &["Je hebt nog geen wachtwoord.", "“Wachtwoord vergeten?”:"],
        );
        assert!(!nl.text.contains("Je wachtwoord blijft hetzelfde"));
        assert_says(
            &mail,
            Language::En,
            &["You do not have a password yet.", "“Forgot your password?”"],
        );
    }

    #[test]
    fn forgot_password_gives_the_link_and_how_long_it_works() {
        let mail = &samples()[6];
        let nl = assert_says(
            mail,
            Language::Nl,
            &[
                "nieuw wachtwoord voor anna88",
                "Nieuw wachtwoord kiezen",
                "Deze link werkt 60 minuten.",
                // True also for a migrated account that never had a password here.
                "Heb je dit niet zelf gevraagd? Dan kun je deze mail negeren: er verandert dan niets aan je inlogaccount.",
            ],
        );
        assert!(nl.text.lines().any(|line| line == DUTCH_LINK));
        assert!(nl.html.contains(DUTCH_LINK_IN_HTML));
        assert_says(
            mail,
            Language::En,
            &[
                "This link works for 60 minutes.",
                "Didn't ask for this? Then you can ignore this e-mail: nothing about your login account changes.",
            ],
        );
        let one_minute = Mail::ForgotPassword {
            username: "anna88".to_owned(),
            link: LINK.to_owned(),
            valid_minutes: 1,
        };
        assert_says(&one_minute, Language::Nl, &["Deze link werkt 1 minuut."]);
        assert_says(&one_minute, Language::En, &["This link works for 1 minute."]);
    }

    #[test]
    fn forgot_username_lists_every_username_on_the_address() {
        let mail = &samples()[7];
        let nl = assert_says(
            mail,
            Language::Nl,
            &[
                "Bij dit e-mailadres horen deze 3 gebruikersnamen:",
                "hetzelfde e-mailadres",
                "hoofdletters",
            ],
        );
        assert_eq!(nl.subject, "Je gebruikersnamen");
        for line in ["mama_jansen (Els Jansen)", "Tim2015 (Tim Jansen)", "lotte.j"] {
            assert!(nl.text.contains(&format!("\n- {line}\n")), "{}", nl.text);
            assert!(nl.html.contains(&format!(">{line}</li>")));
        }
        assert_says(
            mail,
            Language::En,
            &[
                "These 3 usernames belong to this e-mail address:",
                "share an e-mail address",
                "Tim2015 (Tim Jansen)",
                "The name between brackets is not part of the username",
            ],
        );

        let single = Mail::ForgotUsername {
            usernames: vec!["Tim2015".to_owned()],
        };
        let nl = assert_says(
            &single,
            Language::Nl,
            &["Bij dit e-mailadres hoort deze gebruikersnaam:", "Tim2015"],
        );
        assert_eq!(nl.subject, "Je gebruikersnaam");
        assert!(!nl.text.contains("gezin"));
        assert!(!nl.text.contains("haakjes"), "no name, nothing to explain");
    }

    #[test]
    fn email_change_verification_has_a_confirm_button() {
        let mail = &samples()[8];
        let nl = assert_says(
            mail,
            Language::Nl,
            &[
                "Dit e-mailadres wordt het herstel-e-mailadres van je account anna88 zodra je het bevestigt.",
                // Asked for by the member, or for them at the desk.
                "Heb je dit niet zelf gevraagd, ook niet bij de bibliotheek?",
                "Bevestigen",
            ],
        );
        assert_eq!(nl.subject, "Bevestig je nieuwe e-mailadres");
        assert!(nl.text.lines().any(|line| line == DUTCH_LINK));
        assert!(nl.html.contains(DUTCH_LINK_IN_HTML));
        assert_says(
            mail,
            Language::En,
            &[
                "This e-mail address becomes the recovery address of your account anna88 once you confirm it.",
                "Didn't ask for this, yourself or at the library?",
                "Confirm",
            ],
        );
    }

    #[test]
    fn email_changed_notice_names_the_masked_new_address() {
        let mail = &samples()[9];
        assert_says(
            mail,
            Language::Nl,
            &[
                "Het e-mailadres van je account anna88 wordt gewijzigd in a***@example.nl.",
                "Was jij dit niet? Neem dan contact op met je bibliotheek.",
            ],
        );
        assert_says(
            mail,
            Language::En,
            &[
                "The e-mail address of your account anna88 is being changed to a***@example.nl.",
                "Was this not you? Then please contact your library.",
            ],
        );
    }

    #[test]
    fn account_linked_names_the_library() {
        let mail = &samples()[10];
        let nl = assert_says(
            mail,
            Language::Nl,
            &["Je inschrijving bij Bibliotheek Assen is gekoppeld aan je account anna88."],
        );
        assert_eq!(nl.subject, "Je account is gekoppeld aan Bibliotheek Assen");
        assert_says(
            mail,
            Language::En,
            &["Your registration at Bibliotheek Assen has been linked to your account anna88."],
        );
    }

    #[test]
    fn account_unlinked_names_the_library_and_what_stays() {
        let mail = &samples()[14];
        let nl = assert_says(
            mail,
            Language::Nl,
            &[
                "Bibliotheek Assen heeft een inschrijving losgekoppeld van je account anna88.",
                "je gebruikersnaam en je wachtwoord blijven zoals ze waren",
                "Was jij dit niet? Neem dan contact op met je bibliotheek.",
            ],
        );
        assert_eq!(nl.subject, "Je account is losgekoppeld van Bibliotheek Assen");
        assert_says(
            mail,
            Language::En,
            &["Bibliotheek Assen has unlinked a registration from your account anna88."],
        );
    }

    #[test]
    fn password_changed_points_to_forgot_password() {
        let mail = &samples()[11];
        assert_says(
            mail,
            Language::Nl,
            &[
                "Het wachtwoord van je account anna88 is gewijzigd.",
                "Was jij dit niet? Kies dan meteen een nieuw wachtwoord met “Wachtwoord vergeten?”",
            ],
        );
        assert_says(
            mail,
            Language::En,
            &[
                "The password of your account anna88 has been changed.",
                "“Forgot your password?”",
            ],
        );
    }

    #[test]
    fn a_changed_username_is_told_with_the_way_back_if_it_was_not_the_member() {
        let mail = &samples()[13];
        assert_says(
            mail,
            Language::Nl,
            &[
                "De gebruikersnaam van je account is gewijzigd van anna88 in Anna.deBoer.",
                "met je gebruikersnaam Anna.deBoer",
            ],
        );
        assert_says(
            mail,
            Language::En,
            &[
                "has been changed from anna88 to Anna.deBoer.",
                "with your username Anna.deBoer",
            ],
        );
    }

    #[test]
    fn recovery_email_reset_notice_says_the_change_waits_for_the_link() {
        let mail = &samples()[12];
        assert_says(
            mail,
            Language::Nl,
            &[
                "Bibliotheek Assen wil het e-mailadres van je account anna88 wijzigen",
                "Dat adres is a***@example.nl. Het verandert pas als de link",
                "Tot dan blijft dit adres het e-mailadres van je account.",
                "Neem dan contact op met Bibliotheek Assen.",
            ],
        );
        assert_says(
            mail,
            Language::En,
            &[
                "Bibliotheek Assen wants to change the e-mail address of your account anna88",
                "That address is a***@example.nl. It changes only once the link",
            ],
        );
    }

    #[test]
    fn every_mail_is_complete_in_both_languages() {
        let settings = settings();
        for mail in samples() {
            for language in Language::ALL {
                let composed = render(&mail, language, &settings, PUBLIC_URL);
                let kind = mail.template();
                assert!(!composed.subject.trim().is_empty(), "{kind} {language:?}");
                for (part, output) in [
                    ("subject", &composed.subject),
                    ("text", &composed.text),
                    ("html", &composed.html),
                ] {
                    for leftover in ["{", "}", "$", "Unknown localization", "mail-"] {
                        assert!(
                            !output.contains(leftover),
                            "{kind} {language:?} {part} contains {leftover:?}:\n{output}"
                        );
                    }
                }
                for part in [&composed.text, &composed.html] {
                    assert!(part.contains(&settings.help_url), "{kind} {language:?}");
                    assert!(part.contains("de Bibliotheek"), "{kind} {language:?}");
                }
                assert!(
                    composed
                        .html
                        .contains(&format!(r#"<a href="{}""#, settings.help_url)),
                    "{kind} {language:?}"
                );
                assert!(
                    composed
                        .html
                        .contains(&format!(r#"<html lang="{}">"#, language.code()))
                );
                assert!(
                    composed
                        .html
                        .contains(&format!("<title>{}</title>", escaped(&composed.subject)))
                );
                assert!(!composed.html.contains("<table"));
                assert!(!composed.html.contains("<style"));
                assert!(!composed.html.contains("<img"), "no logo is configured");
                assert!(!composed.text.contains('<'), "{kind} {language:?}");
            }
        }
    }

    /// A mail that sends the member to "Wachtwoord vergeten?" links the page:
    /// for a member migrated without a password it is the only way in.
    #[test]
    fn a_mail_that_names_forgot_password_links_it() {
        let mut linking = Vec::new();
        for mail in samples() {
            for language in Language::ALL {
                let page = format!("{PUBLIC_URL}/forgot-password?lang={}", language.code());
                let composed = render(&mail, language, &settings(), PUBLIC_URL);
                let names_it = ["Wachtwoord vergeten?", "Forgot your password?"]
                    .iter()
                    .any(|name| composed.text.contains(name));
                if names_it {
                    assert!(
                        composed.text.contains(&page),
                        "{}:\n{}",
                        mail.template(),
                        composed.text
                    );
                    assert!(
                        composed.html.contains(&format!(r#"<a href="{page}""#)),
                        "{}:\n{}",
                        mail.template(),
                        composed.html
                    );
                    linking.push(mail.template());
                }
            }
        }
        linking.dedup();
        assert_eq!(
            linking,
            [
                "go_live_username",
                "forgot_username",
                "password_changed",
                "username_changed"
            ]
        );
    }

    #[test]
    fn the_languages_differ() {
        for mail in samples() {
            let nl = render(&mail, Language::Nl, &settings(), PUBLIC_URL);
            let en = render(&mail, Language::En, &settings(), PUBLIC_URL);
            assert_ne!(nl.subject, en.subject, "{}", mail.template());
            assert_ne!(nl.text, en.text, "{}", mail.template());
        }
    }

    #[test]
    fn hostile_names_and_links_are_escaped_in_html() {
        let mail = Mail::AccountConfirmation {
            name: "<script>alert(1)</script> & Zn".to_owned(),
            username: "a\"b".to_owned(),
            link: r#"https://login.example/c?t=1&x="><script>"#.to_owned(),
        };
        let composed = render(&mail, Language::Nl, &settings(), PUBLIC_URL);
        assert!(!composed.html.contains("<script>"), "{}", composed.html);
        assert!(
            composed
                .html
                .contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; Zn")
        );
        assert!(
            composed.html.contains(
                r#"href="https://login.example/c?t=1&#38;x=&#34;&#62;&#60;script&#62;&#38;lang=nl""#
            )
        );
        assert!(composed.text.contains("Beste <script>alert(1)</script> & Zn,"));
        assert!(composed.text.contains("Je gebruikersnaam is a\"b."));
    }

    #[test]
    fn the_logo_appears_only_when_configured() {
        let settings = MailConfig {
            logo_url: Some("https://cdn.example/logo.png?v=1&w=200".to_owned()),
            library_name: "Bibliotheek <Drenthe>".to_owned(),
            ..MailConfig::default()
        };
        let composed = render(&samples()[0], Language::Nl, &settings, PUBLIC_URL);
        assert!(composed.html.contains(
            r#"<img src="https://cdn.example/logo.png?v=1&#38;w=200" alt="Bibliotheek &#60;Drenthe&#62;""#
        ));
        assert!(!composed.text.contains("logo.png"));
    }

    #[test]
    fn message_has_the_headers_and_both_parts() {
        let message = message(
            &samples()[0],
            Language::Nl,
            "Anna de Vries <anna@example.nl>",
            (&settings(), PUBLIC_URL),
            "<0190a1b2-test@bibliotheek.example>",
        )
        .expect("message");
        let formatted = String::from_utf8(message.formatted()).expect("ASCII message");
        for header in [
            "From: \"de Bibliotheek\" <noreply@bibliotheek.example>\r\n",
            "To: \"Anna de Vries\" <anna@example.nl>\r\n",
            "Message-ID: <0190a1b2-test@bibliotheek.example>\r\n",
            "\r\nDate: ",
            "Auto-Submitted: auto-generated\r\n",
            "Content-Language: nl\r\n",
            "Subject: Bevestig je inlogaccount\r\n",
            "Content-Type: multipart/alternative;",
        ] {
            assert!(formatted.contains(header), "{header:?} missing:\n{formatted}");
        }
        let text = formatted
            .find("Content-Type: text/plain; charset=utf-8")
            .expect("text part");
        let html = formatted
            .find("Content-Type: text/html; charset=utf-8")
            .expect("HTML part");
        assert!(text < html, "the text part comes first");
    }

    #[test]
    fn bad_addresses_are_compose_errors() {
        let bad_sender = MailConfig {
            sender: "de Bibliotheek <not an address>".to_owned(),
            ..MailConfig::default()
        };
        let result = message(
            &samples()[0],
            Language::Nl,
            "anna@example.nl",
            (&bad_sender, PUBLIC_URL),
            "<a@b>",
        );
        assert!(matches!(result, Err(ComposeError::Sender { .. })), "{result:?}");
        let result = message(
            &samples()[0],
            Language::Nl,
            "anna.example.nl",
            (&settings(), PUBLIC_URL),
            "<a@b>",
        );
        assert!(matches!(result, Err(ComposeError::Recipient(_))), "{result:?}");
    }
}
