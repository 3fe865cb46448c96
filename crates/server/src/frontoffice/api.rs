//! The desk API under `/api/v1` for library systems (Wise, Koha, …): each
//! call carries an access token of the library system's own client
//! (`client_credentials`, bound to one library) with the scope the operation
//! needs. Errors are RFC 9457 problem documents; the OpenAPI 3.1 description
//! is served at `/api/v1/openapi.json`.

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{
        FromRequest, FromRequestParts, Path, Query, Request, State,
        rejection::{PathRejection, QueryRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::{
    Deserialize, Serialize,
    de::{DeserializeOwned, value::MapDeserializer},
};
use si_domain::CardNumber;
use si_store::{Repositories, catalogue::Library};
use utoipa::{
    IntoParams, OpenApi, ToSchema,
    openapi::{
        Server,
        security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme},
    },
};

use super::{
    desk::{
        AccountSummary, AuditLine, CostOverviewView, Desk, DeskError, GeneratedAccount, MembershipView,
        RecoveryReset, Registered, RegisteredAccount, is_idempotency_key, parse_card, parse_email,
        parse_mail_language, parse_username,
    },
    registration::{LoginAccountMode, RegistrationRequest},
};
use crate::{
    app::AppState,
    http::{
        error::{FieldProblem, Problem},
        i18n::Language,
    },
    json_fields::JsonFields,
    oidc::{discovery::TOKEN_PATH, userinfo::bearer_of_current_client},
};

/// The problem responses many operations share, named once in the document.
/// Their values are never built: the handlers answer with [`Problem`].
#[allow(
    dead_code,
    reason = "types that only describe responses in the OpenAPI document"
)]
mod responses {
    use utoipa::ToResponse;

    use crate::http::error::Problem;

    /// The path, query or a header cannot be read.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unreadable(Problem);

    /// No valid access token.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unauthorized(Problem);

    /// Not allowed for this token: a scope is missing, or it is not a library system's own token.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Forbidden(Problem);

    /// No registration with this card number at this library.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NoSuchMembership(Problem);

    /// Not a card number (4 to 32 letters or digits).
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NotACardNumber(Problem);

    /// The body is larger than 64 KiB, far more than any operation takes.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct TooLarge(Problem);

    /// The database cannot be reached just now: try again in a little while.
    #[derive(ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unavailable(Problem);
}

use responses::{
    Forbidden, NoSuchMembership, NotACardNumber, TooLarge, Unauthorized, Unavailable, Unreadable,
};

const PROBLEM_JSON: &str = "application/problem+json";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_document))
        .route("/api/v1/branches", get(branches))
        .route("/api/v1/subscription-types", get(subscription_types))
        .route("/api/v1/memberships", post(register))
        .route("/api/v1/memberships/{card_number}", get(membership))
        .route(
            "/api/v1/memberships/{card_number}/login-account",
            post(link).delete(unlink),
        )
        .route(
            "/api/v1/memberships/{card_number}/new-login-account",
            post(generate_account),
        )
        .route(
            "/api/v1/memberships/{card_number}/email",
            put(change_registration_email),
        )
        .route(
            "/api/v1/memberships/{card_number}/recovery-email-reset",
            post(reset_recovery_email),
        )
        .route(
            "/api/v1/memberships/{card_number}/confirmation-mail",
            post(resend_confirmation),
        )
        .route(
            "/api/v1/memberships/{card_number}/password-reset",
            post(password_reset),
        )
        .route("/api/v1/accounts", get(find_account))
        .route("/api/v1/audit", get(audit))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Single Identity desk API",
        version = "1",
        description = "What a library system does at the desk: register members with or without a login \
account, generate one later, find and link existing accounts (and undo a link made by mistake), reset the recovery e-mail address and resend the confirmation \
mail. Authenticate with an access token from the client_credentials grant of a client bound to your \
library. Password resets by staff do not exist: members use \"Wachtwoord vergeten\" on the login page."
    ),
    paths(
        branches,
        subscription_types,
        register,
        membership,
        link,
        unlink,
        generate_account,
        change_registration_email,
        reset_recovery_email,
        resend_confirmation,
        password_reset,
        find_account,
        audit
    ),
    components(
        responses(Unreadable, Unauthorized, Forbidden, NoSuchMembership, NotACardNumber, TooLarge, Unavailable),
        schemas(
        Problem,
        FieldProblem,
        RegistrationRequest,
        LoginAccountMode,
        Registered,
        RegisteredAccount,
        CostOverviewView,
        MembershipView,
        AccountSummary,
        RecoveryReset,
        AuditLine,
        LinkRequest,
        NewAccountRequest,
        GeneratedAccount,
        EmailRequest,
        BranchView,
        SubscriptionTypeView
    )
    ),
    tags((name = "desk", description = "Desk operations of one library"))
)]
struct ApiDoc;

