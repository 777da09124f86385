//! Logs and traces for every Kotohub process, set up once at start by the `kotohub`
//! binary before anything else runs.
//!
//! Logs go to standard error, as text for people or as JSON lines for collectors; a JSON
//! line written inside a request carries that request's `trace_id` and `span_id`.
//! Traces are OpenTelemetry spans made from `tracing` spans: the gateway opens one per
//! request with a child for each pipeline step and subgraph fetch, each subgraph one per
//! request with its resolvers and SQL statements below it. They are exported by OTLP only
//! when the standard `OTEL_EXPORTER_OTLP_*` variables ask for it ([`export`]); the
//! embedded default exports nothing and, logging text, builds no spans at all.
//!
//! Across processes a trace is held together by the W3C `traceparent` header
//! ([`propagation`]): the gateway continues the client's trace and passes it on to every
//! subgraph it calls.
//!
//! What goes into spans is chosen so that no personal data does: operation and subgraph
//! names, resolver paths (list positions, never keys), parameterised SQL, never variables,
//! representations or answers.

pub mod export;
mod json;
pub mod propagation;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

pub use export::{Export, Protocol};

/// How a process logs and traces.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Which events are logged: a `tracing` filter such as `info` or `kotohub=debug,info`.
    pub log_filter: &'a str,
    /// JSON lines (with trace ids) instead of text.
    pub json: bool,
    /// Which spans and events go into traces, when there are traces.
    pub trace_filter: &'a str,
    /// `service.name` of the exported spans, unless `OTEL_SERVICE_NAME` says otherwise.
    pub service_name: &'a str,
}

/// Why logging or tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{setting} {value:?} is not a valid filter: {reason}")]
    Filter {
        setting: &'static str,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Export(#[from] export::ExportError),
    #[error("logging is already set up in this process")]
    AlreadySet,
}

/// The running telemetry: keep it for the life of the process and [`Telemetry::shutdown`]
/// it at the end, so that the last spans are sent.
#[must_use = "shut the telemetry down at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    export: Export,
}

impl Telemetry {
    /// Where spans are sent, if anywhere.
    pub fn export(&self) -> Export {
        self.export
    }

    /// Sends the spans still queued and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "the last spans could not be sent");
        }
    }
}

/// Sets up logging and tracing for this process from `settings` and the environment.
pub fn init(settings: &Settings<'_>) -> Result<Telemetry, TelemetryError> {
    let export = Export::from_env(|name| std::env::var(name).ok())?;
    let log_filter = filter(settings.log_filter, "log.filter")?;
    // Spans feed only the trace layer: text logs stay one line per event, and with
    // neither traces nor JSON no span is even built.
    let log_filter = log_filter.and(filter_fn(|metadata| metadata.is_event()));
    let log_layer = if settings.json {
        tracing_subscriber::fmt::layer()
            .event_format(json::JsonLines)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        // Colours only for a terminal: a file or a journal would get escape codes.
        tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed()
    }
    .with_filter(log_filter);

    // Trace ids are worth having for JSON logs even with nowhere to send spans: they tie
    // one request's lines together across the gateway and its subgraphs.
    let traced = settings.json || export != Export::Off;
    let (provider, trace_layer) = if traced {
        let mut builder = SdkTracerProvider::builder().with_resource(resource(settings));
        if let Export::Otlp(protocol) = export {
            builder = builder.with_batch_exporter(export::span_exporter(protocol)?);
        }
        let provider = builder.build();
        let trace_filter = filter(settings.trace_filter, "log.trace_filter")?
            .and(filter_fn(|metadata| !is_transport(metadata.target())));
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("kotohub"))
            .with_filter(trace_filter);
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        (Some(provider), Some(layer))
    } else {
        (None, None)
    };
    Registry::default()
        .with(log_layer)
        .with(trace_layer)
        .try_init()
        .map_err(|_| TelemetryError::AlreadySet)?;
    Ok(Telemetry { provider, export })
}

fn filter(value: &str, setting: &'static str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(value).map_err(|error| TelemetryError::Filter {
        setting,
        value: value.to_owned(),
        reason: error.to_string(),
    })
}

/// `service.name` from `settings` unless the environment names the service: the SDK's
/// default resource reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(settings: &Settings<'_>) -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES")
            .is_ok_and(|attributes| attributes.contains("service.name="));
    let builder = Resource::builder();
    if named {
        builder.build()
    } else {
        builder
            .with_service_name(settings.service_name.to_owned())
            .build()
    }
}

/// The crates that carry spans to the collector and between services: tracing them would
/// trace the exporter itself, a span for every batch of spans.
fn is_transport(target: &str) -> bool {
    ["opentelemetry", "tonic", "h2", "hyper", "tower", "reqwest"]
        .iter()
        .any(|prefix| {
            target.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with("::") || rest.starts_with(['_', '-'])
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_crates_are_left_out_of_traces() {
        assert!(is_transport("hyper_util::client"));
        assert!(is_transport("h2"));
        assert!(is_transport("opentelemetry_sdk"));
        assert!(is_transport("opentelemetry-otlp"));
        assert!(!is_transport("kotohub_gateway::pipeline"));
        assert!(!is_transport("sea_orm::database"));
        assert!(!is_transport("hypertext"));
    }
}
