//! Logs and traces. [`Telemetry::init`] installs the `tracing` subscriber: logs on stderr
//! (events filtered by `SEGUE_LOG`, `info` by default) and, with `--otlp-endpoint`, every span
//! exported over OTLP/HTTP (JSON) by OpenTelemetry, in batches from a thread of the SDK's own.
//! Spans exist only when they are exported.
//!
//! The spans: one per device connection (user, device), one per request on it (its type), one
//! per REST request (route, status), one per session call, and on the node holding a session,
//! one per call it serves for another node. A call to another node carries the W3C trace
//! context of the calling span ([`current_traceparent`]), and the serving node continues that
//! trace ([`continue_remote_trace`]): a command sent through one node to a session on another
//! is one trace with spans from both. A request on a socket starts a trace of its own, linked
//! to its connection's span, so that a connection open for hours is not one trace of hours.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{FilterExt, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How often finished spans are sent.
const EXPORT_EVERY: Duration = Duration::from_millis(500);
/// How long one export may take before it is given up.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// Finished spans that may wait for the next export; past it, new ones are dropped (the SDK
/// counts and logs them), never the node's work.
const EXPORT_QUEUE: usize = 8_192;

/// Where traces go.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The collector's base URL (`http://host:4318`), or its full traces URL (`…/v1/traces`).
    pub endpoint: String,
    /// `service.instance.id` of this node's spans.
    pub node_id: String,
}

/// The installed subscriber; [`Telemetry::shutdown`] sends the spans still waiting.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Installs the process's subscriber. Call once, before anything logs.
    pub fn init(otlp: Option<&OtlpConfig>) -> Result<Telemetry, String> {
        let filter = EnvFilter::try_from_env("SEGUE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
        // The log takes events only, never spans: a span the registry keeps costs memory (about
        // 1.3 KB for a connection's, its fields formatted for the log), and 19,000 idle
        // connections would pay it for nothing. Without `--otlp-endpoint` no layer wants spans,
        // so creating one costs nothing; with it, only the exporter keeps them.
        // The events-only filter is decided per callsite, once, and says it lets every level
        // through: without that hint the combined filter would have none, the subscriber's
        // maximum level would be TRACE, and every `log` record of every library (a trace line
        // per frame from tungstenite) would be turned into an event only to be dropped.
        let events_only = filter_fn(|metadata| metadata.is_event()).with_max_level_hint(LevelFilter::TRACE);
        let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter.and(events_only));
        let Some(otlp) = otlp else {
            tracing_subscriber::registry().with(logs).init();
            return Ok(Telemetry { provider: None });
        };
        let provider = tracer_provider(otlp)?;
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let traces = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("segue"))
            .with_filter(EnvFilter::new("segue=info"));
        tracing_subscriber::registry().with(logs).with(traces).init();
        Ok(Telemetry { provider: Some(provider) })
    }

    /// Sends the spans still waiting and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("segue: sending the last traces failed: {error}");
        }
    }
}

fn tracer_provider(otlp: &OtlpConfig) -> Result<SdkTracerProvider, String> {
    let base = otlp.endpoint.trim_end_matches('/');
    let endpoint = if base.ends_with("/v1/traces") { base.to_string() } else { format!("{base}/v1/traces") };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(BlockingHttp(ureq::Agent::new_with_config(
            ureq::Agent::config_builder().timeout_global(Some(EXPORT_TIMEOUT)).http_status_as_error(false).build(),
        )))
        .build()
        .map_err(|error| format!("--otlp-endpoint: {error}"))?;
    let batches = BatchConfigBuilder::default().with_scheduled_delay(EXPORT_EVERY).with_max_queue_size(EXPORT_QUEUE);
    let processor = BatchSpanProcessor::builder(exporter).with_batch_config(batches.build()).build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("segue")
        .with_attribute(opentelemetry::KeyValue::new("service.instance.id", otlp.node_id.clone()))
        .build();
    Ok(SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build())
}

/// The exporter's HTTP client: `ureq`, blocking, on the batch processor's own thread (the SDK
/// exports from a thread of its own, never from the node's runtimes).
#[derive(Debug)]
struct BlockingHttp(ureq::Agent);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for BlockingHttp {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let request = opentelemetry_http::Request::from_parts(parts, body.to_vec());
        let response = self.0.run(request)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.with_config().limit(1 << 20).read_to_vec()?;
        Ok(opentelemetry_http::Response::from_parts(parts, bytes.into()))
    }
}

/// The W3C `traceparent` of the current span, to carry on a call to another node; `None` when
/// traces are not exported.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` continue the trace of a call from another node.
pub fn continue_remote_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else { return };
    let carrier = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    let _ = span.set_parent(context);
}
