//! The gateway end to end: real HTTP to the real subgraphs. Joined answers are compared
//! with the answers assembled by asking each subgraph directly.

use kotohub_employment::entity::employment_outcome;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, ids};

crate::on_both_backends!(
    gateway_joins_divisions_like_the_subgraphs_one_by_one,
    measure_to_enrolments_to_clients_to_outcomes,
    a_thousand_entities_in_one_answer,
    records_link_back_to_several_programme_entities,
    random_picks_agree_with_the_subgraphs,
    a_subgraph_past_its_timeout_is_reported,
    aliases_fragments_variables_and_conditions,
    a_subgraph_down_gives_partial_data_and_recovers,
    http_rules_of_the_gateway,
    identical_reads_in_flight_share_one_subgraph_request,
);

/// What `subgraph` says about `field` of each client, asked directly with `_entities`.
async fn direct_client_field(
    hub: &Hub,
    subgraph: &str,
    clients: &[String],
    selection: &str,
) -> Vec<Value> {
    let reps: Vec<Value> = clients
        .iter()
        .map(|id| json!({ "__typename": "Client", "id": id }))
        .collect();
    let query = format!(
        "query($reps: [_Any!]!) {{ _entities(representations: $reps) {{ ... on Client {{ {selection} }} }} }}"
    );
    let data = hub.data(subgraph, &query, json!({ "reps": reps })).await;
    data["_entities"].as_array().unwrap().clone()
}

async fn gateway_joins_divisions_like_the_subgraphs_one_by_one(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let joined = hub
        .data(
            "gateway",
            "{ clients(first: 40) { id name district employmentOutcomes { kind occurredOn } enrolments { programme startedOn } participations { activity participatedOn } } measures(theme: 1) { id } }",
            json!({}),
        )
        .await;
    let core = hub
        .data(
            "programme",
            "{ clients(first: 40) { id name district } measures(theme: 1) { id } }",
            json!({}),
        )
        .await;
    let client_ids = ids(&core["clients"]);
    let employment = direct_client_field(
        &hub,
        "employment",
        &client_ids,
        "employmentOutcomes { kind occurredOn }",
    )
    .await;
    let education = direct_client_field(
        &hub,
        "education",
        &client_ids,
        "enrolments { programme startedOn }",
    )
    .await;
    let culture = direct_client_field(
        &hub,
        "culture",
        &client_ids,
        "participations { activity participatedOn }",
    )
    .await;
    let assembled: Vec<Value> = core["clients"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(n, client)| {
            json!({
                "id": client["id"], "name": client["name"], "district": client["district"],
                "employmentOutcomes": employment[n]["employmentOutcomes"],
                "enrolments": education[n]["enrolments"],
                "participations": culture[n]["participations"],
            })
        })
        .collect();
    assert_eq!(joined["clients"], Value::Array(assembled));
    assert_eq!(joined["measures"], core["measures"]);
    // The answer follows the query's field order, not the subgraphs'.
    let keys: Vec<&String> = joined["clients"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "district",
            "employmentOutcomes",
            "enrolments",
            "participations"
        ]
    );
    hub.stop().await;
}

