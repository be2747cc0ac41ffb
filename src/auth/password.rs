//! Password hashing with Argon2id (the RustCrypto `argon2` crate, its default parameters).
//! Hashing takes tens of milliseconds by design: callers run it off the async workers.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The PHC string of a new salted hash of `password`.
pub fn hash(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .expect("hashing with a fresh salt and default parameters cannot fail")
}

/// True when `password` matches the PHC string `stored`.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = super::hash("correct horse");
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &stored));
        assert!(!super::verify("Correct horse", &stored));
        assert!(!super::verify("correct horse", "not a hash"));
        assert_ne!(
            super::hash("correct horse"),
            stored,
            "every hash has its own salt"
        );
    }
}
