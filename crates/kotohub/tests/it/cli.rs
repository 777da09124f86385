//! The `kotohub` command as people run it: the README's `kotohub serve` starts, seeds on
//! first start, answers, and stops cleanly on Ctrl-C; tokens are minted; and the gateway
//! alone fetches a production identity provider's keys over HTTPS.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn free_port_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = kotohub::ALL_SUBGRAPHS
        .iter()
        .map(|name| {
            (
                format!("KOTOHUB__SUBGRAPHS__{}__LISTEN", name.to_uppercase()),
                "127.0.0.1:0".to_owned(),
            )
        })
        .collect();
    env.push(("KOTOHUB__SERVE__SEED_CLIENTS".into(), "300".into()));
    env.push(("KOTOHUB__SERVE__LISTEN".into(), "127.0.0.1:0".into()));
    env
}

/// A running `kotohub serve`, killed and reaped if a test fails before stopping it.
pub(crate) struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// What `kotohub serve` logs, line by line, as it runs.
pub(crate) type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Runs `kotohub serve` until it prints its ready line; returns it and what it printed.
fn start_serve(data_dir: &std::path::Path) -> (Serve, Vec<String>) {
    let (serve, lines, _) = start_serve_with(data_dir, &[]);
    (serve, lines)
}

/// Runs `kotohub serve` with `env` added until it prints its ready line; returns it,
/// what it printed and what it goes on logging.
pub(crate) fn start_serve_with(
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Serve, Vec<String>, Log) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kotohub"))
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .envs(free_port_env())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Serve(child);
    let log = Log::default();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("serve printed its ready line in time");
        let ready = line.starts_with("Press Ctrl-C");
        lines.push(line);
        if ready {
            return (child, lines, log);
        }
    }
}

/// The URL `serve` printed after `name` (`GraphQL`, `programme`, …).
pub(crate) fn printed_url(lines: &[String], name: &str) -> String {
    lines
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("the {name} URL is printed: {lines:?}"))
}

/// The token `serve` printed for `role`: one per role, each on the line after its role.
pub(crate) fn printed_token(lines: &[String], role: &str) -> String {
    let at = lines
        .iter()
        .position(|l| l.trim().starts_with(role))
        .unwrap_or_else(|| panic!("a {role} token is printed: {lines:?}"));
    lines[at + 1].trim().to_owned()
}

pub(crate) fn stop(mut serve: Serve) {
    let child = &mut serve.0;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "serve exits cleanly on Ctrl-C: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("serve did not stop within ten seconds of Ctrl-C");
}

