//! The README's run command: `kotohub serve` starts, seeds on first start, answers, and
//! stops cleanly on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn free_port_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = kotohub::SUBGRAPHS
        .iter()
        .map(|name| {
            (
                format!("KOTOHUB__SUBGRAPHS__{}__LISTEN", name.to_uppercase()),
                "127.0.0.1:0".to_owned(),
            )
        })
        .collect();
    env.push(("KOTOHUB__SERVE__SEED_CLIENTS".into(), "300".into()));
    env
}

/// A running `kotohub serve`, killed and reaped if a test fails before stopping it.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Runs `kotohub serve` until it prints its ready line; returns it and what it printed.
fn start_serve(data_dir: &std::path::Path) -> (Serve, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kotohub"))
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .envs(free_port_env())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Serve(child);
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
            return (child, lines);
        }
    }
}

fn stop(mut serve: Serve) {
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
    let programme = lines
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix("programme")
                .map(|rest| rest.trim().to_owned())
        })
        .expect("the programme subgraph's URL is printed");
    let body: serde_json::Value = reqwest::Client::new()
        .post(&programme)
        .json(
            &serde_json::json!({ "query": "{ measures { id } measureSets { id } themes { id } }" }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["measures"].as_array().unwrap().len(), 64);
    assert_eq!(body["data"]["measureSets"].as_array().unwrap().len(), 11);
    assert_eq!(body["data"]["themes"].as_array().unwrap().len(), 4);
    stop(child);

    // A second start finds the data and does not seed again.
    let (child, lines) = start_serve(&data_dir);
    assert!(!lines.iter().any(|l| l.starts_with("Seeding")), "{lines:?}");
    stop(child);
    std::fs::remove_dir_all(&data_dir).unwrap();
}
