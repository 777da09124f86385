//! Why an officer reads person-level data, end to end through the gateway: no stated
//! purpose, no person-level data; a purpose the hub does not list is refused; a saved
//! query's default purpose stands in for the runner's; and an emergency access opens one
//! client outside the officer's bodies, to that officer only, until it runs out — each
//! recorded in the access log and flagged for review.

use kotohub_auth::{Principal, Role};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, PURPOSE_HEADER, error_codes, event_of, principal};

crate::on_both_backends!(
    person_level_reads_need_a_listed_purpose,
    a_saved_querys_purpose_stands_in_for_the_runners,
    an_emergency_access_opens_one_client_to_one_officer_for_a_while,
    the_data_subject_report_lists_exactly_the_events_about_the_client,
);

/// Posts `body` to the gateway as `who` with `extra` headers and a request id; returns
/// the answer.
async fn ask(
    hub: &Hub,
    who: &Principal,
    id: &str,
    body: Value,
    extra: &[(&'static str, &str)],
) -> Value {
    let mut headers = vec![
        ("authorization", format!("Bearer {}", hub.token(who))),
        ("x-request-id", id.to_owned()),
    ];
    headers.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    let (_, answer) = hub.post_with("gateway", &body.to_string(), &headers).await;
    answer
}

async fn person_level_reads_need_a_listed_purpose(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let clients = json!({ "query": "{ clients(first: 3) { id district } }" });

    // No purpose: refused before anything runs, with the way out in the message.
    let refused = ask(&hub, &officer, "purpose-none", clients.clone(), &[]).await;
    assert_eq!(error_codes(&refused), ["PURPOSE_REQUIRED"], "{refused}");
    assert!(refused.get("data").is_none(), "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Kotohub-Purpose") && message.contains("client-work"),
        "{message}"
    );
    let event = event_of(&hub, "purpose-none").await;
    assert_eq!(
        (&event["purpose"], &event["decision"]),
        (&Value::Null, &json!("refused"))
    );
    assert_eq!(event["client_ids"], json!([]));

    // A purpose the hub does not list is refused, even for reading the catalog.
    let catalog = json!({ "query": "{ themes { id } }" });
    let unknown = ask(
        &hub,
        &officer,
        "purpose-unknown",
        catalog.clone(),
        &[(PURPOSE_HEADER, "curiosity")],
    )
    .await;
    assert_eq!(error_codes(&unknown), ["UNKNOWN_PURPOSE"], "{unknown}");
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("service-planning")
    );

    // What is not person-level needs none: the catalog, and an analyst's aggregates.
    let themes = ask(&hub, &officer, "purpose-catalog", catalog, &[]).await;
    assert!(themes.get("errors").is_none(), "{themes}");
    let analyst = Principal::new(
        "dashboard",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    );
    let counted = ask(
        &hub,
        &analyst,
        "purpose-aggregates",
        json!({ "query": "{ clientStatistics(by: [DISTRICT]) { cells { district clients suppressed } } }" }),
        &[],
    )
    .await;
    assert!(counted.get("errors").is_none(), "{counted}");

    // Stated in the header, or in the operation's extensions: read, and recorded.
    let read = ask(
        &hub,
        &officer,
        "purpose-header",
        clients.clone(),
        &[(PURPOSE_HEADER, "client-work")],
    )
    .await;
    assert_eq!(
        read["data"]["clients"].as_array().map(Vec::len),
        Some(3),
        "{read}"
    );
    let event = event_of(&hub, "purpose-header").await;
    assert_eq!(
        (&event["purpose"], &event["decision"]),
        (&json!("client-work"), &json!("allowed"))
    );
    assert_eq!(event["client_ids"].as_array().map(Vec::len), Some(3));
    let mut stated = clients.clone();
    stated["extensions"] = json!({ "purpose": "service-planning" });
    let read = ask(&hub, &officer, "purpose-extension", stated, &[]).await;
    assert!(read.get("errors").is_none(), "{read}");
    assert_eq!(
        event_of(&hub, "purpose-extension").await["purpose"],
        "service-planning"
    );
    hub.stop().await;
}

