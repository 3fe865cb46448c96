//! `serve --demo`: the whole story of the desk guide on a fresh machine.
//! It seeds two libraries, a desk account and two demo sites that sign in
//! through this server (see [`seed`] and [`site`]), and opens a dev mailbox
//! ([`mailbox`]) for the mails it writes to files. None of these routes
//! exist without `--demo`.

pub mod mailbox;
pub mod seed;
pub mod site;

use std::fmt;

use axum::{
    Router,
    response::Redirect,
    routing::{get, post},
};

use askama::Template;
use askama_web::WebTemplate;

use crate::{
    app::AppState,
    config::PublicUrl,
    http::{error::other, i18n::Language},
};

pub use seed::{SeedError, Seeded, seed};
pub use site::Sites;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/demo", get(|| async { Redirect::permanent("/demo/website/") }))
        .route("/demo/{site}", get(site::with_slash))
        .route("/demo/{site}/", get(site::show))
        .route("/demo/{site}/login", get(site::log_in))
        .route("/demo/{site}/callback", get(site::callback))
        .route("/demo/{site}/logout", post(site::log_out))
        .route("/demo/{site}/backchannel-logout", post(site::backchannel_logout))
        .route("/dev/mail", get(mailbox::list))
        .route("/dev/mail/{id}", get(mailbox::show))
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_home.html")]
struct HomePage {
    lang: Language,
    other_lang: Language,
    return_to: String,
}

/// Where the demo starts: its steps, each a link.
async fn home(language: Language) -> HomePage {
    HomePage {
        lang: language,
        other_lang: other(language),
        return_to: "/".to_owned(),
    }
}

/// What `serve --demo` prints once it listens: where to go and how the
/// desk logs in.
pub struct Welcome {
    pub public_url: PublicUrl,
    pub staff_password: String,
}

impl fmt::Display for Welcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.public_url;
        writeln!(f, "Demo mode: two libraries, a desk account and two demo sites.")?;
        writeln!(f, "  Start here:                           {url}/")?;
        writeln!(f, "  Desk console (klantenadministratie):  {url}/frontoffice")?;
        writeln!(
            f,
            "  Desk login:                           username {} password {}",
            seed::STAFF_USERNAME,
            self.staff_password
        )?;
        writeln!(f, "  Dev mailbox (mails the demo sent):    {url}/dev/mail")?;
        writeln!(f, "  Library website (Mijn Menu):          {url}/demo/website/")?;
        writeln!(f, "  E-book service (Online Bibliotheek):  {url}/demo/ebooks/")?;
        write!(f, "The desk password is new at every start.")
    }
}
