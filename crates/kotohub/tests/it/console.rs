//! The web console in a real browser: headless Chromium driven over WebDriver against a
//! seeded hub. Each role signs in the way a developer does in the embedded default, opens
//! its pages and must see the numbers the API gives that same user; suppressed cells read
//! "<5"; downloads are what `/q/{name}?format=csv` answers; an officer cannot reach the
//! analysts' or auditors' pages, and the hub refuses the officer's token the data behind
//! them. axe-core checks every view for serious and critical WCAG 2.1 AA violations.
//!
//! With `KOTOHUB_CONSOLE_SCREENSHOTS=DIR` the tests also save a PNG of each view there
//! (`docs/console/` holds the committed ones).

use kotohub_auth::{Principal, Role};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub};
use crate::webdriver::Browser;

/// The hub and a browser, or `None` when Chromium is missing outside CI.
async fn start() -> Option<(Hub, Browser)> {
    let browser = Browser::start().await?;
    let hub = Hub::start(Backend::Sqlite).await?;
    Some((hub, browser))
}

fn demo(subject: &str) -> Principal {
    kotohub::access::demo_principals()
        .into_iter()
        .map(|(_, principal)| principal)
        .find(|principal| principal.subject == subject)
        .unwrap()
}

/// Opens the console and signs in as the demo principal `subject`, as a developer does:
/// by picking it on the sign-in page.
async fn sign_in(browser: &Browser, hub: &Hub, subject: &str) {
    browser.open(&hub.url("gateway", "/")).await;
    let button = format!("button[data-subject=\"{subject}\"]");
    browser
        .wait_for(&format!("document.querySelector('{button}')"))
        .await;
    checked(browser, "sign-in").await;
    browser
        .run(
            "document.querySelector(arguments[0]).click();",
            json!([button]),
        )
        .await;
    browser
        // The signed-in view's own mark: the sign-in view's stays until the next starts.
        .wait_for("document.getElementById('main').dataset.ready === location.hash && location.hash !== '#/'")
        .await;
}

/// Goes to `hash` within the page (the token stays in its memory) and waits until the view
/// stands; returns the main region's text.
async fn view(browser: &Browser, hash: &str) -> String {
    browser
        .run("location.hash = arguments[0];", json!([hash]))
        .await;
    browser
        .wait_for(&format!(
            "document.getElementById('main').dataset.ready === {}",
            json!(hash)
        ))
        .await;
    browser.main_text().await
}

