//! Under load: priority order, shedding, deadlines, cancellation, metrics and shutdown. One
//! worker, held by a slow quote (a fine sphere, every orientation), makes the order of the
//! queued work deterministic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pricing_proto::v1;
use pricing_proto::v1::pricing_service_client::PricingServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use super::auth::tenants_with;
use super::{box_stl, config, options, sample, scrape, serve, sphere_stl, until_metrics, with_key};

fn one_worker(shop_concurrent: u32) -> pricing_server::config::Config {
    config(&format!(
        "[scheduler]\nworkers = 1\nhigh_reserved = 0\nregular_queue = 4\nhigh_queue = 4\n\n{}",
        tenants_with(1000.0, 1000, shop_concurrent)
    ))
}

/// Starts a slow quote and waits until it holds the one worker.
/// The sphere that holds the worker must outlast the tests' 300 ms deadlines. Measured with
/// `pricing-bench quote` on the same spheres: 51k triangles take 1.8 s unoptimised but 0.19 s
/// in a release build, which gets 460k (1.1 s).
const BLOCKER_SEGMENTS: usize = if cfg!(debug_assertions) { 160 } else { 480 };

async fn hold_the_worker(
    running: &pricing_server::server::Running,
    client: &PricingServiceClient<Channel>,
) -> tokio::task::JoinHandle<Result<tonic::Response<v1::QuoteResponse>, tonic::Status>> {
    let mut client = client.clone();
    let task = tokio::spawn(async move {
        client
            .quote(with_key(
                v1::QuoteRequest {
                    options: Some(options("pla")),
                    model: sphere_stl(BLOCKER_SEGMENTS),
                },
                "partner-key",
            ))
            .await
    });
    until_metrics(running, |m| sample(m, "pricing_workers_busy") == 1.0).await;
    task
}

fn small(key: &str, name: &str) -> tonic::Request<v1::QuoteRequest> {
    with_key(
        v1::QuoteRequest {
            options: Some(v1::QuoteOptions {
                file_name: name.to_string(),
                orientation: v1::Orientation::Keep as i32,
                ..options("pla")
            }),
            model: sphere_stl(24),
        },
        key,
    )
}

