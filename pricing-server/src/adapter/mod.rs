//! The queue adapter: prices every `PriceRequested` from RabbitMQ and publishes its outcome,
//! partners first, losing nothing.
//!
//! Topology (declared idempotently at every connection; `prefix` prepends every name):
//!
//! ```text
//! pricing.requests (direct) ─priority─▶ pricing.requests.priority (quorum) ─┐
//!                           ─regular──▶ pricing.requests.regular  (quorum) ─┴▶ adapter
//! adapter ─▶ pricing.events (topic): order.price_calculated | order.price_failed
//! adapter ─▶ pricing.requests.dead (quorum): what cannot be priced, with the reason in headers
//! ```
//!
//! Quorum queues in RabbitMQ 3.10 have no priorities, so priority is the adapter's: it keeps
//! the deliveries of both queues (each bounded by the prefetch) and starts high ones first,
//! taking a regular one after `high_per_regular` high ones in a row.
//!
//! Each request is acknowledged only after its outcome is confirmed by the broker (publisher
//! confirms): killed at any moment, the adapter loses nothing; a request may be priced twice,
//! and gets the same quote id. `process.rs` lists the outcomes.

mod metrics;
mod pricer;
mod process;
pub mod request;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_stream::StreamExt;

use crate::scheduler::{Lane, LaneRule};

pub use metrics::AdapterMetrics;
pub use pricer::Pricer;

/// The adapter's settings.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    pub amqp: String,
    /// Prepended to every exchange and queue name (tests use their own).
    pub prefix: String,
    pub metrics_listen: SocketAddr,
    /// Requests processed at once.
    pub concurrency: usize,
    /// Unacknowledged deliveries per queue.
    pub prefetch: u16,
    pub high_per_regular: u32,
    /// Attempts before a request that keeps failing transiently is dead-lettered.
    pub max_attempts: u32,
    /// Back-off before the first retry; doubled each attempt, at most `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
}

/// The names of the topology.
#[derive(Debug, Clone)]
pub struct Names {
    pub requests: String,
    pub priority_queue: String,
    pub regular_queue: String,
    pub events: String,
    pub dead: String,
}

impl Names {
    pub fn new(prefix: &str) -> Names {
        Names {
            requests: format!("{prefix}pricing.requests"),
            priority_queue: format!("{prefix}pricing.requests.priority"),
            regular_queue: format!("{prefix}pricing.requests.regular"),
            events: format!("{prefix}pricing.events"),
            dead: format!("{prefix}pricing.requests.dead"),
        }
    }
}

/// The routing keys of the request queues and the events.
pub const PRIORITY_KEY: &str = "priority";
pub const REGULAR_KEY: &str = "regular";
pub const CALCULATED_KEY: &str = "order.price_calculated";
pub const FAILED_KEY: &str = "order.price_failed";

/// Declares the topology; declaring it again with the same arguments changes nothing.
pub async fn declare(channel: &lapin::Channel, names: &Names) -> lapin::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            names.requests.as_str().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            names.events.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    let mut quorum = FieldTable::default();
    quorum.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    for (queue, key) in [
        (&names.priority_queue, Some(PRIORITY_KEY)),
        (&names.regular_queue, Some(REGULAR_KEY)),
        (&names.dead, None),
    ] {
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                quorum.clone(),
            )
            .await?;
        if let Some(key) = key {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    names.requests.as_str().into(),
                    key.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
    }
    Ok(())
}

