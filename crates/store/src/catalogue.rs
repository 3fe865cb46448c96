//! Libraries, their branches and their subscription types: the catalogue that
//! operators set up and desk registrations refer to.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use si_domain::{
    AgeRange, BranchCode, DisplayName, LibraryCode, Money, SubscriptionCode, SubscriptionTerms, TariffCode,
};

use crate::{
    Clock, StoreError,
    entity::{branch, library, subscription_type},
    error::parse_stored,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    #[serde(skip)]
    pub id: i64,
    pub code: LibraryCode,
    pub name: DisplayName,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branch {
    #[serde(skip)]
    pub id: i64,
    pub library: LibraryCode,
    pub code: BranchCode,
    pub name: DisplayName,
}

/// What an operator gives to define a subscription type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriptionType {
    pub code: SubscriptionCode,
    pub name: DisplayName,
    pub tariff_code: TariffCode,
    pub terms: SubscriptionTerms,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionType {
    #[serde(skip)]
    pub id: i64,
    pub library: LibraryCode,
    pub code: SubscriptionCode,
    pub name: DisplayName,
    pub tariff_code: TariffCode,
    #[serde(flatten)]
    pub terms: SubscriptionTerms,
}

pub struct Catalogue<'c, C> {
    conn: &'c C,
    clock: &'c dyn Clock,
}

impl<'c, C: ConnectionTrait> Catalogue<'c, C> {
    pub(crate) fn new(conn: &'c C, clock: &'c dyn Clock) -> Self {
        Self { conn, clock }
    }

    pub async fn create_library(
        &self,
        code: &LibraryCode,
        name: &DisplayName,
    ) -> Result<Library, StoreError> {
        let row = library::ActiveModel {
            code: Set(code.as_str().to_owned()),
            name: Set(name.as_str().to_owned()),
            created_at: Set(self.clock.now_millis()),
            ..Default::default()
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("library", e))?;
        Ok(Library {
            id: row.id,
            code: code.clone(),
            name: name.clone(),
        })
    }

    pub async fn libraries(&self) -> Result<Vec<Library>, StoreError> {
        library::Entity::find()
            .order_by_asc(library::Column::Code)
            .all(self.conn)
            .await?
            .into_iter()
            .map(library_from_row)
            .collect()
    }

    pub async fn library(&self, code: &LibraryCode) -> Result<Library, StoreError> {
        library::Entity::find()
            .filter(library::Column::Code.eq(code.as_str()))
            .one(self.conn)
            .await?
            .map(library_from_row)
            .unwrap_or(Err(StoreError::NotFound { what: "library" }))
    }

    pub async fn create_branch(
        &self,
        library: &LibraryCode,
        code: &BranchCode,
        name: &DisplayName,
    ) -> Result<Branch, StoreError> {
        let owner = self.library(library).await?;
        let row = branch::ActiveModel {
            library_id: Set(owner.id),
            code: Set(code.as_str().to_owned()),
            name: Set(name.as_str().to_owned()),
            created_at: Set(self.clock.now_millis()),
            ..Default::default()
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("branch", e))?;
        Ok(Branch {
            id: row.id,
            library: owner.code,
            code: code.clone(),
            name: name.clone(),
        })
    }

