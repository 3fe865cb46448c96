//! The staff console at `/frontoffice`: the desk guide's screens for staff
//! who work in the browser. Staff log in with their own login account and
//! work for the libraries where `single-identity staff grant` gave them the
//! role. Registering follows the guide: "Gebruik inlogaccount" Ja/Nee, then
//! existing or new account, the subscription, and the cost overview with
//! "Genereren van inlogaccount gelukt".

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{FromRequestParts, Path, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use si_domain::{
    AccountStatus, CardNumber, LibraryCode, Money, MoneyError, SubscriptionCode, format_month_en,
    format_month_nl, parse_typed_date,
};
use si_store::{Repositories, StoreError, accounts::Account, catalogue::Library};
use time::{Date, format_description::well_known::Iso8601};

use super::{
    desk::{
        AccountSummary, Desk, DeskError, MembershipView, Registered, is_idempotency_key, parse_card,
        parse_email, parse_mail_language, parse_username,
    },
    registration::{FieldError, LoginAccountMode, RegistrationRequest},
};
use crate::http::page_query::{PageForm, PagePath, PageQuery};
use crate::{
    app::AppState,
    http::{
        csrf::{self, FormToken},
        done_notice::DoneNotice,
        error::{PageError, PageErrorKind, other},
        i18n::{Language, LinkedText},
    },
    oidc::{login::SESSION_ENDED_PATH, session},
};

pub const FRONTOFFICE_PATH: &str = "/frontoffice";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(FRONTOFFICE_PATH, get(choose))
        .route("/frontoffice/{library}", get(home))
        .route(
            "/frontoffice/{library}/register",
            get(register_form).post(register),
        )
        .route("/frontoffice/{library}/registered/{key}", get(registered))
        .route("/frontoffice/{library}/members/{card}", get(member))
        .route(
            "/frontoffice/{library}/members/{card}/{action}",
            get(back_to_member).post(act),
        )
}

/// What every console page shows around its content.
struct Frame {
    csrf: String,
    staff: String,
    library_code: String,
    library_name: String,
}

/// The signed-in staff member and the library of the path (`{library}`);
/// anyone else gets the login, or the "no access" page.
pub struct AtDesk {
    staff: Account,
    library: Library,
}

impl FromRequestParts<AppState> for AtDesk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let language = Language::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        // A path that does not decode (`%FF`) is a bad request, not a
        // library this staff member has no role at.
        let Ok(Path(params)) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await else {
            return Err(PageError::new(language, PageErrorKind::BadRequest).into_response());
        };
        let code = params
            .get("library")
            .and_then(|code| LibraryCode::parse(code).ok());
        let Some(staff) = signed_in(state, language, &parts.headers)
            .await
            .map_err(IntoResponse::into_response)?
        else {
            // A form sent after the session ended: the login says what
            // was lost and leads back to the form's page.
            if parts.method == Method::POST {
                return Err(to_login(parts.uri.path(), FormLost::Yes));
            }
            let path = match &code {
                Some(code) => format!("{FRONTOFFICE_PATH}/{code}"),
                None => FRONTOFFICE_PATH.to_owned(),
            };
            return Err(to_login(&path, FormLost::No));
        };
        let libraries = state
            .store
            .staff()
            .libraries_of(&staff.id)
            .await
            .map_err(|e| PageError::internal(language, &e).into_response())?;
        libraries
            .into_iter()
            .find(|library| Some(&library.code) == code.as_ref())
            .map(|library| AtDesk { staff, library })
            .ok_or_else(|| no_access(language, &parts.headers))
    }
}

async fn signed_in(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
) -> Result<Option<Account>, PageError> {
    let internal = |e: StoreError| PageError::internal(language, &e);
    let Some(session) = session::current(state, headers).await.map_err(internal)? else {
        return Ok(None);
    };
    state
        .store
        .accounts()
        .by_id(&session.account)
        .await
        .map_err(internal)
}

/// Whether a request that finds no session sent a form, whose content
/// is then lost.
enum FormLost {
    Yes,
    No,
}

fn to_login(next: &str, form_lost: FormLost) -> Response {
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    match form_lost {
        FormLost::Yes => Redirect::to(&format!("{SESSION_ENDED_PATH}&{query}")),
        FormLost::No => Redirect::to(&format!("/login?{query}")),
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "desk_choose.html")]
struct ChoosePage {
    lang: Language,
    other_lang: Language,
    return_to: String,
    /// Of the logout button.
    csrf: String,
    libraries: Vec<(String, String)>,
}

fn no_access(language: Language, headers: &HeaderMap) -> Response {
    let token = FormToken::for_page(headers);
    let page = ChoosePage {
        lang: language,
        other_lang: other(language),
        return_to: FRONTOFFICE_PATH.to_owned(),
        csrf: token.token.clone(),
        libraries: Vec::new(),
    };
    token.attach((StatusCode::FORBIDDEN, page).into_response())
}