#[tokio::test]
async fn serve_seeds_once_answers_and_stops_cleanly() {
    let data_dir = std::env::temp_dir().join(format!("kotohub-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);

    let (child, lines) = start_serve(&data_dir);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Seeding 300 synthetic clients")),
        "{lines:?}"
    );
    // The embedded default sends no traces, and says how to.
    assert!(
        lines
            .iter()
            .any(|l| l.trim().starts_with("Traces      not exported")),
        "{lines:?}"
    );
    let url_of = |name: &str| printed_url(&lines, name);
    let gateway = url_of("GraphQL");
    let programme = url_of("programme");
    let token_of = |role: &str| printed_token(&lines, role);
    let http = reqwest::Client::new();
    let catalog =
        serde_json::json!({ "query": "{ measures { id } measureSets { id } themes { id } }" });
    for role in ["officer", "analyst", "auditor", "admin"] {
        let body: serde_json::Value = http
            .post(&gateway)
            .bearer_auth(token_of(role))
            .json(&catalog)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["data"]["measures"].as_array().unwrap().len(),
            64,
            "{role}: {body}"
        );
        assert_eq!(body["data"]["measureSets"].as_array().unwrap().len(), 11);
        assert_eq!(body["data"]["themes"].as_array().unwrap().len(), 4);
    }
    // Without a token the gateway answers 401, and a subgraph reached directly gives
    // nothing either.
    let response = http.post(&gateway).json(&catalog).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = http.post(&programme).json(&catalog).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");
    // `kotohub token` mints tokens the running hub accepts.
    let minted = Command::new(env!("CARGO_BIN_EXE_kotohub"))
        .args([
            "token",
            "--role",
            "officer",
            "--body",
            "ohjaamo",
            "--ttl",
            "10m",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let minted = String::from_utf8(minted.stdout).unwrap();
    let body: serde_json::Value = http
        .post(&gateway)
        .bearer_auth(minted.trim())
        .header(crate::helpers::PURPOSE_HEADER, crate::helpers::PURPOSE)
        .json(&serde_json::json!({ "query": "{ clients(first: 5) { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["clients"].as_array().unwrap().len(),
        5,
        "{body}"
    );
    // The officer's seeded saved query, as CSV: a header row and the body's rows.
    let base = gateway.trim_end_matches("/graphql");
    let response = http
        .get(format!(
            "{base}/q/ohjaamo-events-in-other-languages?format=csv"
        ))
        .bearer_auth(token_of("officer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    let mut records = csv.split("\r\n").filter(|r| !r.is_empty());
    assert_eq!(
        records.next(),
        Some(
            "networkingEvents.id,networkingEvents.title,networkingEvents.heldOn,networkingEvents.district,networkingEvents.languages,networkingEvents.participantCount"
        )
    );
    assert!(records.count() > 0, "{csv}");
    stop(child);

    // A second start finds the data and does not seed again.
    let (child, lines) = start_serve(&data_dir);
    assert!(!lines.iter().any(|l| l.starts_with("Seeding")), "{lines:?}");
    stop(child);
    std::fs::remove_dir_all(&data_dir).unwrap();
}

/// The identity provider publishes its keys over HTTPS: a gateway in production mode
/// fetches them through TLS, trusting the certificate authorities of the system's store
/// (here the test's own CA, named by `SSL_CERT_FILE` as an image's store would hold it),
/// and refuses a server it cannot trust rather than reading its keys.
#[tokio::test]
async fn the_gateway_fetches_the_identity_providers_keys_over_https() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but openssl is not installed"
        );
        eprintln!("openssl is not installed: HTTPS identity-provider test skipped");
        return;
    }
    let dir = crate::helpers::WorkDir::new("https-idp");
    let path = |name: &str| dir.0.join(name).display().to_string();
    let openssl = |args: &[&str]| {
        crate::helpers::succeed(Command::new("openssl").args(args).current_dir(&dir.0));
    };
    // A certificate authority of the test's own, which signs the provider's certificate
    // for localhost, and another that never signed anything here.
    let authority = |name: &str| {
        let (key, pem, subject) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={name}"),
        );
        openssl(&[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", &subject,
            "-keyout", &key, "-out", &pem,
        ]);
    };
    authority("ca");
    authority("other-ca");
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "idp.key",
        "-out",
        "idp.csr",
    ]);
    std::fs::write(dir.0.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "idp.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "idp.pem",
    ]);
    let key =
        EncodingKey::from_rsa_pem(include_bytes!("../../../auth/fixtures/test-rs256.pem")).unwrap();
    let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("idp-1".to_owned());
    std::fs::write(
        dir.0.join("jwks.json"),
        serde_json::json!({ "keys": [jwk] }).to_string(),
    )
    .unwrap();
    let idp_port = crate::caching::free_port();
    let mut idp = Serve(
        Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-WWW",
                "-accept",
                &idp_port.to_string(),
            ])
            .args(["-cert", &path("idp.pem"), "-key", &path("idp.key")])
            .current_dir(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let now = jsonwebtoken::get_current_timestamp();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-1".to_owned());
    let token = kotohub_auth::token::sign_claims(
        &header,
        &serde_json::json!({ "sub": "idp-auditor", "roles": ["auditor"], "iss": "https://idp.test",
            "aud": "kotohub", "iat": now, "nbf": now, "exp": now + 600 }),
        &key,
    )
    .unwrap();

    // The same gateway twice: trusting the test's CA, then with a store without it.
    for (trusted, expected) in [(true, 200), (false, 503)] {
        let port = crate::caching::free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_kotohub"));
        command
            .args(["gateway", "--listen", &format!("127.0.0.1:{port}")])
            .env("KOTOHUB__SERVE__DATA_DIR", path("data"))
            .env("KOTOHUB__AUTH__MODE", "oidc")
            .env("KOTOHUB__AUTH__ISSUER", "https://idp.test")
            .env(
                "KOTOHUB__AUTH__JWKS_URL",
                format!("https://localhost:{idp_port}/jwks.json"),
            )
            .env(
                "SSL_CERT_FILE",
                if trusted {
                    path("ca.pem")
                } else {
                    path("other-ca.pem")
                },
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _gateway = Serve(command.spawn().unwrap());
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/graphql");
        let mut answer = None;
        for _ in 0..300 {
            if let Ok(response) = http
                .post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({ "query": "{ __typename }" }))
                .send()
                .await
            {
                answer = Some((response.status().as_u16(), response.text().await.unwrap()));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (status, body) = answer.expect("the gateway answers");
        assert_eq!(status, expected, "trusted: {trusted}: {body}");
        if trusted {
            assert!(body.contains(r#""__typename":"Query""#), "{body}");
        } else {
            assert!(body.contains("AUTHENTICATION_UNAVAILABLE"), "{body}");
        }
    }
    let _ = idp.0.kill();
}
