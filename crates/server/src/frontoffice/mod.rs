//! The desk: registering members with or without a login account, linking a
//! member who moved to their existing account, resetting the recovery
//! address. Library systems use the REST API, desk staff the console; both
//! go through the same operations.

mod api;
mod console;
mod desk;
mod registration;

use axum::Router;

use crate::app::AppState;

pub use api::openapi;
pub use console::FRONTOFFICE_PATH;

pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes()).merge(console::routes())
}
