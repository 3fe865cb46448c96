//! The query string, the path parameters and the form body of a page: one
//! that does not parse (a field twice, a value of the wrong kind, `%ff` that
//! is no text, a body that is no form) gets the localized "bad request"
//! page, not the framework's text.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
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

/// A form a page posts (`application/x-www-form-urlencoded`). Unlike axum's
/// `Form`, the media type is matched without regard to case (RFC 9110 8.3.1).
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        if super::is_form(&parts.headers) {
            // Read through `Bytes`, which keeps the router's body limit.
            let request = Request::from_parts(parts.clone(), body);
            match Bytes::from_request(request, state).await {
                Ok(bytes) => {
                    if let Ok(value) = serde_urlencoded::from_bytes(&bytes) {
                        return Ok(Self(value));
                    }
                }
                Err(rejection) => {
                    let Ok(language) = Language::from_request_parts(&mut parts, state).await;
                    return Err(PageError::unread_body(language, rejection.status()));
                }
            }
        }
        Err(bad_request(&mut parts, state).await)
    }
}

async fn bad_request<S: Send + Sync>(parts: &mut Parts, state: &S) -> PageError {
    let Ok(language) = Language::from_request_parts(parts, state).await;
    PageError::new(language, PageErrorKind::BadRequest)
}