/// The document, with this server's address and token endpoint filled in.
pub fn openapi(state: &AppState) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let base = state.public_url.to_string();
    let base = base.trim_end_matches('/');
    document.servers = Some(vec![Server::new(base)]);
    let scopes = Scopes::from_iter([
        (
            "desk:register",
            "register members and generate their login accounts; read this library's memberships and catalogue",
        ),
        ("desk:search", "find a login account by its exact username"),
        (
            "desk:link",
            "link a registration to an existing login account, or undo that link",
        ),
        (
            "desk:recovery",
            "reset the recovery e-mail address; resend the confirmation mail",
        ),
        ("desk:audit", "read this library's audit log"),
    ]);
    let scheme = SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(ClientCredentials::new(
        format!("{base}{TOKEN_PATH}"),
        scopes,
    ))]));
    if let Some(components) = document.components.as_mut() {
        components.add_security_scheme("library_system", scheme);
    }
    document
}

async fn openapi_document(State(state): State<AppState>) -> Response {
    Json(openapi(&state)).into_response()
}

/// The library system calling: its client, its library and its scopes.
pub struct Caller {
    client_id: String,
    library: Library,
    scope: String,
    language: Language,
}

impl Caller {
    fn require(&self, scope: &'static str) -> Result<(), Refusal> {
        if self.scope.split_whitespace().any(|granted| granted == scope) {
            Ok(())
        } else {
            Err(Refusal::Scope(scope))
        }
    }

    fn desk<'a>(&'a self, state: &'a AppState) -> Desk<'a> {
        Desk::new(
            state,
            &self.library,
            format!("client:{}", self.client_id),
            self.language,
        )
    }

    /// The answer as JSON with `status`, or the refusal as a problem document.
    fn respond<T: Serialize>(
        &self,
        desk: &Desk<'_>,
        status: StatusCode,
        result: Result<T, Refusal>,
    ) -> Response {
        match result {
            Ok(value) => (status, Json(value)).into_response(),
            Err(Refusal::Desk(error)) => refused(desk, self.language, error),
            Err(Refusal::Body(problem)) => *problem,
            Err(Refusal::Unreadable(detail)) => {
                let mut problem = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    self.language.text("desk-api-invalid-body"),
                );
                problem.detail = Some(detail);
                problem.into_response()
            }
            Err(Refusal::Scope(scope)) => {
                let mut problem = Problem::new(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    self.language.text("desk-api-insufficient-scope"),
                );
                problem.detail = Some(format!("scope {scope}"));
                let mut response = problem.into_response();
                // As every bearer refusal says it (RFC 6750 §3), for clients
                // that read the challenge rather than the body.
                let challenge = format!(r#"Bearer error="insufficient_scope", scope="{scope}""#);
                if let Ok(challenge) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
                }
                response
            }
        }
    }
}

