//! The domain types that storage, the catalog, auth and the gateway share: a user's
//! subscription ([`Product`]). This module imports nothing of the server's own but
//! [`crate::ids`], so any module may use its types without depending on the module that
//! produces or stores them.

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
