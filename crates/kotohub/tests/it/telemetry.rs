//! Traces and logs of a running `kotohub serve`, configured only by the standard
//! `OTEL_EXPORTER_OTLP_*` variables: a cross-subgraph query leaves one trace that runs
//! from the client's `traceparent` through the gateway's steps to the subgraphs and their
//! SQL, sent by OTLP (HTTP with protobuf or JSON, or gRPC) to a receiver in this test;
//! JSON log lines carry its trace id; and no client's name or id appears in any exported
//! span or any log line.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

use super::cli::{Log, Serve, printed_token, printed_url, start_serve_with, stop};

/// One exported span, as much of it as the assertions need.
#[derive(Debug, Clone)]
struct Exported {
    trace_id: String,
    span_id: String,
    parent_id: String,
    name: String,
    kind: SpanKind,
    attributes: BTreeMap<String, String>,
}

impl Exported {
    /// The subgraph this span serves (a subgraph's request) or calls (a gateway fetch).
    fn subgraph(&self, kind: SpanKind) -> Option<&str> {
        (self.kind == kind)
            .then(|| self.attributes.get("kotohub.subgraph").map(String::as_str))
            .flatten()
    }

    fn is_gateway_request(&self) -> bool {
        self.kind == SpanKind::Server && self.attributes.contains_key("http.route")
    }
}

/// An OTLP/HTTP receiver: what was exported, decoded, and everything it held as text.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Exported>>>,
    text: Arc<Mutex<String>>,
}

fn text_of(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|pair| (pair.key.clone(), text_of(&pair.value)))
        .collect()
}

impl Collector {
    fn record(&self, request: &ExportTraceServiceRequest) {
        self.text
            .lock()
            .unwrap()
            .push_str(&format!("{request:?}\n"));
        let mut spans = self.spans.lock().unwrap();
        for resource in &request.resource_spans {
            for scope in &resource.scope_spans {
                for span in &scope.spans {
                    spans.push(Exported {
                        trace_id: hex::encode(&span.trace_id),
                        span_id: hex::encode(&span.span_id),
                        parent_id: hex::encode(&span.parent_span_id),
                        name: span.name.clone(),
                        kind: span.kind(),
                        attributes: attributes(&span.attributes),
                    });
                }
            }
        }
    }

    /// The spans of `trace_id` once the gateway's request and the requests of at least
    /// `subgraphs` subgraphs and the audit step are in (spans arrive in batches), or
    /// what there is after 30 seconds.
    async fn trace(&self, trace_id: &str, subgraphs: usize) -> Vec<Exported> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let trace: Vec<Exported> = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|span| span.trace_id == trace_id)
                .cloned()
                .collect();
            let served: BTreeSet<&str> = trace
                .iter()
                .filter_map(|span| span.subgraph(SpanKind::Server))
                .collect();
            let complete = trace.iter().any(Exported::is_gateway_request)
                && served.len() >= subgraphs
                && trace.iter().any(|span| span.name == "audit");
            if complete || std::time::Instant::now() > deadline {
                return trace;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// OTLP/HTTP: protobuf or, for `http/json`, JSON.
async fn receive(
    State(collector): State<Collector>,
    headers: header::HeaderMap,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request = if json {
        serde_json::from_slice::<ExportTraceServiceRequest>(&body).ok()
    } else {
        ExportTraceServiceRequest::decode(body.as_ref()).ok()
    };
    let Some(request) = request else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain")],
            Vec::new(),
        );
    };
    collector.record(&request);
    // An empty ExportTraceServiceResponse: everything accepted.
    let (content_type, body) = if json {
        ("application/json", b"{}".to_vec())
    } else {
        ("application/x-protobuf", Vec::new())
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body)
}

/// OTLP over gRPC.
#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.record(request.get_ref());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_grpc_collector() -> (String, Collector) {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
    });
    (format!("http://{address}"), collector)
}

async fn start_collector() -> (String, Collector) {
    let collector = Collector::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .with_state(collector.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), collector)
}

/// Every client's id and name, from the programme's database.
async fn clients(data_dir: &std::path::Path) -> Vec<(String, String)> {
    let url = format!(
        "sqlite://{}?mode=ro",
        data_dir.join("programme.db").display()
    );
    let db = Database::connect(&url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, name FROM clients",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get::<String>("", "id").unwrap(),
                row.try_get::<String>("", "name").unwrap(),
            )
        })
        .collect()
}