/// Why a call gets no answer from the desk.
enum Refusal {
    /// The desk said no.
    Desk(DeskError),
    /// A path, query or header that cannot be read.
    Unreadable(String),
    /// A body that cannot be read, with the problem document that says why.
    Body(Box<Response>),
    /// The token lacks the scope the operation needs.
    Scope(&'static str),
}

impl From<DeskError> for Refusal {
    fn from(error: DeskError) -> Self {
        Refusal::Desk(error)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let language = Language::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let (claims, client) = match bearer_of_current_client(state, &parts.headers).await {
            Ok(verified) => verified,
            Err(refused) => {
                let refused = refused.into_response();
                let status = refused.status();
                let (code, title) = match status {
                    StatusCode::UNAUTHORIZED => ("invalid_token", "desk-api-unauthorized"),
                    StatusCode::BAD_REQUEST => ("invalid_request", "desk-api-invalid-body"),
                    _ => ("unavailable", "desk-error-unavailable"),
                };
                let mut response = Problem::new(status, code, language.text(title)).into_response();
                if let Some(challenge) = refused.headers().get(header::WWW_AUTHENTICATE) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, challenge.clone());
                }
                return Err(response);
            }
        };
        let forbidden = || {
            Problem::new(
                StatusCode::FORBIDDEN,
                "not_a_library_system",
                language.text("desk-api-not-a-library-system"),
            )
            .into_response()
        };
        // A member's token is not a library system's, even from the same client.
        if claims.sub != claims.client_id {
            return Err(forbidden());
        }
        let library = client.library().cloned().ok_or_else(forbidden)?;
        Ok(Caller {
            client_id: claims.client_id,
            library,
            scope: claims.scope,
            language,
        })
    }
}

/// A JSON object body whose every rejection is a problem document. Only an
/// object: serde would also read a struct from an array of its fields in
/// order, which the document does not offer. Operations take it as a
/// `Result` and look at it with [`ApiJson::read`] only after the scope
/// check: a caller without the scope hears of the scope, not of what is
/// wrong with its body.
pub struct ApiJson<T>(T);

impl<T> ApiJson<T> {
    fn read(body: Result<Self, Response>) -> Result<T, Refusal> {
        body.map(|ApiJson(value)| value)
            .map_err(|problem| Refusal::Body(Box::new(problem)))
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let language = Language::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_default();
        let refused = |status: StatusCode, detail: String| {
            let mut problem = Problem::new(status, "invalid_body", language.text("desk-api-invalid-body"));
            problem.detail = Some(detail);
            problem.into_response()
        };
        // A byte order mark before the JSON, as some platforms' UTF-8
        // writers put there, is passed over (RFC 8259 8.1 allows it). The
        // body is read first, so one past the limit is refused as too large
        // (413) before its content type is looked at (415).
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| refused(rejection.status(), rejection.body_text()))?;
        let json = if bytes.starts_with(UTF8_BYTE_ORDER_MARK) {
            bytes.slice(UTF8_BYTE_ORDER_MARK.len()..)
        } else {
            bytes
        };
        let Json(JsonFields(fields)) =
            Json::<JsonFields>::from_request(Request::from_parts(parts, Body::from(json)), state)
                .await
                .map_err(|rejection| refused(rejection.status(), rejection.body_text()))?;
        // The detail names the field: "login_account: invalid type: null, …",
        // or "duplicate field `language`" for one given twice.
        let fields = MapDeserializer::<_, serde_json::Error>::new(fields.into_iter());
        serde_path_to_error::deserialize(fields)
            .map(ApiJson)
            .map_err(|error| {
                refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    in_plain_words(&error.to_string()),
                )
            })
    }
}

const UTF8_BYTE_ORDER_MARK: &[u8] = "\u{feff}".as_bytes();

/// serde's message with the Rust type it names (the requests' numbers are
/// `i64`) said as a library system's developer reads it.
fn in_plain_words(detail: &str) -> String {
    detail.replace("expected i64", "expected a whole number")
}

