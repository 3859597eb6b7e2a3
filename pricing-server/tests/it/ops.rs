//! The Grafana dashboard and the Prometheus alert rules use only metrics that a live server
//! exports. (`promtool check rules` runs in CI: ci/check.sh.)

use std::collections::BTreeSet;

use std::time::Duration;

use pricing_server::adapter::{self, AdapterConfig, Pricer};

use super::{config, scrape_addr, serve};

fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
}

/// The `pricing_*` names an expression file uses.
fn used_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("pricing_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        if name.len() > "pricing_".len() {
            names.insert(name.to_string());
        }
        rest = &tail[end..];
    }
    names
}

/// The metric family a sample name belongs to, as its `# TYPE` line names it.
fn family(name: &str) -> &str {
    for suffix in ["_total", "_bucket", "_count", "_sum"] {
        if let Some(base) = name.strip_suffix(suffix) {
            return base;
        }
    }
    name
}

#[tokio::test]
async fn dashboards_and_alerts_use_existing_metrics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dashboard =
        std::fs::read_to_string(root.join("ops/grafana/pricing.json")).expect("dashboard");
    let alerts = std::fs::read_to_string(root.join("ops/prometheus/alerts.yml")).expect("alerts");
    let (running, _client) = serve(config("")).await;
    let mut text = scrape_addr(running.metrics_addr).await;
    // The adapter serves its own metrics, broker or not: point it at nothing.
    let metrics_addr = free_address();
    let adapter_config = AdapterConfig {
        amqp: format!("amqp://guest:guest@{}/%2f", free_address()),
        prefix: String::new(),
        metrics_listen: metrics_addr,
        concurrency: 1,
        prefetch: 1,
        high_per_regular: 1,
        max_attempts: 1,
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_secs(1),
    };
    let pricer = Pricer::remote(
        &[running.grpc_addr.to_string()],
        None,
        None,
        Duration::from_secs(1),
    )
    .expect("pricer");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let adapter = tokio::spawn(adapter::run(adapter_config, pricer, stopped));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(metrics_addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    text.push_str(&scrape_addr(metrics_addr).await);
    stop.send(true).expect("stop");
    adapter.await.expect("task").expect("adapter stops");
    let exported: BTreeSet<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let used: BTreeSet<String> = used_names(&dashboard)
        .union(&used_names(&alerts))
        .cloned()
        .collect();
    assert!(used.len() >= 15, "{used:?}");
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exported.contains(family(name)))
        .collect();
    assert!(
        missing.is_empty(),
        "used but not exported: {missing:?}\nexported: {exported:?}"
    );
    running.shutdown().await.expect("stops");
}