/// `kotohub serve` on a fresh data directory, exporting to `endpoint` over `protocol`.
async fn start_traced_serve(
    name: &str,
    endpoint: &str,
    protocol: &str,
    env: &[(&str, &str)],
) -> (std::path::PathBuf, Serve, Vec<String>, Log) {
    let data_dir =
        std::env::temp_dir().join(format!("kotohub-telemetry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.to_owned()));
    env.push(("OTEL_EXPORTER_OTLP_PROTOCOL".into(), protocol.to_owned()));
    env.push(("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()));
    let dir = data_dir.clone();
    // Waiting for the ready line blocks: off the workers that receive the exports.
    let (serve, lines, log) = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        start_serve_with(&dir, &env)
    })
    .await
    .unwrap();
    (data_dir, serve, lines, log)
}

/// A token for an officer of the bodies whose records the cross-subgraph query reads.
fn officer_token(data_dir: &std::path::Path) -> String {
    let minted = std::process::Command::new(env!("CARGO_BIN_EXE_kotohub"))
        .args([
            "token",
            "--role",
            "officer",
            "--body",
            "education-division",
            "--body",
            "culture-leisure-division",
            "--body",
            "helsinki-skill-center",
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    String::from_utf8(minted.stdout).unwrap().trim().to_owned()
}

/// The client's span that the gateway's request span must continue.
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// Sends the README's cross-subgraph query (education, programme, employment, culture)
/// as part of a new trace; returns the trace id and the answer.
async fn send_cross_subgraph(gateway: &str, officer: &str) -> (String, Value) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let trace_id = format!("{:032x}", nanos ^ u128::from(std::process::id()));
    let answer: Value = reqwest::Client::new()
        .post(gateway)
        .bearer_auth(officer)
        .header(crate::helpers::PURPOSE_HEADER, crate::helpers::PURPOSE)
        .header("traceparent", format!("00-{trace_id}-{CLIENT_SPAN}-01"))
        .json(&json!({ "query": "query Enrolled { measure(id: \"4.4\") { summary enrolments(first: 5) { programme client { id name district employmentOutcomes { kind occurredOn } participations { activity } } } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    (trace_id, answer)
}

/// Checks that `trace` runs from the client's span through the gateway to the four
/// subgraphs, each subgraph's request the child of the gateway's fetch of it — so the
/// context crossed HTTP.
fn assert_one_trace(trace: &[Exported]) {
    let names: BTreeSet<&str> = trace.iter().map(|span| span.name.as_str()).collect();
    let by_id: BTreeMap<&str, &Exported> = trace
        .iter()
        .map(|span| (span.span_id.as_str(), span))
        .collect();
    let request = trace
        .iter()
        .find(|span| span.is_gateway_request())
        .unwrap_or_else(|| panic!("the gateway's request span is exported: {names:?}"));
    assert_eq!(request.parent_id, CLIENT_SPAN);
    assert_eq!(request.name, "POST /graphql");
    assert_eq!(request.attributes["graphql.operation.name"], "Enrolled");
    let mut served = BTreeSet::new();
    for span in trace {
        let Some(subgraph) = span.subgraph(SpanKind::Server) else {
            continue;
        };
        let parent = by_id
            .get(span.parent_id.as_str())
            .unwrap_or_else(|| panic!("the {subgraph} request's parent is in the trace"));
        assert_eq!(
            parent.subgraph(SpanKind::Client),
            Some(subgraph),
            "{parent:?}"
        );
        served.insert(subgraph.to_owned());
    }
    for subgraph in ["programme", "education", "employment", "culture"] {
        assert!(
            served.contains(subgraph),
            "{subgraph} missing from {served:?}"
        );
    }
}

// Several workers: the receiver must take exports while the test waits on the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_runs_from_client_to_sql_and_holds_no_personal_data() {
    let (endpoint, collector) = start_collector().await;
    let (data_dir, serve, lines, log) = start_traced_serve(
        "protobuf",
        &endpoint,
        "http/protobuf",
        &[
            ("KOTOHUB__LOG__FORMAT", "json"),
            // As much as there is to log and trace: the scan below reads it all.
            ("KOTOHUB__LOG__FILTER", "debug"),
            ("KOTOHUB__LOG__TRACE_FILTER", "debug"),
        ],
    )
    .await;
    let gateway = printed_url(&lines, "GraphQL");
    let http = reqwest::Client::new();
    let officer = officer_token(&data_dir);

    let (trace_id, answer) = send_cross_subgraph(&gateway, &officer).await;
    let returned: Vec<&str> = answer["data"]["measure"]["enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["client"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(returned.len(), 5, "{answer}");
    // More person-level traffic for the scan: a list of clients, a refused look at a
    // client by id, a saved query, and an auditor asking about a client by id.
    let more = [
        (
            officer.clone(),
            "{ clients(first: 50) { id name birthYear enrolments { programme } } }",
        ),
        (officer.clone(), "{ client(id: \"c0000007\") { id name } }"),
        (
            printed_token(&lines, "auditor"),
            "{ accessesToClient(id: \"c0000005\") { subject fields } }",
        ),
    ];
    for (token, query) in &more {
        let response = http
            .post(&gateway)
            .bearer_auth(token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{query}");
    }
    let saved = http
        .get(gateway.replace(
            "/graphql",
            "/q/ohjaamo-events-in-other-languages?format=csv",
        ))
        .bearer_auth(printed_token(&lines, "officer"))
        .send()
        .await
        .unwrap();
    assert!(saved.status().is_success());

    let trace = collector.trace(&trace_id, 4).await;
    assert_one_trace(&trace);
    // Every step of the gateway's pipeline has its span.
    let names: BTreeSet<&str> = trace.iter().map(|span| span.name.as_str()).collect();
    let by_id: BTreeMap<&str, &Exported> = trace
        .iter()
        .map(|span| (span.span_id.as_str(), span))
        .collect();
    for step in [
        "authenticate",
        "parse",
        "validate",
        "authorize",
        "plan",
        "execute",
        "fetch",
        "merge",
        "audit",
    ] {
        // A fetch is named after its subgraph: "fetch education".
        let found = names.iter().any(|name| {
            *name == step
                || name
                    .strip_prefix(step)
                    .is_some_and(|rest| rest.starts_with(' '))
        });
        assert!(found, "no {step} span in {names:?}");
    }
    // Below the subgraphs: their resolvers and SQL statements, in the same trace.
    let under_subgraph = |span: &Exported| {
        let mut at = span;
        while let Some(parent) = by_id.get(at.parent_id.as_str()) {
            if parent.subgraph(SpanKind::Server).is_some() {
                return true;
            }
            at = parent;
        }
        false
    };
    assert!(
        trace
            .iter()
            .any(|span| span.attributes.contains_key("graphql.field.path") && under_subgraph(span)),
        "{names:?}"
    );
    let statement = trace
        .iter()
        .find(|span| span.name.starts_with("sea_orm.") && under_subgraph(span))
        .unwrap_or_else(|| panic!("an SQL span under a subgraph: {names:?}"));
    assert!(statement.attributes["db.statement"].contains("SELECT"));

    // A JSON log line written inside the request carries its trace id.
    let logged: Vec<Value> = log
        .lock()
        .unwrap()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("a JSON line: {line}")))
        .collect();
    assert!(
        logged
            .iter()
            .any(|line| line["message"] == "answered" && line["trace_id"] == trace_id.as_str()),
        "no log line of the request carries its trace id"
    );

    stop(serve);

    // No client's name or id anywhere in what left the process as telemetry.
    let everything = format!(
        "{}\n{}",
        collector.text.lock().unwrap(),
        log.lock().unwrap().join("\n")
    );
    let people = clients(&data_dir).await;
    assert!(people.len() >= 300);
    assert!(
        returned
            .iter()
            .all(|name| people.iter().any(|(_, n)| n == name)),
        "the scan looks for what the answers held"
    );
    for (id, name) in &people {
        assert!(
            !everything.contains(id.as_str()),
            "client id {id} in telemetry"
        );
        assert!(
            !everything.contains(name.as_str()),
            "client name {name} in telemetry"
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The other two transports the standard variables choose: gRPC and OTLP/JSON over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_go_out_by_grpc_and_by_http_json_as_the_variables_say() {
    for protocol in ["grpc", "http/json"] {
        let (endpoint, collector) = if protocol == "grpc" {
            start_grpc_collector().await
        } else {
            start_collector().await
        };
        let name = protocol.replace('/', "-");
        let (data_dir, serve, lines, _) = start_traced_serve(&name, &endpoint, protocol, &[]).await;
        let announced = format!("Traces      exported by OTLP ({protocol})");
        assert!(lines.iter().any(|l| l.trim() == announced), "{lines:?}");
        let gateway = printed_url(&lines, "GraphQL");
        let (trace_id, _) = send_cross_subgraph(&gateway, &officer_token(&data_dir)).await;
        let trace = collector.trace(&trace_id, 4).await;
        assert_one_trace(&trace);
        stop(serve);
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}