async fn a_saved_querys_purpose_stands_in_for_the_runners(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let save =
        "mutation($input: SaveQueryInput!) { saveQuery(input: $input) { name version purpose } }";
    let input = |purpose: &str| {
        json!({ "input": { "name": "ohjaamo-clients", "title": "Our clients",
                           "document": "{ clients(first: 2) { id } }", "purpose": purpose } })
    };
    // A purpose the hub does not list is no default.
    let refused = hub
        .query_as("gateway", &officer, save, input("gossip"))
        .await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"gossip\" is not a purpose"),
        "{refused}"
    );
    let saved = hub
        .query_as("gateway", &officer, save, input("statutory-reporting"))
        .await;
    assert_eq!(
        saved["data"]["saveQuery"]["purpose"], "statutory-reporting",
        "{saved}"
    );

    // Run by name with no purpose of the runner's: the query's own is stated and logged.
    let run = |id: &'static str, purpose: Option<&'static str>| {
        let hub = &hub;
        let token = hub.token(&officer);
        async move {
            let mut request = reqwest::Client::new()
                .get(hub.url("gateway", "/q/ohjaamo-clients"))
                .header("authorization", format!("Bearer {token}"))
                .header("x-request-id", id);
            if let Some(purpose) = purpose {
                request = request.header(PURPOSE_HEADER, purpose);
            }
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            answer
        }
    };
    let answer = run("saved-default", None).await;
    assert_eq!(
        answer["data"]["clients"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
    assert_eq!(
        event_of(&hub, "saved-default").await["purpose"],
        "statutory-reporting"
    );
    // The runner's own purpose wins.
    let answer = run("saved-runner", Some("client-work")).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(
        event_of(&hub, "saved-runner").await["purpose"],
        "client-work"
    );
    hub.stop().await;
}

/// A client whose skill assessments Helsinki Skill Center made and whom `outsider` may
/// not read, and another such client.
async fn clients_outside(hub: &Hub, outsider: &Principal) -> (String, String) {
    let center = principal(Role::Officer, &["helsinki-skill-center"]);
    let assessed = hub
        .query_as(
            "gateway",
            &center,
            "{ skillAssessments(measure: \"1.1\", first: 200) { client { id } } }",
            json!({}),
        )
        .await;
    let mut candidates: Vec<String> = assessed["data"]["skillAssessments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["client"]["id"].as_str().unwrap().to_owned())
        .collect();
    candidates.dedup();
    let mut outside = Vec::new();
    for id in candidates {
        let seen = hub
            .query_as(
                "gateway",
                outsider,
                "query($id: ID!) { client(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        if seen["data"]["client"].is_null() {
            outside.push(id);
        }
        if outside.len() == 2 {
            break;
        }
    }
    assert_eq!(
        outside.len(),
        2,
        "the demo data has clients the libraries do not serve"
    );
    (outside[0].clone(), outside[1].clone())
}

async fn an_emergency_access_opens_one_client_to_one_officer_for_a_while(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 200).await else {
        return;
    };
    let officer = principal(Role::Officer, &["libraries"]);
    let colleague = principal(Role::Officer, &["libraries"]);
    let colleague = Principal::new("another-librarian", colleague.roles, colleague.bodies, None);
    let (client, other) = clients_outside(&hub, &officer).await;
    let read = json!({
        "query": "query($id: ID!) { client(id: $id) { id district skillAssessments { level } } }",
        "variables": { "id": client },
    });
    let purpose = (PURPOSE_HEADER, "client-work");

    // Without an access: nothing.
    let before = ask(&hub, &officer, "glass-before", read.clone(), &[purpose]).await;
    assert!(before["data"]["client"].is_null(), "{before}");

    // Opening needs a reason in words, and an officer.
    let open = "mutation($client: ID!, $reason: String!) { openEmergencyAccess(client: $client, reason: $reason) { id client subject reason expiresAt } }";
    let short = hub
        .query_as(
            "gateway",
            &officer,
            open,
            json!({ "client": client, "reason": "urgent" }),
        )
        .await;
    assert_eq!(error_codes(&short)[0], "BAD_USER_INPUT", "{short}");
    let analyst = Principal::new("dashboard", [Role::Analyst], [], Some("culture".to_owned()));
    let reason =
        "The client is at the library in distress and asks for help with their skill assessment";
    let not_officer = hub
        .query_as(
            "gateway",
            &analyst,
            open,
            json!({ "client": client, "reason": reason }),
        )
        .await;
    assert!(
        error_codes(&not_officer).contains(&"FORBIDDEN".to_owned()),
        "{not_officer}"
    );
    let opened = ask(
        &hub,
        &officer,
        "glass-open",
        json!({ "query": open, "variables": { "client": client, "reason": reason } }),
        &[],
    )
    .await;
    let access = opened["data"]["openEmergencyAccess"].clone();
    assert_eq!(access["client"], client.as_str(), "{opened}");
    assert_eq!(access["subject"], officer.subject.as_str());
    let expires =
        chrono::DateTime::parse_from_rfc3339(access["expiresAt"].as_str().unwrap()).unwrap();
    let minutes = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (28..=30).contains(&minutes),
        "lasts the configured 30 minutes: {minutes}"
    );
    let id = access["id"].as_str().unwrap().to_owned();
    assert_eq!(
        event_of(&hub, "glass-open").await["client_ids"],
        json!([client]),
        "the opening names the client"
    );

    // Under it the officer reads that client, across divisions; the event says so.
    let glass = (kotohub_gateway::http::EMERGENCY_HEADER, id.as_str());
    let during = ask(
        &hub,
        &officer,
        "glass-read",
        read.clone(),
        &[purpose, glass],
    )
    .await;
    assert_eq!(during["data"]["client"]["id"], client.as_str(), "{during}");
    assert!(
        !during["data"]["client"]["skillAssessments"]
            .as_array()
            .unwrap()
            .is_empty(),
        "another division's records of the client: {during}"
    );
    let event = event_of(&hub, "glass-read").await;
    assert_eq!(event["purpose"], "client-work");
    assert_eq!(event["emergency_access"], id.as_str());
    assert_eq!(
        (&event["decision"], &event["client_ids"]),
        (&json!("allowed"), &json!([client]))
    );
    // The extension names it as well as the header.
    let mut named = read.clone();
    named["extensions"] = json!({ "emergencyAccess": id });
    let by_extension = ask(&hub, &officer, "glass-extension", named, &[purpose]).await;
    assert_eq!(
        by_extension["data"]["client"]["id"],
        client.as_str(),
        "{by_extension}"
    );

    // Only that client, only that officer, only by id.
    let another = json!({
        "query": "query($id: ID!) { client(id: $id) { id } }",
        "variables": { "id": other },
    });
    let not_opened = ask(&hub, &officer, "glass-other", another, &[purpose, glass]).await;
    assert!(not_opened["data"]["client"].is_null(), "{not_opened}");
    let listed = ask(
        &hub,
        &officer,
        "glass-list",
        json!({ "query": "{ clients(first: 1000) { id } }" }),
        &[purpose, glass],
    )
    .await;
    assert!(
        !crate::helpers::ids(&listed["data"]["clients"]).contains(&client),
        "listings stay the body's own"
    );
    let borrowed = ask(
        &hub,
        &colleague,
        "glass-colleague",
        read.clone(),
        &[purpose, glass],
    )
    .await;
    assert_eq!(
        error_codes(&borrowed),
        ["EMERGENCY_ACCESS_INVALID"],
        "{borrowed}"
    );
    let made_up = ask(
        &hub,
        &officer,
        "glass-unknown",
        read.clone(),
        &[purpose, (glass.0, "0123456789abcdef0123456789abcdef")],
    )
    .await;
    assert_eq!(
        error_codes(&made_up),
        ["EMERGENCY_ACCESS_INVALID"],
        "{made_up}"
    );

    // An access that ran out opens nothing.
    let backend_kind = hub.audit.get_database_backend();
    let insert = match backend_kind {
        DbBackend::Postgres => {
            "INSERT INTO emergency_accesses (id, subject, bodies, client_id, reason, opened_at, expires_at) VALUES ($1, $2, '[\"libraries\"]', $3, 'an access that has run out already', '2026-01-01T09:00:00.000000Z', '2026-01-01T09:30:00.000000Z')"
        }
        _ => {
            "INSERT INTO emergency_accesses (id, subject, bodies, client_id, reason, opened_at, expires_at) VALUES (?, ?, '[\"libraries\"]', ?, 'an access that has run out already', '2026-01-01T09:00:00.000000Z', '2026-01-01T09:30:00.000000Z')"
        }
    };
    let expired_id = "fedcba9876543210fedcba9876543210";
    hub.audit
        .execute_raw(Statement::from_sql_and_values(
            backend_kind,
            insert,
            [
                expired_id.into(),
                officer.subject.clone().into(),
                client.clone().into(),
            ],
        ))
        .await
        .unwrap();
    let expired = ask(
        &hub,
        &officer,
        "glass-expired",
        read,
        &[purpose, (glass.0, expired_id)],
    )
    .await;
    assert_eq!(
        error_codes(&expired),
        ["EMERGENCY_ACCESS_INVALID"],
        "{expired}"
    );

    // The auditors' queue has the opening and the reads under it; the officer sees its
    // own accesses, the auditor every one.
    let auditor = principal(Role::Auditor, &[]);
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let review = hub
        .query_as(
            "gateway",
            &auditor,
            "query($from: DateTime!, $to: DateTime!) { auditReview(from: $from, to: $to) { rule subject client detail } }",
            json!({ "from": from, "to": to }),
        )
        .await;
    let emergency: Vec<&Value> = review["data"]["auditReview"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|flag| flag["rule"] == "EMERGENCY_ACCESS")
        .collect();
    assert_eq!(emergency.len(), 2, "{review}");
    assert!(emergency.iter().all(
        |flag| flag["subject"] == officer.subject.as_str() && flag["client"] == client.as_str()
    ));
    assert!(
        emergency[1]["detail"].as_str().unwrap().contains(&id),
        "{review}"
    );
    let list = "query($from: DateTime!, $to: DateTime!) { emergencyAccesses(from: $from, to: $to) { id reason } }";
    let window = json!({ "from": from, "to": to });
    let own = hub
        .query_as("gateway", &officer, list, window.clone())
        .await;
    assert_eq!(
        crate::helpers::ids(&own["data"]["emergencyAccesses"]),
        std::slice::from_ref(&id),
        "{own}"
    );
    let none = hub
        .query_as("gateway", &colleague, list, window.clone())
        .await;
    assert_eq!(none["data"]["emergencyAccesses"], json!([]), "{none}");
    let all = hub.query_as("gateway", &auditor, list, window).await;
    assert_eq!(
        all["data"]["emergencyAccesses"][0]["reason"], reason,
        "{all}"
    );
    hub.stop().await;
}

