//! `pricing-bench load`: drives a running pricing-server and reports, per priority class,
//! throughput, latency percentiles, shed rate and errors by status.
//!
//! With `--baseline` the run has three phases, side by side in one report:
//! 1. idle: one client, high-priority requests only: the high class's latency on an idle server;
//! 2. capacity: a closed loop of `4 x workers` clients for a short while: the server's
//!    throughput in quotes per second;
//! 3. load: an open loop offering `--overload` times that capacity for `--duration` seconds,
//!    `--high-share` of it high priority (the rest regular).
//!
//! Without `--baseline`, only a closed loop of `--concurrency` clients runs for `--duration`.
//! `--server-pid` samples the server's resident memory once a second during the run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use pricing_proto::v1;
use pricing_proto::v1::pricing_service_client::PricingServiceClient;
use serde_json::json;
use tonic::transport::Channel;

/// What to send and where.
#[derive(Clone)]
pub struct Target {
    pub address: String,
    pub model: Arc<Vec<u8>>,
    pub material: String,
    /// API keys per class; without keys the request's priority field asks for the class.
    pub high_key: Option<String>,
    pub regular_key: Option<String>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    High,
    Regular,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::High => "high",
            Class::Regular => "regular",
        }
    }
}

/// The outcomes of one phase.
#[derive(Default)]
pub struct Outcomes {
    /// Latencies of successful requests, in seconds, per class.
    pub ok: BTreeMap<Class, Vec<f64>>,
    /// Failed requests per class and status code name.
    pub failed: BTreeMap<(Class, String), u64>,
    pub elapsed_s: f64,
    /// Requests the open loop could not even send (too many outstanding).
    pub not_sent: u64,
}

impl Outcomes {
    fn record(&mut self, class: Class, started: Instant, result: Result<(), tonic::Code>) {
        match result {
            Ok(()) => self
                .ok
                .entry(class)
                .or_default()
                .push(started.elapsed().as_secs_f64()),
            Err(code) => *self.failed.entry((class, format!("{code:?}"))).or_default() += 1,
        }
    }

    fn sent(&self, class: Class) -> u64 {
        self.ok.get(&class).map_or(0, |v| v.len() as u64)
            + self
                .failed
                .iter()
                .filter(|((c, _), _)| *c == class)
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    fn shed(&self, class: Class) -> u64 {
        self.failed
            .get(&(class, "ResourceExhausted".to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// The `q` quantile of the class's successful latencies, in milliseconds.
    pub fn quantile_ms(&self, class: Class, q: f64) -> Option<f64> {
        let mut latencies = self.ok.get(&class)?.clone();
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_by(f64::total_cmp);
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        Some(latencies[index] * 1000.0)
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        let ok: usize = self.ok.values().map(Vec::len).sum();
        ok as f64 / self.elapsed_s.max(1e-9)
    }
}

async fn connect(address: &str) -> anyhow::Result<PricingServiceClient<Channel>> {
    let uri = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    let channel = Channel::from_shared(uri.clone())
        .with_context(|| format!("bad address {address}"))?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {uri}"))?;
    Ok(PricingServiceClient::new(channel)
        .max_decoding_message_size(256 << 20)
        .max_encoding_message_size(256 << 20))
}

async fn one(
    client: &mut PricingServiceClient<Channel>,
    target: &Target,
    class: Class,
) -> Result<(), tonic::Code> {
    let priority = match class {
        Class::High => v1::Priority::High,
        Class::Regular => v1::Priority::Regular,
    };
    let mut request = tonic::Request::new(v1::QuoteRequest {
        options: Some(v1::QuoteOptions {
            material: target.material.clone(),
            quantity: 1,
            priority: priority as i32,
            ..Default::default()
        }),
        model: target.model.as_ref().clone(),
    });
    request.set_timeout(target.timeout);
    let key = match class {
        Class::High => &target.high_key,
        Class::Regular => &target.regular_key,
    };
    if let Some(key) = key
        && let Ok(value) = key.parse()
    {
        request.metadata_mut().insert("x-api-key", value);
    }
    client
        .quote(request)
        .await
        .map(|_| ())
        .map_err(|status| status.code())
}

/// A closed loop: `clients` clients each sending one request after another for `duration`;
/// `high_share` of the requests (spread evenly) are high priority.
pub async fn closed_loop(
    target: &Target,
    clients: usize,
    duration: Duration,
    high_share: f64,
) -> anyhow::Result<Outcomes> {
    let client = connect(&target.address).await?;
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..clients {
        let (mut client, target, outcomes) = (client.clone(), target.clone(), outcomes.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = index;
            while started.elapsed() < duration {
                let class = class_of(n, high_share);
                let sent = Instant::now();
                let result = one(&mut client, &target, class).await;
                outcomes.lock().expect("lock").record(class, sent, result);
                n += clients;
            }
        }));
    }
    for task in tasks {
        task.await.context("a client task failed")?;
    }
    let mut outcomes = Arc::try_unwrap(outcomes)
        .map_err(|_| anyhow::anyhow!("clients still running"))?
        .into_inner()
        .expect("lock");
    outcomes.elapsed_s = started.elapsed().as_secs_f64();
    Ok(outcomes)
}

/// Request `n`'s class: every `1 / high_share`-th request is high.
fn class_of(n: usize, high_share: f64) -> Class {
    let before = (n as f64 * high_share).floor();
    let after = ((n + 1) as f64 * high_share).floor();
    if after > before {
        Class::High
    } else {
        Class::Regular
    }
}

/// An open loop: `rate` requests per second for `duration`, whatever the answers; at most
/// `max_outstanding` unanswered at once (beyond, the request is counted as not sent).
pub async fn open_loop(
    target: &Target,
    rate: f64,
    duration: Duration,
    high_share: f64,
    max_outstanding: usize,
) -> anyhow::Result<Outcomes> {
    let client = connect(&target.address).await?;
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let outstanding = Arc::new(tokio::sync::Semaphore::new(max_outstanding));
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let mut tasks = Vec::new();
    let mut n = 0usize;
    while started.elapsed() < duration {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let class = class_of(n, high_share);
        n += 1;
        let Ok(permit) = outstanding.clone().try_acquire_owned() else {
            outcomes.lock().expect("lock").not_sent += 1;
            continue;
        };
        let (mut client, target, outcomes) = (client.clone(), target.clone(), outcomes.clone());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let result = one(&mut client, &target, class).await;
            outcomes.lock().expect("lock").record(class, sent, result);
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.context("a request task failed")?;
    }
    let mut outcomes = Arc::try_unwrap(outcomes)
        .map_err(|_| anyhow::anyhow!("requests still running"))?
        .into_inner()
        .expect("lock");
    outcomes.elapsed_s = started.elapsed().as_secs_f64();
    Ok(outcomes)
}

/// The server's resident memory (VmRSS) in MiB, sampled once a second until stopped.
pub fn sample_memory(
    pid: u32,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Vec<f64>>,
) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut samples = Vec::new();
        loop {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                && let Some(kb) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            {
                samples.push(kb / 1024.0);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopped.changed() => break,
            }
        }
        samples
    });
    (stop, task)
}

