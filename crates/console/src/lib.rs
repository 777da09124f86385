//! The web console: the page a browser gets from `GET /`, the scripts and styles it
//! loads (built into the binary from `assets/`, nothing fetched from elsewhere), and how
//! the browser gets the token it works with. It sits beside the gateway's GraphQL routes,
//! not inside them: the page reads no data itself. Everything it shows it asks of
//! `/graphql` and `/q/{name}` with the signed-in user's own token, so every view is
//! authorised by the policy and written to the access log like any other request.
//!
//! Sign-in ([`SignIn`]) is the identity provider's business in production: the page runs
//! the OpenID Connect authorization-code flow with PKCE as a public client and keeps the
//! token in memory. In the embedded default the page offers the development principals,
//! and [`dev_token`] mints a token for the one picked, for browsers on the same machine
//! only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use kotohub_auth::{DevIssuer, Principal};
use serde::Deserialize;
use serde_json::json;

/// How long a token minted for the console lives: a working day, as `kotohub serve`'s.
pub const DEV_TOKEN_TTL: Duration = Duration::from_secs(8 * 3600);

/// How the console's users sign in.
pub enum SignIn {
    /// The embedded default: a developer picks one of these principals.
    Dev {
        issuer: DevIssuer,
        principals: Vec<Principal>,
    },
    /// The city's identity provider.
    Oidc(OidcClient),
    /// Nobody can sign in through the console (`auth.mode = "oidc"` without a console
    /// client configured); the page says so.
    Unavailable,
}

/// The console as a public OpenID Connect client of the identity provider.
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub authorization_url: String,
    pub token_url: String,
    pub client_id: String,
    pub scope: String,
    /// The token endpoint's origin, which the page's policy must let it call.
    token_origin: String,
}

