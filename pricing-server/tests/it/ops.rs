//! The Grafana dashboard and the Prometheus alert rules use only metrics that a live server
//! exports. (`promtool check rules` runs in CI: ci/check.sh.)

use std::collections::BTreeSet;

use super::{config, scrape, serve};

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
    let exported: BTreeSet<String> = scrape(&running)
        .await
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let used: BTreeSet<String> = used_names(&dashboard)
        .union(&used_names(&alerts))
        .cloned()
        .collect();
    assert!(used.len() >= 10, "{used:?}");
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
