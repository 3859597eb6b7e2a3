//! The adapter's own metrics, on its own `/metrics` (served by [`crate::metrics::serve_registry`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// `high` (the priority queue) or `regular`.
    pub priority: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PublishedLabels {
    pub priority: &'static str,
    /// `price_calculated`, `price_failed`.
    pub event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLabels {
    pub priority: &'static str,
    /// `undecodable`, `invalid`, `attempts`.
    pub reason: &'static str,
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

pub struct AdapterMetrics {
    pub registry: Registry,
    pub consumed: Family<QueueLabels, Counter>,
    pub published: Family<PublishedLabels, Counter>,
    pub retried: Family<QueueLabels, Counter>,
    pub dead_lettered: Family<DeadLabels, Counter>,
    pub processing_seconds: Family<QueueLabels, Histogram, fn() -> Histogram>,
    pub in_flight: Gauge,
    pub reconnects: Counter,
}

impl Default for AdapterMetrics {
    fn default() -> AdapterMetrics {
        let mut registry = Registry::with_prefix("pricing_adapter");
        let consumed = Family::<QueueLabels, Counter>::default();
        registry.register(
            "messages_consumed",
            "Price requests taken from the queues",
            consumed.clone(),
        );
        let published = Family::<PublishedLabels, Counter>::default();
        registry.register(
            "messages_published",
            "Outcome events published and confirmed by the broker",
            published.clone(),
        );
        let retried = Family::<QueueLabels, Counter>::default();
        registry.register(
            "messages_retried",
            "Requests put back on their queue after a transient failure",
            retried.clone(),
        );
        let dead_lettered = Family::<DeadLabels, Counter>::default();
        registry.register(
            "messages_dead_lettered",
            "Requests moved to the dead-letter queue, by reason",
            dead_lettered.clone(),
        );
        let processing_seconds = Family::new_with_constructor(seconds as fn() -> Histogram);
        registry.register(
            "processing_seconds",
            "Time from taking a request to acknowledging it",
            processing_seconds.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("in_flight", "Requests being processed", in_flight.clone());
        let reconnects = Counter::default();
        registry.register(
            "reconnects",
            "Sessions with the broker started again after a failure",
            reconnects.clone(),
        );
        for priority in ["high", "regular"] {
            let _ = consumed.get_or_create(&QueueLabels { priority });
            let _ = retried.get_or_create(&QueueLabels { priority });
            let _ = processing_seconds.get_or_create(&QueueLabels { priority });
            for event in ["price_calculated", "price_failed"] {
                let _ = published.get_or_create(&PublishedLabels { priority, event });
            }
            for reason in ["undecodable", "invalid", "attempts"] {
                let _ = dead_lettered.get_or_create(&DeadLabels { priority, reason });
            }
        }
        AdapterMetrics {
            registry,
            consumed,
            published,
            retried,
            dead_lettered,
            processing_seconds,
            in_flight,
            reconnects,
        }
    }
}
