//! The server end to end: a real tonic client against a server on 127.0.0.1:0.

mod adapter;
mod auth;
mod behaviour;
mod ops;
mod process;
mod rpcs;

use std::time::Duration;

use pricing_bench::generate::{Revolution, binary_stl, cuboid};
use pricing_proto::v1;
use pricing_proto::v1::pricing_service_client::PricingServiceClient;
use pricing_server::config::Config;
use pricing_server::server::{Running, start};
use tonic::transport::Channel;

/// A configuration for tests: ephemeral ports, and `extra` TOML.
pub fn config(extra: &str) -> Config {
    let text = format!("listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n{extra}");
    Config::from_toml(&text, std::path::Path::new(".")).expect("valid test configuration")
}

pub async fn serve(config: Config) -> (Running, PricingServiceClient<Channel>) {
    let running = start(config).await.expect("starts");
    let channel = Channel::from_shared(format!("http://{}", running.grpc_addr))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let client = PricingServiceClient::new(channel)
        .max_decoding_message_size(256 << 20)
        .max_encoding_message_size(256 << 20);
    (running, client)
}

/// An axis-aligned box from the origin, as binary STL.
pub fn box_stl(size: [f32; 3]) -> Vec<u8> {
    binary_stl("box", &cuboid([0.0; 3], size))
}

/// A closed UV sphere of radius 20 mm with about `2 n^2` triangles: slow enough to quote that
/// it holds a worker while a test queues work behind it.
pub fn sphere_stl(n: usize) -> Vec<u8> {
    binary_stl("sphere", &Revolution::uv_sphere(20.0, n, n).triangles())
}

pub fn options(material: &str) -> v1::QuoteOptions {
    v1::QuoteOptions {
        material: material.to_string(),
        quantity: 1,
        ..Default::default()
    }
}

pub fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("ascii key"));
    request
}

/// `GET /metrics` of a server, by hand over TCP.
pub async fn scrape(running: &Running) -> String {
    scrape_addr(running.metrics_addr).await
}

/// `GET /metrics` at `address`.
pub async fn scrape_addr(address: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("metrics port");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// The value of the sample `name{labels}` (labels as written, in order), or 0 when absent.
pub fn sample(metrics: &str, name_and_labels: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name_and_labels).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

/// Waits until `check` holds on the scraped metrics (at most 20 s).
pub async fn until_metrics(running: &Running, check: impl Fn(&str) -> bool) {
    for _ in 0..400 {
        if check(&scrape(running).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "metrics never reached the expected state:\n{}",
        scrape(running).await
    );
}