/// The problem document for a refusal of the desk.
fn refused(desk: &Desk<'_>, language: Language, error: DeskError) -> Response {
    let status = match &error {
        DeskError::Invalid(_) | DeskError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        DeskError::MembershipNotFound | DeskError::AccountNotFound => StatusCode::NOT_FOUND,
        DeskError::PasswordResetNotOffered => StatusCode::FORBIDDEN,
        DeskError::LinkAttemptsWait { .. } | DeskError::SearchesWait { .. } => StatusCode::TOO_MANY_REQUESTS,
        DeskError::Unavailable(cause) => {
            tracing::warn!(%cause, "desk operation failed: database unavailable");
            StatusCode::SERVICE_UNAVAILABLE
        }
        DeskError::Internal(cause) => {
            tracing::error!(%cause, "desk operation failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::CONFLICT,
    };
    let mut problem = Problem::new(status, error.code(), desk.refusal_message(&error));
    if let DeskError::Invalid(fields) = &error {
        problem.errors = fields
            .iter()
            .map(|field| FieldProblem {
                field: field.field.to_owned(),
                code: field.code.to_owned(),
                message: field.message(language),
            })
            .collect();
    }
    let mut response = problem.into_response();
    if let DeskError::LinkAttemptsWait { seconds, .. } | DeskError::SearchesWait { seconds } = error {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn card_from_path(path: Result<Path<String>, PathRejection>) -> Result<CardNumber, Refusal> {
    let Path(card) = path.map_err(|rejection| Refusal::Unreadable(rejection.body_text()))?;
    Ok(parse_card(&card)?)
}

/// A branch (vestiging) of the library.
#[derive(Debug, Serialize, ToSchema)]
struct BranchView {
    code: String,
    name: String,
}

/// A subscription type (abonnement) of the library and its terms.
#[derive(Debug, Serialize, ToSchema)]
struct SubscriptionTypeView {
    code: String,
    name: String,
    tariff_code: String,
    yearly_fee_cents: i64,
    validity_months: u8,
    min_age: u8,
    max_age: Option<u8>,
}

/// The caller library's branches.
#[utoipa::path(
    get, path = "/api/v1/branches", tag = "desk",
    security(("library_system" = ["desk:register"])),
    responses(
        (status = 200, description = "The branches, by code", body = [BranchView]),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    )
)]
async fn branches(State(state): State<AppState>, caller: Caller) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:register")?;
        let branches = state
            .store
            .catalogue()
            .branches(&caller.library.code)
            .await
            .map_err(DeskError::from)?;
        Ok(branches
            .into_iter()
            .map(|b| BranchView {
                code: b.code.to_string(),
                name: b.name.to_string(),
            })
            .collect::<Vec<_>>())
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

/// The caller library's subscription types.
#[utoipa::path(
    get, path = "/api/v1/subscription-types", tag = "desk",
    security(("library_system" = ["desk:register"])),
    responses(
        (status = 200, description = "The subscription types, by code", body = [SubscriptionTypeView]),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    )
)]
async fn subscription_types(State(state): State<AppState>, caller: Caller) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:register")?;
        let types = state
            .store
            .catalogue()
            .subscription_types(&caller.library.code)
            .await
            .map_err(DeskError::from)?;
        Ok(types
            .into_iter()
            .map(|t| SubscriptionTypeView {
                code: t.code.to_string(),
                name: t.name.to_string(),
                tariff_code: t.tariff_code.to_string(),
                yearly_fee_cents: t.terms.yearly_fee().cents(),
                validity_months: t.terms.validity_months(),
                min_age: t.terms.age_range().min_years(),
                max_age: t.terms.age_range().max_years(),
            })
            .collect::<Vec<_>>())
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

