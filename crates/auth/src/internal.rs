//! The internal principal header: how the gateway tells a subgraph who an operation runs
//! as. The gateway signs the principal (HS256, a key shared with the subgraphs only, a
//! one-minute lifetime) into `x-kotohub-principal`, for one subgraph (the audience names
//! it) and one request (its id is signed in); a subgraph runs nothing without a header
//! that verifies for itself, so reaching a subgraph's port directly gives nothing, and a
//! subgraph that kept a header it was sent cannot use it at another.

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

/// The audience of a header meant for the subgraph `name`.
fn audience(name: &str) -> String {
    format!("kotohub-subgraph:{name}")
}

/// How long a signed principal is accepted: long enough for one operation's fetches.
pub const LIFETIME: Duration = Duration::from_secs(60);

#[derive(Serialize, Deserialize)]
struct Signed {
    iss: String,
    aud: String,
    exp: u64,
    iat: u64,
    /// The gateway's id of the request the header was signed for.
    rid: String,
    principal: Principal,
    /// The one client outside the principal's bodies it may read in this request, under
    /// an emergency access the gateway checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    emergency_client: Option<String>,
}

/// A verified header: who the operation runs as, and for which request.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub principal: Principal,
    pub request_id: String,
    /// The client an emergency access opens to the principal in this request.
    pub emergency_client: Option<String>,
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

    /// The header value that runs request `request_id` as `principal` at the subgraph
    /// called `subgraph`, and nowhere else.
    pub fn sign(&self, principal: &Principal, subgraph: &str, request_id: &str) -> String {
        self.sign_with_emergency(principal, subgraph, request_id, None)
    }

    /// As [`InternalKey::sign`], also opening `emergency_client` to the principal for
    /// this request: the gateway signs it only under an emergency access it checked.
    pub fn sign_with_emergency(
        &self,
        principal: &Principal,
        subgraph: &str,
        request_id: &str,
        emergency_client: Option<&str>,
    ) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let signed = Signed {
            iss: ISSUER.to_owned(),
            aud: audience(subgraph),
            iat: now,
            exp: now.saturating_add(LIFETIME.as_secs()),
            rid: request_id.to_owned(),
            principal: principal.clone(),
            emergency_client: emergency_client.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &signed, &self.encoding)
            .expect("HS256 signing of serialisable claims cannot fail")
    }

    /// The principal and request in a header value, if it was signed with this key for
    /// the subgraph called `subgraph` and is current.
    pub fn verify(&self, value: Option<&str>, subgraph: &str) -> Result<Verified, AuthError> {
        let value = value.filter(|v| !v.is_empty()).ok_or(AuthError::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience(subgraph)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        jsonwebtoken::decode::<Signed>(value, &self.decoding, &validation)
            .map(|data| Verified {
                principal: data.claims.principal,
                request_id: data.claims.rid,
                emergency_client: data.claims.emergency_client,
            })
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
        let signed = key.sign(&principal, "culture", "r-1");
        assert_eq!(
            key.verify(Some(&signed), "culture"),
            Ok(Verified {
                principal: principal.clone(),
                request_id: "r-1".to_owned(),
                emergency_client: None,
            })
        );
        let opened = key.sign_with_emergency(&principal, "culture", "r-1", Some("c-9"));
        assert_eq!(
            key.verify(Some(&opened), "culture")
                .map(|verified| verified.emergency_client),
            Ok(Some("c-9".to_owned()))
        );
        let other = InternalKey::new("k2k2k2k2k2k2k2k2k2k2k2k2k2k2k2k2");
        assert!(other.verify(Some(&signed), "culture").is_err());
        assert_eq!(key.verify(None, "culture"), Err(AuthError::Missing));
        assert!(key.verify(Some("not.a.token"), "culture").is_err());
    }

    #[test]
    fn a_header_signed_for_one_subgraph_does_not_verify_at_another() {
        let principal = Principal::new("a", [Role::Officer], ["ohjaamo".into()], None);
        let key = InternalKey::new("k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1");
        let signed = key.sign(&principal, "employment", "r-2");
        assert!(key.verify(Some(&signed), "employment").is_ok());
        for elsewhere in ["programme", "social", "audit", "employment2", ""] {
            assert!(
                key.verify(Some(&signed), elsewhere).is_err(),
                "replayed at {elsewhere:?}"
            );
        }
    }

    #[test]
    fn a_user_token_is_not_an_internal_header() {
        // A token minted for users with the same secret must still not pass: the audience
        // and issuer differ.
        let secret = "k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1k1";
        let principal = Principal::new("a", [Role::Admin], [], None);
        let user_token = crate::token::DevIssuer::new(secret, "kotohub-dev", "kotohub")
            .mint(&principal, Duration::from_secs(60));
        assert!(
            InternalKey::new(secret)
                .verify(Some(&user_token), "kotohub")
                .is_err()
        );
    }
}
