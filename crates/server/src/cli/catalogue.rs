//! `library`, `branch` and `subscription`: the catalogue an operator sets up
//! before desks can register members. Each lists as a table or as `--json`.

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use serde::Serialize;
use si_domain::{
    AgeRange, BranchCode, DisplayName, LibraryCode, Money, SubscriptionCode, SubscriptionTerms, TariffCode,
};
use si_store::{Repositories, Store, StoreError, catalogue::NewSubscriptionType};

#[derive(Debug, Args)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Register a library organisation.
    Create {
        /// Short code, e.g. DRE01 (letters, digits and '-'; stored in capitals).
        #[arg(long, value_parser = LibraryCode::parse)]
        code: LibraryCode,
        /// Name shown to members and staff.
        #[arg(long, value_parser = DisplayName::parse)]
        name: DisplayName,
        #[command(flatten)]
        output: Output,
    },
    /// List every library.
    List {
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum BranchCommand {
    /// Add a branch (vestiging) to a library.
    Create {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        /// Branch number, e.g. 5280.
        #[arg(long, value_parser = BranchCode::parse)]
        code: BranchCode,
        #[arg(long, value_parser = DisplayName::parse)]
        name: DisplayName,
        #[command(flatten)]
        output: Output,
    },
    /// List the branches of a library.
    List {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionCommand {
    /// Add a subscription type (abonnement) to a library.
    Create {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        /// Code, e.g. JEUGD.
        #[arg(long, value_parser = SubscriptionCode::parse)]
        code: SubscriptionCode,
        #[arg(long, value_parser = DisplayName::parse)]
        name: DisplayName,
        /// Tariff code (tariefcode), e.g. J01.
        #[arg(long, value_parser = TariffCode::parse)]
        tariff_code: TariffCode,
        /// Youngest age in years this subscription is for (0 to 130).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=i64::from(AgeRange::OLDEST_YEARS)))]
        min_age: u8,
        /// Oldest age in years (up to 130); leave out for no upper limit.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=i64::from(AgeRange::OLDEST_YEARS)))]
        max_age: Option<u8>,
        /// Yearly fee in euros, e.g. 52.50 or 52,50; at most a million.
        #[arg(long, value_parser = Money::parse_euros)]
        yearly_fee: Money,
        /// How many months a registration or renewal is valid (1 to 120).
        #[arg(long, default_value_t = 12)]
        validity_months: u8,
        #[command(flatten)]
        output: Output,
    },
    /// List the subscription types of a library.
    List {
        #[arg(long, value_parser = LibraryCode::parse)]
        library: LibraryCode,
        #[command(flatten)]
        output: Output,
    },
}

pub async fn library(store: &Store, command: LibraryCommand) -> anyhow::Result<()> {
    let catalogue = store.catalogue();
    match command {
        LibraryCommand::Create { code, name, output } => {
            let library = catalogue
                .create_library(&code, &name)
                .await
                .map_err(|e| explain(e, format!("library {code}")))?;
            print(&output, &library, || {
                format!("Created library {} ({}).", library.code, library.name)
            })
        }
        LibraryCommand::List { output } => {
            let libraries = catalogue.libraries().await?;
            print(&output, &libraries, || {
                table(
                    ["CODE", "NAME"],
                    libraries.iter().map(|l| [l.code.to_string(), l.name.to_string()]),
                )
            })
        }
    }
}

pub async fn branch(store: &Store, command: BranchCommand) -> anyhow::Result<()> {
    let catalogue = store.catalogue();
    match command {
        BranchCommand::Create {
            library,
            code,
            name,
            output,
        } => {
            let branch = catalogue
                .create_branch(&library, &code, &name)
                .await
                .map_err(|e| explain(e, format!("branch {code} of library {library}")))?;
            print(&output, &branch, || {
                format!(
                    "Created branch {} ({}) of library {}.",
                    branch.code, branch.name, branch.library
                )
            })
        }
        BranchCommand::List { library, output } => {
            let branches = catalogue
                .branches(&library)
                .await
                .map_err(|e| explain(e, format!("library {library}")))?;
            print(&output, &branches, || {
                table(
                    ["CODE", "NAME"],
                    branches.iter().map(|b| [b.code.to_string(), b.name.to_string()]),
                )
            })
        }
    }
}

pub async fn subscription(store: &Store, command: SubscriptionCommand) -> anyhow::Result<()> {
    let catalogue = store.catalogue();
    match command {
        SubscriptionCommand::Create {
            library,
            code,
            name,
            tariff_code,
            min_age,
            max_age,
            yearly_fee,
            validity_months,
            output,
        } => {
            let ages = AgeRange::new(min_age, max_age).context("--min-age and --max-age")?;
            let terms =
                SubscriptionTerms::new(yearly_fee, validity_months, ages).context("--validity-months")?;
            let new = NewSubscriptionType {
                code,
                name,
                tariff_code,
                terms,
            };
            let created = catalogue
                .create_subscription_type(&library, &new)
                .await
                .map_err(|e| explain(e, format!("subscription type {} of library {library}", new.code)))?;
            print(&output, &created, || {
                format!(
                    "Created subscription type {} ({}) of library {}: {} a year, ages {}, valid {} months.",
                    created.code,
                    created.name,
                    created.library,
                    created.terms.yearly_fee().format_en(),
                    created.terms.age_range(),
                    created.terms.validity_months()
                )
            })
        }
        SubscriptionCommand::List { library, output } => {
            let types = catalogue
                .subscription_types(&library)
                .await
                .map_err(|e| explain(e, format!("library {library}")))?;
            print(&output, &types, || {
                table(
                    ["CODE", "NAME", "TARIFF", "AGES", "YEARLY FEE", "MONTHS"],
                    types.iter().map(|t| {
                        [
                            t.code.to_string(),
                            t.name.to_string(),
                            t.tariff_code.to_string(),
                            t.terms.age_range().to_string(),
                            t.terms.yearly_fee().format_en(),
                            t.terms.validity_months().to_string(),
                        ]
                    }),
                )
            })
        }
    }
}

/// Says which thing a storage error is about, in the operator's terms.
pub(super) fn explain(error: StoreError, subject: String) -> anyhow::Error {
    match error {
        StoreError::Duplicate { .. } => anyhow!("{subject} already exists"),
        StoreError::NotFound { what } => anyhow!("{what} not found (while working on {subject})"),
        other => other.into(),
    }
}

pub(super) fn print<T: Serialize>(
    output: &Output,
    value: &T,
    human: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if output.json {
        out!("{}", serde_json::to_string_pretty(value)?);
    } else {
        out!("{}", human());
    }
    Ok(())
}

/// Columns padded to their widest cell.
pub(super) fn table<const N: usize>(headers: [&str; N], rows: impl Iterator<Item = [String; N]>) -> String {
    let rows: Vec<[String; N]> = rows.collect();
    if rows.is_empty() {
        return "(none)".to_owned();
    }
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut lines = vec![line(headers.iter().map(|h| h.to_string()).collect())];
    lines.extend(rows.into_iter().map(|row| line(row.to_vec())));
    lines.join("\n")
}
