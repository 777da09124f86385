//! Bearer tokens: verifying the JWT a caller sends and minting development tokens. A
//! token is accepted only if its signature verifies with a key the gateway trusts, its
//! algorithm is the one that key is for, and its issuer, audience, expiry and not-before
//! hold (with a small leeway for clock skew). Production keys come from the identity
//! provider's JWKS (RS256 or ES256); the embedded default signs its own HS256 tokens
//! with a local secret.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::principal::{Principal, Role};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The shortest time between two JWKS fetches: a flood of tokens with made-up key ids
/// must not become a flood of requests to the identity provider.
const MIN_JWKS_REFRESH: Duration = Duration::from_secs(10);

/// Why a token was not accepted. The message is safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token has expired")]
    Expired,
    #[error("the token was signed with a key this hub does not know")]
    UnknownKey,
    #[error("the keys of the identity provider cannot be fetched")]
    KeysUnavailable,
}

/// The claims Kotohub reads. `iss`, `aud`, `exp` and `nbf` are checked by the validation
/// and not read again.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    bodies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    division: Option<String>,
}

/// The claims a development token carries, with the registered ones.
#[derive(Serialize)]
struct MintedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(flatten)]
    claims: Claims,
}

impl Claims {
    fn into_principal(self) -> Principal {
        // Roles the policy does not know grant nothing, so they are dropped here rather
        // than refused: identity providers send roles meant for other systems too.
        let roles = self.roles.iter().filter_map(|name| Role::parse(name));
        Principal::new(self.sub, roles, self.bodies, self.division)
    }

    fn of(principal: &Principal) -> Self {
        Self {
            sub: principal.subject.clone(),
            roles: principal
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            bodies: principal.bodies.clone(),
            division: principal.division.clone(),
        }
    }
}

/// Checks bearer tokens and turns them into principals.
pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audience: String,
}

enum Keys {
    /// One shared HS256 secret: the embedded default only.
    Shared(DecodingKey),
    /// The identity provider's published keys.
    Jwks(Jwks),
}

impl Authenticator {
    /// Accepts HS256 tokens signed with `secret` (the embedded default).
    pub fn shared_secret(secret: &str, issuer: &str, audience: &str) -> Self {
        Self {
            keys: Keys::Shared(DecodingKey::from_secret(secret.as_bytes())),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Accepts RS256 and ES256 tokens signed with a key published at `jwks_url`.
    pub fn jwks(jwks_url: &str, issuer: &str, audience: &str) -> Self {
        Self {
            keys: Keys::Jwks(Jwks::new(jwks_url, None)),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// As [`Authenticator::jwks`], sharing the fetched key set with the other replicas
    /// through `cache`: a replica that meets a key id it does not know looks there before
    /// it asks the identity provider, so a rotation costs the provider one fetch, not one
    /// per replica.
    pub fn jwks_shared(
        jwks_url: &str,
        issuer: &str,
        audience: &str,
        cache: kotohub_cache::Cache,
    ) -> Self {
        Self {
            keys: Keys::Jwks(Jwks::new(jwks_url, Some(cache))),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// The principal of an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let token = authorization
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        // The header is read only to pick the key; nothing in it is trusted until the
        // signature has been checked with that key and the algorithm the key is for.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("malformed token or unsupported algorithm".into()))?;
        let (key, algorithm) = match &self.keys {
            Keys::Shared(key) => (key.clone(), Algorithm::HS256),
            Keys::Jwks(jwks) => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| AuthError::Invalid("the token names no key (kid)".into()))?;
                jwks.key(kid).await?
            }
        };
        if header.alg != algorithm {
            return Err(AuthError::Invalid(format!(
                "the token is signed with {:?}, but its key is for {algorithm:?}",
                header.alg
            )));
        }
        verify(token, &key, algorithm, &self.issuer, &self.audience)
    }
}

fn verify(
    token: &str,
    key: &DecodingKey,
    algorithm: Algorithm,
    issuer: &str,
    audience: &str,
) -> Result<Principal, AuthError> {
    let mut validation = Validation::new(algorithm);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|error| {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => {
                AuthError::Invalid("the signature does not verify".into())
            }
            ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer".into()),
            ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience".into()),
            ErrorKind::ImmatureSignature => AuthError::Invalid("the token is not valid yet".into()),
            ErrorKind::MissingRequiredClaim(claim) => {
                AuthError::Invalid(format!("the token has no {claim} claim"))
            }
            _ => AuthError::Invalid("malformed token".into()),
        }
    })?;
    Ok(data.claims.into_principal())
}

/// The identity provider's keys, fetched on first use and again when a token names a key
/// id that is not among them (the provider has rotated its keys).
struct Jwks {
    url: String,
    http: reqwest::Client,
    keys: RwLock<Arc<HashMap<String, (DecodingKey, Algorithm)>>>,
    /// When the keys were last fetched; held while fetching so that one fetch serves all
    /// the requests waiting for it.
    fetched: tokio::sync::Mutex<Option<Instant>>,
    /// The key set as the replicas share it, by URL.
    shared: Option<kotohub_cache::Cache>,
}

type KeyMap = HashMap<String, (DecodingKey, Algorithm)>;

fn keys_of(set: &JwkSet) -> KeyMap {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = algorithm_of(jwk)?;
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, (key, algorithm)))
        })
        .collect()
}

