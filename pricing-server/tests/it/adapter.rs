//! The queue adapter against the real RabbitMQ on 127.0.0.1:5672 (guest/guest). With CI=true
//! an unreachable broker fails these tests; elsewhere they say SKIPPED and pass. Each test uses
//! its own name prefix, and deletes its queues and exchanges at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use pricing_proto::v1;
use pricing_server::adapter::{self, AdapterConfig, Names, Pricer};
use prost::Message;
use tokio::sync::watch;

use super::{box_stl, config, options, serve};

pub const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Whether the broker answers; with CI=true it must.
pub fn broker_up() -> bool {
    let up = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5672".parse().expect("address"),
        Duration::from_secs(2),
    )
    .is_ok();
    if !up {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "CI=true but RabbitMQ is not reachable on 127.0.0.1:5672"
        );
        eprintln!(
            "SKIPPED: RabbitMQ is not reachable on 127.0.0.1:5672 (rabbitmq-server -detached starts it)"
        );
    }
    up
}

pub fn prefix(test: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "test-{}-{}-{test}.",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test's view of the broker: the topology declared, and a queue bound to every event.
pub struct Bus {
    pub names: Names,
    pub channel: Channel,
    pub events_queue: String,
    _connection: Connection,
}

impl Bus {
    pub async fn new(prefix: &str) -> Bus {
        let connection = Connection::connect(BROKER, ConnectionProperties::default())
            .await
            .expect("broker");
        let channel = connection.create_channel().await.expect("channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirms");
        let names = Names::new(prefix);
        adapter::declare(&channel, &names).await.expect("topology");
        let events_queue = format!("{prefix}events.test");
        channel
            .queue_declare(
                events_queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .expect("events queue");
        channel
            .queue_bind(
                events_queue.as_str().into(),
                names.events.as_str().into(),
                "order.#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind");
        Bus {
            names,
            channel,
            events_queue,
            _connection: connection,
        }
    }

    /// Publishes raw bytes to a request queue and waits for the confirm.
    pub async fn publish_raw(&self, high: bool, body: &[u8], content_type: &str) {
        self.channel
            .basic_publish(
                self.names.requests.as_str().into(),
                (if high { "priority" } else { "regular" }).into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default()
                    .with_content_type(content_type.into())
                    .with_delivery_mode(2),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
    }

    pub async fn publish(&self, high: bool, request: &v1::PriceRequested, json: bool) {
        if json {
            let body = serde_json::to_vec(request).expect("json");
            self.publish_raw(high, &body, "application/json").await;
        } else {
            self.publish_raw(high, &request.encode_to_vec(), "application/protobuf")
                .await;
        }
    }

    /// Reads outcome events until `count` distinct request ids have one (or `within` passes):
    /// request id -> outcomes, in arrival order, plus the order of first outcomes.
    pub async fn outcomes(&self, count: usize, within: Duration) -> Outcomes {
        // Pulled one at a time (basic.get): nothing is left unacknowledged in a consumer's
        // buffer for the next call to miss.
        let mut out = Outcomes::default();
        let deadline = Instant::now() + within;
        while out.by_id.len() < count && Instant::now() < deadline {
            let Some(message) = self
                .channel
                .basic_get(
                    self.events_queue.as_str().into(),
                    BasicGetOptions { no_ack: false },
                )
                .await
                .expect("get an event")
            else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let delivery = message.delivery;
            let json = delivery
                .properties
                .content_type()
                .as_ref()
                .is_some_and(|c| c.as_str() == "application/json");
            let outcome = if delivery.routing_key.as_str() == "order.price_calculated" {
                let event: v1::OrderPriceCalculated = if json {
                    serde_json::from_slice(&delivery.data).expect("json event")
                } else {
                    v1::OrderPriceCalculated::decode(delivery.data.as_slice()).expect("event")
                };
                Outcome::Priced {
                    request_id: event.request_id,
                    order_id: event.order_id,
                    quote_id: event.quote.expect("quote").quote_id,
                    json,
                }
            } else {
                let event: v1::OrderPriceFailed = if json {
                    serde_json::from_slice(&delivery.data).expect("json event")
                } else {
                    v1::OrderPriceFailed::decode(delivery.data.as_slice()).expect("event")
                };
                Outcome::Failed(event)
            };
            let id = outcome.request_id().to_string();
            if !out.by_id.contains_key(&id) {
                out.order.push(id.clone());
            }
            out.by_id.entry(id).or_default().push(outcome);
            delivery.ack(BasicAckOptions::default()).await.expect("ack");
        }
        out
    }

    /// Everything in the dead-letter queue: (body, headers).
    pub async fn dead(&self) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
        let mut out = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(
                self.names.dead.as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("get")
        {
            let headers = message
                .delivery
                .properties
                .headers()
                .clone()
                .unwrap_or_default()
                .inner()
                .iter()
                .map(|(k, v)| {
                    let text = match v {
                        AMQPValue::LongString(s) => s.to_string(),
                        AMQPValue::LongLongInt(n) => n.to_string(),
                        other => format!("{other:?}"),
                    };
                    (k.to_string(), text)
                })
                .collect();
            out.push((message.delivery.data.clone(), headers));
        }
        out
    }

    pub async fn delete(self) {
        for queue in [
            &self.names.priority_queue,
            &self.names.regular_queue,
            &self.names.dead,
            &self.events_queue,
        ] {
            let _ = self
                .channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in [&self.names.requests, &self.names.events] {
            let _ = self
                .channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Priced {
        request_id: String,
        order_id: String,
        quote_id: String,
        json: bool,
    },
    Failed(v1::OrderPriceFailed),
}

impl Outcome {
    fn request_id(&self) -> &str {
        match self {
            Outcome::Priced { request_id, .. } => request_id,
            Outcome::Failed(event) => &event.request_id,
        }
    }
}

#[derive(Debug, Default)]
pub struct Outcomes {
    pub by_id: BTreeMap<String, Vec<Outcome>>,
    /// Request ids in the order of their first outcome.
    pub order: Vec<String>,
}

pub fn request(id: &str, model: Vec<u8>) -> v1::PriceRequested {
    v1::PriceRequested {
        request_id: id.to_string(),
        order_id: format!("order-{id}"),
        tenant: "test".to_string(),
        model: Some(v1::price_requested::Model::ModelBytes(model)),
        options: Some(options("pla")),
    }
}

pub fn adapter_config(prefix: &str) -> AdapterConfig {
    AdapterConfig {
        amqp: BROKER.to_string(),
        prefix: prefix.to_string(),
        metrics_listen: "127.0.0.1:0".parse().expect("address"),
        concurrency: 4,
        prefetch: 16,
        high_per_regular: 4,
        max_attempts: 5,
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
    }
}

pub fn embedded() -> Pricer {
    let defaults = pricing_server::config::Config::default();
    Pricer::Embedded {
        book: std::sync::Arc::new(defaults.book),
        limits: defaults.limits,
    }
}

/// Runs an adapter in this process until the returned sender says stop.
pub fn start_adapter(
    config: AdapterConfig,
    pricer: Pricer,
) -> (
    watch::Sender<bool>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let (stop, stopped) = watch::channel(false);
    (stop, tokio::spawn(adapter::run(config, pricer, stopped)))
}

#[tokio::test]
async fn prices_requests_in_both_content_types() {
    if !broker_up() {
        return;
    }
    let _shared = BROKER_LOCK.read().await;
    let prefix = prefix("happy");
    let bus = Bus::new(&prefix).await;
    let cube = box_stl([10.0, 10.0, 10.0]);
    bus.publish(false, &request("proto-1", cube.clone()), false)
        .await;
    bus.publish(true, &request("json-1", cube.clone()), true)
        .await;
    // The same request twice: the same quote id.
    bus.publish(false, &request("twice", cube.clone()), false)
        .await;
    bus.publish(false, &request("twice", cube.clone()), false)
        .await;
    let (stop, task) = start_adapter(adapter_config(&prefix), embedded());
    let mut outcomes = bus.outcomes(3, Duration::from_secs(30)).await;
    // Wait for the duplicate's second outcome too.
    let second = bus.outcomes(1, Duration::from_secs(10)).await;
    for (id, mut list) in second.by_id {
        outcomes.by_id.entry(id).or_default().append(&mut list);
    }
    stop.send(true).expect("stop");
    task.await.expect("task").expect("clean stop");
    for (id, json) in [("proto-1", false), ("json-1", true)] {
        match &outcomes.by_id[id][..] {
            [
                Outcome::Priced {
                    order_id,
                    quote_id,
                    json: answered_json,
                    ..
                },
            ] => {
                assert_eq!(order_id, &format!("order-{id}"));
                assert!(quote_id.starts_with("q-"));
                assert_eq!(
                    *answered_json, json,
                    "the answer uses the request's content type"
                );
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    let twice = &outcomes.by_id["twice"];
    assert_eq!(twice.len(), 2, "{twice:?}");
    let ids: BTreeSet<&String> = twice
        .iter()
        .map(|o| match o {
            Outcome::Priced { quote_id, .. } => quote_id,
            Outcome::Failed(f) => panic!("{f:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 1, "the same request gives the same quote id");
    assert!(bus.dead().await.is_empty());
    bus.delete().await;
}

#[tokio::test]
async fn bad_requests_fail_or_go_to_the_dead_letter_queue() {
    if !broker_up() {
        return;
    }
    let _shared = BROKER_LOCK.read().await;
    let prefix = prefix("bad");
    let bus = Bus::new(&prefix).await;
    bus.publish(
        false,
        &request("junk-model", b"not a model at all".to_vec()),
        false,
    )
    .await;
    let mut unknown = request("no-such-material", box_stl([5.0, 5.0, 5.0]));
    unknown.options = Some(options("unobtainium"));
    bus.publish(false, &unknown, true).await;
    let mut missing = request("missing-file", Vec::new());
    missing.model = Some(v1::price_requested::Model::ModelUri(
        "file:///no/such/model.stl".to_string(),
    ));
    bus.publish(false, &missing, false).await;
    let mut device = request("device-file", Vec::new());
    device.model = Some(v1::price_requested::Model::ModelUri(
        "file:///dev/zero".to_string(),
    ));
    bus.publish(false, &device, false).await;
    bus.publish_raw(false, b"\xff\xfe garbage", "application/protobuf")
        .await;
    bus.publish_raw(true, b"{\"requestId\": 12", "application/json")
        .await;
    bus.publish_raw(false, b"hello", "text/plain").await;
    let (stop, task) = start_adapter(adapter_config(&prefix), embedded());
    let outcomes = bus.outcomes(4, Duration::from_secs(30)).await;
    // The three undecodable ones are dead-lettered with the reason.
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead.extend(bus.dead().await);
        if dead.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).expect("stop");
    task.await.expect("task").expect("clean stop");
    for (id, code, text) in [
        ("junk-model", "INVALID_ARGUMENT", ""),
        ("no-such-material", "NOT_FOUND", "unobtainium"),
        ("missing-file", "INVALID_ARGUMENT", "/no/such/model.stl"),
        ("device-file", "INVALID_ARGUMENT", "not a regular file"),
    ] {
        match &outcomes.by_id.get(id).map(Vec::as_slice) {
            Some([Outcome::Failed(event)]) => {
                assert_eq!(event.code, code, "{event:?}");
                assert!(!event.retryable);
                assert!(event.message.contains(text), "{event:?}");
                assert_eq!(event.order_id, format!("order-{id}"));
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(dead.len(), 3, "{dead:?}");
    let reasons: Vec<&String> = dead.iter().map(|(_, h)| &h["x-death-reason"]).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not a PriceRequested in protobuf")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not a PriceRequested in JSON")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("`text/plain`")),
        "{reasons:?}"
    );
    bus.delete().await;
}

/// An address nothing listens on (yet).
fn free_address() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

#[tokio::test]
async fn a_server_down_then_up_is_retried_and_a_poison_request_is_dead_lettered() {
    if !broker_up() {
        return;
    }
    let _shared = BROKER_LOCK.read().await;
    // Down, then up: retried until priced.
    let prefix_retry = prefix("retry");
    let bus = Bus::new(&prefix_retry).await;
    let address = free_address();
    bus.publish(
        false,
        &request("patient", box_stl([10.0, 10.0, 10.0])),
        false,
    )
    .await;
    let mut config_retry = adapter_config(&prefix_retry);
    config_retry.max_attempts = 50;
    let pricer = Pricer::remote(&[address.to_string()], None, None, Duration::from_secs(10))
        .expect("pricer");
    let (stop, task) = start_adapter(config_retry, pricer);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut server_config = config("");
    server_config.listen = address;
    let (running, _client) = serve(server_config).await;
    let outcomes = bus.outcomes(1, Duration::from_secs(30)).await;
    stop.send(true).expect("stop");
    task.await.expect("task").expect("clean stop");
    running.shutdown().await.expect("server stops");
    assert!(
        matches!(outcomes.by_id["patient"][..], [Outcome::Priced { .. }]),
        "{outcomes:?}"
    );
    assert!(bus.dead().await.is_empty());
    bus.delete().await;

    // Never up: dead-lettered after max_attempts, with the reason and the attempts.
    let prefix_poison = prefix("poison");
    let bus = Bus::new(&prefix_poison).await;
    bus.publish(
        true,
        &request("hopeless", box_stl([10.0, 10.0, 10.0])),
        false,
    )
    .await;
    let mut config_poison = adapter_config(&prefix_poison);
    config_poison.max_attempts = 3;
    let pricer = Pricer::remote(
        &[free_address().to_string()],
        None,
        None,
        Duration::from_secs(5),
    )
    .expect("pricer");
    let (stop, task) = start_adapter(config_poison, pricer);
    let mut dead = Vec::new();
    for _ in 0..300 {
        dead.extend(bus.dead().await);
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).expect("stop");
    task.await.expect("task").expect("clean stop");
    let [(body, headers)] = &dead[..] else {
        panic!("one dead letter: {dead:?}");
    };
    let original = v1::PriceRequested::decode(body.as_slice()).expect("the original body");
    assert_eq!(original.request_id, "hopeless");
    assert_eq!(headers["x-attempts"], "3");
    assert!(
        headers["x-death-reason"].contains("gave up after 3 attempts"),
        "{headers:?}"
    );
    assert!(
        headers["x-death-reason"].contains("UNAVAILABLE"),
        "{headers:?}"
    );
    assert!(
        bus.outcomes(1, Duration::from_millis(500))
            .await
            .by_id
            .is_empty()
    );
    bus.delete().await;
}

#[tokio::test]
async fn high_priority_requests_are_priced_first() {
    if !broker_up() {
        return;
    }
    let _shared = BROKER_LOCK.read().await;
    let prefix = prefix("priority");
    let bus = Bus::new(&prefix).await;
    let cube = box_stl([10.0, 10.0, 10.0]);
    for i in 0..500 {
        bus.publish(
            false,
            &request(&format!("regular-{i:03}"), cube.clone()),
            false,
        )
        .await;
    }
    for i in 0..50 {
        bus.publish(true, &request(&format!("high-{i:02}"), cube.clone()), false)
            .await;
    }
    let mut config = adapter_config(&prefix);
    config.concurrency = 2;
    let (stop, task) = start_adapter(config.clone(), embedded());
    let outcomes = bus.outcomes(550, Duration::from_secs(120)).await;
    stop.send(true).expect("stop");
    task.await.expect("task").expect("clean stop");
    assert_eq!(outcomes.by_id.len(), 550);
    let high_positions: Vec<usize> = outcomes
        .order
        .iter()
        .enumerate()
        .filter(|(_, id)| id.starts_with("high-"))
        .map(|(i, _)| i + 1)
        .collect();
    let last_high = *high_positions.last().expect("high outcomes");
    eprintln!("positions of the 50 high requests among 550 outcomes: {high_positions:?}");
    eprintln!("first 80 outcomes: {:?}", &outcomes.order[..80]);
    // 50 high, one regular per 4 high in a row, plus what was already taken when the high
    // requests arrived (at most the workers).
    let bound = 50 + 50 / config.high_per_regular as usize + config.concurrency + 1;
    assert!(
        last_high <= bound,
        "the last high request finished {last_high}th (bound {bound})"
    );
    bus.delete().await;
}

/// Tests that restart the broker take this for writing; the others for reading.
static BROKER_LOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A small deterministic generator for the kill moments (the seed is printed).
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low)
    }
}

fn spawn_adapter(prefix: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_pricing-server"))
        .args([
            "adapter",
            "--embedded",
            "--prefix",
            prefix,
            "--amqp",
            BROKER,
            "--metrics-listen",
            "127.0.0.1:0",
            "--concurrency",
            "4",
            "--retry-ms",
            "100",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the adapter starts")
}

fn sigkill(child: &mut std::process::Child) {
    let _ = child.kill(); // SIGKILL on unix
    let _ = child.wait();
}

/// 1000 requests; the adapter killed with SIGKILL at three random moments and restarted (and,
/// with `restart_broker`, the broker restarted once in the middle); then every request must have
/// an outcome, all priced, duplicates with the same quote id, and nothing dead-lettered.
async fn crash_safety(name: &str, restart_broker: bool) {
    let prefix = prefix(name);
    let bus = Bus::new(&prefix).await;
    let cube = box_stl([10.0, 10.0, 10.0]);
    for i in 0..1000 {
        bus.publish(
            i % 10 == 0,
            &request(&format!("r{i:04}"), cube.clone()),
            i % 2 == 0,
        )
        .await;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    eprintln!("{name}: kill moments seeded with {seed}");
    let mut moments = Moments(seed);
    let mut child = spawn_adapter(&prefix);
    for kill in 1..=3 {
        let after = moments.next_ms(300, 2500);
        tokio::time::sleep(Duration::from_millis(after)).await;
        sigkill(&mut child);
        eprintln!("{name}: SIGKILL {kill} after {after} ms");
        if restart_broker && kill == 2 {
            for step in ["stop_app", "start_app"] {
                let status = std::process::Command::new("rabbitmqctl")
                    .arg(step)
                    .stdout(std::process::Stdio::null())
                    .status()
                    .expect("rabbitmqctl");
                assert!(status.success(), "rabbitmqctl {step}");
            }
            eprintln!("{name}: broker restarted");
        }
        child = spawn_adapter(&prefix);
    }
    // The broker may have restarted under our feet: read the outcomes on a new connection.
    let bus = if restart_broker {
        Bus::new(&prefix).await
    } else {
        bus
    };
    let outcomes = bus.outcomes(1000, Duration::from_secs(240)).await;
    sigkill(&mut child);
    let dead = bus.dead().await;
    let duplicates = outcomes
        .by_id
        .values()
        .filter(|list| list.len() > 1)
        .count();
    eprintln!(
        "{name}: 1000 requests, 3 kills{}: {} with an outcome, {} priced twice or more, {} dead-lettered, {} missing",
        if restart_broker {
            ", 1 broker restart"
        } else {
            ""
        },
        outcomes.by_id.len(),
        duplicates,
        dead.len(),
        1000 - outcomes.by_id.len()
    );
    assert_eq!(outcomes.by_id.len(), 1000, "every request has an outcome");
    for (id, list) in &outcomes.by_id {
        let quote_ids: BTreeSet<&String> = list
            .iter()
            .map(|o| match o {
                Outcome::Priced { quote_id, .. } => quote_id,
                Outcome::Failed(event) => panic!("{id} failed: {event:?}"),
            })
            .collect();
        assert_eq!(
            quote_ids.len(),
            1,
            "{id}: a request priced twice keeps its quote id"
        );
    }
    assert!(dead.is_empty(), "nothing is dead-lettered: {dead:?}");
    bus.delete().await;
}

#[tokio::test]
async fn nothing_is_lost_when_the_adapter_is_killed() {
    if !broker_up() {
        return;
    }
    let _shared = BROKER_LOCK.read().await;
    crash_safety("kills", false).await;
}

#[tokio::test]
async fn nothing_is_lost_when_the_adapter_is_killed_and_the_broker_restarts() {
    if !broker_up() {
        return;
    }
    if std::process::Command::new("rabbitmqctl")
        .arg("status")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "CI=true but rabbitmqctl cannot reach the broker"
        );
        eprintln!("SKIPPED: rabbitmqctl cannot control the local broker");
        return;
    }
    let _exclusive = BROKER_LOCK.write().await;
    crash_safety("kills-and-broker", true).await;
}

fn spawn_server(
    address: std::net::SocketAddr,
    metrics: std::net::SocketAddr,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_pricing-server"))
        .args([
            "serve",
            "--listen",
            &address.to_string(),
            "--metrics-listen",
            &metrics.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts")
}

fn spawn_remote_adapter(
    prefix: &str,
    servers: &str,
    metrics: std::net::SocketAddr,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_pricing-server"))
        .args([
            "adapter",
            "--pricing",
            servers,
            "--prefix",
            prefix,
            "--amqp",
            BROKER,
            "--metrics-listen",
            &metrics.to_string(),
            "--retry-ms",
            "100",
            "--max-attempts",
            "50",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the adapter starts")
}

/// The sum of a metric's samples whose line starts with `prefix`, or 0 if unreachable.
async fn metric_sum(address: std::net::SocketAddr, prefix: &str) -> f64 {
    let Ok(Ok(text)) = tokio::time::timeout(Duration::from_secs(2), async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await?;
        Ok::<String, std::io::Error>(text)
    })
    .await
    else {
        return 0.0;
    };
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn two_adapters_and_two_servers_share_the_work_and_losing_one_of_each_loses_nothing() {
    if !broker_up() {
        return;
    }
    // Alone: its servers' regular workers run at a lower CPU priority, which other tests'
    // in-process engines would starve.
    let _exclusive = BROKER_LOCK.write().await;
    let prefix = prefix("scale");
    let bus = Bus::new(&prefix).await;
    let cube = box_stl([10.0, 10.0, 10.0]);
    for i in 0..400 {
        bus.publish(
            i % 5 == 0,
            &request(&format!("s{i:03}"), cube.clone()),
            false,
        )
        .await;
    }
    let (grpc, metrics): (Vec<_>, Vec<_>) =
        (0..2).map(|_| (free_address(), free_address())).unzip();
    let mut servers: Vec<_> = (0..2).map(|i| spawn_server(grpc[i], metrics[i])).collect();
    let both = format!("{},{}", grpc[0], grpc[1]);
    let adapter_metrics = [free_address(), free_address()];
    let mut adapters: Vec<_> = adapter_metrics
        .iter()
        .map(|m| spawn_remote_adapter(&prefix, &both, *m))
        .collect();
    // Let both share the work, then kill one adapter and one server.
    let consumed = "pricing_adapter_messages_consumed_total";
    let served = "pricing_requests_total{method=\"Quote\",code=\"OK\"";
    for _ in 0..200 {
        let a = metric_sum(adapter_metrics[0], consumed).await;
        let b = metric_sum(adapter_metrics[1], consumed).await;
        let one = metric_sum(metrics[0], served).await;
        let two = metric_sum(metrics[1], served).await;
        if a >= 20.0 && b >= 20.0 && one >= 1.0 && two >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = [
        metric_sum(adapter_metrics[0], consumed).await,
        metric_sum(adapter_metrics[1], consumed).await,
        metric_sum(metrics[0], served).await,
        metric_sum(metrics[1], served).await,
    ];
    sigkill(&mut adapters[0]);
    sigkill(&mut servers[1]);
    let outcomes = bus.outcomes(400, Duration::from_secs(240)).await;
    let after = [
        metric_sum(adapter_metrics[1], consumed).await,
        metric_sum(metrics[0], served).await,
    ];
    sigkill(&mut adapters[1]);
    sigkill(&mut servers[0]);
    eprintln!(
        "before the kills: adapter 1 consumed {}, adapter 2 {}; server 1 priced {}, server 2 {}; \
         at the end (adapter 1 and server 2 killed): adapter 2 consumed {}, server 1 priced {}; \
         outcomes {} of 400",
        before[0],
        before[1],
        before[2],
        before[3],
        after[0],
        after[1],
        outcomes.by_id.len()
    );
    assert!(
        before[0] > 0.0 && before[1] > 0.0,
        "both adapters took work: {before:?}"
    );
    assert!(
        before[2] > 0.0 && before[3] > 0.0,
        "both servers priced: {before:?}"
    );
    assert_eq!(outcomes.by_id.len(), 400, "nothing is lost");
    assert!(
        outcomes
            .by_id
            .values()
            .all(|list| list.iter().all(|o| matches!(o, Outcome::Priced { .. }))),
        "every request priced"
    );
    assert!(bus.dead().await.is_empty());
    bus.delete().await;
}

#[tokio::test]
async fn a_deleted_queue_is_declared_again_and_consumed() {
    if !broker_up() {
        return;
    }
    let _shared = BROKER_LOCK.read().await;
    let prefix = prefix("cancel");
    let bus = Bus::new(&prefix).await;
    let (stop, task) = start_adapter(adapter_config(&prefix), embedded());
    bus.publish(false, &request("before", box_stl([5.0, 5.0, 5.0])), false)
        .await;
    assert_eq!(
        bus.outcomes(1, Duration::from_secs(30)).await.by_id.len(),
        1
    );
    // Deleting a queue cancels the adapter's consumer while its channel stays open.
    bus.channel
        .queue_delete(
            bus.names.regular_queue.as_str().into(),
            QueueDeleteOptions::default(),
        )
        .await
        .expect("delete the queue");
    // The adapter reconnects, declares the queue again and consumes it. Each probe is a
    // passive declare on a fresh channel (a failed one closes its channel).
    let probe = Connection::connect(BROKER, ConnectionProperties::default())
        .await
        .expect("probe connection");
    let mut declared = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let channel = probe.create_channel().await.expect("probe channel");
        let queue = channel
            .queue_declare(
                bus.names.regular_queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await;
        if queue.is_ok_and(|q| q.consumer_count() > 0) {
            declared = true;
            break;
        }
    }
    assert!(declared, "the queue is back, with the adapter consuming it");
    bus.publish(false, &request("after", box_stl([5.0, 5.0, 5.0])), false)
        .await;
    let outcomes = bus.outcomes(1, Duration::from_secs(30)).await;
    assert!(outcomes.by_id.contains_key("after"), "{outcomes:?}");
    stop.send(true).expect("stop");
    task.await.expect("task").expect("clean stop");
    bus.delete().await;
}
