//! Error masking for resolvers. A database or I/O error carries text that must never reach
//! a client (table names, SQL, file paths), so resolvers turn it into a generic GraphQL
//! error with a reference the operator can find in the log.

use std::fmt::Display;

use async_graphql::ErrorExtensions;
use std::sync::atomic::{AtomicU64, Ordering};

/// Code carried in `extensions.code` of every masked error.
pub const INTERNAL_ERROR: &str = "INTERNAL_SERVER_ERROR";

static NEXT_REFERENCE: AtomicU64 = AtomicU64::new(1);

/// Logs `err` in full and returns a client-safe error naming only a reference number.
pub fn internal(err: impl Display) -> async_graphql::Error {
    let reference = NEXT_REFERENCE.fetch_add(1, Ordering::Relaxed);
    tracing::error!(reference, error = %err, "resolver failed");
    async_graphql::Error::new(format!(
        "internal error (reference {reference}); the details are in the service log"
    ))
    .extend_with(|_, ext| ext.set("code", INTERNAL_ERROR))
}

/// A refusal by the access rules, tagged `FORBIDDEN` as the gateway tags its own.
pub fn forbidden(message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", "FORBIDDEN"))
}

/// An error caused by the client's arguments, tagged `BAD_USER_INPUT`.
pub fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", "BAD_USER_INPUT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_error_does_not_carry_the_cause() {
        let err = internal("no such table: clients");
        assert!(!err.message.contains("clients"));
        assert!(err.message.contains("reference"));
    }
}