async fn measure_to_enrolments_to_clients_to_outcomes(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let joined = hub
        .data(
            "gateway",
            r#"query($id: ID!) { measure(id: $id) { id summary enrolments(first: 30) { programme client { id name socialOutcomes { kind } employmentOutcomes { kind } } } } }"#,
            json!({ "id": "4.4" }),
        )
        .await;
    let measure = &joined["measure"];
    let summary = hub
        .data(
            "programme",
            r#"{ measure(id: "4.4") { summary } }"#,
            json!({}),
        )
        .await;
    assert_eq!(measure["summary"], summary["measure"]["summary"]);
    let enrolments = hub
        .data("education", r#"{ _entities(representations: [{__typename: "Measure", id: "4.4"}]) { ... on Measure { enrolments(first: 30) { programme client { id } } } } }"#, json!({}))
        .await;
    let enrolments = enrolments["_entities"][0]["enrolments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        measure["enrolments"].as_array().unwrap().len(),
        enrolments.len()
    );
    assert!(!enrolments.is_empty());
    let client_ids: Vec<String> = enrolments
        .iter()
        .map(|e| e["client"]["id"].as_str().unwrap().to_owned())
        .collect();
    let names = direct_client_field(&hub, "programme", &client_ids, "name").await;
    let social = direct_client_field(&hub, "social", &client_ids, "socialOutcomes { kind }").await;
    let employment = direct_client_field(
        &hub,
        "employment",
        &client_ids,
        "employmentOutcomes { kind }",
    )
    .await;
    for (n, row) in measure["enrolments"].as_array().unwrap().iter().enumerate() {
        assert_eq!(row["programme"], enrolments[n]["programme"]);
        assert_eq!(row["client"]["id"], client_ids[n].as_str());
        assert_eq!(row["client"]["name"], names[n]["name"]);
        assert_eq!(row["client"]["socialOutcomes"], social[n]["socialOutcomes"]);
        assert_eq!(
            row["client"]["employmentOutcomes"],
            employment[n]["employmentOutcomes"]
        );
    }
    hub.stop().await;
}

async fn a_thousand_entities_in_one_answer(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 1_400).await else {
        return;
    };
    let data = hub
        .data(
            "gateway",
            "{ clients(first: 1000) { id employmentOutcomes { kind } } }",
            json!({}),
        )
        .await;
    let clients = data["clients"].as_array().unwrap();
    let served = hub.served_clients().await.len();
    assert!(served >= 1000, "only {served} clients are served");
    assert_eq!(clients.len(), 1000);
    let outcomes: usize = clients
        .iter()
        .map(|c| c["employmentOutcomes"].as_array().unwrap().len())
        .sum();
    let last = clients[999]["id"].as_str().unwrap();
    let stored = employment_outcome::Entity::find()
        .filter(employment_outcome::Column::ClientId.lte(last))
        .count(
            &kotohub::seed::unrestricted(&hub.dbs.employment)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(outcomes as u64, stored);
    hub.stop().await;
}

async fn aliases_fragments_variables_and_conditions(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let query = r#"query Pick($id: ID!, $with: Boolean!, $without: Boolean!) {
        first: measure(id: $id) { ...M }
        second: measure(id: "1.3") { __typename id events: networkingEvents(first: 2) @skip(if: $without) { title } }
      }
      fragment M on Measure { id summary bodies: responsibleBodies @include(if: $with) { name } }"#;
    let with = hub
        .data(
            "gateway",
            query,
            json!({ "id": "7.5", "with": true, "without": false }),
        )
        .await;
    assert_eq!(with["first"]["id"], "7.5");
    assert_eq!(
        with["first"]["bodies"],
        json!([{ "name": "Helsinki City Library" }])
    );
    assert_eq!(with["second"]["__typename"], "Measure");
    assert_eq!(with["second"]["events"].as_array().unwrap().len(), 2);
    let keys: Vec<&String> = with.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["first", "second"]);
    let without = hub
        .data(
            "gateway",
            query,
            json!({ "id": "7.5", "with": false, "without": true }),
        )
        .await;
    assert!(without["first"].get("bodies").is_none());
    assert!(without["second"].get("events").is_none());
    let body = hub
        .query(
            "gateway",
            query,
            json!({ "id": "7.5", "with": "yes", "without": false }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_VARIABLE_VALUES",
        "{body}"
    );
    hub.stop().await;
}