    /// Branches of one library, ordered by code.
    pub async fn branches(&self, library: &LibraryCode) -> Result<Vec<Branch>, StoreError> {
        let owner = self.library(library).await?;
        branch::Entity::find()
            .filter(branch::Column::LibraryId.eq(owner.id))
            .order_by_asc(branch::Column::Code)
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| branch_from_row(&owner, row))
            .collect()
    }

    pub async fn branch(&self, library: &LibraryCode, code: &BranchCode) -> Result<Branch, StoreError> {
        let owner = self.library(library).await?;
        branch::Entity::find()
            .filter(branch::Column::LibraryId.eq(owner.id))
            .filter(branch::Column::Code.eq(code.as_str()))
            .one(self.conn)
            .await?
            .map(|row| branch_from_row(&owner, row))
            .unwrap_or(Err(StoreError::NotFound { what: "branch" }))
    }

    pub async fn create_subscription_type(
        &self,
        library: &LibraryCode,
        new: &NewSubscriptionType,
    ) -> Result<SubscriptionType, StoreError> {
        let owner = self.library(library).await?;
        let row = subscription_type::ActiveModel {
            library_id: Set(owner.id),
            code: Set(new.code.as_str().to_owned()),
            name: Set(new.name.as_str().to_owned()),
            tariff_code: Set(new.tariff_code.as_str().to_owned()),
            min_age: Set(i64::from(new.terms.age_range().min_years())),
            max_age: Set(new.terms.age_range().max_years().map(i64::from)),
            yearly_fee_cents: Set(new.terms.yearly_fee().cents()),
            validity_months: Set(i64::from(new.terms.validity_months())),
            created_at: Set(self.clock.now_millis()),
            ..Default::default()
        }
        .insert(self.conn)
        .await
        .map_err(|e| StoreError::on_write("subscription type", e))?;
        subscription_type_from_row(&owner, row)
    }

    /// Subscription types of one library, ordered by code.
    pub async fn subscription_types(
        &self,
        library: &LibraryCode,
    ) -> Result<Vec<SubscriptionType>, StoreError> {
        let owner = self.library(library).await?;
        subscription_type::Entity::find()
            .filter(subscription_type::Column::LibraryId.eq(owner.id))
            .order_by_asc(subscription_type::Column::Code)
            .all(self.conn)
            .await?
            .into_iter()
            .map(|row| subscription_type_from_row(&owner, row))
            .collect()
    }

    pub async fn subscription_type(
        &self,
        library: &LibraryCode,
        code: &SubscriptionCode,
    ) -> Result<SubscriptionType, StoreError> {
        let owner = self.library(library).await?;
        subscription_type::Entity::find()
            .filter(subscription_type::Column::LibraryId.eq(owner.id))
            .filter(subscription_type::Column::Code.eq(code.as_str()))
            .one(self.conn)
            .await?
            .map(|row| subscription_type_from_row(&owner, row))
            .unwrap_or(Err(StoreError::NotFound {
                what: "subscription type",
            }))
    }
}

pub(crate) fn library_from_row(row: library::Model) -> Result<Library, StoreError> {
    Ok(Library {
        id: row.id,
        code: parse_stored("library code", &row.code, LibraryCode::parse)?,
        name: parse_stored("library name", &row.name, DisplayName::parse)?,
    })
}

fn branch_from_row(owner: &Library, row: branch::Model) -> Result<Branch, StoreError> {
    Ok(Branch {
        id: row.id,
        library: owner.code.clone(),
        code: parse_stored("branch code", &row.code, BranchCode::parse)?,
        name: parse_stored("branch name", &row.name, DisplayName::parse)?,
    })
}

fn subscription_type_from_row(
    owner: &Library,
    row: subscription_type::Model,
) -> Result<SubscriptionType, StoreError> {
    let corrupt = || StoreError::Corrupt {
        what: "subscription terms",
        value: format!(
            "{} {}: a yearly fee of {} cents, {} months, ages {} to {}",
            owner.code,
            row.code,
            row.yearly_fee_cents,
            row.validity_months,
            row.min_age,
            row.max_age
                .map_or_else(|| "any".to_owned(), |max| max.to_string())
        ),
    };
    let small = |value: i64| u8::try_from(value).map_err(|_| corrupt());
    let ages =
        AgeRange::new(small(row.min_age)?, row.max_age.map(small).transpose()?).map_err(|_| corrupt())?;
    let fee = Money::from_cents(row.yearly_fee_cents).map_err(|_| corrupt())?;
    let terms = SubscriptionTerms::new(fee, small(row.validity_months)?, ages).map_err(|_| corrupt())?;
    Ok(SubscriptionType {
        id: row.id,
        library: owner.code.clone(),
        code: parse_stored("subscription code", &row.code, SubscriptionCode::parse)?,
        name: parse_stored("subscription name", &row.name, DisplayName::parse)?,
        tariff_code: parse_stored("tariff code", &row.tariff_code, TariffCode::parse)?,
        terms,
    })
}