/// One phase's row per class, as JSON.
pub fn rows_json(phase: &str, outcomes: &Outcomes) -> Vec<serde_json::Value> {
    [Class::High, Class::Regular]
        .into_iter()
        .filter(|&class| outcomes.sent(class) > 0)
        .map(|class| {
            let sent = outcomes.sent(class);
            let errors: BTreeMap<String, u64> = outcomes
                .failed
                .iter()
                .filter(|((c, _), _)| *c == class)
                .map(|((_, code), n)| (code.clone(), *n))
                .collect();
            json!({
                "phase": phase, "class": class.name(), "sent": sent,
                "ok": outcomes.ok.get(&class).map_or(0, Vec::len),
                "ok_per_s": outcomes.ok.get(&class).map_or(0, Vec::len) as f64 / outcomes.elapsed_s.max(1e-9),
                "p50_ms": outcomes.quantile_ms(class, 0.5), "p90_ms": outcomes.quantile_ms(class, 0.9),
                "p99_ms": outcomes.quantile_ms(class, 0.99),
                "shed_rate": outcomes.shed(class) as f64 / sent.max(1) as f64,
                "errors": errors, "not_sent": outcomes.not_sent,
            })
        })
        .collect()
}

/// The readable table of all phases.
pub fn table(phases: &[(&str, &Outcomes)]) -> String {
    let mut out = format!(
        "{:<10} {:<8} {:>7} {:>7} {:>8} {:>9} {:>9} {:>9} {:>6}  {}\n",
        "phase", "class", "sent", "ok", "ok/s", "p50 ms", "p90 ms", "p99 ms", "shed", "errors"
    );
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    for (phase, outcomes) in phases {
        for class in [Class::High, Class::Regular] {
            let sent = outcomes.sent(class);
            if sent == 0 {
                continue;
            }
            let ok = outcomes.ok.get(&class).map_or(0, Vec::len);
            let errors: Vec<String> = outcomes
                .failed
                .iter()
                .filter(|((c, code), _)| *c == class && code != "ResourceExhausted")
                .map(|((_, code), n)| format!("{code} {n}"))
                .collect();
            out.push_str(&format!(
                "{:<10} {:<8} {:>7} {:>7} {:>8.1} {:>9} {:>9} {:>9} {:>5.1}%  {}\n",
                phase,
                class.name(),
                sent,
                ok,
                ok as f64 / outcomes.elapsed_s.max(1e-9),
                ms(outcomes.quantile_ms(class, 0.5)),
                ms(outcomes.quantile_ms(class, 0.9)),
                ms(outcomes.quantile_ms(class, 0.99)),
                100.0 * outcomes.shed(class) as f64 / sent.max(1) as f64,
                if errors.is_empty() {
                    "none".to_string()
                } else {
                    errors.join(", ")
                }
            ));
        }
    }
    out
}
