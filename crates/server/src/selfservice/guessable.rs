//! The last line of the password checklist, "not easy to guess": the page's
//! script asks here while the member types, so that a password whose five
//! rules are all ticked is not refused as common only after it is sent.
//! The answer judges the password alone; the username and card numbers are
//! checked when the password is set, as is everything else.

use axum::{
    body::Bytes,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Json, Response},
};
use serde::{Deserialize, Serialize};
use si_domain::PasswordPolicy;

use super::new_password::easy_to_guess;
use crate::http::{error::Problem, i18n::Language};

pub const PATH: &str = "/password/guessable";

#[derive(Deserialize)]
struct Candidate {
    password: String,
}

#[derive(Serialize)]
struct Judgement {
    easy_to_guess: bool,
}

/// `POST` with the form field `password`: `{"easy_to_guess": true|false}`.
/// Nothing is stored or logged; the answer is not cached.
pub async fn judge(language: Language, body: Bytes) -> Response {
    let candidate = match serde_urlencoded::from_bytes::<Candidate>(&body) {
        Ok(candidate) if candidate.password.len() <= PasswordPolicy::MAX_BYTES => candidate,
        Ok(_) => return unreadable(language, StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => return unreadable(language, StatusCode::BAD_REQUEST),
    };
    let as_checked = si_credentials::normalized_password(&candidate.password);
    let mut response = Json(Judgement {
        easy_to_guess: easy_to_guess(&as_checked, &[]),
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