/// No serious or critical accessibility violation in the view; its screenshot saved when
/// asked for.
async fn checked(browser: &Browser, name: &str) {
    let violations = browser.accessibility_violations().await;
    assert!(violations.is_empty(), "{name}: {}", violations.join("\n"));
    if let Ok(dir) = std::env::var("KOTOHUB_CONSOLE_SCREENSHOTS")
        && !dir.is_empty()
    {
        // Charts draw on the next frame.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        std::fs::create_dir_all(&dir).unwrap();
        let png = browser.screenshot().await;
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// The cells of the main region's tables, row by row, as the page shows them.
async fn table_rows(browser: &Browser, scope: &str) -> Vec<Vec<String>> {
    let rows = browser
        .run(
            "return [...document.querySelectorAll(arguments[0] + ' tbody tr')]
               .map((tr) => [...tr.cells].map((td) => td.innerText.trim()));",
            json!([scope]),
        )
        .await;
    serde_json::from_value(rows).unwrap()
}

/// The text a download link in `scope` would save.
async fn download(browser: &Browser, scope: &str) -> String {
    browser
        .wait_for(&format!(
            "document.querySelector({})",
            json!(format!("{scope} a[data-csv]"))
        ))
        .await;
    let text = browser
        .resolve(&format!(
            // Decoded keeping a byte-order mark, which `Response.text()` would drop.
            "fetch(document.querySelector({}).href).then((r) => r.arrayBuffer())
               .then((bytes) => new TextDecoder('utf-8', {{ ignoreBOM: true }}).decode(bytes))",
            json!(format!("{scope} a[data-csv]"))
        ))
        .await;
    text.as_str().unwrap().to_owned()
}

/// How the console writes a count in English.
fn shown(count: i64) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A saved query's visibility, as `principal` sees it.
async fn saved_query(hub: &Hub, principal: &Principal, name: &str) -> Value {
    gateway_data(
        hub,
        principal,
        "query($name: String!) { savedQuery(name: $name) { visibility } }",
        json!({ "name": name }),
    )
    .await["savedQuery"]
        .clone()
}

async fn gateway_data(hub: &Hub, principal: &Principal, query: &str, variables: Value) -> Value {
    let body = hub.query_as("gateway", principal, query, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_sees_the_programme_and_measures_with_small_cells_as_less_than_five() {
    let Some((hub, browser)) = start().await else {
        return;
    };
    let analyst = demo("dev-analyst");
    sign_in(&browser, &hub, "dev-analyst").await;
    let text = browser.main_text().await;
    assert!(text.starts_with("Integration Programme"), "{text}");
    checked(&browser, "analyst-programme").await;

    // The overview's counts are the API's for the same analyst.
    let counts = gateway_data(
        &hub,
        &analyst,
        "{ clientStatistics(by: [MEASURE]) { cells { measureId clients suppressed } } }",
        json!({}),
    )
    .await;
    let rows = table_rows(&browser, "#main").await;
    assert!(rows.len() >= 64, "{} measure rows", rows.len());
    let mut compared = 0;
    for cell in counts["clientStatistics"]["cells"].as_array().unwrap() {
        let id = cell["measureId"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|row| row[0] == id)
            .unwrap_or_else(|| panic!("no row for measure {id}"));
        if cell["suppressed"] == true {
            assert!(row[3].starts_with("<5"), "{row:?}");
        } else {
            assert_eq!(row[3], shown(cell["clients"].as_i64().unwrap()), "{row:?}");
        }
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} measures have counts");

    // A measure and a breakdown with a suppressed cell, found through the API.
    let breakdowns = [
        ("DISTRICT", "district", "By district"),
        ("GENDER", "gender", "By gender"),
        ("AGE_GROUP", "ageGroup", "By age group"),
        ("BACKGROUND", "background", "By background"),
        (
            "MOTHER_TONGUE_GROUP",
            "motherTongueGroup",
            "By mother tongue",
        ),
    ];
    let mut found = None;
    'search: for cell in counts["clientStatistics"]["cells"].as_array().unwrap() {
        let measure = cell["measureId"].as_str().unwrap();
        for (dimension, field, title) in breakdowns {
            let table = gateway_data(
                &hub,
                &analyst,
                &format!(
                    "query($m: ID!) {{ clientStatistics(by: [{dimension}], measure: $m) {{
                        suppressedCells total {{ clients suppressed }}
                        cells {{ {field} clients suppressed }} }} }}"
                ),
                json!({ "m": measure }),
            )
            .await["clientStatistics"]
                .clone();
            if table["suppressedCells"].as_i64().unwrap() > 0 {
                found = Some((measure.to_owned(), field, title, table));
                break 'search;
            }
        }
    }
    let (measure, field, title, table) = found.expect("the seeded hub has a suppressed cell");
    let text = view(&browser, &format!("#/measure/{measure}")).await;
    assert!(text.starts_with(&format!("Measure {measure}")), "{text}");
    let card = format!("section[aria-labelledby$=\"-{field}-title\"]");
    let shown_title = browser
        .run(
            "return document.querySelector(arguments[0] + ' h3').innerText;",
            json!([card]),
        )
        .await;
    assert_eq!(shown_title, title);
    let rows = table_rows(&browser, &card).await;
    let cells = table["cells"].as_array().unwrap();
    assert_eq!(rows.len(), cells.len() + 1, "{rows:?}");
    for (row, cell) in rows.iter().zip(cells) {
        if cell["suppressed"] == true {
            assert!(row[1].starts_with("<5"), "{row:?}");
            assert!(
                !row[1].chars().any(|c| c.is_ascii_digit() && c != '5'),
                "{row:?}"
            );
        } else {
            assert_eq!(row[1], shown(cell["clients"].as_i64().unwrap()), "{row:?}");
        }
    }
    let total = &rows[cells.len()];
    assert_eq!(total[0], "Total");
    assert_eq!(total[1], shown(table["total"]["clients"].as_i64().unwrap()));
    // The chart marks the suppressed cell as "<5" where its bar would be.
    browser
        .wait_for(&format!(
            "(document.querySelector({}) || {{ textContent: '' }}).textContent.includes('<5')",
            json!(format!("{card} .chart svg"))
        ))
        .await;
    // The table's CSV holds the same counts, with suppressed cells empty and marked.
    let csv = download(&browser, &card).await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(format!("{field},clients,suppressed").as_str())
    );
    for (line, cell) in lines.by_ref().zip(cells) {
        let values: Vec<&str> = line.rsplitn(3, ',').collect();
        if cell["suppressed"] == true {
            assert_eq!(values[..2], ["true", ""], "{line}");
        } else {
            assert_eq!(values[0], "false", "{line}");
            assert_eq!(values[1], cell["clients"].to_string(), "{line}");
        }
    }
    checked(&browser, "analyst-measure").await;

    // A measure of events (1.3: Ohjaamo's events in other languages) shows their counts
    // by year as the API gives them.
    let events = gateway_data(
        &hub,
        &analyst,
        "{ eventStatistics(by: [YEAR], measure: \"1.3\") { total { events } cells { year events suppressed } } }",
        json!({}),
    )
    .await["eventStatistics"]
        .clone();
    assert!(events["total"]["events"].as_i64().unwrap() > 0, "{events}");
    view(&browser, "#/measure/1.3").await;
    // Its indicator 1.3/1 is counted from the register: the same series as the API's.
    let indicator = gateway_data(
        &hub,
        &analyst,
        "{ indicator(id: \"1.3/1\") { values { period value suppressed noData } } }",
        json!({}),
    )
    .await;
    let values = indicator["indicator"]["values"].as_array().unwrap();
    let rows = table_rows(
        &browser,
        "section[aria-labelledby=\"indicator-1-3-1-title\"]",
    )
    .await;
    assert_eq!(rows.len(), values.len(), "{rows:?}");
    assert!(!values.is_empty());
    for (row, value) in rows.iter().zip(values) {
        assert_eq!(row[0], value["period"].as_str().unwrap());
        let expected = if value["suppressed"] == true {
            "<5".to_owned()
        } else if value["noData"] == true {
            "no data".to_owned()
        } else {
            shown(value["value"].as_f64().unwrap() as i64)
        };
        assert!(row[1].starts_with(&expected), "{row:?} {value}");
    }
    let rows = table_rows(&browser, "section[aria-labelledby$=\"-events-year-title\"]").await;
    let cells = events["cells"].as_array().unwrap();
    assert_eq!(rows.len(), cells.len() + 1, "{rows:?}");
    for (row, cell) in rows.iter().zip(cells) {
        assert_eq!(row[0], cell["year"].to_string());
        if cell["suppressed"] == true {
            assert!(row[1].starts_with("<5"), "{row:?}");
        } else {
            assert_eq!(row[1], shown(cell["events"].as_i64().unwrap()), "{row:?}");
        }
    }
    // A measure of another division counts no one for this analyst, and says so.
    let counted: Vec<&str> = counts["clientStatistics"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell["measureId"].as_str().unwrap())
        .collect();
    let uncounted = ["4.4", "7.1", "9.5"]
        .into_iter()
        .find(|id| !counted.contains(id))
        .expect("the employment analyst's grant leaves out other divisions' measures");
    let text = view(&browser, &format!("#/measure/{uncounted}")).await;
    assert!(
        text.contains("No clients of this measure in your grant"),
        "{text}"
    );
    view(&browser, &format!("#/measure/{measure}")).await;

    // The labels follow the language picked.
    browser
        .run(
            "const picker = document.getElementById('language');
             picker.value = 'fi';
             picker.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    browser
        .wait_for("document.documentElement.lang === 'fi' && document.getElementById('main').dataset.ready")
        .await;
    let nav = browser
        .run(
            "return document.getElementById('sections').innerText;",
            json!([]),
        )
        .await;
    assert!(nav.as_str().unwrap().contains("Ohjelma"), "{nav}");
    let text = browser.main_text().await;
    assert!(text.starts_with(&format!("Toimenpide {measure}")), "{text}");
    checked(&browser, "analyst-measure-fi").await;

    browser.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_runs_saved_queries_and_cannot_reach_the_other_roles_pages() {
    let Some((hub, browser)) = start().await else {
        return;
    };
    let officer = demo("dev-officer");
    sign_in(&browser, &hub, "dev-officer").await;
    let text = browser.main_text().await;
    assert!(text.starts_with("Saved queries"), "{text}");
    let listed = gateway_data(&hub, &officer, "{ savedQueries { title } }", json!({})).await;
    let rows = table_rows(&browser, "#main").await;
    let titles: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    let expected: Vec<&str> = listed["savedQueries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|query| query["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, expected);
    assert!(!titles.is_empty());
    checked(&browser, "officer-queries").await;

    let name = "ohjaamo-events-in-other-languages";
    view(&browser, &format!("#/queries/{name}")).await;
    browser
        .run(
            "document.querySelector('#run-form button[type=submit]').click();",
            json!([]),
        )
        .await;
    browser
        .wait_for("document.querySelector('#results a[data-csv]')")
        .await;
    let direct = |bom: bool| {
        let url = hub.url(
            "gateway",
            &format!("/q/{name}?format=csv{}", if bom { "&bom=true" } else { "" }),
        );
        let token = hub.token(&officer);
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let csv = direct(false).await;
    assert_eq!(download(&browser, "#results").await, csv);
    // The first page of the table is the CSV's first rows.
    let rows = table_rows(&browser, "#results").await;
    assert_eq!(rows.len(), 25);
    let mut compared = 0;
    for (row, line) in rows.iter().zip(csv.lines().skip(1)) {
        if !line.contains('"') {
            assert_eq!(row.join(","), line);
            compared += 1;
        }
    }
    assert!(compared >= 20, "{compared}");
    checked(&browser, "officer-query").await;
    browser
        .run(
            "document.getElementById('bom').checked = true;
             document.querySelector('#run-form button[type=submit]').click();",
            json!([]),
        )
        .await;
    browser
        .wait_for("document.querySelector('#results a[data-csv]')")
        .await;
    let with_bom = download(&browser, "#results").await;
    assert!(with_bom.starts_with('\u{feff}'));
    assert_eq!(with_bom, direct(true).await);

    // Ohjaamo's indicators are all counted from the register: none to record.
    let text = view(&browser, "#/indicators").await;
    assert!(text.contains("record none"), "{text}");

    // The Participation and Citizen Information Unit records its events by hand.
    let participation = demo("dev-participation-officer");
    sign_in(&browser, &hub, "dev-participation-officer").await;
    let text = view(&browser, "#/indicators").await;
    assert!(text.contains("5.2/1:"), "{text}");
    assert!(
        !text.contains("1.3/1:"),
        "a counted indicator is offered: {text}"
    );
    view(&browser, "#/indicators/5.2%2F1").await;
    browser
        .run(
            "document.getElementById('record-period').value = '2019';
             document.getElementById('record-value').value = '42';
             document.getElementById('record-source').value = 'Participation unit event calendar';
             document.querySelector('#record-form button[type=submit]').click();",
            json!([]),
        )
        .await;
    browser
        .wait_for(
            "document.getElementById('status').innerText.startsWith('Recorded: 2019, version 1') \
             && document.getElementById('main').dataset.ready === '#/indicators/5.2%2F1'",
        )
        .await;
    let rows = table_rows(&browser, "#main").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0][..4],
        ["2019", "1", "42", "Participation unit event calendar"]
    );
    let recorded = gateway_data(
        &hub,
        &participation,
        "{ indicator(id: \"5.2/1\") { records { period value source body recordedBy } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        recorded["indicator"]["records"],
        json!([{ "period": "2019", "value": 42.0, "source": "Participation unit event calendar",
                 "body": "participation-citizen-information",
                 "recordedBy": "dev-participation-officer" }])
    );
    checked(&browser, "officer-indicator").await;
    sign_in(&browser, &hub, "dev-officer").await;

    // The analysts' and auditors' pages are not offered, and opening them says why.
    let nav = browser
        .run(
            "return document.getElementById('sections').innerText;",
            json!([]),
        )
        .await;
    assert!(!nav.as_str().unwrap().contains("Access log"), "{nav}");
    assert!(!nav.as_str().unwrap().contains("Programme"), "{nav}");
    for hash in [
        "#/programme",
        "#/measure/1.3",
        "#/audit",
        "#/audit/client?id=x",
    ] {
        let text = view(&browser, hash).await;
        assert!(text.starts_with("Not for your role"), "{hash}: {text}");
    }
    checked(&browser, "officer-forbidden").await;

    // The owning body shares its query with every officer, then archives it.
    assert_eq!(
        saved_query(&hub, &officer, name).await["visibility"],
        "OWNER_BODY"
    );
    view(&browser, &format!("#/queries/{name}")).await;
    browser
        .run(
            "document.getElementById('visibility').value = 'ALL_OFFICERS';
             document.querySelector('#visibility').form.querySelector('button[type=submit]').click();",
            json!([]),
        )
        .await;
    // Saved, then the view is shown again from the hub's answer.
    browser
        .wait_for(&format!(
            "document.getElementById('status').innerText === 'Saved.' \
             && document.getElementById('main').dataset.ready === '#/queries/{name}'"
        ))
        .await;
    assert_eq!(
        saved_query(&hub, &officer, name).await["visibility"],
        "ALL_OFFICERS"
    );
    browser
        .run(
            "window.confirm = () => true; document.getElementById('archive').click();",
            json!([]),
        )
        .await;
    browser
        .wait_for("document.getElementById('main').dataset.ready === '#/queries'")
        .await;
    assert!(
        !browser
            .main_text()
            .await
            .contains("Events for people speaking")
    );
    let archived = gateway_data(
        &hub,
        &officer,
        "{ savedQueries(includeArchived: true) { name archived } }",
        json!({}),
    )
    .await;
    assert!(
        archived["savedQueries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|query| query["name"] == name && query["archived"] == true),
        "{archived}"
    );

    // The hub refuses the data behind them to the token the console got.
    let minted: Value = reqwest::Client::new()
        .post(hub.url("gateway", "/console/dev-token"))
        .json(&json!({ "subject": "dev-officer" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["token"].as_str().unwrap();
    for query in [
        "{ auditEvents(first: 1) { id } }",
        "{ clientStatistics(by: [MEASURE]) { suppressedCells } }",
    ] {
        let body: Value = reqwest::Client::new()
            .post(hub.url("gateway", "/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body["data"].is_null(), "{query}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
    }

    browser.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_filters_and_pages_the_log_and_finds_who_saw_a_client() {
    let Some((hub, browser)) = start().await else {
        return;
    };
    let auditor = demo("dev-auditor");
    // Activity to review: 55 catalog reads and one client's record, by one officer.
    let officer = Principal::new(
        "console-test-officer",
        [Role::Officer],
        ["ohjaamo".to_owned()],
        None,
    );
    for _ in 0..55 {
        gateway_data(&hub, &officer, "{ themes { number } }", json!({})).await;
    }
    let client = hub.served_clients().await[0].clone();
    let officer_of_all = crate::helpers::officer_of_all_bodies();
    gateway_data(
        &hub,
        &officer_of_all,
        "query($id: ID!) { client(id: $id) { id district } }",
        json!({ "id": client }),
    )
    .await;

    sign_in(&browser, &hub, "dev-auditor").await;
    let text = browser.main_text().await;
    assert!(text.starts_with("Access log"), "{text}");
    // The chain's verification, asked for with the button.
    browser
        .run(
            "document.getElementById('verify-chain').click();",
            json!([]),
        )
        .await;
    let verdict = browser
        .wait_for(
            "document.querySelector('#chain-verdict p:not([aria-busy])') \
             && document.querySelector('#chain-verdict p').innerText",
        )
        .await;
    assert!(
        verdict.as_str().unwrap().starts_with("The chain holds:"),
        "{verdict}"
    );
    checked(&browser, "auditor-log").await;

    // Filtering by subject, as a person does: the form, then the button.
    browser
        .run(
            "document.getElementById('filter-subject').value = 'console-test-officer';
             document.querySelector('#audit-filters button[type=submit]').click();",
            json!([]),
        )
        .await;
    browser
        .wait_for("document.getElementById('main').dataset.ready === '#/audit?subject=console-test-officer'")
        .await;
    let events = |after: Option<String>| {
        let hub = &hub;
        let auditor = &auditor;
        async move {
            gateway_data(
                hub,
                auditor,
                "query($after: ID) { auditEvents(filter: { subject: \"console-test-officer\" }, first: 50, after: $after) { id } }",
                json!({ "after": after }),
            )
            .await["auditEvents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|event| event["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let first_page = events(None).await;
    assert_eq!(first_page.len(), 50);
    let ids: Vec<String> = table_rows(&browser, "#main")
        .await
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(ids, first_page);
    // Keyset paging: the next page starts after the last event shown.
    browser
        .run("document.querySelector('a[rel=next]').click();", json!([]))
        .await;
    browser
        .wait_for("(document.getElementById('main').dataset.ready || '').includes('after=')")
        .await;
    let second_page = events(Some(first_page[49].clone())).await;
    assert_eq!(second_page.len(), 5);
    let ids: Vec<String> = table_rows(&browser, "#main")
        .await
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(ids, second_page);

    // One event's details.
    let text = view(&browser, &format!("#/audit/event/{}", first_page[0])).await;
    assert!(
        text.starts_with(&format!("Event {}", first_page[0])),
        "{text}"
    );
    assert!(text.contains("console-test-officer"), "{text}");
    checked(&browser, "auditor-event").await;

    // Who saw the client.
    let text = view(&browser, &format!("#/audit/client?id={client}")).await;
    let accesses = gateway_data(
        &hub,
        &auditor,
        "query($id: ID!) { accessesToClient(id: $id) { id subject } }",
        json!({ "id": client }),
    )
    .await;
    let accesses = accesses["accessesToClient"].as_array().unwrap();
    assert!(!accesses.is_empty());
    let rows = table_rows(&browser, "#main").await;
    assert_eq!(rows.len(), accesses.len(), "{text}");
    for (row, event) in rows.iter().zip(accesses) {
        assert_eq!(row[0], event["id"].as_str().unwrap());
        assert_eq!(row[2], event["subject"].as_str().unwrap());
    }
    checked(&browser, "auditor-client").await;

    // The filtered range as CSV: every event of the subject, not just a page.
    view(&browser, "#/audit?subject=console-test-officer").await;
    browser
        .run("document.getElementById('export-csv').click();", json!([]))
        .await;
    let csv = download(&browser, "#main").await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("id,eventId,occurredAt,subject"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len() - 1, 55);
    let exported: Vec<&str> = lines[1..]
        .iter()
        .map(|line| line.split(',').next().unwrap())
        .collect();
    let expected: Vec<&str> = first_page
        .iter()
        .chain(&second_page)
        .map(String::as_str)
        .collect();
    assert_eq!(exported, expected);

    browser.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_in_the_console_sends_the_signed_in_users_token() {
    let Some((hub, browser)) = start().await else {
        return;
    };
    sign_in(&browser, &hub, "dev-analyst").await;
    view(&browser, "#/graphiql").await;
    browser
        .wait_for("document.querySelector('.graphiql-execute-button')")
        .await;
    // The query it starts with runs with the token in its headers: without it the hub
    // would answer that there is no bearer token.
    browser
        .run(
            "document.querySelector('.graphiql-execute-button').click();",
            json!([]),
        )
        .await;
    let result = browser
        .wait_for(
            "(document.querySelector('.graphiql-response') || { innerText: '' }).innerText.includes('measureSets') \
             && document.querySelector('.graphiql-response').innerText",
        )
        .await;
    let result = result.as_str().unwrap();
    assert!(
        result.contains("Helsinki is a city of a skilled workforce"),
        "{result}"
    );
    assert!(!result.contains("bearer"), "{result}");
    // Nothing of the session reached the browser's storage.
    let stored = browser
        .run(
            "return JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } });",
            json!([]),
        )
        .await;
    assert!(!stored.as_str().unwrap().contains("eyJ"), "{stored}");
    checked(&browser, "graphiql").await;

    browser.stop().await;
    hub.stop().await;
}

/// A stand-in for the city's identity provider, enough for the authorization-code flow
/// with PKCE: `/authorize` answers at once as if the person had signed in, `/token`
/// trades a code for a signed access token only with the verifier of the code's
/// challenge, and `/jwks` publishes the key the hub checks tokens with.
mod provider {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::{Query, State};
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::{get, post};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;
    use sha2::{Digest, Sha256};

    pub const CLIENT_ID: &str = "kotohub-console";
    pub const ISSUER: &str = "https://login.test";
    const KEY_ID: &str = "console-test";

    #[derive(Default)]
    pub struct Provider {
        /// The console's origin, the one redirect URI registered (`origin/`).
        pub origin: Mutex<String>,
        /// Codes handed out, with the challenge and redirect URI they were asked with.
        codes: Mutex<HashMap<String, (String, String)>>,
        /// Tokens issued: a code traded with its verifier.
        pub issued: Mutex<Vec<String>>,
        /// Refusals, with why.
        pub refused: Mutex<Vec<String>>,
    }

    fn key() -> EncodingKey {
        EncodingKey::from_rsa_pem(include_bytes!("../../../auth/fixtures/test-rs256.pem")).unwrap()
    }

    /// URL-safe base64 without padding, as PKCE's S256 challenge is written.
    fn base64_url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let word = chunk
                .iter()
                .enumerate()
                .fold(0u32, |word, (i, b)| word | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn base64_url_is_rfc_4648_section_5_without_padding() {
        assert_eq!(base64_url(b"Man"), "TWFu");
        assert_eq!(base64_url(b"Ma"), "TWE");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
        // RFC 7636, appendix B.
        assert_eq!(
            base64_url(&Sha256::digest(
                b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            )),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    fn refuse(provider: &Provider, why: String) -> Response {
        provider.refused.lock().unwrap().push(why.clone());
        (
            StatusCode::BAD_REQUEST,
            [(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                provider.origin.lock().unwrap().clone(),
            )],
            axum::Json(json!({ "error": "invalid_grant", "error_description": why })),
        )
            .into_response()
    }

    async fn authorize(
        State(provider): State<Arc<Provider>>,
        Query(query): Query<HashMap<String, String>>,
    ) -> Response {
        let registered = format!("{}/", provider.origin.lock().unwrap());
        let asked = |name: &str| query.get(name).cloned().unwrap_or_default();
        if asked("response_type") != "code"
            || asked("client_id") != CLIENT_ID
            || asked("redirect_uri") != registered
            || asked("code_challenge_method") != "S256"
            || asked("code_challenge").len() != 43
            || asked("state").is_empty()
            || asked("scope").is_empty()
        {
            return refuse(&provider, format!("bad authorization request {query:?}"));
        }
        let code = format!("code-{}", provider.codes.lock().unwrap().len());
        provider
            .codes
            .lock()
            .unwrap()
            .insert(code.clone(), (asked("code_challenge"), registered.clone()));
        Redirect::to(&format!(
            "{registered}?code={code}&state={}",
            asked("state")
        ))
        .into_response()
    }

    async fn token(State(provider): State<Arc<Provider>>, body: String) -> Response {
        // A form body is a query string; the hub's axum has no form extractor.
        let Ok(Query(form)) = format!("/?{body}")
            .parse()
            .map_err(|_| ())
            .and_then(|uri| Query::<HashMap<String, String>>::try_from_uri(&uri).map_err(|_| ()))
        else {
            return refuse(&provider, format!("not a form: {body}"));
        };
        let given = |name: &str| form.get(name).cloned().unwrap_or_default();
        let Some((challenge, redirect)) = provider.codes.lock().unwrap().remove(&given("code"))
        else {
            return refuse(&provider, "unknown or used code".to_owned());
        };
        if given("grant_type") != "authorization_code"
            || given("client_id") != CLIENT_ID
            || given("redirect_uri") != redirect
        {
            return refuse(&provider, format!("bad token request {form:?}"));
        }
        if base64_url(&Sha256::digest(given("code_verifier").as_bytes())) != challenge {
            return refuse(
                &provider,
                "the verifier does not match the challenge".to_owned(),
            );
        }
        let now = jsonwebtoken::get_current_timestamp();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KEY_ID.to_owned());
        let token = kotohub_auth::token::sign_claims(
            &header,
            &json!({ "sub": "idp-analyst", "roles": ["analyst"], "division": "employment",
                     "iss": ISSUER, "aud": "kotohub", "iat": now, "nbf": now, "exp": now + 600 }),
            &key(),
        )
        .unwrap();
        provider.issued.lock().unwrap().push(token.clone());
        (
            [(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                provider.origin.lock().unwrap().clone(),
            )],
            axum::Json(json!({ "access_token": token, "token_type": "Bearer", "expires_in": 600 })),
        )
            .into_response()
    }

    async fn jwks() -> Response {
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key(), Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(KEY_ID.to_owned());
        axum::Json(json!({ "keys": [jwk] })).into_response()
    }

    /// Starts the provider on loopback; its base URL.
    pub async fn start(provider: Arc<Provider>) -> String {
        let app = axum::Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(provider);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_openid_connect_the_console_signs_in_by_authorization_code_with_pkce() {
    use std::sync::Arc;

    let Some((hub, browser)) = start().await else {
        return;
    };
    let idp = Arc::new(provider::Provider::default());
    let idp_url = provider::start(idp.clone()).await;
    let access = kotohub_gateway::authorize::Access {
        authenticator: kotohub_auth::Authenticator::jwks(
            &format!("{idp_url}/jwks"),
            provider::ISSUER,
            crate::helpers::AUDIENCE,
        ),
        ..crate::helpers::test_access()
    };
    let console = kotohub_console::router(kotohub_console::SignIn::Oidc(
        kotohub_console::OidcClient::new(
            &format!("{idp_url}/authorize"),
            &format!("{idp_url}/token"),
            provider::CLIENT_ID,
            "openid profile",
        )
        .unwrap(),
    ));
    let (gateway, shutdown) = hub
        .extra_gateway_with(
            &hub.subgraph_urls(),
            &kotohub::services::GatewaySettings::default(),
            access,
            console,
        )
        .await;
    *idp.origin.lock().unwrap() = gateway.clone();

    // An answer that belongs to no sign-in of this tab is refused.
    browser
        .open(&format!("{gateway}/?code=code-0&state=forged"))
        .await;
    let refused = browser
        .wait_for("document.querySelector('#main .error') && document.querySelector('#main .error').innerText")
        .await;
    assert!(
        refused
            .as_str()
            .unwrap()
            .contains("does not belong to this sign-in"),
        "{refused}"
    );
    assert!(idp.issued.lock().unwrap().is_empty());

    // The real round: the console sends the browser to the provider with a challenge,
    // comes back with a code, and trades it with the verifier for a token.
    browser.open(&format!("{gateway}/")).await;
    browser
        .wait_for("document.querySelector('#main button')")
        .await;
    checked(&browser, "sign-in-oidc").await;
    browser
        .run("document.querySelector('#main button').click();", json!([]))
        .await;
    browser
        .wait_for("document.getElementById('main') && document.getElementById('main').dataset.ready === '#/programme'")
        .await;
    assert_eq!(
        idp.issued.lock().unwrap().len(),
        1,
        "{:?}",
        idp.refused.lock().unwrap()
    );
    let text = browser.main_text().await;
    assert!(text.starts_with("Integration Programme"), "{text}");
    let who = browser
        .run(
            "return document.getElementById('who').innerText;",
            json!([]),
        )
        .await;
    assert!(who.as_str().unwrap().contains("idp-analyst"), "{who}");
    // The provider's token, checked by the hub against the provider's keys, reads the
    // analyst's aggregates: the overview shows counts, not an error.
    assert!(
        !text.contains("no bearer token") && !text.contains("not valid"),
        "{text}"
    );
    let rows = table_rows(&browser, "#main").await;
    assert!(
        rows.iter()
            .any(|row| row[3].chars().any(|c| c.is_ascii_digit())),
        "{rows:?}"
    );
    // The code left the address bar, and nothing of the sign-in stays in storage.
    let state = browser
        .run(
            "return { search: location.search, stored: JSON.stringify({ ...localStorage, ...sessionStorage }) };",
            json!([]),
        )
        .await;
    assert_eq!(state["search"], "", "{state}");
    assert_eq!(state["stored"], "{}", "{state}");
    // The access log names the provider's subject.
    let auditor = demo("dev-auditor");
    let events = gateway_data(
        &hub,
        &auditor,
        "{ auditEvents(filter: { subject: \"idp-analyst\" }) { operationName decision } }",
        json!({}),
    )
    .await;
    let names: Vec<&str> = events["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["operationName"].as_str().unwrap_or_default())
        .collect();
    assert!(names.contains(&"ConsoleProgramme"), "{names:?}");

    browser.stop().await;
    shutdown.trigger();
    hub.stop().await;
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Tabs forward until `selector` has the focus; fails after `limit` presses.
async fn tab_to(browser: &Browser, selector: &str, limit: usize) {
    for _ in 0..limit {
        browser.press(&[TAB]).await;
        let there = browser
            .run(
                "return document.activeElement.matches(arguments[0]);",
                json!([selector]),
            )
            .await;
        if there == true {
            return;
        }
    }
    let at = browser
        .run(
            "return document.activeElement.outerHTML.slice(0, 200);",
            json!([]),
        )
        .await;
    panic!("{limit} tabs did not reach {selector}; the focus is on {at}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_from_the_keyboard() {
    let Some((hub, browser)) = start().await else {
        return;
    };
    browser.open(&hub.url("gateway", "/")).await;
    browser
        .wait_for("document.querySelector('button[data-subject]')")
        .await;
    // The first stop is the link past the header.
    browser.press(&[TAB]).await;
    let first = browser
        .run("return document.activeElement.innerText;", json!([]))
        .await;
    assert_eq!(first, "Skip to content");
    browser.press(&[ENTER]).await;
    let focused = browser
        .run("return document.activeElement.id;", json!([]))
        .await;
    assert_eq!(focused, "main");
    // Signing in with Enter on a principal.
    tab_to(&browser, "button[data-subject=\"dev-officer\"]", 10).await;
    browser.press(&[ENTER]).await;
    browser
        .wait_for("document.getElementById('main').dataset.ready === '#/queries'")
        .await;
    // The new view has the focus, so the next Tab goes into it.
    let focused = browser
        .run("return document.activeElement.id;", json!([]))
        .await;
    assert_eq!(focused, "main");
    tab_to(&browser, "#main tbody a", 5).await;
    let name = browser
        .run(
            "return document.activeElement.getAttribute('href');",
            json!([]),
        )
        .await;
    browser.press(&[ENTER]).await;
    browser
        .wait_for(&format!(
            "document.getElementById('main').dataset.ready === {name}"
        ))
        .await;
    // Running it from the form with Enter.
    tab_to(&browser, "#run-form input", 10).await;
    browser.press(&[ENTER]).await;
    browser
        .wait_for("document.querySelector('#results a[data-csv]')")
        .await;
    let rows = table_rows(&browser, "#results").await;
    assert!(!rows.is_empty());

    browser.stop().await;
    hub.stop().await;
}
