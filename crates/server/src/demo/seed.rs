//! What `serve --demo` puts in the database: two libraries (Drenthe with
//! branch 5280, and Groningen for a member who moves), each with a youth and
//! an adult subscription, a desk account for both, and the two demo sites as
//! OpenID Connect clients. Run at every start in one transaction: what is
//! there is kept, so members registered in an earlier demo stay. The desk
//! password and the sites' secrets are drawn anew each time (the database
//! keeps only digests) and the sites are registered for the address the
//! server has now.

use si_credentials::secrets::SecretToken;
use si_domain::{
    AccountStatus, AgeRange, BranchCode, DisplayName, LibraryCode, Money, SubscriptionCode,
    SubscriptionTerms, TariffCode, Username,
};
use si_store::{Repositories, Store, StoreError, accounts::NewAccount, catalogue::NewSubscriptionType};

use super::site::SiteKind;
use crate::{
    config::{Config, PublicUrl},
    oidc::clients::{
        ClientId, ClientKind, ClientRegistration, ClientSecret, GrantType, IdTokenAlgorithm, RegisterError,
        Scope, register,
    },
};

/// The desk account's username.
pub const STAFF_USERNAME: &str = "balie";

struct DemoLibrary {
    code: &'static str,
    name: &'static str,
    branch: (&'static str, &'static str),
}

const LIBRARIES: [DemoLibrary; 2] = [
    DemoLibrary {
        code: "DRE01",
        name: "Bibliotheek Drenthe",
        branch: ("5280", "Assen"),
    },
    DemoLibrary {
        code: "GRO01",
        name: "Bibliotheek Groningen",
        branch: ("0120", "Groningen Centrale"),
    },
];

struct DemoSubscription {
    code: &'static str,
    name: &'static str,
    tariff_code: &'static str,
    yearly_fee_cents: i64,
    youngest: u8,
    oldest: Option<u8>,
}

const SUBSCRIPTIONS: [DemoSubscription; 2] = [
    DemoSubscription {
        code: "JEUGD",
        name: "Jeugd",
        tariff_code: "J01",
        yearly_fee_cents: 0,
        youngest: 0,
        oldest: Some(17),
    },
    DemoSubscription {
        code: "VOLWASSEN",
        name: "Volwassenen",
        tariff_code: "V01",
        yearly_fee_cents: 5200,
        youngest: 18,
        oldest: None,
    },
];

/// The secrets of one start: shown once (the password) or kept in memory.
pub struct Seeded {
    pub staff_password: String,
    pub website_secret: ClientSecret,
    pub ebooks_secret: ClientSecret,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("registering a demo site: {0}")]
    Client(#[from] RegisterError),
    #[error("hashing the desk password: {0}")]
    Hash(String),
    #[error("the operating system's random generator failed")]
    Randomness,
}

pub async fn seed(store: &Store, config: &Config, public_url: &PublicUrl) -> Result<Seeded, SeedError> {
    let staff_password = staff_password()?;
    let hash = si_credentials::hash_password(&staff_password, &config.argon2())
        .map_err(|e| SeedError::Hash(e.to_string()))?;
    let txn = store.begin().await?;
    for library in &LIBRARIES {
        catalogue(&txn, library).await?;
    }
    staff(&txn, hash).await?;
    let website_secret = site(&txn, SiteKind::Website, public_url).await?;
    let ebooks_secret = site(&txn, SiteKind::Ebooks, public_url).await?;
    txn.commit().await?;
    Ok(Seeded {
        staff_password,
        website_secret,
        ebooks_secret,
    })
}

async fn catalogue(txn: &impl Repositories, demo: &DemoLibrary) -> Result<(), StoreError> {
    let catalogue = txn.catalogue();
    let code = LibraryCode::parse(demo.code).expect("a valid demo library code");
    if let Err(StoreError::NotFound { .. }) = catalogue.library(&code).await {
        let name = DisplayName::parse(demo.name).expect("a valid demo name");
        catalogue.create_library(&code, &name).await?;
    }
    let branch = BranchCode::parse(demo.branch.0).expect("a valid demo branch code");
    if let Err(StoreError::NotFound { .. }) = catalogue.branch(&code, &branch).await {
        let name = DisplayName::parse(demo.branch.1).expect("a valid demo name");
        catalogue.create_branch(&code, &branch, &name).await?;
    }
    for kind in &SUBSCRIPTIONS {
        let subscription = SubscriptionCode::parse(kind.code).expect("a valid demo subscription code");
        if let Err(StoreError::NotFound { .. }) = catalogue.subscription_type(&code, &subscription).await {
            let terms = SubscriptionTerms::new(
                Money::from_cents(kind.yearly_fee_cents).expect("a valid demo fee"),
                12,
                AgeRange::new(kind.youngest, kind.oldest).expect("a valid demo age range"),
            )
            .expect("valid demo terms");
            let new = NewSubscriptionType {
                code: subscription,
                name: DisplayName::parse(kind.name).expect("a valid demo name"),
                tariff_code: TariffCode::parse(kind.tariff_code).expect("a valid demo tariff code"),
                terms,
            };
            catalogue.create_subscription_type(&code, &new).await?;
        }
    }
    Ok(())
}

/// The desk account, at the desk of both libraries, with this start's password.
async fn staff(txn: &impl Repositories, hash: String) -> Result<(), StoreError> {
    let username = Username::parse(STAFF_USERNAME).expect("a valid demo username");
    let account = match txn.accounts().by_username(&username).await? {
        Some(account) => {
            txn.accounts().set_password_hash(&account.id, hash).await?;
            txn.accounts()
                .set_status(&account.id, AccountStatus::Active)
                .await?;
            account
        }
        None => {
            txn.accounts()
                .create(NewAccount {
                    username,
                    email: None,
                    status: AccountStatus::Active,
                    language: "nl".to_owned(),
                    password_hash: Some(hash),
                })
                .await?
        }
    };
    for demo in &LIBRARIES {
        let library = txn
            .catalogue()
            .library(&LibraryCode::parse(demo.code).expect("a valid demo library code"))
            .await?;
        txn.staff().grant(&account.id, &library).await?;
    }
    Ok(())
}

/// Registers a demo site afresh: its address may have changed since the
/// last start, and only this process knows the new secret.
async fn site(
    txn: &impl Repositories,
    kind: SiteKind,
    public_url: &PublicUrl,
) -> Result<ClientSecret, SeedError> {
    match txn.clients().delete(kind.client_id()).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    let base = format!("{public_url}{}", kind.path());
    let registration = ClientRegistration {
        id: Some(ClientId::parse(kind.client_id()).expect("a valid demo client id")),
        name: DisplayName::parse(kind.client_name()).expect("a valid demo name"),
        kind: ClientKind::Confidential,
        redirect_uris: vec![format!("{base}/callback")],
        post_logout_redirect_uris: vec![format!("{base}/")],
        backchannel_logout_uri: Some(format!("{base}/backchannel-logout")),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ["openid", "profile", "email", "library"]
            .into_iter()
            .map(|s| Scope::parse(s).expect("a known scope"))
            .collect(),
        library: None,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
    };
    let (_, secret) = register(txn, registration).await?;
    Ok(secret.expect("a confidential client gets a secret"))
}

/// A password that meets the member rules too: "Balie-", 12 random
/// base64url characters (72 bits) and a digit.
fn staff_password() -> Result<String, SeedError> {
    let token = SecretToken::generate().map_err(|_| SeedError::Randomness)?;
    Ok(format!("Balie-{}7", &token.expose()[..12]))
}