/// Registers a member, with a new login account (the default), an existing
/// one, or none. The answer gives the cost overview first, then the account.
/// Send an `Idempotency-Key` header to make a retry safe: for 7 days, the
/// same key with the same body answers as the first time and creates
/// nothing new.
#[utoipa::path(
    post, path = "/api/v1/memberships", tag = "desk",
    security(("library_system" = ["desk:register"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string of 1 to 255 visible ASCII characters, no spaces", pattern = "^[!-~]{1,255}$")),
    request_body = RegistrationRequest,
    responses(
        (status = 201, description = "Registered", body = Registered),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, description = "The card number is registered already, or the account is disabled", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, response = TooLarge),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Fields are not valid", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "Too many attempts named a wrong birth date or username: to link this username (`link_attempts_wait`), or by this library system at any accounts (`caller_link_attempts_wait`); try again after Retry-After", body = Problem, content_type = PROBLEM_JSON, headers(("Retry-After" = i64, description = "Seconds until such links are taken again"))),
        (status = 503, response = Unavailable),
    )
)]
async fn register(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<ApiJson<RegistrationRequest>, Response>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:register")?;
        let request = ApiJson::read(body)?;
        if request.login_account == LoginAccountMode::Existing {
            caller.require("desk:link")?;
        }
        let key = match headers.get("idempotency-key").map(HeaderValue::to_str) {
            None => None,
            Some(Ok(key)) if is_idempotency_key(key) => Some(key),
            Some(_) => {
                return Err(Refusal::Unreadable(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters, no spaces".into(),
                ));
            }
        };
        Ok(desk.register(&request, key).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::CREATED, result)
}

/// One of this library's registrations, with its login account.
#[utoipa::path(
    get, path = "/api/v1/memberships/{card_number}", tag = "desk",
    security(("library_system" = ["desk:register"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    responses(
        (status = 200, description = "The registration", body = MembershipView),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 422, response = NotACardNumber),
        (status = 503, response = Unavailable),
    )
)]
async fn membership(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:register")?;
        Ok(desk.membership(&card_from_path(path)?).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

/// Which account to link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    /// The account's username, exactly as the member spells it (case-sensitive).
    #[schema(pattern = "^[A-Za-z0-9_.@-]{4,80}$", example = "Sanne_2015")]
    username: String,
}

/// Links a registration without a login account to an existing account.
/// The account's owner gets a mail about it.
#[utoipa::path(
    post, path = "/api/v1/memberships/{card_number}/login-account", tag = "desk",
    security(("library_system" = ["desk:link"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    request_body = LinkRequest,
    responses(
        (status = 200, description = "Linked", body = MembershipView),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 409, description = "The registration has an account already, or the account is disabled", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, response = TooLarge),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Fields are not valid, or no account with the username has a registration of this birth date", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "Too many attempts named a wrong birth date or username: to link this username (`link_attempts_wait`), or by this library system at any accounts (`caller_link_attempts_wait`); try again after Retry-After", body = Problem, content_type = PROBLEM_JSON, headers(("Retry-After" = i64, description = "Seconds until such links are taken again"))),
        (status = 503, response = Unavailable),
    )
)]
async fn link(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<LinkRequest>, Response>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:link")?;
        let card = card_from_path(path)?;
        let request = ApiJson::read(body)?;
        let username = parse_username(&request.username)?;
        Ok(desk.link(&card, &username).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

/// A misspelled `username` must not drop the precondition unseen.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UnlinkQuery {
    /// Only when the registration is on the account with this exact
    /// username: the one the member was asked about.
    #[param(pattern = "^[A-Za-z0-9_.@-]{4,80}$", example = "Sanne_2015")]
    username: Option<String>,
}

/// Takes the registration off its login account, for a link made by
/// mistake (a twin's account, say). The account stays, with its other
/// registrations; its owner gets a mail about it. The registration can then
/// be linked to the right account or get a new one. Name the account with
/// `username` to be sure no other was linked meanwhile.
#[utoipa::path(
    delete, path = "/api/v1/memberships/{card_number}/login-account", tag = "desk",
    security(("library_system" = ["desk:link"])),
    params(
        ("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678"),
        UnlinkQuery,
    ),
    responses(
        (status = 200, description = "Unlinked: the registration, without a login account", body = MembershipView),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 409, description = "The registration has no login account, or another than the one named", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Not a card number, or not a username", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = Unavailable),
    )
)]
async fn unlink(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<UnlinkQuery>, QueryRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:link")?;
        let card = card_from_path(path)?;
        let Query(query) = query.map_err(|rejection| Refusal::Unreadable(rejection.body_text()))?;
        let expected = query.username.as_deref().map(parse_username).transpose()?;
        Ok(desk.unlink(&card, expected.as_ref()).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

/// How the new login account's member is written to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAccountRequest {
    /// The member's language for mails: `nl` (default) or `en`.
    #[serde(default)]
    #[schema(pattern = "^(nl|en)$", example = "nl")]
    language: Option<String>,
}

/// "Nieuw inlogaccount genereren" for a registration made without a login
/// account: a new account for the registration's e-mail address, its
/// username the card number where that is free, and the confirmation mail
/// with which the member sets a password. Send `{}` for Dutch mails. A
/// repeat finds the registration linked (409) and creates nothing.
#[utoipa::path(
    post, path = "/api/v1/memberships/{card_number}/new-login-account", tag = "desk",
    security(("library_system" = ["desk:register"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    request_body = NewAccountRequest,
    responses(
        (status = 201, description = "Generated; the confirmation mail is on its way", body = GeneratedAccount),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 409, description = "The registration has an account already, or no e-mail address", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, response = TooLarge),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Not a card number, or not a language", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = Unavailable),
    )
)]
async fn generate_account(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<NewAccountRequest>, Response>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:register")?;
        let card = card_from_path(path)?;
        let request = ApiJson::read(body)?;
        let language = parse_mail_language(request.language.as_deref())?;
        Ok(desk.generate_account(&card, language).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::CREATED, result)
}

/// The registration's new e-mail address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EmailRequest {
    /// The address the library system holds now; `null` or empty when it
    /// holds none. Required, so that a body without it clears nothing.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true, format = Email, max_length = 254, example = "sanne@example.nl")]
    email: Option<String>,
}

