//! A small WebDriver client for the console's browser tests: Debian's `chromedriver`
//! driving headless Chromium, spoken to over HTTP with the W3C WebDriver protocol. Only
//! what the tests use: open a page, run a script in it (also one that waits on a promise),
//! wait until a condition holds, take a screenshot, and run axe-core's checks.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// axe-core 4.14.1 (MPL-2.0, `assets/LICENSE.axe-core`), the published `axe.min.js`: the
/// accessibility checks run in every view. Test-only; the hub never serves it.
const AXE: &str = include_str!("assets/axe.min.js");

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// A fresh headless Chromium with a profile of its own; `None` when Chromium or its
    /// driver is missing outside CI.
    pub async fn start() -> Option<Browser> {
        let chromium = crate::browser::chromium()?;
        let driver_path = crate::browser::installed("KOTOHUB_TEST_CHROMEDRIVER", "chromedriver")?;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .map(|response| response.json::<Value>());
            if let Some(body) = ready
                && let Ok(body) = body.await
                && body["value"]["ready"] == true
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("kotohub-webdriver-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile).unwrap();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    // Chromium will not sandbox itself when run as root, as CI runs.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1400",
                    "--lang=en-GB",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
            "timeouts": { "script": 60000, "pageLoad": 60000 },
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Some(Browser {
            driver,
            http,
            session: format!("{base}/session/{id}"),
            profile,
        })
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let response: Value = self
            .http
            .post(format!("{}{path}", self.session))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if response["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", response["value"]);
        }
        response["value"].clone()
    }

    /// Loads `url` as a new page (a sign-in held in page memory is gone after it).
    pub async fn open(&self, url: &str) {
        self.command("/url", json!({ "url": url })).await;
    }

    /// The value `script` (a function body, its arguments in `arguments`) returns.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.command("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The value a promise resolves to: `script` is an expression giving the promise.
    pub async fn resolve(&self, promise: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             Promise.resolve().then(() => {promise})
               .then((value) => done({{ value }}), (error) => done({{ error: String(error) }}));"
        );
        let answer = self
            .command("/execute/async", json!({ "script": script, "args": [] }))
            .await;
        if let Some(error) = answer.get("error") {
            panic!("{promise} failed in the page: {error}");
        }
        answer["value"].clone()
    }

    /// Waits until `condition` (an expression) is truthy, and returns its value.
    pub async fn wait_for(&self, condition: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.run(&format!("return {condition};"), json!([])).await;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return value;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let text = self.run("return document.body.innerText;", json!([])).await;
                panic!(
                    "waited 30 s for {condition}; the page says: {text}\nits log: {}",
                    self.log().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Presses and releases each key in turn, as a person at the keyboard does: WebDriver
    /// key codes ("\u{E004}" Tab, "\u{E007}" Enter) or characters.
    pub async fn press(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|key| {
                [
                    json!({ "type": "keyDown", "value": key }),
                    json!({ "type": "keyUp", "value": key }),
                ]
            })
            .collect();
        self.command(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await;
    }

    /// The text of the console's main region.
    pub async fn main_text(&self) -> String {
        self.run(
            "return document.getElementById('main').innerText;",
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The browser's console log since the last call.
    pub async fn log(&self) -> Value {
        self.command("/se/log", json!({ "type": "browser" })).await
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded: Value = self
            .http
            .get(format!("{}/screenshot", self.session))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        decode_base64(encoded["value"].as_str().expect("a screenshot"))
    }

    /// The serious and critical WCAG 2.1 A/AA violations axe-core finds in the page.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let loaded = self
            .run("return typeof window.axe !== 'undefined';", json!([]))
            .await;
        if loaded != json!(true) {
            self.run(&format!("{AXE}\nreturn true;"), json!([])).await;
        }
        let found = self
            .resolve(
                "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then((result) => result.violations
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`))",
            )
            .await;
        serde_json::from_value(found).unwrap()
    }

    pub async fn stop(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (screenshots), without a crate for one function.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("{c} is not base64"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=' && *c != b'\n').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut word = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            word |= value(*c) << (18 - 6 * i);
        }
        let take = chunk.len().saturating_sub(1);
        out.extend_from_slice(&word.to_be_bytes()[1..=take]);
    }
    out
}

#[test]
fn base64_decodes_what_it_should() {
    assert_eq!(decode_base64("TWFu"), b"Man");
    assert_eq!(decode_base64("TWE="), b"Ma");
    assert_eq!(decode_base64("TQ=="), b"M");
    assert_eq!(decode_base64("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
}
