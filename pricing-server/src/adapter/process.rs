//! One request, from delivery to acknowledgement. Every request ends with exactly one outcome,
//! published and confirmed before the request is acknowledged:
//!
//! - priced: `OrderPriceCalculated` on `order.price_calculated`;
//! - a bad request or model (`INVALID_ARGUMENT`, `NOT_FOUND`, `FAILED_PRECONDITION`,
//!   `OUT_OF_RANGE`, an unreadable `model_uri`): `OrderPriceFailed` with `retryable: false`;
//! - a transient failure (no server reachable, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, a deadline):
//!   after a back-off that holds no worker slot, the request is published again on its queue
//!   with `x-attempts` one higher (and tried on another server); after `max_attempts`, it goes
//!   to the dead-letter queue with `x-death-reason` and `x-attempts`;
//! - a body that cannot be decoded, or without a `request_id`: the dead-letter queue, with the
//!   decode error.
//!
//! If the outcome cannot be published (the broker went away), the request is not acknowledged:
//! the broker delivers it again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::Confirmation;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::AMQPValue;
use lapin::{BasicProperties, Channel};
use pricing_engine::pricing::Priority;
use pricing_proto::v1;
use prost::Message;

use super::metrics::{AdapterMetrics, DeadLabels, PublishedLabels, QueueLabels};
use super::pricer::{Pricer, is_transient};
use super::{AdapterConfig, CALCULATED_KEY, FAILED_KEY, Names, PRIORITY_KEY, REGULAR_KEY};
use crate::status::code_name;

/// What every request's processing shares.
pub struct Shared {
    pub names: Names,
    pub pricer: Pricer,
    pub metrics: Arc<AdapterMetrics>,
    pub config: AdapterConfig,
}

pub const PROTOBUF: &str = "application/protobuf";
pub const JSON: &str = "application/json";

/// How a message's body is encoded: protobuf or its proto3 JSON mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding a message's `content_type` names.
    pub fn of(properties: &BasicProperties) -> Result<Encoding, String> {
        let content_type = properties
            .content_type()
            .as_ref()
            .map(|c| c.as_str().to_ascii_lowercase());
        match content_type
            .as_deref()
            .map(|c| c.split(';').next().unwrap_or("").trim())
        {
            Some(PROTOBUF) | Some("application/x-protobuf") => Ok(Encoding::Protobuf),
            Some(JSON) => Ok(Encoding::Json),
            other => Err(format!(
                "content_type is {}; expected {PROTOBUF} or {JSON}",
                other.map_or("missing".to_string(), |c| format!("`{c}`"))
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }

    pub fn encode<M: Message + serde::Serialize>(self, message: &M) -> Vec<u8> {
        match self {
            Encoding::Protobuf => message.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(message).expect("a message always serializes"),
        }
    }

    /// Decodes a `name` message, or says why it is not one.
    pub fn decode<M: Message + Default + serde::de::DeserializeOwned>(
        self,
        body: &[u8],
        name: &str,
    ) -> Result<M, String> {
        match self {
            Encoding::Protobuf => {
                M::decode(body).map_err(|err| format!("not a {name} in protobuf: {err}"))
            }
            Encoding::Json => {
                serde_json::from_slice(body).map_err(|err| format!("not a {name} in JSON: {err}"))
            }
        }
    }
}

/// A publish that did not reach the broker's disk, or could not be routed.
#[derive(Debug)]
struct NotPublished(String);

/// The delivery's properties with `entries` added to its headers.
fn with_headers<const N: usize>(
    delivery: &Delivery,
    entries: [(&str, AMQPValue); N],
) -> BasicProperties {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    for (name, value) in entries {
        headers.insert(name.into(), value);
    }
    delivery.properties.clone().with_headers(headers)
}

/// Publishes and waits for the broker's confirm; an unroutable message is not published.
async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
) -> Result<(), NotPublished> {
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            properties.with_delivery_mode(2),
        )
        .await
        .map_err(|err| NotPublished(err.to_string()))?
        .await
        .map_err(|err| NotPublished(err.to_string()))?;
    match confirm {
        Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
        Confirmation::Ack(Some(_)) => Err(NotPublished(format!(
            "no queue is bound to `{exchange}` for `{routing_key}`: the message would be lost"
        ))),
        Confirmation::Nack(_) => Err(NotPublished("the broker refused the message".to_string())),
    }
}