impl OidcClient {
    /// A client of the provider at these endpoints; both must be `https://` URLs, or
    /// `http://` on a loopback host (a provider run for development or tests).
    pub fn new(
        authorization_url: &str,
        token_url: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<Self, String> {
        origin(authorization_url)?;
        let token_origin = origin(token_url)?;
        if client_id.is_empty() {
            return Err("the console's OpenID Connect client needs a client id".to_owned());
        }
        Ok(Self {
            authorization_url: authorization_url.to_owned(),
            token_url: token_url.to_owned(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            token_origin,
        })
    }
}

/// `scheme://host[:port]` of an endpoint URL, refusing what a browser should not send a
/// code or a verifier to.
fn origin(url: &str) -> Result<String, String> {
    let refuse = || format!("{url:?} is not an https:// URL (or http:// on loopback)");
    let (scheme, rest) = url.split_once("://").ok_or_else(refuse)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let allowed = !host.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        && (scheme == "https" || (scheme == "http" && loopback));
    if allowed {
        Ok(format!("{scheme}://{authority}"))
    } else {
        Err(refuse())
    }
}

struct Console {
    sign_in: SignIn,
    policy: HeaderValue,
}

/// The console's routes: `/`, its files under `/console/`, and sign-in.
pub fn router(sign_in: SignIn) -> Router {
    let connect = match &sign_in {
        SignIn::Oidc(client) => format!("'self' blob: {}", client.token_origin),
        _ => "'self' blob:".to_owned(),
    };
    let policy = HeaderValue::from_str(&content_security_policy(&connect))
        .expect("the policy is built from checked origins");
    let console = Arc::new(Console { sign_in, policy });
    Router::new()
        .route("/", get(page))
        .route("/console/sign-in.json", get(sign_in_settings))
        .route("/console/dev-token", post(dev_token))
        .route("/console/{file}", get(asset))
        .with_state(console)
}

/// What a browser may load and call for the console: the gateway's own files, requests to
/// the gateway (and, with OpenID Connect, the provider's token endpoint), and the `blob:`
/// URLs its CSV downloads are. ECharts and GraphiQL set styles inline.
fn content_security_policy(connect: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         font-src data:; img-src 'self' data: blob:; connect-src {connect}; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

const PAGE: &str = include_str!("../assets/index.html");

async fn page(State(console): State<Arc<Console>>) -> Response {
    let mut page = Html(PAGE).into_response();
    let headers = page.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, console.policy.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    page
}

/// One file the page loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    /// How long a browser may keep it: vendored files carry their version in their name,
    /// the console's own are asked for again each time they are used.
    cache: &'static str,
    bytes: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const REVALIDATE: &str = "no-cache";

const ASSETS: [Asset; 5] = [
    Asset {
        name: "app.js",
        content_type: JAVASCRIPT,
        cache: REVALIDATE,
        bytes: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "labels.js",
        content_type: JAVASCRIPT,
        cache: REVALIDATE,
        bytes: include_bytes!("../assets/labels.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        cache: REVALIDATE,
        bytes: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        cache: "public, max-age=86400",
        bytes: include_bytes!("../assets/favicon.svg"),
    },
    Asset {
        name: "echarts-6.1.0.min.js",
        content_type: JAVASCRIPT,
        cache: "public, max-age=86400",
        bytes: include_bytes!("../assets/vendor/echarts.min.js"),
    },
];

async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return (StatusCode::NOT_FOUND, "no such console file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, asset.cache),
        ],
        asset.bytes,
    )
        .into_response()
}

/// What the page needs to offer sign-in: never a secret.
async fn sign_in_settings(State(console): State<Arc<Console>>) -> Response {
    let settings = match &console.sign_in {
        SignIn::Dev { principals, .. } => json!({
            "mode": "dev",
            "principals": principals.iter().map(principal_json).collect::<Vec<_>>(),
        }),
        SignIn::Oidc(client) => json!({
            "mode": "oidc",
            "authorizationUrl": client.authorization_url,
            "tokenUrl": client.token_url,
            "clientId": client.client_id,
            "scope": client.scope,
        }),
        SignIn::Unavailable => json!({ "mode": "unavailable" }),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(settings)).into_response()
}

fn principal_json(principal: &Principal) -> serde_json::Value {
    json!({
        "subject": principal.subject,
        "roles": principal.roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
        "bodies": principal.bodies,
        "division": principal.division,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenRequest {
    subject: String,
}

/// A development token for one of the offered principals. Only in the embedded default,
/// only for a browser on the hub's own machine (the token is an admin's for the asking),
/// and only as JSON, so that another site's page cannot make a browser ask for one with
/// a plain form.
async fn dev_token(
    State(console): State<Arc<Console>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            Json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })),
        )
            .into_response()
    };
    let SignIn::Dev { issuer, principals } = &console.sign_in else {
        return refuse(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "development sign-in exists only with auth.mode = \"dev\"",
        );
    };
    let local = peer.is_some_and(|Extension(ConnectInfo(addr))| addr.ip().is_loopback());
    if !local {
        return refuse(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "development sign-in is for browsers on the hub's own machine",
        );
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the subject as application/json",
        );
    }
    let Ok(request) = serde_json::from_slice::<DevTokenRequest>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "send {\"subject\": \"…\"}, the subject of one of the offered principals",
        );
    };
    let Some(principal) = principals
        .iter()
        .find(|principal| principal.subject == request.subject)
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "that subject is not one of the offered principals",
        );
    };
    let expires_at = SystemTime::now()
        .checked_add(DEV_TOKEN_TTL)
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |at| at.as_secs());
    tracing::info!(subject = %principal.subject, "development token minted for the console");
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "token": issuer.mint(principal, DEV_TOKEN_TTL),
            "expiresAt": expires_at,
            "principal": principal_json(principal),
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use kotohub_auth::{Authenticator, Role};
    use sha2::{Digest, Sha256};
    use tower::ServiceExt;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn dev() -> Router {
        router(SignIn::Dev {
            issuer: DevIssuer::new(SECRET, "kotohub-dev", "kotohub"),
            principals: vec![Principal::new(
                "dev-analyst",
                [Role::Analyst],
                [],
                Some("employment".to_owned()),
            )],
        })
    }

    fn token_request(peer: Option<&str>, content_type: &str, body: &str) -> Request<Body> {
        let mut request = Request::post("/console/dev-token")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap();
        if let Some(peer) = peer {
            let addr: SocketAddr = peer.parse().unwrap();
            request.extensions_mut().insert(ConnectInfo(addr));
        }
        request
    }

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_local_browser_gets_a_token_the_hub_accepts_for_the_principal_it_picked() {
        let response = dev()
            .oneshot(token_request(
                Some("127.0.0.1:50000"),
                "application/json",
                r#"{"subject":"dev-analyst"}"#,
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = body_json(response).await;
        let token = body["token"].as_str().unwrap();
        let principal = Authenticator::shared_secret(SECRET, "kotohub-dev", "kotohub")
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .unwrap();
        assert_eq!(principal.subject, "dev-analyst");
        assert_eq!(principal.roles, vec![Role::Analyst]);
        assert_eq!(principal.division.as_deref(), Some("employment"));
    }

    #[tokio::test]
    async fn tokens_are_refused_to_remote_peers_forms_and_unknown_subjects() {
        let cases = [
            (
                Some("10.1.2.3:50000"),
                "application/json",
                r#"{"subject":"dev-analyst"}"#,
                StatusCode::FORBIDDEN,
            ),
            (
                None,
                "application/json",
                r#"{"subject":"dev-analyst"}"#,
                StatusCode::FORBIDDEN,
            ),
            (
                Some("127.0.0.1:50000"),
                "application/x-www-form-urlencoded",
                "subject=dev-analyst",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                Some("127.0.0.1:50000"),
                "application/json",
                r#"{"subject":"dev-admin"}"#,
                StatusCode::BAD_REQUEST,
            ),
            (
                Some("[::1]:50000"),
                "application/json",
                r#"{"subject":"dev-analyst","roles":["admin"]}"#,
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (peer, content_type, body, status) in cases {
            let response = dev()
                .oneshot(token_request(peer, content_type, body))
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{peer:?} {content_type} {body}");
            let body = body_json(response).await;
            assert!(body.get("token").is_none(), "{body}");
            assert!(body["errors"][0]["message"].is_string(), "{body}");
        }
    }

    #[tokio::test]
    async fn only_the_embedded_default_mints_tokens() {
        let client = OidcClient::new(
            "https://login.example.fi/authorize",
            "https://login.example.fi/token",
            "kotohub-console",
            "openid",
        )
        .unwrap();
        for sign_in in [SignIn::Oidc(client), SignIn::Unavailable] {
            let response = router(sign_in)
                .oneshot(token_request(
                    Some("127.0.0.1:50000"),
                    "application/json",
                    r#"{"subject":"dev-analyst"}"#,
                ))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
    }

    #[tokio::test]
    async fn the_page_may_call_the_providers_token_endpoint_and_nothing_else_outside() {
        let client = OidcClient::new(
            "https://login.example.fi/authorize",
            "https://token.example.fi:8443/oauth2/token",
            "kotohub-console",
            "openid",
        )
        .unwrap();
        let response = router(SignIn::Oidc(client))
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("connect-src 'self' blob: https://token.example.fi:8443;"));
        assert!(policy.contains("script-src 'self';"));
        let settings = router(SignIn::Unavailable)
            .oneshot(
                Request::get("/console/sign-in.json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(body_json(settings).await["mode"], "unavailable");
    }

    #[test]
    fn provider_endpoints_must_be_https_or_loopback() {
        assert!(origin("https://login.example.fi/authorize").is_ok());
        assert_eq!(
            origin("http://127.0.0.1:9000/token").as_deref(),
            Ok("http://127.0.0.1:9000")
        );
        for bad in [
            "http://login.example.fi/token",
            "javascript:alert(1)",
            "https:///token",
            "https://login.example.fi'; script-src *",
            "login.example.fi/token",
        ] {
            assert!(origin(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn the_vendored_charts_are_the_published_file() {
        let echarts = ASSETS
            .iter()
            .find(|asset| asset.name == "echarts-6.1.0.min.js")
            .unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(echarts.bytes)),
            "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"
        );
    }

    #[test]
    fn the_page_loads_only_files_the_console_serves() {
        let served: Vec<&str> = ASSETS.iter().map(|asset| asset.name).collect();
        for part in PAGE.split('"') {
            if let Some(file) = part.strip_prefix("/console/") {
                assert!(served.contains(&file), "{file} is not served");
            } else {
                assert!(!part.contains("://"), "{part} is loaded from elsewhere");
            }
        }
    }
}

#[cfg(test)]
mod label_tests {
    use std::collections::BTreeSet;

    const LABELS: &str = include_str!("../assets/labels.js");
    const APP: &str = include_str!("../assets/app.js");

    /// The keys of one language's table in `labels.js`; a key given twice fails, as the
    /// second would silently win.
    fn keys(language: &str) -> BTreeSet<String> {
        let start = LABELS
            .find(&format!("\n  {language}: {{\n"))
            .unwrap_or_else(|| panic!("labels.js has no {language} table"));
        let table = &LABELS[start..];
        let end = table.find("\n  },").expect("each table ends");
        table[..end]
            .lines()
            .skip(2)
            .filter_map(|line| {
                let line = line.trim();
                let key = line.split(": ").next()?;
                Some(key.trim_matches('\'').to_owned())
            })
            .fold(BTreeSet::new(), |mut keys, key| {
                assert!(keys.insert(key.clone()), "{language} gives {key} twice");
                keys
            })
    }

    #[test]
    fn every_label_is_in_finnish_swedish_and_english() {
        let english = keys("en");
        assert!(english.len() > 100, "{}", english.len());
        for language in ["fi", "sv"] {
            let other = keys(language);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(missing.is_empty(), "{language} lacks {missing:?}");
            assert!(extra.is_empty(), "{language} has unknown {extra:?}");
        }
    }

    #[test]
    fn every_role_the_policy_knows_has_a_label() {
        let english = keys("en");
        for role in kotohub_auth::Role::ALL {
            assert!(english.contains(&format!("role.{role}")), "{role}");
        }
    }

    #[test]
    fn every_label_the_console_asks_for_exists() {
        let english = keys("en");
        // Calls of `t` itself, not of functions whose names end in t (`split(','`).
        let asked: BTreeSet<&str> = APP
            .match_indices("t('")
            .filter(|(at, _)| {
                APP[..*at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| !c.is_alphanumeric() && c != '_' && c != '.')
            })
            .filter_map(|(at, call)| APP[at + call.len()..].split('\'').next())
            .collect();
        assert!(asked.len() > 50, "{}", asked.len());
        let missing: Vec<_> = asked
            .iter()
            .filter(|key| !english.contains(**key))
            .collect();
        assert!(missing.is_empty(), "labels.js lacks {missing:?}");
    }
}
