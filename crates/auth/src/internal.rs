//! The internal principal header: how the gateway tells a subgraph who an operation runs
//! as. The gateway signs the principal (HS256, a key shared with the subgraphs only, a
//! one-minute lifetime) into `x-kotohub-principal`; a subgraph runs nothing without a
//! header that verifies, so reaching a subgraph's port directly gives nothing.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::token::{AuthError, LEEWAY_SECS};

/// The header that carries the signed principal.
pub const HEADER: &str = "x-kotohub-principal";

/// The response extension in which a subgraph lists the clients whose person-level data
/// its answer holds, for the gateway's access log.
pub const CLIENTS_EXTENSION: &str = "kotohubClients";

/// The response extension in which a subgraph counts the aggregate cells it suppressed.
pub const SUPPRESSED_EXTENSION: &str = "kotohubSuppressedCells";

const ISSUER: &str = "kotohub-gateway";
const AUDIENCE: &str = "kotohub-subgraph";

/// How long a signed principal is accepted: long enough for one operation's fetches.
pub const LIFETIME: Duration = Duration::from_secs(60);

#[derive(Serialize, Deserialize)]
struct Signed {
    iss: String,
    aud: String,
    exp: u64,
    iat: u64,
    principal: Principal,
}

/// Signs principals (the gateway) and verifies them (the subgraphs).
pub struct InternalKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl InternalKey {
    pub fn new(secret: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        }
    }

    /// The header value for `principal`.
    pub fn sign(&self, principal: &Principal) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let signed = Signed {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now.saturating_add(LIFETIME.as_secs()),
            principal: principal.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &signed, &self.encoding)
            .expect("HS256 signing of serialisable claims cannot fail")
    }

    /// The principal in a header value, if it was signed with this key and is current.
    pub fn verify(&self, value: Option<&str>) -> Result<Principal, AuthError> {
        let value = value.filter(|v| !v.is_empty()).ok_or(AuthError::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        jsonwebtoken::decode::<Signed>(value, &self.decoding, &validation)
            .map(|data| data.claims.principal)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid("the internal principal header does not verify".into()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Role;

    #[test]
    fn a_signed_principal_verifies_only_with_the_same_key() {
        let principal = Principal::new("a", [Role::Analyst], [], Some("culture".into()));
        let key = InternalKey::new("k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1");
        let signed = key.sign(&principal);
        assert_eq!(key.verify(Some(&signed)), Ok(principal));
        let other = InternalKey::new("k2k2k2k2k2k2k2k2k2k2k2k2k2k2k2k2");
        assert!(other.verify(Some(&signed)).is_err());
        assert_eq!(key.verify(None), Err(AuthError::Missing));
        assert!(key.verify(Some("not.a.token")).is_err());
    }

    #[test]
    fn a_user_token_is_not_an_internal_header() {
        // A token minted for users with the same secret must still not pass: the audience
        // and issuer differ.
        let secret = "k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1";
        let principal = Principal::new("a", [Role::Admin], [], None);
        let user_token = crate::token::DevIssuer::new(secret, "kotohub-dev", "kotohub")
            .mint(&principal, Duration::from_secs(60));
        assert!(InternalKey::new(secret).verify(Some(&user_token)).is_err());
    }
}