/// Runs the adapter until `stop` turns true: reconnects with back-off whenever the broker
/// goes away or a consumer is cancelled, and on stop finishes its in-flight requests.
pub async fn run(
    config: AdapterConfig,
    pricer: Pricer,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let metrics = Arc::new(AdapterMetrics::default());
    let listener = tokio::net::TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.metrics_listen))?;
    let metrics_addr = listener.local_addr()?;
    let rendered = metrics.clone();
    let metrics_server = tokio::spawn(crate::metrics::serve_registry(
        listener,
        move || crate::metrics::render(&rendered.registry),
        {
            let mut stop = stop.clone();
            async move {
                let _ = stop.wait_for(|s| *s).await;
            }
        },
    ));
    tracing::info!(
        amqp = %redact(&config.amqp),
        metrics = %crate::metrics::describe(metrics_addr),
        "adapter starting"
    );
    let shared = Arc::new(process::Shared {
        names: Names::new(&config.prefix),
        pricer,
        metrics,
        config: config.clone(),
    });
    let mut backoff = Duration::from_millis(200);
    loop {
        if *stop.borrow() {
            break;
        }
        match session(&shared, stop.clone()).await {
            Ok(()) => break,
            Err(err) => {
                shared.metrics.reconnects.inc();
                tracing::warn!("broker session ended: {err:#}; reconnecting in {backoff:?}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
        // A session that ran a while earns a quick reconnect next time.
        backoff = backoff.max(Duration::from_millis(200));
    }
    let _ = metrics_server.await;
    tracing::info!("adapter stopped");
    Ok(())
}

/// One connection: declare, consume both queues, process, until an error or the stop.
async fn session(
    shared: &Arc<process::Shared>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let connection = Connection::connect(&shared.config.amqp, ConnectionProperties::default())
        .await
        .context("connecting to the broker")?;
    let consume = connection.create_channel().await?;
    let publish = connection.create_channel().await?;
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    declare(&consume, &shared.names)
        .await
        .context("declaring the topology")?;
    consume
        .basic_qos(shared.config.prefetch, BasicQosOptions::default())
        .await?;
    let options = BasicConsumeOptions::default();
    let mut high = consume
        .basic_consume(
            shared.names.priority_queue.as_str().into(),
            "pricing-adapter-priority".into(),
            options,
            FieldTable::default(),
        )
        .await?;
    let mut regular = consume
        .basic_consume(
            shared.names.regular_queue.as_str().into(),
            "pricing-adapter-regular".into(),
            options,
            FieldTable::default(),
        )
        .await?;
    tracing::info!(
        "consuming {} and {}",
        shared.names.priority_queue,
        shared.names.regular_queue
    );
    let publish = Arc::new(publish);
    let mut waiting: [VecDeque<lapin::message::Delivery>; 2] = [VecDeque::new(), VecDeque::new()];
    // Tasks of this session (processing, or waiting to retry), and the worker slots.
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(shared.config.concurrency));
    let mut rule = LaneRule::new(shared.config.high_per_regular);
    let for_tasks = stop.clone();
    let ended: anyhow::Result<()> = loop {
        let has_waiting = !waiting[0].is_empty() || !waiting[1].is_empty();
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break Ok(()),
            // A free slot takes the next request, high first.
            slot = slots.clone().acquire_owned(), if has_waiting => {
                let slot = slot.expect("the semaphore is never closed");
                let lane = rule.pick(!waiting[0].is_empty(), !waiting[1].is_empty());
                let high = lane == Some(Lane::High);
                if let Some(delivery) = lane.and_then(|_| waiting[usize::from(!high)].pop_front()) {
                    let (shared, publish, stop) = (shared.clone(), publish.clone(), for_tasks.clone());
                    in_flight.spawn(async move {
                        process::process(&shared, &publish, delivery, high, slot, stop).await;
                    });
                }
            }
            next = high.next() => match next {
                Some(Ok(delivery)) => waiting[0].push_back(delivery),
                Some(Err(err)) => break Err(anyhow::Error::new(err).context("the priority consumer failed")),
                None => break Err(anyhow::anyhow!("the priority consumer was cancelled")),
            },
            next = regular.next() => match next {
                Some(Ok(delivery)) => waiting[1].push_back(delivery),
                Some(Err(err)) => break Err(anyhow::Error::new(err).context("the regular consumer failed")),
                None => break Err(anyhow::anyhow!("the regular consumer was cancelled")),
            },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    };
    // Stop taking work; what waits unstarted goes back to the broker when the channel closes.
    for tag in ["pricing-adapter-priority", "pricing-adapter-regular"] {
        let _ = consume
            .basic_cancel(tag.into(), BasicCancelOptions::default())
            .await;
    }
    drop(waiting);
    if ended.is_ok() {
        tracing::info!(
            in_flight = in_flight.len(),
            "stopping: finishing in-flight requests"
        );
    }
    while in_flight.join_next().await.is_some() {}
    let _ = connection.close(200, "adapter stopping".into()).await;
    ended
}

/// The URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