/// `/frontoffice`: straight on to the one library, or a choice of several.
pub async fn choose(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(account) = signed_in(&state, language, &headers).await? else {
        return Ok(to_login(FRONTOFFICE_PATH, FormLost::No));
    };
    let libraries = state
        .store
        .staff()
        .libraries_of(&account.id)
        .await
        .map_err(|e| PageError::internal(language, &e))?;
    match libraries.as_slice() {
        [] => Ok(no_access(language, &headers)),
        [only] => Ok(Redirect::to(&format!("{FRONTOFFICE_PATH}/{}", only.code)).into_response()),
        several => {
            let token = FormToken::for_page(&headers);
            let page = ChoosePage {
                lang: language,
                other_lang: other(language),
                return_to: FRONTOFFICE_PATH.to_owned(),
                csrf: token.token.clone(),
                libraries: several
                    .iter()
                    .map(|l| (l.code.to_string(), l.name.to_string()))
                    .collect(),
            };
            Ok(token.attach(page.into_response()))
        }
    }
}

fn frame(token: &FormToken, staff: &Account, library: &Library) -> Frame {
    Frame {
        csrf: token.token.clone(),
        staff: staff.username.to_string(),
        library_code: library.code.to_string(),
        library_name: library.name.to_string(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "desk_home.html")]
struct HomePage {
    frame: Frame,
    lang: Language,
    other_lang: Language,
    return_to: String,
    card_number: String,
    card_error: Option<String>,
    username: String,
    search_error: Option<String>,
    found: Option<AccountSummary>,
    /// A link on another site filled in the search, which was not sent.
    started_elsewhere: bool,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    card_number: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// "Klantenadministratie": find a member by card number, or a login account
/// by its exact username ("Hoofdlettergevoelig").
pub async fn home(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    at_desk: AtDesk,
    PageQuery(query): PageQuery<HomeQuery>,
) -> Result<Response, PageError> {
    let AtDesk { staff, library } = at_desk;
    let desk = desk_of(&state, &library, &staff, language);
    // A search is written to the audit log in the staff member's name, so
    // one another site started waits for the staff member to send it.
    let started_elsewhere =
        csrf::sent_by_another_site(&headers) && (query.card_number.is_some() || query.username.is_some());
    let mut card_error = None;
    if let Some(typed) = query.card_number.as_deref().filter(|_| !started_elsewhere) {
        match parse_card(typed) {
            Ok(card) => match desk.membership(&card).await {
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("{FRONTOFFICE_PATH}/{}/members/{card}", library.code))
                            .into_response(),
                    );
                }
                Err(error) => card_error = Some(refusal(&desk, language, &error)),
            },
            Err(error) => card_error = Some(refusal(&desk, language, &error)),
        }
    }
    let (mut found, mut search_error) = (None, None);
    if let Some(typed) = query.username.as_deref().filter(|_| !started_elsewhere) {
        match search(&desk, language, typed).await {
            Ok(account) => found = Some(account),
            Err(message) => search_error = Some(message),
        }
    }
    let token = FormToken::for_page(&headers);
    let return_to = format!("{FRONTOFFICE_PATH}/{}", library.code);
    let page = HomePage {
        frame: frame(&token, &staff, &library),
        lang: language,
        other_lang: other(language),
        return_to,
        card_number: query.card_number.unwrap_or_default(),
        card_error,
        username: query.username.unwrap_or_default(),
        search_error,
        found,
        started_elsewhere,
    };
    Ok(token.attach(page.into_response()))
}

fn desk_of<'a>(state: &'a AppState, library: &'a Library, staff: &Account, language: Language) -> Desk<'a> {
    Desk::new(state, library, format!("staff:{}", staff.username), language)
}

/// "Bestaand inlogaccount zoeken" for what was typed, or why it found nothing.
async fn search(desk: &Desk<'_>, language: Language, typed: &str) -> Result<AccountSummary, String> {
    let found = match parse_username(typed) {
        Ok(username) => desk.find_account(&username).await,
        Err(error) => Err(error),
    };
    found.map_err(|error| refusal(desk, language, &error))
}

/// A refusal in words; internal failures are logged with their cause.
fn refusal(desk: &Desk<'_>, language: Language, error: &DeskError) -> String {
    if let DeskError::Invalid(fields) = error
        && let [field] = fields.as_slice()
    {
        return field.message(language);
    }
    match error {
        DeskError::Unavailable(cause) => {
            tracing::warn!(%cause, "desk operation failed: database unavailable")
        }
        DeskError::Internal(cause) => tracing::error!(%cause, "desk operation failed"),
        _ => {}
    }
    desk.refusal_message(error)
}

/// The registration form as posted: the member's details, the guide's two
/// choices, and which step of the existing-account search it is at.
#[derive(Deserialize, Default, Clone)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    branch: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    subscription_type: String,
    #[serde(default)]
    discount: String,
    #[serde(default)]
    use_account: UseAccount,
    #[serde(default)]
    account_choice: AccountChoice,
    #[serde(default)]
    username: String,
    /// The language of the member's mails, `nl` or `en`; left out is Dutch.
    #[serde(default)]
    mail_language: String,
    #[serde(default)]
    step: Step,
}

