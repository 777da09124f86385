//! What a browser makes of the gateway's pages, in headless Chromium from Debian's
//! packages (`chromium --dump-dom` prints a page as its scripts left it): GraphiQL
//! renders whole from the gateway's own files, under its page's content-security policy
//! — a file from anywhere else, or a policy too strict for GraphiQL, leaves it unrendered.
//!
//! Without Chromium the test says so and passes, except under CI (`CI=true`), where
//! `.ci/run` installs it and its absence fails.

use std::path::PathBuf;
use std::process::Command;

use crate::helpers::{Backend, Hub};

/// The Chromium to drive: `KOTOHUB_TEST_CHROMIUM`, else `chromium` on the `PATH`.
pub fn chromium() -> Option<PathBuf> {
    installed("KOTOHUB_TEST_CHROMIUM", "chromium")
}

/// A browser-test tool: the path in `variable`, else `program` on the `PATH`; `None`
/// (the test skips) when there is neither, except under `CI=true`, where it fails.
pub fn installed(variable: &str, program: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(variable)
        && !path.is_empty()
    {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but there is no {program} on the PATH: the browser tests must run in CI"
        );
        eprintln!("no {program} on the PATH: browser tests skipped");
    }
    found
}

/// The page at `url` after its scripts ran, as headless Chromium leaves it.
async fn rendered(browser: PathBuf, url: String) -> String {
    let profile = fresh_profile();
    let dir = profile.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(browser)
            .args([
                "--headless",
                // Chromium will not sandbox itself when run as root, as CI runs.
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=10000",
                &format!("--user-data-dir={}", dir.display()),
                "--dump-dom",
                &url,
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A profile directory of its own for each run, so that runs never share state.
fn fresh_profile() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kotohub-chromium-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_renders_from_the_gateways_own_files() {
    let Some(browser) = chromium() else {
        return;
    };
    let Some(hub) = Hub::start(Backend::Sqlite).await else {
        return;
    };
    let dom = rendered(browser, hub.url("gateway", "/graphql")).await;
    assert!(
        dom.contains("graphiql-container"),
        "GraphiQL did not render: {dom}"
    );
    assert!(dom.contains("graphiql-editor"), "{dom}");
    assert!(!dom.contains("Loading GraphiQL"), "{dom}");
    hub.stop().await;
}
