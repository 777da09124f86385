//! Vocabulary that every division records in the same terms, so that a breakdown by
//! district means the same thing in every subgraph and their GraphQL enums compose.

use async_graphql::Enum;
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// Helsinki's eight major districts (suurpiirit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum District {
    /// Eteläinen (Southern)
    #[sea_orm(string_value = "etelainen")]
    Etelainen,
    /// Läntinen (Western)
    #[sea_orm(string_value = "lantinen")]
    Lantinen,
    /// Keskinen (Central)
    #[sea_orm(string_value = "keskinen")]
    Keskinen,
    /// Pohjoinen (Northern)
    #[sea_orm(string_value = "pohjoinen")]
    Pohjoinen,
    /// Koillinen (North-Eastern)
    #[sea_orm(string_value = "koillinen")]
    Koillinen,
    /// Kaakkoinen (South-Eastern)
    #[sea_orm(string_value = "kaakkoinen")]
    Kaakkoinen,
    /// Itäinen (Eastern)
    #[sea_orm(string_value = "itainen")]
    Itainen,
    /// Östersundom
    #[sea_orm(string_value = "ostersundom")]
    Ostersundom,
}

/// Splits a stored language list ("ru,so,ar") into ISO 639-1 codes.
pub fn language_list(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where a client's enrolment, service path or support period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RecordStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "interrupted")]
    Interrupted,
}