/// The guide's "Inlogaccount gebruiken?". Another value than the form's
/// two is refused, not read as either.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
enum UseAccount {
    #[default]
    #[serde(rename = "ja")]
    Yes,
    #[serde(rename = "nee")]
    No,
}

/// A new login account (the default) or an existing one.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum AccountChoice {
    #[default]
    New,
    Existing,
}

/// The button pressed: the details, the search for an existing account,
/// registering with the account found, or back from the search to the
/// details.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Step {
    #[default]
    #[serde(rename = "")]
    Details,
    Search,
    Link,
    Edit,
}

impl RegisterForm {
    fn uses_account(&self) -> bool {
        self.use_account == UseAccount::Yes
    }

    fn existing(&self) -> bool {
        self.uses_account() && self.account_choice == AccountChoice::Existing
    }

    /// The request the desk takes, and a refusal of the discount when it is
    /// not an amount of euros.
    fn request(&self, mode: LoginAccountMode) -> (RegistrationRequest, Option<FieldError>) {
        // Left empty: no discount.
        let typed = Some(self.discount.trim())
            .filter(|typed| !typed.is_empty())
            .unwrap_or("0");
        let (discount, discount_error) = match Money::parse_euros(typed) {
            Ok(amount) => (Some(amount.cents()), None),
            Err(MoneyError::TooLarge) => (None, Some(FieldError::new("discount_cents", "invalid_discount"))),
            Err(_) => (
                None,
                Some(FieldError::new("discount_cents", "discount_not_an_amount")),
            ),
        };
        let request = RegistrationRequest {
            branch: self.branch.clone(),
            card_number: self.card_number.clone(),
            name: self.name.clone(),
            // Typed as the screens show dates, handed on as the API takes them.
            birth_date: parse_typed_date(&self.birth_date)
                .map_or_else(|| self.birth_date.clone(), |date| date.to_string()),
            email: Some(self.email.clone()),
            subscription_type: self.subscription_type.clone(),
            discount_cents: discount,
            login_account: mode,
            // Left in the form from an earlier choice, it means nothing now.
            username: (mode == LoginAccountMode::Existing).then(|| self.username.clone()),
            // Asked for a new account only; a hidden choice means nothing.
            language: typed_language(&self.mail_language).filter(|_| mode == LoginAccountMode::New),
        };
        (request, discount_error)
    }
}

/// The language a form's choice names, as the API takes it: a form that
/// leaves the choice out means Dutch.
fn typed_language(typed: &str) -> Option<String> {
    Some(typed.to_owned()).filter(|code| !code.is_empty())
}

#[derive(Template, WebTemplate)]
#[template(path = "desk_register.html")]
struct RegisterPage {
    frame: Frame,
    lang: Language,
    other_lang: Language,
    return_to: String,
    form: RegisterForm,
    branches: Vec<(String, String)>,
    subscriptions: Vec<(String, String)>,
    /// Messages by field name; shown above the form and at each field.
    errors: Vec<(String, String)>,
    /// Whether this is the existing-account search step.
    searching: bool,
    found: Option<AccountSummary>,
    search_error: Option<String>,
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    /// The list above the form: each message once, leading to its first field.
    fn summary(&self) -> Vec<&(String, String)> {
        let mut listed: Vec<&(String, String)> = Vec::new();
        for error in &self.errors {
            if listed.iter().all(|(_, message)| *message != error.1) {
                listed.push(error);
            }
        }
        listed
    }
}

async fn register_page(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    staff: &Account,
    library: &Library,
    form: RegisterForm,
) -> Result<(RegisterPage, FormToken), PageError> {
    let internal = |e: StoreError| PageError::internal(language, &e);
    let catalogue = state.store.catalogue();
    let branches = catalogue.branches(&library.code).await.map_err(internal)?;
    let subscriptions = catalogue
        .subscription_types(&library.code)
        .await
        .map_err(internal)?;
    let token = FormToken::for_page(headers);
    let return_to = format!("{FRONTOFFICE_PATH}/{}/register", library.code);
    let mut form = form;
    form.csrf = token.token.clone();
    // None yet, or one sent back changed into something no key is.
    if !is_idempotency_key(&form.idempotency_key) {
        form.idempotency_key = new_idempotency_key();
    }
    let page = RegisterPage {
        frame: frame(&token, staff, library),
        lang: language,
        other_lang: other(language),
        return_to,
        form,
        branches: branches
            .iter()
            .map(|b| (b.code.to_string(), format!("{} – {}", b.code, b.name)))
            .collect(),
        subscriptions: subscriptions
            .iter()
            .map(|s| {
                (
                    s.code.to_string(),
                    format!("{} ({})", s.name, s.terms.age_range()),
                )
            })
            .collect(),
        errors: Vec::new(),
        searching: false,
        found: None,
        search_error: None,
    };
    Ok((page, token))
}