impl Jwks {
    fn new(url: &str, shared: Option<kotohub_cache::Cache>) -> Self {
        Self {
            url: url.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client without TLS or proxies always builds"),
            keys: RwLock::new(Arc::new(HashMap::new())),
            fetched: tokio::sync::Mutex::new(None),
            shared,
        }
    }

    /// The key set another replica fetched, when it holds `kid`.
    async fn shared_by_replicas(&self, kid: &str) -> Option<KeyMap> {
        let bytes = self.shared.as_ref()?.get(&self.url).await?;
        let set: JwkSet = serde_json::from_slice(&bytes).ok()?;
        let keys = keys_of(&set);
        keys.contains_key(kid).then_some(keys)
    }

    fn known(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), AuthError> {
        if let Some(key) = self.known(kid) {
            return Ok(key);
        }
        let mut fetched = self.fetched.lock().await;
        // Someone else may have fetched while this request waited for the lock.
        if let Some(key) = self.known(kid) {
            return Ok(key);
        }
        if let Some(keys) = self.shared_by_replicas(kid).await {
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
            return self.known(kid).ok_or(AuthError::UnknownKey);
        }
        if fetched.is_some_and(|at| at.elapsed() < MIN_JWKS_REFRESH) {
            return Err(AuthError::UnknownKey);
        }
        let set = self.fetch().await;
        *fetched = Some(Instant::now());
        let set = set?;
        if let (Some(cache), Ok(bytes)) = (&self.shared, serde_json::to_vec(&set)) {
            cache.set(&self.url, Arc::from(bytes)).await;
        }
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys_of(&set));
        self.known(kid).ok_or(AuthError::UnknownKey)
    }

    async fn fetch(&self) -> Result<JwkSet, AuthError> {
        let response = self.http.get(&self.url).send().await.map_err(|error| {
            tracing::warn!(url = %self.url, %error, "JWKS fetch failed");
            AuthError::KeysUnavailable
        })?;
        if !response.status().is_success() {
            tracing::warn!(url = %self.url, status = %response.status(), "JWKS fetch failed");
            return Err(AuthError::KeysUnavailable);
        }
        response.json::<JwkSet>().await.map_err(|error| {
            tracing::warn!(url = %self.url, %error, "the JWKS is not a key set");
            AuthError::KeysUnavailable
        })
    }
}

/// The algorithm a published key is for: RS256 for RSA keys and ES256 for P-256 keys,
/// unless the key says otherwise. Any other key is ignored.
fn algorithm_of(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    let inferred = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(inferred),
        Some(KeyAlgorithm::RS256) if inferred == Algorithm::RS256 => Some(inferred),
        Some(KeyAlgorithm::ES256) if inferred == Algorithm::ES256 => Some(inferred),
        Some(_) => None,
    }
}

