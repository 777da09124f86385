//! W3C trace context over HTTP: a server span continues the trace its caller names in
//! `traceparent` (and `tracestate`), and a client request carries the current span's
//! context on. The gateway does both — continuing the client's trace and passing it to
//! each subgraph it fetches from — and each subgraph continues the gateway's.
//!
//! Without tracing set up (the embedded default), extraction finds no propagator and
//! injection no span context: both do nothing.

use http::HeaderMap;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes `span` a child of the trace in `headers`, if they carry one. Call it before the
/// span is first entered: a span that has started keeps its parent.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if span.is_disabled() || !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    // A span without the trace layer has no parent to set; nothing to report.
    let _ = span.set_parent(parent);
}

/// Adds the current span's trace context to `headers` of an outgoing request.
pub fn inject(headers: &mut HeaderMap) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers))
    });
}

/// The current trace's id as 32 hex digits, when there is a trace.
pub fn current_trace_id() -> Option<String> {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}