fn show((page, token): (RegisterPage, FormToken), status: StatusCode) -> Response {
    token.attach((status, page).into_response())
}

/// An account found on the home page, to register the member with.
#[derive(Deserialize)]
pub struct RegisterStart {
    #[serde(default)]
    username: Option<String>,
}

pub async fn register_form(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    at_desk: AtDesk,
    PageQuery(start): PageQuery<RegisterStart>,
) -> Result<Response, PageError> {
    let AtDesk { staff, library } = at_desk;
    // "Bestaand inlogaccount gebruiken", and the search after the details
    // filled in with the account's username.
    let form = match start.username {
        Some(username) if !username.trim().is_empty() => RegisterForm {
            account_choice: AccountChoice::Existing,
            username,
            ..RegisterForm::default()
        },
        _ => RegisterForm::default(),
    };
    let page = register_page(&state, language, &headers, &staff, &library, form).await?;
    Ok(show(page, StatusCode::OK))
}

#[derive(Template, WebTemplate)]
#[template(path = "desk_registered.html")]
struct RegisteredPage {
    frame: Frame,
    lang: Language,
    other_lang: Language,
    return_to: String,
    registered: Registered,
    cost_intro: String,
    fee: String,
    discount: String,
    balance: String,
    valid_until_month: String,
    expiry_month: String,
    rights_until: String,
}

pub async fn register(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    at_desk: AtDesk,
    PageForm(form): PageForm<RegisterForm>,
) -> Result<Response, PageError> {
    let AtDesk { staff, library } = at_desk;
    let desk = desk_of(&state, &library, &staff, language);
    let (mut page, token) = register_page(&state, language, &headers, &staff, &library, form.clone()).await?;
    if !csrf::is_valid(&headers, &form.csrf) {
        page.errors = vec![("form".into(), language.text("desk-expired-form"))];
        return Ok(show((page, token), StatusCode::BAD_REQUEST));
    }
    // Back from the search to the details as typed, e.g. to correct the
    // birth date an existing account did not match.
    if form.step == Step::Edit {
        return Ok(show((page, token), StatusCode::OK));
    }

    let mode = match (form.uses_account(), form.existing()) {
        (false, _) => LoginAccountMode::None,
        (true, false) => LoginAccountMode::New,
        (true, true) if form.step == Step::Link => LoginAccountMode::Existing,
        // Check the details before the search, which has no other errors to show.
        (true, true) => LoginAccountMode::None,
    };
    let (request, discount_error) = form.request(mode);
    let mut errors: Vec<FieldError> = request.parse().err().unwrap_or_default();
    errors.extend(discount_error);
    if !errors.is_empty() {
        return Ok(refused_form(
            page,
            token,
            &form,
            &desk,
            &DeskError::Invalid(errors),
        ));
    }
    if form.existing() && form.step != Step::Link {
        // Refusals that do not depend on the account, such as a
        // subscription for another age, are shown with the details they
        // concern, before the search.
        if let Err(error) = desk.check_details(&request).await {
            return Ok(refused_form(page, token, &form, &desk, &error));
        }
        page.searching = true;
        if form.step == Step::Search {
            match search(&desk, language, &form.username).await {
                Ok(found) => page.found = Some(found),
                Err(message) => page.search_error = Some(message),
            }
        }
        return Ok(show((page, token), StatusCode::OK));
    }

    let key = Some(form.idempotency_key.as_str()).filter(|key| is_idempotency_key(key));
    match desk.register(&request, key).await {
        // Shown by its own GET, so that Back and reload never send the form
        // again: the answer is kept under the form's key.
        Ok(_) if let Some(key) = key.filter(|key| is_console_key(key)) => {
            Ok(Redirect::to(&registered_path(&library, key)).into_response())
        }
        Ok(registered) => {
            let home = format!("{FRONTOFFICE_PATH}/{}", library.code);
            Ok(registered_page(
                language,
                &headers,
                (&staff, &library),
                registered,
                home,
            ))
        }
        Err(DeskError::IdempotencyKeyReused) => {
            // The back button brought back a form that was sent, and it was
            // changed since: with a new key, sending it again registers it.
            page.form.idempotency_key = new_idempotency_key();
            page.errors = vec![("form".into(), language.text("desk-register-sent-before"))];
            Ok(show((page, token), StatusCode::CONFLICT))
        }
        Err(error) => Ok(refused_form(page, token, &form, &desk, &error)),
    }
}

/// Whether a refused form comes back at the existing-account search step.
/// That step shows only the username: a refusal of any other field comes
/// back with the details, where it can be corrected.
fn searching_with(form: &RegisterForm, errors: &[(String, String)]) -> bool {
    form.existing()
        && form.step != Step::Details
        && errors
            .iter()
            .all(|(field, _)| matches!(field.as_str(), "username" | "form"))
}