/// Mints HS256 tokens for the embedded default (`kotohub token`, and the tokens `kotohub
/// serve` prints).
pub struct DevIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl DevIssuer {
    pub fn new(secret: &str, issuer: &str, audience: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// A token for `principal`, valid for `ttl` from now.
    pub fn mint(&self, principal: &Principal, ttl: Duration) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = MintedClaims {
            iss: &self.issuer,
            aud: &self.audience,
            iat: now,
            nbf: now,
            exp: now.saturating_add(ttl.as_secs()),
            claims: Claims::of(principal),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .expect("HS256 signing of serialisable claims cannot fail")
    }
}

/// Signs arbitrary claims with an arbitrary key and algorithm: for tests that need tokens
/// a real identity provider would issue, or forged ones.
pub fn sign_claims(
    header: &Header,
    claims: &serde_json::Value,
    key: &EncodingKey,
) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(header, claims, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn officer() -> Principal {
        Principal::new("o1", [Role::Officer], ["ohjaamo".to_owned()], None)
    }

    #[tokio::test]
    async fn a_minted_token_authenticates_as_its_principal() {
        let token = DevIssuer::new(SECRET, "iss", "aud").mint(&officer(), Duration::from_secs(60));
        let auth = Authenticator::shared_secret(SECRET, "iss", "aud");
        let principal = auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap();
        assert_eq!(principal, officer());
        // The scheme is case-insensitive, as RFC 7235 says.
        assert!(
            auth.authenticate(Some(&format!("bearer {token}")))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn bad_tokens_are_refused_with_their_reason() {
        let auth = Authenticator::shared_secret(SECRET, "iss", "aud");
        let issuer = DevIssuer::new(SECRET, "iss", "aud");
        let token = issuer.mint(&officer(), Duration::from_secs(60));
        assert_eq!(auth.authenticate(None).await, Err(AuthError::Missing));
        assert_eq!(
            auth.authenticate(Some("Basic abc")).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            auth.authenticate(Some("Bearer ")).await,
            Err(AuthError::Missing)
        );

        let forged = DevIssuer::new("another-secret-another-secret-00", "iss", "aud")
            .mint(&officer(), Duration::from_secs(60));
        assert!(matches!(
            auth.authenticate(Some(&format!("Bearer {forged}"))).await,
            Err(AuthError::Invalid(reason)) if reason.contains("signature")
        ));
        let wrong_issuer =
            DevIssuer::new(SECRET, "other", "aud").mint(&officer(), Duration::from_secs(60));
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {wrong_issuer}")))
                .await,
            Err(AuthError::Invalid("wrong issuer".into()))
        );
        let wrong_audience =
            DevIssuer::new(SECRET, "iss", "other").mint(&officer(), Duration::from_secs(60));
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {wrong_audience}")))
                .await,
            Err(AuthError::Invalid("wrong audience".into()))
        );
        // Tampering with the payload breaks the signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let admin_claims = jsonwebtoken::get_current_timestamp();
        let payload = format!(
            "{{\"sub\":\"o1\",\"roles\":[\"admin\"],\"iss\":\"iss\",\"aud\":\"aud\",\"exp\":{}}}",
            admin_claims + 60
        );
        let encoded = base64url(payload.as_bytes());
        parts[1] = &encoded;
        let tampered = parts.join(".");
        assert!(
            auth.authenticate(Some(&format!("Bearer {tampered}")))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn alg_none_and_expired_tokens_are_refused() {
        let auth = Authenticator::shared_secret(SECRET, "iss", "aud");
        let now = jsonwebtoken::get_current_timestamp();
        let claims = format!(
            "{{\"sub\":\"o1\",\"roles\":[\"officer\"],\"iss\":\"iss\",\"aud\":\"aud\",\"exp\":{}}}",
            now + 60
        );
        let unsigned = format!(
            "{}.{}.",
            base64url(br#"{"alg":"none","typ":"JWT"}"#),
            base64url(claims.as_bytes())
        );
        assert!(matches!(
            auth.authenticate(Some(&format!("Bearer {unsigned}"))).await,
            Err(AuthError::Invalid(_))
        ));
        let expired = sign_claims(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "o1", "roles": ["officer"], "iss": "iss", "aud": "aud",
                "exp": now - LEEWAY_SECS - 5}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {expired}"))).await,
            Err(AuthError::Expired)
        );
        let not_yet = sign_claims(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "o1", "iss": "iss", "aud": "aud",
                "exp": now + 600, "nbf": now + LEEWAY_SECS + 120}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(
            auth.authenticate(Some(&format!("Bearer {not_yet}")))
                .await
                .is_err()
        );
    }

    /// Serves a JWKS whose content the test can change, and counts its fetches.
    async fn jwks_server(
        set: Arc<RwLock<serde_json::Value>>,
        fetches: Arc<std::sync::atomic::AtomicUsize>,
    ) -> String {
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let set = set.clone();
                let fetches = fetches.clone();
                async move {
                    fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    axum::Json(set.read().unwrap().clone())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/jwks")
    }

    fn jwk(key: &EncodingKey, algorithm: Algorithm, kid: &str) -> serde_json::Value {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(key, algorithm).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        serde_json::to_value(jwk).unwrap()
    }

    fn idp_token(key: &EncodingKey, algorithm: Algorithm, kid: &str) -> String {
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.to_owned());
        let now = jsonwebtoken::get_current_timestamp();
        sign_claims(
            &header,
            &serde_json::json!({"sub": "idp-user", "roles": ["officer", "pilot"],
                "bodies": ["ohjaamo"], "iss": "https://idp", "aud": ["kotohub", "other"],
                "exp": now + 300, "nbf": now}),
            key,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn jwks_keys_verify_rs256_and_es256_and_rotation_is_picked_up() {
        let rsa = EncodingKey::from_rsa_pem(include_bytes!("../fixtures/test-rs256.pem")).unwrap();
        let ec = EncodingKey::from_ec_pem(include_bytes!("../fixtures/test-es256.pem")).unwrap();
        let set = Arc::new(RwLock::new(serde_json::json!({
            "keys": [jwk(&rsa, Algorithm::RS256, "rsa-1")]
        })));
        let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let url = jwks_server(set.clone(), fetches.clone()).await;
        let auth = Authenticator::jwks(&url, "https://idp", "kotohub");

        let token = idp_token(&rsa, Algorithm::RS256, "rsa-1");
        let principal = auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap();
        assert_eq!(
            principal.roles,
            vec![Role::Officer],
            "unknown roles are dropped"
        );
        assert_eq!(principal.bodies, vec!["ohjaamo"]);
        auth.authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap();
        assert_eq!(
            fetches.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "keys are cached"
        );

        // A key id that is not published yet is refused without a new fetch inside the
        // refresh interval …
        let ec_token = idp_token(&ec, Algorithm::ES256, "ec-1");
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {ec_token}"))).await,
            Err(AuthError::UnknownKey)
        );
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);

        // … and after rotation a fresh authenticator picks the new key up on first sight.
        set.write().unwrap()["keys"]
            .as_array_mut()
            .unwrap()
            .push(jwk(&ec, Algorithm::ES256, "ec-1"));
        let rotated = Authenticator::jwks(&url, "https://idp", "kotohub");
        assert!(
            rotated
                .authenticate(Some(&format!("Bearer {ec_token}")))
                .await
                .is_ok()
        );

        // An HS256 token that names a published RSA key is refused: the algorithm must be
        // the key's (the classic public-key-as-HMAC-secret confusion).
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".to_owned());
        let confused = sign_claims(
            &header,
            &serde_json::json!({"sub": "x", "iss": "https://idp", "aud": "kotohub",
                "exp": jsonwebtoken::get_current_timestamp() + 60}),
            &EncodingKey::from_secret(b"whatever"),
        )
        .unwrap();
        assert!(matches!(
            rotated
                .authenticate(Some(&format!("Bearer {confused}")))
                .await,
            Err(AuthError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn replicas_sharing_a_cache_fetch_the_key_set_once() {
        let rsa = EncodingKey::from_rsa_pem(include_bytes!("../fixtures/test-rs256.pem")).unwrap();
        let set = Arc::new(RwLock::new(serde_json::json!({
            "keys": [jwk(&rsa, Algorithm::RS256, "rsa-1")]
        })));
        let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let url = jwks_server(set, fetches.clone()).await;
        let shared = kotohub_cache::Cache::new(
            "jwks",
            &kotohub_cache::Store::memory(),
            Duration::from_secs(60),
            10,
        );
        let first = Authenticator::jwks_shared(&url, "https://idp", "kotohub", shared.clone());
        let second = Authenticator::jwks_shared(&url, "https://idp", "kotohub", shared);
        let bearer = format!("Bearer {}", idp_token(&rsa, Algorithm::RS256, "rsa-1"));
        assert!(first.authenticate(Some(&bearer)).await.is_ok());
        assert!(second.authenticate(Some(&bearer)).await.is_ok());
        assert_eq!(
            fetches.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the second replica took the key set the first fetched"
        );
    }

    #[tokio::test]
    async fn an_unreachable_jwks_is_reported_as_unavailable() {
        let ec = EncodingKey::from_ec_pem(include_bytes!("../fixtures/test-es256.pem")).unwrap();
        let auth = Authenticator::jwks("http://127.0.0.1:9/jwks", "https://idp", "kotohub");
        let token = idp_token(&ec, Algorithm::ES256, "ec-1");
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {token}"))).await,
            Err(AuthError::KeysUnavailable)
        );
    }

    fn base64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
