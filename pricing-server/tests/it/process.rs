//! The binary itself: a bad configuration is refused at start naming the field, and SIGTERM
//! drains in-flight work before the process exits.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use pricing_proto::v1;

use super::{options, sphere_stl};

#[test]
fn a_bad_configuration_is_refused_at_start() {
    let path = std::env::temp_dir().join(format!("pricing-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "[scheduler]\nworkers = 0\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_pricing-server"))
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`scheduler.workers` must be above 0"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_drains_in_flight_work_then_exits() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pricing-server"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // The address is in the startup log.
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let address = loop {
        let line = lines.next().expect("a log line").expect("utf-8");
        let log: serde_json::Value = serde_json::from_str(&line).expect("JSON logs");
        if log["message"] == "serving" {
            break log["grpc"].as_str().expect("grpc address").to_string();
        }
    };
    let logs = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<String>>());
    let mut client =
        v1::pricing_service_client::PricingServiceClient::connect(format!("http://{address}"))
            .await
            .expect("connects");
    let slow = tokio::spawn(async move {
        client
            .quote(v1::QuoteRequest {
                options: Some(options("pla")),
                model: sphere_stl(160),
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let quote = slow
        .await
        .expect("task")
        .expect("in-flight work is answered");
    assert!(quote.into_inner().quote_id.starts_with("q-"));
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("exits");
    assert!(exit.success(), "{exit:?}");
    let logs = logs.join().expect("logs");
    assert!(logs.iter().any(|l| l.contains("shutting down")), "{logs:?}");
    assert!(
        logs.iter().any(|l| l.contains("\"request_id\"")),
        "{logs:?}"
    );
}
