//! The README's run command: `kotohub serve` starts, seeds on first start, answers, and
//! stops cleanly on Ctrl-C.

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
