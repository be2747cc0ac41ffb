//! The domain types that storage, the catalog, auth and the gateway share: a user's
//! subscription ([`Product`]), the user a request acts for ([`Viewer`]) and the catalog's
//! records as imports produce them ([`catalog`]). This module imports nothing of the server's
//! own but [`crate::ids`], so any module may use its types without depending on the module
//! that produces or stores them.

pub mod catalog;

use crate::ids::Id;

/// A user's subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    Free,
    Premium,
}

impl Product {
    pub const fn as_str(self) -> &'static str {
        match self {
            Product::Free => "free",
            Product::Premium => "premium",
        }
    }

    pub fn parse(text: &str) -> Option<Product> {
        match text {
            "free" => Some(Product::Free),
            "premium" => Some(Product::Premium),
            _ => None,
        }
    }
}

/// The user a request or a device connection acts for, as the rest of the server sees it: the
/// account without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub id: Id,
    pub username: String,
    pub display_name: String,
    pub product: Product,
    pub country: String,
    /// Tokens carry the version they were issued under; a token of another version is revoked.
    pub token_version: i64,
}
