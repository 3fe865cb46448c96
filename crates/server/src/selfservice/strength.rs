//! Whether a new password is easy to guess (zxcvbn score under 3, the
//! username, card numbers and common Dutch words counted as known words),
//! and the checklist's last line that asks it while the member types, so
//! that a password whose five rules are all ticked is not refused as common
//! only after it is sent. The live answer judges the password alone; the
//! username and card numbers count when it is set.
//!
//! zxcvbn's time grows steeply with the length it judges (about 0.6 s of CPU
//! for 100 characters full of digits and signs it reads as letters), so it
//! judges the first [`JUDGED_CHARS`], one check at a time, off the request
//! threads; the live question waits a moment for its turn, then is answered
//! "busy".

use std::{sync::Arc, time::Duration};

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Json, Response},
};
use serde::{Deserialize, Serialize};
use si_domain::PasswordPolicy;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::dutch_words;
use crate::{
    app::AppState,
    http::{
        error::{BUSY_RETRY_AFTER, Problem},
        i18n::Language,
    },
};

pub const PATH: &str = "/password/guessable";

/// How much of a password is judged. A password whose first 32 characters
/// are hard to guess is hard to guess; one whose first 32 are easy is made
/// like the common ones whatever follows.
const JUDGED_CHARS: usize = 32;

/// The lowest zxcvbn score (0–4) a new password may have.
const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Three;

/// One strength check at a time on a node.
#[derive(Clone)]
pub struct StrengthChecks(Arc<Semaphore>);

impl Default for StrengthChecks {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }
}

/// How long the live question waits for the check before it.
const LIVE_WAIT: Duration = Duration::from_secs(1);

/// Whether the check of a password set now found it easy to guess, in the
/// form it is checked in; `identifiers` (the username, card numbers) count
/// as known words. Waits for the check before it.
pub(super) async fn easy_to_guess(state: &AppState, as_checked: &str, identifiers: &[&str]) -> bool {
    let turn = Arc::clone(&state.strength_checks.0).acquire_owned().await.ok();
    judge_off_thread(turn, as_checked, identifiers).await
}

/// Judges on a blocking thread, holding `turn` until the judging ends: a
/// request given up meanwhile does not free the turn while zxcvbn runs.
async fn judge_off_thread(
    turn: Option<OwnedSemaphorePermit>,
    as_checked: &str,
    identifiers: &[&str],
) -> bool {
    let judged = judged_part(as_checked);
    let known: Vec<String> = identifiers.iter().map(|id| (*id).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let easy = judge(&judged, &known);
        drop(turn);
        easy
    })
    .await
    // A check that panicked judged nothing: the password is refused.
    .unwrap_or(true)
}

fn judged_part(as_checked: &str) -> String {
    as_checked.chars().take(JUDGED_CHARS).collect()
}

fn judge(judged: &str, identifiers: &[String]) -> bool {
    let known: Vec<&str> = identifiers
        .iter()
        .map(String::as_str)
        .chain(dutch_words::WORDS.iter().copied())
        .collect();
    zxcvbn::zxcvbn(judged, &known).score() < MIN_STRENGTH
}

#[derive(Deserialize)]
struct Candidate {
    password: String,
}

#[derive(Serialize)]
struct Judgement {
    easy_to_guess: bool,
    /// It holds a character that cannot be typed, which refuses it on
    /// submit whatever its strength.
    untypable: bool,
}

/// `POST` with the form field `password`:
/// `{"easy_to_guess": true|false, "untypable": true|false}`, or 503 when
/// the checks before it take longer than [`LIVE_WAIT`]. Nothing is stored
/// or logged; the answer is not cached.
pub async fn judge_typed(
    State(state): State<AppState>,
    language: Language,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return unreadable(language, rejection.status()),
    };
    let candidate = match serde_urlencoded::from_bytes::<Candidate>(&body) {
        Ok(candidate) if candidate.password.len() <= PasswordPolicy::MAX_BYTES => candidate,
        Ok(_) => return unreadable(language, StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => return unreadable(language, StatusCode::BAD_REQUEST),
    };
    let waited = tokio::time::timeout(LIVE_WAIT, Arc::clone(&state.strength_checks.0).acquire_owned()).await;
    let Ok(Ok(turn)) = waited else {
        let mut busy = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            language.text("password-check-busy"),
        )
        .into_response();
        busy.headers_mut().insert(header::RETRY_AFTER, BUSY_RETRY_AFTER);
        return busy;
    };
    let as_checked = si_credentials::normalized_password(&candidate.password);
    let mut response = Json(Judgement {
        easy_to_guess: judge_off_thread(Some(turn), &as_checked, &[]).await,
        untypable: PasswordPolicy::has_untypable(&candidate.password),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unreadable(language: Language, status: StatusCode) -> Response {
    Problem::new(status, "invalid_body", language.text("password-check-unreadable")).into_response()
}

#[cfg(test)]
mod tests {
    use super::{judge, judged_part};

    #[test]
    fn only_the_first_characters_are_judged_and_dutch_words_are_known() {
        let first = judged_part;
        for (typed, easy) in [
            ("Welkom123!", true),
            ("Wachtwoord2024!", true),
            ("Password1!", true),
            ("Zonnebloem-tafel-42!", false),
            // Easy for as far as it is judged.
            ("Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!-x8#Qz!vR2@pLk9%Tw", true),
        ] {
            assert_eq!(judge(&first(typed), &[]), easy, "{typed}");
        }
        // Judged whole, the random tail would pass it.
        assert!(!judge("Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!-x8#Qz!vR2@pLk9%Tw", &[]));
    }
}
