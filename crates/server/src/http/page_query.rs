//! The query string and the path parameters of a page: one that does not
//! parse (a field twice, a value of the wrong kind, `%ff` that is no text)
//! gets the localized "bad request" page, not the framework's text.

use axum::{
    extract::{FromRequestParts, Path, Query},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use super::{
    error::{PageError, PageErrorKind},
    i18n::Language,
};

pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Query(value)) = Query::<T>::from_request_parts(parts, state).await {
            return Ok(Self(value));
        }
        Err(bad_request(parts, state).await)
    }
}

pub struct PagePath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(Path(value)) = Path::<T>::from_request_parts(parts, state).await {
            return Ok(Self(value));
        }
        Err(bad_request(parts, state).await)
    }
}

async fn bad_request<S: Send + Sync>(parts: &mut Parts, state: &S) -> PageError {
    let Ok(language) = Language::from_request_parts(parts, state).await;
    PageError::new(language, PageErrorKind::BadRequest)
}
