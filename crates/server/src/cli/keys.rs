//! `keys`: the provider's signing keys.

use clap::Subcommand;
use serde::Serialize;
use si_store::{Repositories, Store, signing_keys::StoredKey};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    config::Config,
    oidc::keys::{self, SealingKey},
};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: which sign new tokens, which are retired but
    /// still published (so that tokens they signed verify), which have expired.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create a new signing key for every algorithm, published at once (every
    /// node serves it within a minute). It signs after 7 minutes, when every
    /// node and every cached JWKS has it;
    /// the current keys stop signing then and stay published until every
    /// token they signed has expired. Keys unpublished longer than a session
    /// lives (oidc.session_hours) ago are removed; until then they only check
    /// the ID tokens websites send back as id_token_hint.
    Rotate {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A key as `keys list` shows it.
#[derive(Debug, Serialize)]
struct Listed {
    kid: String,
    algorithm: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    retire_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    state: State,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
enum State {
    /// Published, and signs once the key it replaces retires.
    Waiting,
    Signing,
    Retired,
    Expired,
}

impl State {
    /// As the nodes sign: of an algorithm's keys not retired yet, the one
    /// that retires first signs, and the others wait their turn.
    fn of(key: &StoredKey, all: &[StoredKey], now: OffsetDateTime) -> Self {
        let not_retired = |k: &StoredKey| k.retire_at.is_none_or(|at| at > now);
        let retires = |k: &StoredKey| {
            k.retire_at
                .unwrap_or(OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT))
        };
        let signs_before = |other: &StoredKey| {
            other.kid != key.kid
                && other.algorithm == key.algorithm
                && not_retired(other)
                && retires(other) < retires(key)
        };
        if not_retired(key) && all.iter().any(signs_before) {
            Self::Waiting
        } else if not_retired(key) {
            Self::Signing
        } else if key.expires_at.is_none_or(|at| at > now) {
            Self::Retired
        } else {
            Self::Expired
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Waiting => "published, signs when the one it replaces retires",
            Self::Signing => "signing",
            Self::Retired => "retired, still published",
            Self::Expired => "expired",
        }
    }
}

pub async fn run(store: Store, config: Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::List { json } => {
            let now = store.clock().now();
            let all = store.signing_keys().all().await?;
            let listed: Vec<Listed> = all
                .iter()
                .cloned()
                .map(|key| Listed {
                    state: State::of(&key, &all, now),
                    kid: key.kid,
                    algorithm: key.algorithm,
                    created_at: key.created_at,
                    retire_at: key.retire_at,
                    expires_at: key.expires_at,
                })
                .collect();
            if json {
                out!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(());
            }
            if listed.is_empty() {
                out!("No signing keys yet: `serve` creates them on its first start.");
            }
            for key in listed {
                out!(
                    "{:<22}  {:<5}  created {}  retire {}  expires {}  {}",
                    key.kid,
                    key.algorithm,
                    moment(Some(key.created_at)),
                    moment(key.retire_at),
                    moment(key.expires_at),
                    key.state.describe()
                );
            }
            Ok(())
        }
        KeysCommand::Rotate { json } => {
            let sealing = SealingKey::load(&config, &store).await?;
            let overlap = keys::rotation_overlap(&config.oidc);
            let windows = (keys::PUBLISH_BEFORE_SIGNING, overlap);
            let kept_for_hints = config.oidc.session_lifetime();
            let rotated = keys::rotate(&store, &sealing, windows, kept_for_hints, super::OPERATOR).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&rotated)?);
                return Ok(());
            }
            for key in &rotated {
                if key.retired.is_empty() {
                    out!(
                        "{:<5}  new key {}, published and signing now: it replaces none",
                        key.algorithm,
                        key.kid
                    );
                    continue;
                }
                out!(
                    "{:<5}  new key {}, published now (by every node within a minute), signs from {}",
                    key.algorithm,
                    key.kid,
                    moment(Some(key.signs_from))
                );
                for old in &key.retired {
                    out!(
                        "       retires {old} then, published until {}",
                        moment(key.published_until)
                    );
                }
            }
            Ok(())
        }
    }
}

fn moment(at: Option<OffsetDateTime>) -> String {
    at.and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}