/// The registration form back with why it was refused, at the step that
/// shows the fields concerned: a field's own message, a card registered
/// already at the card number, anything else for the whole form.
fn refused_form(
    mut page: RegisterPage,
    token: FormToken,
    form: &RegisterForm,
    desk: &Desk<'_>,
    error: &DeskError,
) -> Response {
    let language = page.lang;
    page.errors = match error {
        DeskError::Invalid(fields) => fields
            .iter()
            .flat_map(|e| {
                let message = typed_field_message(e, language);
                // Either may be what is wrong: both are marked, the list names it once.
                let subscription = (e.code == "age_outside_subscription")
                    .then(|| ("subscription_type".to_owned(), message.clone()));
                std::iter::once((e.field.to_owned(), message)).chain(subscription)
            })
            .collect(),
        DeskError::CardNumberRegistered => vec![("card_number".into(), refusal(desk, language, error))],
        _ => vec![("form".into(), refusal(desk, language, error))],
    };
    page.searching = searching_with(form, &page.errors);
    show((page, token), refusal_status(error))
}

/// A field's message for the form, where staff type a date as DD-MM-JJJJ
/// (the API's message names its own format).
fn typed_field_message(error: &FieldError, language: Language) -> String {
    match error.code {
        "invalid_birth_date" => language.text("desk-typed-birth-date-invalid"),
        "birth_date_too_early" => language.text("desk-typed-birth-date-too-early"),
        _ => error.message(language),
    }
}

/// The cost overview and account of a registration done at the desk, as
/// its form's idempotency key keeps them (for 7 days, as the desk API's).
pub async fn registered(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    at_desk: AtDesk,
    PagePath((_, key)): PagePath<(String, String)>,
) -> Result<Response, PageError> {
    let AtDesk { staff, library } = at_desk;
    // Only the console's own keys: an API system's may be guessable, and
    // its answer is the system's to show.
    if !is_console_key(&key) {
        return Err(PageError::new(language, PageErrorKind::NotFound));
    }
    let desk = desk_of(&state, &library, &staff, language);
    match desk.registered(&key).await {
        Ok(Some(registered)) => {
            let shown_at = registered_path(&library, &key);
            Ok(registered_page(
                language,
                &headers,
                (&staff, &library),
                registered,
                shown_at,
            ))
        }
        Ok(None) => Err(PageError::new(language, PageErrorKind::NotFound)),
        Err(error) => Err(PageError::internal(language, &error)),
    }
}

