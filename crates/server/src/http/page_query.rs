//! The query string of a page: one that does not parse (a field twice, a
//! value of the wrong kind) gets the localized "bad request" page, not the
//! framework's text.

use axum::{
    extract::{FromRequestParts, Query},
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
        let Ok(language) = Language::from_request_parts(parts, state).await;
        Err(PageError::new(language, PageErrorKind::BadRequest))
    }
}