/// The data-subject report on one client lists exactly the operations whose answers held
/// that client's data, whatever else was read around them, and everything the divisions
/// hold about the client and nothing about anyone else; making it is itself recorded.
async fn the_data_subject_report_lists_exactly_the_events_about_the_client(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let served = hub.served_clients().await;
    let (client, other) = (served[0].clone(), served[1].clone());
    let officer = crate::helpers::officer_of_all_bodies();
    let purpose = (PURPOSE_HEADER, "client-work");
    let one = "query($id: ID!) { client(id: $id) { id district socialCases { kind } } }";
    for (request, id) in [("dsr-client", &client), ("dsr-other", &other)] {
        let read = ask(
            &hub,
            &officer,
            request,
            json!({ "query": one, "variables": { "id": id } }),
            &[purpose],
        )
        .await;
        assert_eq!(read["data"]["client"]["id"], id.as_str(), "{read}");
    }
    let both = json!({
        "query": "query($a: ID!, $b: ID!) { a: client(id: $a) { id } b: client(id: $b) { id } }",
        "variables": { "a": client, "b": other },
    });
    ask(&hub, &officer, "dsr-both", both, &[purpose]).await;
    // Refused without a purpose: nothing of the client left, so not an access.
    let refused = ask(
        &hub,
        &officer,
        "dsr-refused",
        json!({ "query": one, "variables": { "id": client } }),
        &[],
    )
    .await;
    assert_eq!(error_codes(&refused), ["PURPOSE_REQUIRED"]);

    let report = kotohub::subject_report::build(&hub.dbs, &hub.audit, &client)
        .await
        .unwrap();
    let requests: Vec<&str> = report
        .accesses
        .iter()
        .map(|a| a.request_id.as_str())
        .collect();
    assert_eq!(requests, ["dsr-client", "dsr-both"]);
    assert!(
        report
            .accesses
            .iter()
            .all(|a| a.purpose.as_deref() == Some("client-work")
                && a.subject.as_deref() == Some(officer.subject.as_str()))
    );
    // The classes of data each read held, from the schema's marks: the social cases are
    // special-category data, the ids pseudonymous.
    assert_eq!(
        report.accesses[0].classes,
        ["personal", "pseudonymous", "special-category"]
    );
    assert_eq!(report.accesses[1].classes, ["pseudonymous"]);
    let auditor = principal(Role::Auditor, &[]);
    let special = hub
        .query_as(
            "gateway",
            &auditor,
            "{ auditEvents(filter: { class: \"special-category\" }) { requestId classes } }",
            json!({}),
        )
        .await;
    let requests: Vec<&str> = special["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["requestId"].as_str().unwrap())
        .collect();
    // The refused read asked for the same data: auditors see the attempt too.
    assert_eq!(
        requests,
        ["dsr-client", "dsr-other", "dsr-refused"],
        "{special}"
    );
    let core = report
        .held
        .iter()
        .find(|h| h.subgraph == "programme" && h.table == "clients")
        .expect("the client core holds the client");
    assert_eq!(core.rows.len(), 1);
    assert_eq!(core.rows[0]["id"], client.as_str());
    assert!(
        report.held.len() > 2,
        "records in the divisions too: {:?}",
        report.held.iter().map(|h| &h.table).collect::<Vec<_>>()
    );
    for held in &report.held {
        let column = if held.table == "clients" {
            "id"
        } else {
            "client_id"
        };
        assert!(
            held.rows.iter().all(|row| row[column] == client.as_str()),
            "{} holds only the client's rows",
            held.table
        );
    }
    let page = kotohub::subject_report::html(&report);
    assert!(
        page.contains(&client) && page.contains(&officer.subject),
        "{page}"
    );

    // Making the report is an access to the client too: the next report lists it.
    hub.expect_events_from_outside_the_gateway(1);
    hub.audit_log
        .record(kotohub::subject_report::event(&report))
        .await
        .unwrap();
    let again = kotohub::subject_report::build(&hub.dbs, &hub.audit, &client)
        .await
        .unwrap();
    let last = again.accesses.last().unwrap();
    assert_eq!(again.accesses.len(), 3);
    assert_eq!(
        last.subject.as_deref(),
        Some(kotohub::subject_report::REPORTED_BY)
    );
    assert_eq!(
        (last.purpose.as_deref(), last.as_file),
        (Some("data-subject-request"), true)
    );
    let theirs = kotohub::subject_report::build(&hub.dbs, &hub.audit, &other)
        .await
        .unwrap();
    let requests: Vec<&str> = theirs
        .accesses
        .iter()
        .map(|a| a.request_id.as_str())
        .collect();
    assert_eq!(requests, ["dsr-other", "dsr-both"]);
    hub.stop().await;
}