/// Whether `key` is of the kind the console gives its forms, which can
/// stand in a path as it is.
fn is_console_key(key: &str) -> bool {
    key.strip_prefix(CONSOLE_KEY_PREFIX).is_some_and(|rest| {
        rest.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// How the console's idempotency keys begin.
const CONSOLE_KEY_PREFIX: &str = "console-";

/// The key that makes sending one filled-in form twice register it once.
fn new_idempotency_key() -> String {
    format!("{CONSOLE_KEY_PREFIX}{:032x}", rand::random::<u128>())
}

/// Where the registration sent with console key `key` is shown again.
fn registered_path(library: &Library, key: &str) -> String {
    format!("{FRONTOFFICE_PATH}/{}/registered/{key}", library.code)
}

fn money(language: Language, cents: i64) -> String {
    let amount = Money::from_cents(cents).unwrap_or(Money::ZERO);
    match language {
        Language::Nl => amount.format_nl(),
        Language::En => amount.format_en(),
    }
}

fn month(language: Language, date: Date) -> String {
    match language {
        Language::Nl => format_month_nl(date),
        Language::En => format_month_en(date),
    }
}

/// The cost overview of a registration; `return_to` is where the language
/// switch comes back to.
fn registered_page(
    language: Language,
    headers: &HeaderMap,
    (staff, library): (&Account, &Library),
    registered: Registered,
    return_to: String,
) -> Response {
    let token = FormToken::for_page(headers);
    let cost = &registered.cost_overview;
    let date = |text: &str| Date::parse(text, &Iso8601::DATE).ok();
    let valid_until = date(&cost.valid_until);
    let expiry = date(&format!("{}-01", cost.expiry_month));
    let page = RegisteredPage {
        frame: frame(&token, staff, library),
        lang: language,
        other_lang: other(language),
        return_to,
        cost_intro: language.text_with("desk-cost-intro", &[("branch", cost.branch_code.clone().into())]),
        fee: money(language, cost.subscription_fee_cents),
        discount: money(language, cost.discount_cents),
        balance: money(language, cost.balance_cents),
        valid_until_month: valid_until
            .map(|d| language.text_with("desk-valid-until-month", &[("month", month(language, d).into())]))
            .unwrap_or_default(),
        expiry_month: expiry.map(|d| month(language, d)).unwrap_or_default(),
        rights_until: date(&cost.rights_until)
            .map(|d| language.date(d))
            .unwrap_or_default(),
        registered,
    };
    token.attach(page.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "desk_member.html")]
struct MemberPage {
    frame: Frame,
    lang: Language,
    other_lang: Language,
    return_to: String,
    membership: MembershipView,
    /// The subscription's name, as the desk chose it ("Jeugd (0-17)").
    subscription: String,
    birth_date: String,
    valid_until: String,
    done: Option<String>,
    /// What the desk should tell the member after it.
    done_notes: Vec<String>,
    noted: Option<String>,
    /// Why the action was refused, with the help address as a link.
    error: Option<LinkedText>,
    /// The error is about what was typed in the open form, not that the
    /// form expired.
    typed_wrong: bool,
    /// The error answers the form that links an existing account.
    refused_link: bool,
    /// What "Nieuw inlogaccount genereren" will do, with the address.
    new_account_hint: String,
    /// The question asked before an action that cannot be taken back.
    question: Option<QuestionView>,
    username: String,
    /// The registration's address open for editing, with what was typed.
    editing_email: Option<String>,
}

#[derive(Deserialize)]
pub struct MemberQuery {
    #[serde(default)]
    ask: Option<String>,
    /// The id of the notice of an action just done here.
    #[serde(default)]
    done: Option<String>,
}

/// One registration of this library, with what the desk can do for it.
pub async fn member(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    at_desk: AtDesk,
    PagePath((_, card)): PagePath<(String, String)>,
    PageQuery(MemberQuery { ask, done }): PageQuery<MemberQuery>,
) -> Result<Response, PageError> {
    let AtDesk { staff, library } = at_desk;
    let notice = parse_card(&card)
        .ok()
        .zip(done.as_deref())
        .and_then(|(parsed, id)| DoneNotice::brought_to(&headers, id, &member_path(&library, &parsed)))
        .unwrap_or_default();
    let outcome = Outcome {
        done: notice.done,
        done_notes: notice.notes,
        noted: notice.noted,
        asking: match ask.as_deref() {
            Some("recovery-email") => Some(Question::RecoveryEmail),
            Some("unlink") => Some(Question::Unlink),
            _ => None,
        },
        email_form: match ask.as_deref() {
            Some("email") => EmailForm::AsItIs,
            _ => EmailForm::Closed,
        },
        ..Outcome::default()
    };
    let shown = member_page(&state, language, &headers, &staff, &library, &card, outcome).await;
    let Some(cleared) = done.as_deref().and_then(DoneNotice::cleared) else {
        return shown;
    };
    // Shown, or not (the registration is gone meanwhile): the notice is spent.
    let mut page = shown.unwrap_or_else(IntoResponse::into_response);
    page.headers_mut().append(header::SET_COOKIE, cleared);
    Ok(page)
}

/// The address of the member page of the registration with `card`.
fn member_path(library: &Library, card: &CardNumber) -> String {
    format!("{FRONTOFFICE_PATH}/{}/members/{}", library.code, card.as_str())
}

#[derive(Default)]
struct Outcome {
    done: Option<String>,
    done_notes: Vec<String>,
    /// Nothing was done, and why that is fine ("a mail went a minute ago").
    noted: Option<String>,
    /// Why the action was refused, and the page's status for it.
    refused: Option<(StatusCode, String)>,
    /// Refused by the form that links an existing account.
    refused_link: bool,
    /// Refused because the form had expired, whatever was typed in it.
    expired: bool,
    asking: Option<Question>,
    username: String,
    email_form: EmailForm,
}

/// The member page's questions, answered "Ja" or "Nee" before the action.
#[derive(Clone, Copy, PartialEq)]
enum Question {
    /// The guide's question before "Herstel-e-mailadres resetten".
    RecoveryEmail,
    /// Before a link made by mistake is undone.
    Unlink,
}

/// A question as the page shows it: its heading, its words, and the
/// action "Ja" posts to.
struct QuestionView {
    heading: String,
    text: String,
    action: &'static str,
    /// The account the question is about, sent back with "Ja".
    username: Option<String>,
}

impl QuestionView {
    fn of(question: Question, language: Language, membership: &MembershipView) -> Self {
        match question {
            Question::RecoveryEmail => Self {
                heading: language.text("desk-reset-recovery"),
                text: language.text_with(
                    "desk-reset-question",
                    &[("email", membership.email.clone().unwrap_or_default().into())],
                ),
                action: "recovery-email",
                username: None,
            },
            Question::Unlink => {
                let username = membership
                    .login_account
                    .as_ref()
                    .map(|account| account.username.clone());
                let named = username.clone().unwrap_or_default();
                Self {
                    heading: language.text("desk-unlink"),
                    text: language.text_with("desk-unlink-question", &[("username", named.into())]),
                    action: "unlink",
                    username,
                }
            }
        }
    }
}

/// The form for the registration's e-mail address.
#[derive(Default)]
enum EmailForm {
    #[default]
    Closed,
    /// Open, with the address the registration holds.
    AsItIs,
    /// Open again after a refusal, with what was typed (blank too).
    Typed(String),
}

async fn member_page(
    state: &AppState,
    language: Language,
    headers: &HeaderMap,
    staff: &Account,
    library: &Library,
    card: &str,
    outcome: Outcome,
) -> Result<Response, PageError> {
    let desk = desk_of(state, library, staff, language);
    let not_found = |error| match error {
        DeskError::MembershipNotFound | DeskError::Invalid(_) => {
            PageError::new(language, PageErrorKind::NotFound)
        }
        error => PageError::internal(language, &error),
    };
    let card = parse_card(card).map_err(not_found)?;
    let membership = desk.membership(&card).await.map_err(not_found)?;
    let token = FormToken::for_page(headers);
    let return_to = member_path(library, &card);
    let date = |text: &str| {
        Date::parse(text, &Iso8601::DATE)
            .map(|d| language.date(d))
            .unwrap_or_default()
    };
    // A reset that "Ja" could not do (no account, no address in the
    // registration, or it is the account's already, confirmed or waiting
    // for that): the page says so at once, as answering "Ja" would,
    // instead of asking.
    let cannot_reset = match outcome.asking {
        Some(Question::RecoveryEmail) => desk.recovery_reset_refusal(&card).await.map_err(not_found)?,
        _ => None,
    };
    let outcome = match cannot_reset {
        Some(refused) => Outcome {
            refused: Some((refusal_status(&refused), refusal(&desk, language, &refused))),
            ..Outcome::default()
        },
        None => outcome,
    };
    let membership_email = membership.email.clone().unwrap_or_default();
    let editing_email = match outcome.email_form {
        EmailForm::Closed => None,
        EmailForm::AsItIs => Some(membership_email.clone()),
        EmailForm::Typed(typed) => Some(typed),
    };
    let subscription = match SubscriptionCode::parse(&membership.subscription_type) {
        Ok(code) => state
            .store
            .catalogue()
            .subscription_type(&library.code, &code)
            .await
            .map(|found| found.name.to_string())
            .unwrap_or_else(|_| membership.subscription_type.clone()),
        Err(_) => membership.subscription_type.clone(),
    };
    // Both questions are about the login account: none without one.
    let question = outcome
        .asking
        .filter(|_| membership.login_account.is_some())
        .map(|question| QuestionView::of(question, language, &membership));
    let page = MemberPage {
        subscription,
        frame: frame(&token, staff, library),
        lang: language,
        other_lang: other(language),
        return_to,
        birth_date: date(&membership.birth_date),
        valid_until: date(&membership.valid_until),
        membership,
        question,
        new_account_hint: language.text_with(
            "desk-new-account-hint",
            &[("email", membership_email.clone().into())],
        ),
        done: outcome.done,
        done_notes: outcome.done_notes,
        noted: outcome.noted,
        error: outcome
            .refused
            .as_ref()
            .map(|(_, message)| LinkedText::around(message.clone(), &state.config.mail.help_url)),
        typed_wrong: outcome.refused.is_some() && !outcome.expired,
        refused_link: outcome.refused_link,
        username: outcome.username,
        editing_email,
    };
    let status = outcome.refused.map_or(StatusCode::OK, |(status, _)| status);
    Ok(token.attach((status, page).into_response()))
}

/// The status of a page that shows why the desk refused: what was typed
/// (422), the state of the registration or account (409), or the service.
fn refusal_status(error: &DeskError) -> StatusCode {
    match error {
        DeskError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        DeskError::LinkAttemptsWait { .. } | DeskError::SearchesWait { .. } => StatusCode::TOO_MANY_REQUESTS,
        DeskError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        DeskError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    }
}

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    /// The answer to the confirmation question: "ja".
    #[serde(default)]
    answer: String,
    /// The registration's new e-mail address; blank clears it.
    #[serde(default)]
    email: String,
    /// The language of a generated account's mails, `nl` or `en`.
    #[serde(default)]
    mail_language: String,
}

/// The member page's actions.
#[derive(Clone, Copy, PartialEq)]
enum MemberAction {
    ConfirmationMail,
    RecoveryEmail,
    Email,
    PasswordReset,
    LoginAccount,
    NewLoginAccount,
    Unlink,
}

impl MemberAction {
    /// The action named by the last part of its address.
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "confirmation-mail" => Self::ConfirmationMail,
            "recovery-email" => Self::RecoveryEmail,
            "email" => Self::Email,
            "password-reset" => Self::PasswordReset,
            "login-account" => Self::LoginAccount,
            "new-login-account" => Self::NewLoginAccount,
            "unlink" => Self::Unlink,
            _ => return None,
        })
    }
}