fn header_u32(delivery: &Delivery, name: &str) -> u32 {
    delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(name))
        .and_then(|value| match value {
            AMQPValue::LongLongInt(v) => u32::try_from(*v).ok(),
            AMQPValue::LongInt(v) => u32::try_from(*v).ok(),
            AMQPValue::LongUInt(v) => Some(*v),
            AMQPValue::ShortInt(v) => u32::try_from(*v).ok(),
            AMQPValue::ShortUInt(v) => Some(u32::from(*v)),
            _ => None,
        })
        .unwrap_or(0)
}

fn decode(delivery: &Delivery) -> Result<(Encoding, v1::PriceRequested), String> {
    let encoding = Encoding::of(&delivery.properties)?;
    let request: v1::PriceRequested = encoding.decode(&delivery.data, "PriceRequested")?;
    if request.request_id.trim().is_empty() {
        return Err("request_id is missing".to_string());
    }
    Ok((encoding, request))
}

/// The largest model file a `model_uri` may name.
pub const MAX_MODEL_FILE_BYTES: u64 = 256 << 20;

/// Reads the model: inline, or a `file://` URI naming a regular file of at most
/// [`MAX_MODEL_FILE_BYTES`].
async fn model(request: &mut v1::PriceRequested) -> Result<Vec<u8>, String> {
    match request.model.take() {
        Some(v1::price_requested::Model::ModelBytes(bytes)) => Ok(bytes),
        Some(v1::price_requested::Model::ModelUri(uri)) => {
            let Some(path) = uri.strip_prefix("file://") else {
                return Err(format!("model_uri `{uri}` is not a file:// URI"));
            };
            let cannot = |err: std::io::Error| format!("cannot read model_uri `{uri}`: {err}");
            let metadata = tokio::fs::metadata(path).await.map_err(cannot)?;
            if !metadata.is_file() {
                return Err(format!("model_uri `{uri}` is not a regular file"));
            }
            if metadata.len() > MAX_MODEL_FILE_BYTES {
                return Err(format!(
                    "model_uri `{uri}` is {} bytes; at most {MAX_MODEL_FILE_BYTES}",
                    metadata.len()
                ));
            }
            tokio::fs::read(path).await.map_err(cannot)
        }
        None => Err("the request has neither model_bytes nor model_uri".to_string()),
    }
}

