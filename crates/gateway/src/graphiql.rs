//! GraphiQL for people exploring the API in a browser: the page a browser gets from
//! `GET /graphql`, and the scripts and styles it loads, all served by the gateway from
//! copies built into the binary (`assets/graphiql/`, their provenance in its README).
//! Nothing is fetched from a CDN, so the page works offline and under a city's
//! content-security policy, and the page's own policy allows scripts from the gateway
//! alone.
//!
//! In the request flow the page and its files are answered before anything else: they
//! read no data, so they are neither operations nor access-log events.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The GraphiQL version served. It is part of the assets' URLs, so a browser keeping them
/// never mixes files of two versions.
pub const VERSION: &str = "3.9.0";

/// The route the assets are served under.
pub const ASSETS_ROUTE: &str = "/graphiql/3.9.0/{file}";

/// What a browser may load for the page: scripts, styles and requests from the gateway
/// only. GraphiQL sets styles inline and carries its fonts as `data:` URLs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src data:; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Kotohub GraphiQL</title>
  <link rel="stylesheet" href="/graphiql/3.9.0/graphiql.min.css">
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/graphiql/3.9.0/react.production.min.js"></script>
  <script src="/graphiql/3.9.0/react-dom.production.min.js"></script>
  <script src="/graphiql/3.9.0/graphiql.min.js"></script>
  <script src="/graphiql/3.9.0/start.js"></script>
</body>
</html>
"#;

/// One file the page loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

const ASSETS: [Asset; 5] = [
    Asset {
        name: "graphiql.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "start.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../assets/graphiql/start.js"),
    },
];

/// The GraphiQL page, with the policy that keeps it to the gateway's own files.
pub fn page() -> Response {
    let mut page = Html(PAGE).into_response();
    let headers = page.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    page
}

/// One of the page's files by name; 404 for any other.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return (StatusCode::NOT_FOUND, "no such GraphiQL file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // A day: the version in the path changes with GraphiQL's, `start.js` with
            // a release.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// The SHA-256 of each published file as its package ships it: every file but
    /// Kotohub's own `start.js`.
    const PINS: [(&str, &str); 4] = [
        (
            "graphiql.min.js",
            "a330a2be1d2389486840a9d0a834767d9083a23f105879e0de54e4fce83d3513",
        ),
        (
            "graphiql.min.css",
            "bdddd50aac5bdb0edd83e5c862ba2fed9db2964e4c75d4655ab62b0a7d5bd730",
        ),
        (
            "react.production.min.js",
            "d949f1c3687aedadcedac85261865f29b17cd273997e7f6b2bfc53b2f9d4c4dd",
        ),
        (
            "react-dom.production.min.js",
            "35f4f974f4b2bcd44da73963347f8952e341f83909e4498227d4e26b98f66f0d",
        ),
    ];

    #[test]
    fn the_published_files_are_the_pinned_ones() {
        for asset in ASSETS.iter().filter(|asset| asset.name != "start.js") {
            let (_, pinned) = PINS
                .iter()
                .find(|(name, _)| *name == asset.name)
                .unwrap_or_else(|| panic!("{} has no pin", asset.name));
            let sha256 = hex::encode(Sha256::digest(asset.bytes));
            assert_eq!(&sha256, pinned, "{} differs from its pin", asset.name);
        }
    }

    #[test]
    fn the_page_loads_every_asset_from_the_versioned_route_and_nothing_else() {
        let prefix = ASSETS_ROUTE.trim_end_matches("{file}");
        assert!(prefix.contains(VERSION));
        let loaded: Vec<&str> = PAGE
            .split(['"', '\''])
            .filter(|part| part.starts_with('/') || part.contains("://"))
            .collect();
        let mut names: Vec<&str> = loaded
            .iter()
            .map(|url| {
                url.strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{url} is not the gateway's"))
            })
            .collect();
        names.sort_unstable();
        let mut served: Vec<&str> = ASSETS.iter().map(|asset| asset.name).collect();
        served.sort_unstable();
        assert_eq!(names, served);
    }
}