/// An action's address opened as a page (from the address bar after its
/// answer, or in a new tab) goes back to the member page; it does nothing.
pub async fn back_to_member(
    language: Language,
    at_desk: AtDesk,
    PagePath((_, card, action)): PagePath<(String, String, String)>,
) -> Result<Response, PageError> {
    match parse_card(&card) {
        Ok(card) if MemberAction::named(&action).is_some() => {
            Ok(Redirect::to(&member_path(&at_desk.library, &card)).into_response())
        }
        _ => Err(PageError::new(language, PageErrorKind::NotFound)),
    }
}

/// The actions of the membership page: resend the confirmation mail, reset
/// the recovery address (after "Ja"), generate a new account or link an
/// existing one, undo a link (after "Ja"), and the refused password reset.
pub async fn act(
    State(state): State<AppState>,
    language: Language,
    headers: HeaderMap,
    at_desk: AtDesk,
    PagePath((_, card, action)): PagePath<(String, String, String)>,
    PageForm(form): PageForm<ActionForm>,
) -> Result<Response, PageError> {
    let AtDesk { staff, library } = at_desk;
    let Some(action) = MemberAction::named(&action) else {
        return Err(PageError::new(language, PageErrorKind::NotFound));
    };
    let fail = |status: StatusCode, error: String| Outcome {
        refused: Some((status, error)),
        refused_link: action == MemberAction::LoginAccount,
        username: form.username.clone(),
        // A refused address stays open, as typed.
        email_form: match action {
            MemberAction::Email => EmailForm::Typed(form.email.trim().to_owned()),
            _ => EmailForm::Closed,
        },
        ..Outcome::default()
    };
    if !csrf::is_valid(&headers, &form.csrf) {
        let outcome = Outcome {
            expired: true,
            ..fail(StatusCode::BAD_REQUEST, language.text("desk-expired-form"))
        };
        return member_page(&state, language, &headers, &staff, &library, &card, outcome).await;
    }
    let desk = desk_of(&state, &library, &staff, language);
    let Ok(parsed) = parse_card(&card) else {
        return Err(PageError::new(language, PageErrorKind::NotFound));
    };
    let mut done_notes = Vec::new();
    let mut noted = None;
    let result: Result<String, DeskError> = match action {
        MemberAction::ConfirmationMail => desk.resend_confirmation(&parsed).await.map(|resent| {
            if resent.mailed {
                language.text("desk-resent")
            } else {
                noted = Some(language.text("desk-resent-just-now"));
                String::new()
            }
        }),
        MemberAction::NewLoginAccount => {
            let mail_language = parse_mail_language(typed_language(&form.mail_language).as_deref());
            match mail_language {
                Ok(mail_language) => desk
                    .generate_account(&parsed, mail_language)
                    .await
                    .map(|generated| {
                        done_notes = generated.notes;
                        generated.message
                    }),
                Err(error) => Err(error),
            }
        }
        MemberAction::RecoveryEmail if form.answer == "ja" => desk
            .reset_recovery_email(&parsed)
            .await
            .map(|reset| reset.message),
        MemberAction::RecoveryEmail => Ok(String::new()),
        MemberAction::Unlink if form.answer == "ja" => {
            // Only off the account the question named.
            match parse_username(&form.username) {
                Ok(asked_about) => desk
                    .unlink(&parsed, Some(&asked_about))
                    .await
                    .map(|_| language.text("desk-unlinked")),
                Err(error) => Err(error),
            }
        }
        MemberAction::Unlink => Ok(String::new()),
        MemberAction::Email => match parse_email(Some(&form.email)) {
            Ok(email) => desk
                .change_registration_email(&parsed, email)
                .await
                .map(|changed| {
                    let account_says = match changed.login_account {
                        Some(account) if account.status == AccountStatus::Pending.as_str() => {
                            "desk-email-changed-confirmation"
                        }
                        Some(_) => "desk-email-changed-recovery",
                        None => return language.text("desk-email-changed"),
                    };
                    format!(
                        "{} {}",
                        language.text("desk-email-changed"),
                        language.text(account_says)
                    )
                }),
            Err(error) => Err(error),
        },
        MemberAction::PasswordReset => Err(desk.refuse_password_reset(&parsed).await),
        MemberAction::LoginAccount => match parse_username(&form.username) {
            Ok(username) => desk
                .link(&parsed, &username)
                .await
                .map(|_| language.text("desk-linked")),
            Err(error) => Err(error),
        },
    };
    let page = member_path(&library, &parsed);
    let notice = match result {
        Ok(done) if done.is_empty() => DoneNotice::for_page(&page, None, Vec::new(), noted),
        Ok(done) => DoneNotice::for_page(&page, Some(done), done_notes, None),
        // Nothing to show the page with: "try again in a minute".
        Err(error @ DeskError::Unavailable(_)) => return Err(PageError::internal(language, &error)),
        // Shown at once, with what was typed, to be corrected and sent again.
        Err(error) => {
            let outcome = fail(refusal_status(&error), refusal(&desk, language, &error));
            return member_page(&state, language, &headers, &staff, &library, &card, outcome).await;
        }
    };
    // Done (or answered "Nee"): the member page is shown by its own GET.
    Ok(notice.redirect())
}
