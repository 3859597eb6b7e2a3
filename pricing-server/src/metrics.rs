//! Prometheus metrics (prometheus-client), served as text on their own port by [`serve`].
//!
//! Every name starts with `pricing_`; `ops/grafana/` and `ops/prometheus/` use them, and a test
//! scrapes a live server to check that each one they use exists.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub code: &'static str,
    pub priority: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: &'static str,
    pub priority: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabels {
    pub priority: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShedLabels {
    pub priority: &'static str,
    /// `queue_full`, `memory`, `rate`, `concurrency`.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DroppedLabels {
    pub priority: &'static str,
    /// `deadline`, `cancelled`.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: &'static str,
}

/// The service's methods, as metrics label them.
pub const METHODS: [&str; 5] = [
    "Quote",
    "QuoteUpload",
    "QuoteOrder",
    "Analyze",
    "GetPriceBook",
];
const PRIORITIES: [&str; 2] = ["high", "regular"];

fn seconds_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// The server's metrics.
pub struct Metrics {
    pub registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<MethodLabels, Histogram, fn() -> Histogram>,
    pub queue_depth: Family<PriorityLabels, Gauge>,
    pub queue_wait_seconds: Family<PriorityLabels, Histogram, fn() -> Histogram>,
    pub stage_seconds: Family<StageLabels, Histogram, fn() -> Histogram>,
    pub shed: Family<ShedLabels, Counter>,
    pub jobs_dropped: Family<DroppedLabels, Counter>,
    pub workers_busy: Gauge,
    pub triangles: Counter,
    pub bytes: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("pricing");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "gRPC requests answered, by method, status code and priority class",
            requests.clone(),
        );
        let request_seconds = Family::new_with_constructor(seconds_histogram as fn() -> Histogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer",
            request_seconds.clone(),
        );
        let queue_depth = Family::<PriorityLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Jobs waiting in each scheduler lane",
            queue_depth.clone(),
        );
        let queue_wait_seconds =
            Family::new_with_constructor(seconds_histogram as fn() -> Histogram);
        registry.register(
            "queue_wait_seconds",
            "Time a job waited in its lane before a worker took it (or dropped it)",
            queue_wait_seconds.clone(),
        );
        let stage_seconds = Family::new_with_constructor(seconds_histogram as fn() -> Histogram);
        registry.register(
            "engine_stage_seconds",
            "Time per engine stage (parse, analyze, prepare, estimate, thin_walls)",
            stage_seconds.clone(),
        );
        let shed = Family::<ShedLabels, Counter>::default();
        registry.register(
            "requests_shed",
            "Requests refused with RESOURCE_EXHAUSTED before any work, by reason",
            shed.clone(),
        );
        let jobs_dropped = Family::<DroppedLabels, Counter>::default();
        registry.register(
            "jobs_dropped",
            "Queued jobs dropped unrun: their deadline passed or their caller went away",
            jobs_dropped.clone(),
        );
        let workers_busy = Gauge::default();
        registry.register(
            "workers_busy",
            "Scheduler workers running a job",
            workers_busy.clone(),
        );
        let triangles = Counter::default();
        registry.register(
            "triangles_processed",
            "Triangles of the models read",
            triangles.clone(),
        );
        let bytes = Counter::default();
        registry.register("bytes_processed", "Bytes of the models read", bytes.clone());
        // Every series a dashboard or an alert reads exists from the start, at zero: a series
        // that appears only with its first event breaks `rate()` and hides the panel.
        for priority in PRIORITIES {
            for method in METHODS {
                let _ = requests.get_or_create(&RequestLabels {
                    method,
                    code: "OK",
                    priority,
                });
                let _ = request_seconds.get_or_create(&MethodLabels { method, priority });
            }
            let _ = queue_depth.get_or_create(&PriorityLabels { priority });
            let _ = queue_wait_seconds.get_or_create(&PriorityLabels { priority });
            for reason in ["queue_full", "memory", "rate", "concurrency"] {
                let _ = shed.get_or_create(&ShedLabels { priority, reason });
            }
            for reason in ["deadline", "cancelled"] {
                let _ = jobs_dropped.get_or_create(&DroppedLabels { priority, reason });
            }
        }
        for stage in pricing_engine::pipeline::Stage::ALL {
            let _ = stage_seconds.get_or_create(&StageLabels {
                stage: stage.name(),
            });
        }
        Metrics {
            registry,
            requests,
            request_seconds,
            queue_depth,
            queue_wait_seconds,
            stage_seconds,
            shed,
            jobs_dropped,
            workers_busy,
            triangles,
            bytes,
        }
    }
}

impl Metrics {
    /// The metrics in Prometheus's text format.
    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_registry(listener, move || metrics.render(), shutdown).await
}

/// Serves `GET /metrics`, the text `render` gives, on `listener` until `shutdown` resolves.
pub async fn serve_registry(
    listener: tokio::net::TcpListener,
    render: impl Fn() -> String + Clone + Send + Sync + 'static,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::http::header;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = render.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Renders a registry in Prometheus's text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

/// The address a metrics listener is bound to, for logs.
pub fn describe(addr: SocketAddr) -> String {
    format!("http://{addr}/metrics")
}
