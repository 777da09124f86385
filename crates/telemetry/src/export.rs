//! Where spans go: nowhere unless the environment asks, else to an OTLP collector over
//! gRPC or HTTP (protobuf or JSON), read from the variables every OpenTelemetry SDK reads,
//! so that a deployment configures Kotohub as it configures everything else:
//!
//! - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: off.
//! - `OTEL_TRACES_EXPORTER=otlp`, or an `OTEL_EXPORTER_OTLP_ENDPOINT` /
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: on. With none of these (the embedded default),
//!   off: a laptop has no collector to send to.
//! - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc`,
//!   `http/protobuf` (the specification's default) or `http/json`.
//! - Endpoint, headers, timeout (`OTEL_EXPORTER_OTLP_*`) and batching (`OTEL_BSP_*`) are
//!   read by the OpenTelemetry SDK itself.

use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};

/// Where spans are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Off,
    Otlp(Protocol),
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// The transport as the variables name it.
impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        })
    }
}

/// Why the OTLP settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{variable}={value:?} is not supported: use {expected}")]
    Unsupported {
        variable: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the OTLP span exporter cannot be built: {0}")]
    Build(String),
}

const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";

impl Export {
    /// Reads the settings through `var`, which gives a variable's value if it is set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ExportError> {
        let set = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(Self::Off);
        }
        let wanted = match set("OTEL_TRACES_EXPORTER").as_deref() {
            Some("none") => false,
            Some("otlp") => true,
            Some(other) => {
                return Err(ExportError::Unsupported {
                    variable: "OTEL_TRACES_EXPORTER",
                    value: other.to_owned(),
                    expected: "otlp or none",
                });
            }
            None => {
                set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
                    || set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            }
        };
        if !wanted {
            return Ok(Self::Off);
        }
        let (variable, value) = match set(TRACES_PROTOCOL) {
            Some(value) => (TRACES_PROTOCOL, value),
            None => (PROTOCOL, set(PROTOCOL).unwrap_or_default()),
        };
        let protocol = match value.to_ascii_lowercase().as_str() {
            "" | "http/protobuf" => Protocol::HttpProtobuf,
            "http/json" => Protocol::HttpJson,
            "grpc" => Protocol::Grpc,
            _ => {
                return Err(ExportError::Unsupported {
                    variable,
                    value,
                    expected: "grpc, http/protobuf or http/json",
                });
            }
        };
        Ok(Self::Otlp(protocol))
    }
}

/// The OTLP exporter for `protocol`. gRPC needs the Tokio runtime: call this inside it.
pub(crate) fn span_exporter(
    protocol: Protocol,
) -> Result<opentelemetry_otlp::SpanExporter, ExportError> {
    let builder = opentelemetry_otlp::SpanExporter::builder();
    let built = match protocol {
        Protocol::Grpc => builder
            .with_tonic()
            .with_protocol(opentelemetry_otlp::Protocol::Grpc)
            .build(),
        Protocol::HttpProtobuf | Protocol::HttpJson => {
            let wire = if protocol == Protocol::HttpJson {
                opentelemetry_otlp::Protocol::HttpJson
            } else {
                opentelemetry_otlp::Protocol::HttpBinary
            };
            builder
                .with_http()
                .with_protocol(wire)
                .with_http_client(RuntimeClient::new()?)
                .build()
        }
    };
    built.map_err(|error| ExportError::Build(error.to_string()))
}

/// The workspace's HTTP client, run on the Tokio runtime that built it.
///
/// The SDK's batch processor exports from a thread of its own, outside the runtime,
/// where an async client cannot open a connection; each export is therefore spawned onto
/// the runtime and only waited for on that thread.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl RuntimeClient {
    fn new() -> Result<Self, ExportError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ExportError::Build("tracing must be set up inside the Tokio runtime".to_owned())
        })?;
        let client = reqwest::Client::builder()
            .timeout(timeout(|name| std::env::var(name).ok()))
            .build()
            .map_err(|error| ExportError::Build(error.to_string()))?;
        Ok(Self { client, runtime })
    }
}

/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, in
/// milliseconds; ten seconds as the specification says when neither is set. The SDK
/// applies it to its own clients only.
fn timeout(var: impl Fn(&str) -> Option<String>) -> Duration {
    [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ]
    .iter()
    .find_map(|name| var(name).and_then(|v| v.trim().parse::<u64>().ok()))
    .map_or(Duration::from_secs(10), Duration::from_millis)
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut answer = Response::builder().status(response.status());
            if let Some(headers) = answer.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = response.bytes().await?;
            Ok::<_, HttpError>(answer.body(body)?)
        });
        sent.await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(vars: &[(&str, &str)]) -> Result<Export, ExportError> {
        Export::from_env(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn nothing_is_exported_unless_asked() {
        assert_eq!(export(&[]).expect("valid"), Export::Off);
        assert_eq!(
            export(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).expect("valid"),
            Export::Off
        );
    }

    #[test]
    fn an_endpoint_turns_export_on_over_http_protobuf() {
        for endpoint in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            assert_eq!(
                export(&[(endpoint, "http://127.0.0.1:4318")]).expect("valid"),
                Export::Otlp(Protocol::HttpProtobuf)
            );
        }
        assert_eq!(
            export(&[("OTEL_TRACES_EXPORTER", "otlp")]).expect("valid"),
            Export::Otlp(Protocol::HttpProtobuf)
        );
    }

    #[test]
    fn the_protocol_variables_choose_the_transport() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
        assert_eq!(
            export(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).expect("valid"),
            Export::Otlp(Protocol::Grpc)
        );
        assert_eq!(
            export(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).expect("valid"),
            Export::Otlp(Protocol::HttpJson)
        );
        // The signal's own variable wins over the general one.
        assert_eq!(
            export(&[
                endpoint,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ])
            .expect("valid"),
            Export::Otlp(Protocol::Grpc)
        );
    }

    #[test]
    fn off_switches_win_and_unknown_values_are_refused() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert_eq!(
            export(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]).expect("valid"),
            Export::Off
        );
        assert_eq!(
            export(&[endpoint, ("OTEL_SDK_DISABLED", "true")]).expect("valid"),
            Export::Off
        );
        let refused = export(&[endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "udp")])
            .expect_err("udp is no OTLP transport");
        assert!(refused.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"));
        assert!(export(&[("OTEL_TRACES_EXPORTER", "jaeger")]).is_err());
    }

    #[test]
    fn the_export_timeout_comes_from_the_environment() {
        assert_eq!(timeout(|_| None), Duration::from_secs(10));
        assert_eq!(
            timeout(|name| (name == "OTEL_EXPORTER_OTLP_TIMEOUT").then(|| "2500".to_owned())),
            Duration::from_millis(2500)
        );
    }
}