/// Processes one delivery to its outcome.
/// The worker slot (`permit`) is given back before a retry's back-off, so waiting requests
/// block no others; on `stop`, a request waiting to be retried goes straight back to its queue.
pub async fn process(
    shared: &Shared,
    channel: &Channel,
    delivery: Delivery,
    high: bool,
    permit: tokio::sync::OwnedSemaphorePermit,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let started = Instant::now();
    let priority = if high { "high" } else { "regular" };
    let labels = QueueLabels { priority };
    shared.metrics.consumed.get_or_create(&labels).inc();
    shared.metrics.in_flight.inc();
    let mut settled = settle(shared, channel, &delivery, high).await;
    shared.metrics.in_flight.dec();
    drop(permit);
    if let Ok(Next::Retry {
        delay,
        attempt,
        reason,
    }) = settled
    {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        settled = if stopping {
            Err(NotPublished("the adapter is stopping".to_string()))
        } else {
            retry(shared, channel, &delivery, high, attempt, &reason).await
        };
    }
    let acked = match settled {
        Ok(_) => delivery.ack(BasicAckOptions::default()).await.is_ok(),
        Err(NotPublished(reason)) => {
            tracing::warn!("outcome not published ({reason}); the request goes back to its queue");
            // Give the broker a moment before the request comes round again.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
            false
        }
    };
    if acked {
        shared
            .metrics
            .processing_seconds
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Puts the delivery back on its queue as attempt `attempt`.
async fn retry(
    shared: &Shared,
    channel: &Channel,
    delivery: &Delivery,
    high: bool,
    attempt: u32,
    reason: &str,
) -> Result<Next, NotPublished> {
    let again = with_headers(
        delivery,
        [
            ("x-attempts", AMQPValue::LongLongInt(i64::from(attempt))),
            ("x-last-error", AMQPValue::LongString(reason.into())),
        ],
    );
    publish(
        channel,
        &shared.names.requests,
        if high { PRIORITY_KEY } else { REGULAR_KEY },
        &delivery.data,
        again,
    )
    .await?;
    shared
        .metrics
        .retried
        .get_or_create(&QueueLabels {
            priority: if high { "high" } else { "regular" },
        })
        .inc();
    Ok(Next::Ack)
}

/// What to do with a delivery once its outcome is settled.
enum Next {
    /// The outcome is confirmed: acknowledge.
    Ack,
    /// A transient failure: after `delay`, put it back on its queue as attempt `attempt`.
    Retry {
        delay: Duration,
        attempt: u32,
        reason: String,
    },
}

/// Publishes the request's outcome (`Next::Ack` once it is confirmed), or says to retry.
async fn settle(
    shared: &Shared,
    channel: &Channel,
    delivery: &Delivery,
    high: bool,
) -> Result<Next, NotPublished> {
    let priority_label = if high { "high" } else { "regular" };
    let attempts = header_u32(delivery, "x-attempts");
    let (encoding, mut request) = match decode(delivery) {
        Ok(decoded) => decoded,
        Err(reason) => {
            return dead_letter(
                shared,
                channel,
                delivery,
                priority_label,
                "undecodable",
                &reason,
                attempts,
            )
            .await;
        }
    };
    let request_id = request.request_id.clone();
    let order_id = request.order_id.clone();
    let failed = |code: &str, message: String, retryable: bool| v1::OrderPriceFailed {
        request_id: request_id.clone(),
        order_id: order_id.clone(),
        code: code.to_string(),
        message,
        retryable,
    };
    let properties = || {
        BasicProperties::default()
            .with_content_type(encoding.content_type().into())
            .with_message_id(request_id.as_str().into())
    };
    let model = match model(&mut request).await {
        Ok(model) => model,
        Err(message) => {
            let event = failed("INVALID_ARGUMENT", message, false);
            return publish_event(
                shared,
                channel,
                encoding.encode(&event),
                FAILED_KEY,
                properties(),
                priority_label,
            )
            .await;
        }
    };
    let options = request.options.take().unwrap_or_default();
    let priority = if high {
        Priority::High
    } else {
        Priority::Regular
    };
    match shared
        .pricer
        .quote(options, model, priority, &request_id, attempts)
        .await
    {
        Ok(quote) => {
            let event = v1::OrderPriceCalculated {
                request_id: request_id.clone(),
                order_id: order_id.clone(),
                quote: Some(quote),
            };
            publish_event(
                shared,
                channel,
                encoding.encode(&event),
                CALCULATED_KEY,
                properties(),
                priority_label,
            )
            .await
        }
        Err(status) if !is_transient(status.code()) => {
            let event = failed(
                code_name(status.code()),
                status.message().to_string(),
                false,
            );
            publish_event(
                shared,
                channel,
                encoding.encode(&event),
                FAILED_KEY,
                properties(),
                priority_label,
            )
            .await
        }
        Err(status) => {
            let attempt = attempts + 1;
            let reason = format!("{}: {}", code_name(status.code()), status.message());
            if attempt >= shared.config.max_attempts {
                return dead_letter(
                    shared,
                    channel,
                    delivery,
                    priority_label,
                    "attempts",
                    &format!("gave up after {attempt} attempts; the last: {reason}"),
                    attempt,
                )
                .await;
            }
            let delay = shared
                .config
                .retry_base
                .saturating_mul(1 << attempts.min(16))
                .min(shared.config.retry_max);
            tracing::info!(request_id = %request_id, attempt, ?delay, "transient failure ({reason}); retrying");
            Ok(Next::Retry {
                delay,
                attempt,
                reason,
            })
        }
    }
}

async fn publish_event(
    shared: &Shared,
    channel: &Channel,
    body: Vec<u8>,
    key: &'static str,
    properties: BasicProperties,
    priority: &'static str,
) -> Result<Next, NotPublished> {
    publish(channel, &shared.names.events, key, &body, properties).await?;
    let event = if key == CALCULATED_KEY {
        "price_calculated"
    } else {
        "price_failed"
    };
    shared
        .metrics
        .published
        .get_or_create(&PublishedLabels { priority, event })
        .inc();
    Ok(Next::Ack)
}

/// Moves the delivery, as it came, to the dead-letter queue with why in its headers.
async fn dead_letter(
    shared: &Shared,
    channel: &Channel,
    delivery: &Delivery,
    priority: &'static str,
    reason_kind: &'static str,
    reason: &str,
    attempts: u32,
) -> Result<Next, NotPublished> {
    tracing::warn!(reason, attempts, "dead-lettering a request");
    let properties = with_headers(
        delivery,
        [
            ("x-death-reason", AMQPValue::LongString(reason.into())),
            ("x-attempts", AMQPValue::LongLongInt(i64::from(attempts))),
            (
                "x-original-routing-key",
                AMQPValue::LongString(delivery.routing_key.as_str().into()),
            ),
        ],
    );
    publish(channel, "", &shared.names.dead, &delivery.data, properties).await?;
    shared
        .metrics
        .dead_lettered
        .get_or_create(&DeadLabels {
            priority,
            reason: reason_kind,
        })
        .inc();
    Ok(Next::Ack)
}
