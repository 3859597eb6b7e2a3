//! `pricing-server request`: publishes one `PriceRequested` and prints the outcome event, as
//! the shop or a partner would: a tool for demos and for checking a deployment by hand.

use std::time::Duration;

use anyhow::Context;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use pricing_proto::v1;
use tokio_stream::StreamExt;

use super::process::Encoding;
use super::{Names, PRIORITY_KEY, REGULAR_KEY, declare};

/// Publishes `request` (as JSON or protobuf) to the priority or the regular queue and returns
/// the outcome event's routing key and body as JSON.
pub async fn request(
    amqp: &str,
    prefix: &str,
    request: v1::PriceRequested,
    high: bool,
    json: bool,
    wait: Duration,
) -> anyhow::Result<(String, serde_json::Value)> {
    let connection = Connection::connect(amqp, ConnectionProperties::default())
        .await
        .context("connecting to the broker")?;
    let channel = connection.create_channel().await?;
    let names = Names::new(prefix);
    declare(&channel, &names).await?;
    // A private queue for the answers, bound before the request goes out.
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().clone(),
            names.events.as_str().into(),
            "order.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let encoding = if json {
        Encoding::Json
    } else {
        Encoding::Protobuf
    };
    let body = encoding.encode(&request);
    channel
        .basic_publish(
            names.requests.as_str().into(),
            (if high { PRIORITY_KEY } else { REGULAR_KEY }).into(),
            BasicPublishOptions::default(),
            &body,
            BasicProperties::default()
                .with_content_type(encoding.content_type().into())
                .with_delivery_mode(2),
        )
        .await?
        .await?;
    let mut consumer = channel
        .basic_consume(
            queue.name().clone(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let delivery = tokio::time::timeout_at(deadline, consumer.next())
            .await
            .map_err(|_| anyhow::anyhow!("no outcome within {wait:?}: is an adapter running?"))?
            .context("the event queue closed")??;
        delivery.ack(BasicAckOptions::default()).await?;
        let encoding = Encoding::of(&delivery.properties).map_err(anyhow::Error::msg)?;
        let key = delivery.routing_key.to_string();
        let (request_id, value) = if key.ends_with("price_calculated") {
            let event: v1::OrderPriceCalculated = encoding
                .decode(&delivery.data, "OrderPriceCalculated")
                .map_err(anyhow::Error::msg)?;
            (event.request_id.clone(), serde_json::to_value(&event)?)
        } else {
            let event: v1::OrderPriceFailed = encoding
                .decode(&delivery.data, "OrderPriceFailed")
                .map_err(anyhow::Error::msg)?;
            (event.request_id.clone(), serde_json::to_value(&event)?)
        };
        if request_id != request.request_id {
            continue;
        }
        let _ = connection.close(200, "done".into()).await;
        return Ok((key, value));
    }
}