async fn a_subgraph_down_gives_partial_data_and_recovers(backend: Backend) {
    let Some(mut hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let query = r#"{ themes { id } measure(id: "1.1") { id skillAssessments(first: 2) { id } } }"#;
    hub.stop_subgraph("employment");
    let body = hub.query("gateway", query, json!({})).await;
    assert_eq!(
        body["data"]["themes"].as_array().unwrap().len(),
        4,
        "{body}"
    );
    assert_eq!(
        body["data"]["measure"],
        Value::Null,
        "a non-null list that cannot be fetched nulls its parent"
    );
    let errors = body["errors"].as_array().unwrap();
    let from_employment = errors
        .iter()
        .find(|e| e["extensions"]["service"] == "employment")
        .expect("an error names the service");
    assert_eq!(
        from_employment["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );
    assert_eq!(from_employment["path"], json!(["measure"]));
    hub.restart_subgraph("employment").await;
    let data = hub.data("gateway", query, json!({})).await;
    assert_eq!(
        data["measure"]["skillAssessments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    hub.stop().await;
}

async fn http_rules_of_the_gateway(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let http = reqwest::Client::new();
    let url = hub.url("gateway", "/graphql");
    let bearer = hub.bearer();
    let post = |body: String, accept: &'static str| {
        http.post(&url)
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .header("accept", accept)
            .header("x-request-id", "test-42")
            .body(body)
            .send()
    };
    let response = post("{not json".into(), "application/json").await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-request-id"], "test-42");
    assert_eq!(
        post("{}".into(), "application/json")
            .await
            .unwrap()
            .status(),
        400,
        "no query"
    );
    assert_eq!(
        post(
            "[{\"query\":\"{ themes { id } }\"}]".into(),
            "application/json"
        )
        .await
        .unwrap()
        .status(),
        400,
        "batches are refused"
    );

    let invalid = json!({ "query": "{ themes { nope } }" }).to_string();
    let response = post(invalid.clone(), "application/graphql-response+json")
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json"
    );
    let response = post(invalid, "application/json").await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none() && body["errors"][0]["locations"].is_array());

    let unknown = json!({ "query": "query A { themes { id } }", "operationName": "B" }).to_string();
    let body: Value = post(unknown, "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "OPERATION_NOT_FOUND"
    );

    let huge = format!("{{\"query\": \"{}\"}}", "a".repeat(10 * 1024 * 1024));
    assert_eq!(post(huge, "application/json").await.unwrap().status(), 413);

    let response = http
        .get(format!("{url}?query=%7B%20themes%20%7B%20id%20%7D%20%7D"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["themes"].as_array().unwrap().len(), 4);
    // A mutation over GET is refused for its method, before validation looks at it.
    let response = http
        .get(format!("{url}?query=mutation%20%7B%20anything%20%7D"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METHOD_NOT_ALLOWED"
    );

    // GraphiQL comes whole from the gateway: every file the page loads is the gateway's,
    // and the page's policy lets the browser load nothing from anywhere else.
    let response = http
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    let page = response.text().await.unwrap();
    assert!(page.contains("GraphiQL"));
    assert!(
        !page.contains("://"),
        "the page loads something from elsewhere"
    );
    let origin = url.trim_end_matches("/graphql");
    let files: Vec<&str> = page
        .split('"')
        .filter(|part| part.starts_with("/graphiql/"))
        .collect();
    assert_eq!(files.len(), 5, "{page}");
    for file in files {
        let response = http.get(format!("{origin}{file}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let expected = if file.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(kind.starts_with(expected), "{file}: {kind}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{file}");
    }
    let missing = http
        .get(format!(
            "{origin}/graphiql/{}/other.js",
            kotohub_gateway::graphiql::VERSION
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let schema = hub
        .data(
            "gateway",
            "{ __schema { queryType { name } } __type(name: \"Client\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(schema["__schema"]["queryType"]["name"], "Query");
    assert_eq!(schema["__type"]["name"], "Client");
    let health = http
        .get(hub.url("gateway", "/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    hub.stop().await;
}

async fn records_link_back_to_several_programme_entities(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let joined = hub
        .data(
            "gateway",
            r#"{ skillAssessments(measure: "1.1", first: 5) { level client { id name } measure { id summary } responsibleBody { id name } } }"#,
            json!({}),
        )
        .await;
    let direct = hub
        .data(
            "employment",
            r#"{ skillAssessments(measure: "1.1", first: 5) { level client { id } } }"#,
            json!({}),
        )
        .await;
    let rows = direct["skillAssessments"].as_array().unwrap();
    assert!(!rows.is_empty());
    let client_ids: Vec<String> = rows
        .iter()
        .map(|r| r["client"]["id"].as_str().unwrap().to_owned())
        .collect();
    let names = direct_client_field(&hub, "programme", &client_ids, "name").await;
    let catalog = hub
        .data("programme", r#"{ measure(id: "1.1") { summary } responsibleBody(id: "helsinki-skill-center") { name } }"#, json!({}))
        .await;
    for (n, row) in joined["skillAssessments"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(row["level"], rows[n]["level"]);
        assert_eq!(
            row["client"],
            json!({ "id": client_ids[n], "name": names[n]["name"] })
        );
        assert_eq!(
            row["measure"],
            json!({ "id": "1.1", "summary": catalog["measure"]["summary"] })
        );
        assert_eq!(
            row["responsibleBody"],
            json!({ "id": "helsinki-skill-center", "name": catalog["responsibleBody"]["name"] })
        );
    }
    hub.stop().await;
}

/// A small deterministic generator, so that a failing pick can be replayed.
fn picks(seed: u64, count: usize, below: usize) -> Vec<usize> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as usize) % below
        })
        .collect()
}

async fn random_picks_agree_with_the_subgraphs(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 400).await else {
        return;
    };
    let measures = ids(&hub
        .data("programme", "{ measures { id } }", json!({}))
        .await["measures"]);
    // Random measures: summary and bodies from the programme, events from each division.
    for index in picks(7, 12, measures.len()) {
        let id = &measures[index];
        let joined = hub
            .data(
                "gateway",
                "query($id: ID!) { measure(id: $id) { id summary responsibleBodies { id } networkingEvents(first: 5) { title } educationEvents(first: 5) { title } socialEvents(first: 5) { title } culturalEvents(first: 5) { title } } }",
                json!({ "id": id }),
            )
            .await;
        let mut expected = hub
            .data(
                "programme",
                "query($id: ID!) { measure(id: $id) { id summary responsibleBodies { id } } }",
                json!({ "id": id }),
            )
            .await["measure"]
            .clone();
        for (subgraph, field) in [
            ("employment", "networkingEvents"),
            ("education", "educationEvents"),
            ("social", "socialEvents"),
            ("culture", "culturalEvents"),
        ] {
            let query = format!(
                "query($id: ID!) {{ _entities(representations: [{{__typename: \"Measure\", id: $id}}]) {{ ... on Measure {{ {field}(first: 5) {{ title }} }} }} }}"
            );
            let part = hub.data(subgraph, &query, json!({ "id": id })).await;
            expected[field] = part["_entities"][0][field].clone();
        }
        assert_eq!(joined["measure"], expected, "measure {id}");
    }
    // Random clients: the core from the programme, records from every division; a client
    // no body serves is visible to nobody.
    let served: std::collections::HashSet<String> =
        hub.served_clients().await.into_iter().collect();
    for index in picks(11, 12, 400) {
        let id = format!("c{:07}", index + 1);
        let joined = hub
            .data(
                "gateway",
                "query($id: ID!) { client(id: $id) { id birthYear motherTongue guidanceSessions { language } qualifications { kind } supportPeriods { service } cultureOutcomes { kind } } }",
                json!({ "id": id }),
            )
            .await;
        let mut expected = hub
            .data(
                "programme",
                "query($id: ID!) { client(id: $id) { id birthYear motherTongue } }",
                json!({ "id": id }),
            )
            .await["client"]
            .clone();
        for (subgraph, selection, field) in [
            (
                "employment",
                "guidanceSessions { language }",
                "guidanceSessions",
            ),
            ("education", "qualifications { kind }", "qualifications"),
            ("social", "supportPeriods { service }", "supportPeriods"),
            ("culture", "cultureOutcomes { kind }", "cultureOutcomes"),
        ] {
            let part =
                direct_client_field(&hub, subgraph, std::slice::from_ref(&id), selection).await;
            expected[field] = part[0][field].clone();
        }
        if served.contains(&id) {
            assert_eq!(joined["client"], expected, "client {id}");
        } else {
            assert!(
                joined["client"].is_null(),
                "client {id} is served by no body"
            );
        }
    }
    hub.stop().await;
}

async fn a_subgraph_past_its_timeout_is_reported(backend: Backend) {
    use kotohub::services::GatewaySettings;
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    // A social subgraph that accepts connections and never answers: a hung service.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung_addr = hung.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            held.push(socket);
        }
    });
    let mut urls = hub.subgraph_urls();
    urls.insert("social".to_owned(), format!("http://{hung_addr}/graphql"));
    let settings = GatewaySettings {
        subgraph_timeout: std::time::Duration::from_secs(30),
        subgraph_timeouts: std::collections::HashMap::from([(
            "social".to_owned(),
            std::time::Duration::from_millis(200),
        )]),
        ..GatewaySettings::default()
    };
    let (base, shutdown) = hub.extra_gateway(&urls, &settings).await;
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("authorization", hub.bearer())
        .header(crate::helpers::PURPOSE_HEADER, crate::helpers::PURPOSE)
        .json(&json!({ "query": "{ themes { id } socialCases(first: 1) { kind } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    shutdown.trigger();
    holder.abort();
    // socialCases is a non-null list: its null takes the whole data with it, per spec.
    assert_eq!(body["data"], Value::Null, "{body}");
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == json!(["socialCases"])),
        "a failed root fetch names the field it would have filled: {body}"
    );
    let from_social = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["extensions"]["service"] == "social")
        .unwrap_or_else(|| panic!("an error names the hung service: {body}"));
    assert_eq!(from_social["extensions"]["code"], "SUBGRAPH_UNAVAILABLE");
    assert!(
        from_social["message"]
            .as_str()
            .unwrap()
            .contains("no answer within 200ms"),
        "{from_social}"
    );
    hub.stop().await;
}

/// A stand-in for a subgraph that counts the requests it gets and answers each only
/// after `delay`, by passing it on to the real subgraph at `upstream`.
async fn slow_counting_proxy(
    upstream: String,
    delay: std::time::Duration,
) -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let http = reqwest::Client::new();
    let router = axum::Router::new().route(
        "/graphql",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (http, upstream, counted) = (http.clone(), upstream.clone(), counted.clone());
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let mut request = http.post(&upstream).body(body);
                    for (name, value) in &headers {
                        if name != "host" && name != "content-length" {
                            request = request.header(name, value);
                        }
                    }
                    let answer = request.send().await.unwrap();
                    (
                        [("content-type", "application/json")],
                        answer.bytes().await.unwrap(),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, count, server)
}

async fn identical_reads_in_flight_share_one_subgraph_request(backend: Backend) {
    use kotohub::services::GatewaySettings;
    use std::sync::atomic::Ordering;
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let mut urls = hub.subgraph_urls();
    let (proxy, requests, server) = slow_counting_proxy(
        urls["social"].clone(),
        std::time::Duration::from_millis(300),
    )
    .await;
    urls.insert("social".to_owned(), proxy);
    let (base, shutdown) = hub.extra_gateway(&urls, &GatewaySettings::default()).await;
    let http = reqwest::Client::new();
    let ask = |token: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.post(format!("{base}/graphql"))
                .header("authorization", format!("Bearer {token}"))
                .header(crate::helpers::PURPOSE_HEADER, crate::helpers::PURPOSE)
                .json(&json!({ "query": "{ socialCases(first: 3) { kind } }" }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let officer = crate::helpers::officer_of_all_bodies();
    let answers = futures_util::future::join_all((0..5).map(|_| ask(hub.token(&officer)))).await;
    assert!(
        answers[0]["data"]["socialCases"].is_array(),
        "{}",
        answers[0]
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(
        requests.swap(0, Ordering::SeqCst),
        1,
        "five identical reads at once reach the subgraph once"
    );

    // Another principal's read is never answered with someone else's answer.
    let other = crate::helpers::principal(kotohub_auth::Role::Officer, &["ohjaamo"]);
    futures_util::future::join(ask(hub.token(&officer)), ask(hub.token(&other))).await;
    assert_eq!(requests.swap(0, Ordering::SeqCst), 2);

    // Nothing is kept once answered: the next read goes to the subgraph again.
    ask(hub.token(&officer)).await;
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    shutdown.trigger();
    server.abort();
    hub.stop().await;
}