/// The e-mail address changed in the library system: the registration takes
/// it. The login account's recovery address stays until the desk resets it
/// to this one (`recovery-email-reset`), which the member confirms by mail.
#[utoipa::path(
    put, path = "/api/v1/memberships/{card_number}/email", tag = "desk",
    security(("library_system" = ["desk:register"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    request_body = EmailRequest,
    responses(
        (status = 200, description = "The registration, with its new address", body = MembershipView),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 409, description = "No address (`null`) while the registration's login account waits for its confirmation at this registration's address: `no_email_for_account`", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, response = TooLarge),
        (status = 415, description = "The body is not JSON", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Not a card number, or not an e-mail address", body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = Unavailable),
    )
)]
async fn change_registration_email(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<EmailRequest>, Response>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:register")?;
        let card = card_from_path(path)?;
        let request = ApiJson::read(body)?;
        let email = parse_email(request.email.as_deref())?;
        Ok(desk.change_registration_email(&card, email).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

/// "Herstel-e-mailadres resetten": the registration's e-mail address becomes
/// the account's recovery address once the member follows the link mailed to
/// it; the old address gets a notice. Ask the desk's confirmation question first.
#[utoipa::path(
    post, path = "/api/v1/memberships/{card_number}/recovery-email-reset", tag = "desk",
    security(("library_system" = ["desk:recovery"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    responses(
        (status = 202, description = "The verification mail is on its way", body = RecoveryReset),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 409, description = "No account, no e-mail in the registration, nothing to change, an account still waiting for its confirmation mail at that address, or an account of desk staff (`staff_account`: an operator takes the role off first)", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, response = NotACardNumber),
        (status = 503, response = Unavailable),
    )
)]
async fn reset_recovery_email(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:recovery")?;
        Ok(desk.reset_recovery_email(&card_from_path(path)?).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::ACCEPTED, result)
}

/// Sends the confirmation mail of a login account that is not confirmed yet
/// again, with a new link (202). Within a minute of the last one (a double
/// click) no second mail goes, and the answer is 200: the first one's link
/// stays the one that works.
#[utoipa::path(
    post, path = "/api/v1/memberships/{card_number}/confirmation-mail", tag = "desk",
    security(("library_system" = ["desk:recovery"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    responses(
        (status = 202, description = "The mail is on its way", body = AccountSummary),
        (status = 200, description = "A mail went less than a minute ago (a double click): no second one goes, and that mail's link is the one that works", body = AccountSummary),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NoSuchMembership),
        (status = 409, description = "No account, no address to send the mail to, or it is confirmed already", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, response = NotACardNumber),
        (status = 503, response = Unavailable),
    )
)]
async fn resend_confirmation(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:recovery")?;
        Ok(desk.resend_confirmation(&card_from_path(path)?).await?)
    }
    .await;
    let status = match &result {
        Ok(resent) if !resent.mailed => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    caller.respond(&desk, status, result.map(|resent| resent.account))
}

/// Always refused: staff cannot reset passwords. Members choose a new one
/// with "Wachtwoord vergeten" on the login page; the refusal says where.
/// Asked only with the scope of the resets staff can do, as every operation
/// checks its scope before it looks at anything.
#[utoipa::path(
    post, path = "/api/v1/memberships/{card_number}/password-reset", tag = "desk",
    security(("library_system" = ["desk:recovery"])),
    params(("card_number" = String, Path, description = "The card number", pattern = "^[A-Za-z0-9]{4,32}$", example = "20000012345678")),
    responses(
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, description = "Refused: members use \"Wachtwoord vergeten\" (or the token lacks `desk:recovery`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, response = NoSuchMembership),
        (status = 422, response = NotACardNumber),
        (status = 503, response = Unavailable),
    )
)]
async fn password_reset(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result: Result<(), Refusal> = async {
        caller.require("desk:recovery")?;
        let card = card_from_path(path)?;
        Err(desk.refuse_password_reset(&card).await.into())
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AccountQuery {
    /// The exact username, case-sensitive ("Hoofdlettergevoelig").
    #[param(pattern = "^[A-Za-z0-9_.@-]{4,80}$", example = "Sanne_2015")]
    username: String,
}

/// "Bestaand inlogaccount zoeken": finds a login account by its exact,
/// case-sensitive username, at any library. Shows the username and the
/// recovery address partly masked, nothing more.
#[utoipa::path(
    get, path = "/api/v1/accounts", tag = "desk",
    security(("library_system" = ["desk:search"])),
    params(AccountQuery),
    responses(
        (status = 200, description = "The account", body = AccountSummary),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, description = "No account has this username", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Not a possible username", body = Problem, content_type = PROBLEM_JSON),
        (status = 429, description = "Too many searches by this library system found no account (`search_attempts_wait`); try again after Retry-After", body = Problem, content_type = PROBLEM_JSON, headers(("Retry-After" = i64, description = "Seconds until searches are taken again"))),
        (status = 503, response = Unavailable),
    )
)]
async fn find_account(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:search")?;
        let Query(query) = query.map_err(|rejection| Refusal::Unreadable(rejection.body_text()))?;
        let username = parse_username(&query.username)?;
        Ok(desk.find_account(&username).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// How many entries, newest first (1 to 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u16>,
}

/// This library's audit log: every desk action, who did it, to which account, when.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "desk",
    security(("library_system" = ["desk:audit"])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Entries, newest first", body = [AuditLine]),
        (status = 400, response = Unreadable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    )
)]
async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let desk = caller.desk(&state);
    let result = async {
        caller.require("desk:audit")?;
        let Query(query) = query.map_err(|rejection| Refusal::Unreadable(rejection.body_text()))?;
        let limit = query.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Refusal::Unreadable("limit must be 1 to 1000".into()));
        }
        Ok(desk.audit_log(u64::from(limit)).await?)
    }
    .await;
    caller.respond(&desk, StatusCode::OK, result)
}