#[tokio::test]
async fn high_priority_work_runs_first() {
    let (running, client) = serve(one_worker(8)).await;
    let blocker = hold_the_worker(&running, &client).await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    let mut send = |key: &'static str, name: &'static str| {
        let mut client = client.clone();
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            client.quote(small(key, name)).await.expect("answered");
            order.lock().expect("lock").push(name);
        }));
    };
    for name in ["shop-1", "shop-2", "shop-3"] {
        send("shop-key", name);
    }
    until_metrics(&running, |m| {
        sample(m, "pricing_queue_depth{priority=\"regular\"}") == 3.0
    })
    .await;
    for name in ["partner-1", "partner-2"] {
        send("partner-key", name);
    }
    until_metrics(&running, |m| {
        sample(m, "pricing_queue_depth{priority=\"high\"}") == 2.0
    })
    .await;
    blocker.await.expect("task").expect("the slow quote");
    for task in tasks {
        task.await.expect("task");
    }
    let order = order.lock().expect("lock").clone();
    eprintln!("completion order: {order:?}");
    assert_eq!(
        order,
        ["partner-1", "partner-2", "shop-1", "shop-2", "shop-3"]
    );
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn full_lanes_and_quotas_shed_at_once() {
    let (running, client) = serve(one_worker(2)).await;
    let blocker = hold_the_worker(&running, &client).await;
    // The shop may have 2 requests in flight: both queue, the third is over its quota.
    let mut queued = Vec::new();
    for i in 0..2 {
        let mut client = client.clone();
        queued.push(tokio::spawn(async move {
            client.quote(small("shop-key", &format!("shop-{i}"))).await
        }));
    }
    until_metrics(&running, |m| {
        sample(m, "pricing_queue_depth{priority=\"regular\"}") == 2.0
    })
    .await;
    let status = client
        .clone()
        .quote(small("shop-key", "shop-3"))
        .await
        .expect_err("quota");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("in flight"), "{status:?}");
    // The high lane holds 4: the fifth is shed with a retry hint, and never waits.
    let mut high = Vec::new();
    for i in 0..4 {
        let mut client = client.clone();
        high.push(tokio::spawn(async move {
            client.quote(small("partner-key", &format!("p-{i}"))).await
        }));
    }
    until_metrics(&running, |m| {
        sample(m, "pricing_queue_depth{priority=\"high\"}") == 4.0
    })
    .await;
    let started = std::time::Instant::now();
    let status = client
        .clone()
        .quote(small("partner-key", "p-5"))
        .await
        .expect_err("shed");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shedding is immediate"
    );
    assert_eq!(status.code(), Code::ResourceExhausted);
    let pushback: u64 = status
        .metadata()
        .get("grpc-retry-pushback-ms")
        .expect("pushback")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("milliseconds");
    assert!(pushback >= 50, "{pushback}");
    blocker.await.expect("task").expect("the slow quote");
    for task in queued.into_iter().chain(high) {
        task.await.expect("task").expect("queued work is answered");
    }
    let metrics = scrape(&running).await;
    assert_eq!(
        sample(
            &metrics,
            "pricing_requests_shed_total{priority=\"high\",reason=\"queue_full\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "pricing_requests_shed_total{priority=\"regular\",reason=\"concurrency\"}"
        ),
        1.0
    );
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn deadlines_and_cancellation_drop_queued_work() {
    let (running, client) = serve(one_worker(2)).await;
    let blocker = hold_the_worker(&running, &client).await;
    // A deadline that passes while queued: DEADLINE_EXCEEDED (tonic alone would say CANCELLED).
    let mut request = small("shop-key", "late");
    request.set_timeout(Duration::from_millis(300));
    let status = client.clone().quote(request).await.expect_err("too late");
    // The server answers DEADLINE_EXCEEDED a little before the deadline (counted below); on a
    // loaded machine the client's own timer may still fire first and say CANCELLED.
    let client_timer = status.code() == Code::Cancelled && status.message() == "Timeout expired";
    assert!(
        status.code() == Code::DeadlineExceeded || client_timer,
        "{status:?}"
    );
    // A caller that goes away while queued.
    let gone = tokio::time::timeout(
        Duration::from_millis(300),
        client.clone().quote(small("shop-key", "gone")),
    )
    .await;
    assert!(gone.is_err(), "the client gave up");
    blocker.await.expect("task").expect("the slow quote");
    until_metrics(&running, |m| {
        sample(
            m,
            "pricing_jobs_dropped_total{priority=\"regular\",reason=\"deadline\"}",
        ) == 1.0
            && sample(
                m,
                "pricing_jobs_dropped_total{priority=\"regular\",reason=\"cancelled\"}",
            ) == 1.0
    })
    .await;
    let metrics = scrape(&running).await;
    // Unless the client's timer won (its reset can drop the handler before it answers).
    if !client_timer {
        assert_eq!(
            sample(
                &metrics,
                "pricing_requests_total{method=\"Quote\",code=\"DEADLINE_EXCEEDED\",priority=\"regular\"}"
            ),
            1.0
        );
    }
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn metrics_count_requests_stages_and_bytes() {
    let (running, mut client) = serve(config("")).await;
    client
        .quote(v1::QuoteRequest {
            options: Some(options("pla")),
            model: box_stl([10.0, 10.0, 10.0]),
        })
        .await
        .expect("quote");
    client
        .quote(v1::QuoteRequest {
            options: Some(options("pla")),
            model: b"junk".to_vec(),
        })
        .await
        .expect_err("junk");
    let metrics = scrape(&running).await;
    assert_eq!(
        sample(
            &metrics,
            "pricing_requests_total{method=\"Quote\",code=\"OK\",priority=\"regular\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "pricing_requests_total{method=\"Quote\",code=\"INVALID_ARGUMENT\",priority=\"regular\"}"
        ),
        1.0
    );
    assert_eq!(sample(&metrics, "pricing_triangles_processed_total"), 12.0);
    assert_eq!(
        sample(&metrics, "pricing_bytes_processed_total"),
        (684 + 4) as f64
    );
    assert_eq!(
        sample(
            &metrics,
            "pricing_engine_stage_seconds_count{stage=\"estimate\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            "pricing_request_duration_seconds_count{method=\"Quote\",priority=\"regular\"}"
        ),
        2.0
    );
    assert!(metrics.contains("# TYPE pricing_queue_wait_seconds histogram"));
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn shutdown_drains_in_flight_work() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let (running, client) = serve(one_worker(2)).await;
    let blocker = hold_the_worker(&running, &client).await;
    let mut queued_client = client.clone();
    let queued =
        tokio::spawn(async move { queued_client.quote(small("shop-key", "queued")).await });
    until_metrics(&running, |m| {
        sample(m, "pricing_queue_depth{priority=\"regular\"}") == 1.0
    })
    .await;
    let stopper = running.stopper();
    stopper.send(true).expect("stop");
    // Draining: health says NOT_SERVING and new work is refused, while the old finishes.
    let channel = Channel::from_shared(format!("http://{}", running.grpc_addr))
        .expect("uri")
        .connect()
        .await
        .expect("still accepting connections while draining");
    let mut health = HealthClient::new(channel);
    let mut status = ServingStatus::Serving as i32;
    for _ in 0..100 {
        status = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health")
            .into_inner()
            .status;
        if status == ServingStatus::NotServing as i32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, ServingStatus::NotServing as i32);
    let refused = client
        .clone()
        .quote(small("shop-key", "late"))
        .await
        .expect_err("draining");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    blocker
        .await
        .expect("task")
        .expect("in-flight work finishes");
    queued.await.expect("task").expect("queued work finishes");
    tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .expect("stops after draining")
        .expect("clean stop");
}

#[tokio::test]
async fn the_load_tool_drives_a_server() {
    use pricing_bench::load;
    let (running, _client) = serve(config("")).await;
    let target = load::Target {
        address: running.grpc_addr.to_string(),
        model: Arc::new(box_stl([10.0, 10.0, 10.0])),
        material: "pla".to_string(),
        high_key: None,
        regular_key: None,
        timeout: Duration::from_secs(10),
    };
    let outcomes = load::closed_loop(&target, 2, Duration::from_millis(500), 0.0)
        .await
        .expect("runs");
    assert!(
        outcomes
            .ok
            .get(&load::Class::Regular)
            .is_some_and(|ok| !ok.is_empty())
    );
    assert!(outcomes.failed.is_empty(), "{:?}", outcomes.failed);
    assert!(outcomes.quantile_ms(load::Class::Regular, 0.99).is_some());
    // Without keys the server serves everyone at regular: high requests are refused.
    let outcomes = load::closed_loop(&target, 1, Duration::from_millis(200), 1.0)
        .await
        .expect("runs");
    assert!(!outcomes.failed.is_empty(), "some high requests were sent");
    assert!(
        outcomes
            .failed
            .keys()
            .all(|(_, code)| code == "PermissionDenied")
    );
    running.shutdown().await.expect("stops");
}
