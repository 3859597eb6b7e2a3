//! Every RPC, every bad-input class, health and reflection.

use pricing_proto::v1;
use tokio_stream::StreamExt;
use tonic::Code;

use super::{box_stl, config, options, serve};

#[tokio::test]
async fn quote_analyze_price_book_and_order() {
    let (running, mut client) = serve(config("")).await;
    let cube = box_stl([10.0, 10.0, 10.0]);

    let quote = client
        .quote(v1::QuoteRequest {
            options: Some(v1::QuoteOptions {
                quantity: 10,
                ..options("pla")
            }),
            model: cube.clone(),
        })
        .await
        .expect("quote");
    assert!(quote.metadata().get("x-request-id").is_some());
    let quote = quote.into_inner();
    assert!(quote.quote_id.starts_with("q-"));
    assert_eq!(quote.material, "pla");
    assert_eq!(quote.quantity, 10);
    assert_eq!(quote.priority, v1::Priority::Regular as i32);
    assert_eq!(quote.currency, "EUR");
    let estimate = quote.estimate.expect("estimate");
    assert_eq!(estimate.technology, "fdm");
    assert_eq!(estimate.layers, 50);
    let lines: i64 = quote.lines.iter().map(|l| l.amount_minor).sum();
    assert_eq!(lines, quote.unit_price_minor);
    assert_eq!(quote.total_minor, 10 * quote.unit_price_minor);
    assert_eq!(quote.alternatives.len(), 3);
    let analysis = quote.analysis.expect("analysis");
    assert!((analysis.volume_mm3 - 1000.0).abs() < 1e-6);

    // The same request, in chunks, gives the same quote.
    let mut chunks = vec![v1::UploadChunk {
        part: Some(v1::upload_chunk::Part::Options(v1::QuoteOptions {
            quantity: 10,
            ..options("pla")
        })),
    }];
    chunks.extend(cube.chunks(100).map(|c| v1::UploadChunk {
        part: Some(v1::upload_chunk::Part::Data(c.to_vec())),
    }));
    let uploaded = client
        .quote_upload(tokio_stream::iter(chunks))
        .await
        .expect("upload")
        .into_inner();
    assert_eq!(uploaded.quote_id, quote.quote_id);
    assert_eq!(uploaded.total_minor, quote.total_minor);

    let analysis = client
        .analyze(v1::AnalyzeRequest {
            model: cube.clone(),
            unit: v1::Unit::Centimetre as i32,
            file_name: "cube.stl".to_string(),
        })
        .await
        .expect("analyze")
        .into_inner();
    assert_eq!(analysis.format, "stl-binary");
    assert!((analysis.volume_mm3 - 1e6).abs() < 1e-3, "in cm: 1000 cm3");
    assert!(analysis.watertight);

    let book = client
        .get_price_book(v1::GetPriceBookRequest {})
        .await
        .expect("price book")
        .into_inner();
    assert_eq!(book.currency, "EUR");
    assert!(
        book.materials
            .iter()
            .any(|m| m.id == "pla" && m.technology == "fdm")
    );
    assert!(book.toml.contains("version"));

    let order = client
        .quote_order(v1::OrderQuoteRequest {
            order_id: "o-1".to_string(),
            lines: vec![
                v1::OrderLine {
                    line_id: "a".to_string(),
                    model: cube.clone(),
                    options: Some(options("pla")),
                },
                v1::OrderLine {
                    line_id: "b".to_string(),
                    model: box_stl([20.0, 10.0, 5.0]),
                    options: Some(v1::QuoteOptions {
                        quantity: 3,
                        ..options("pa12")
                    }),
                },
            ],
            priority: 0,
            lead_time: "express".to_string(),
        })
        .await
        .expect("order")
        .into_inner();
    assert_eq!(order.order_id, "o-1");
    assert_eq!(order.lines.len(), 2);
    let sum: i64 = order
        .lines
        .iter()
        .map(|l| l.quote.as_ref().expect("quote").total_minor)
        .sum();
    assert_eq!(order.total_minor, sum);
    let b = order.lines[1].quote.as_ref().expect("quote");
    assert_eq!(order.lines[1].line_id, "b");
    assert_eq!(b.estimate.as_ref().expect("estimate").technology, "sls");
    assert_eq!(b.lead_time, "express");
    assert!(b.lines.iter().any(|l| l.kind == "lead_time_surcharge"));
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn bad_input_is_a_clear_status() {
    let (running, mut client) = serve(config(
        "[limits]\nmax_message_bytes = 100000\nmax_upload_bytes = 200000",
    ))
    .await;
    let quote =
        |model: Vec<u8>, options: Option<v1::QuoteOptions>| v1::QuoteRequest { options, model };
    let cases: Vec<(v1::QuoteRequest, Code, &str)> = vec![
        (
            quote(b"hello world, not a model".to_vec(), Some(options("pla"))),
            Code::InvalidArgument,
            "format",
        ),
        (
            quote(
                {
                    let mut b = box_stl([1.0, 1.0, 1.0]);
                    b.truncate(300);
                    b
                },
                Some(options("pla")),
            ),
            Code::InvalidArgument,
            "",
        ),
        (
            quote(
                b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 1 2\n".to_vec(),
                Some(options("pla")),
            ),
            Code::InvalidArgument,
            "line",
        ),
        (
            quote(box_stl([1.0, 1.0, 1.0]), None),
            Code::InvalidArgument,
            "options are required",
        ),
        (
            quote(box_stl([1.0, 1.0, 1.0]), Some(options(""))),
            Code::InvalidArgument,
            "material is required",
        ),
        (
            quote(box_stl([1.0, 1.0, 1.0]), Some(options("gold"))),
            Code::NotFound,
            "unknown material `gold`",
        ),
        (
            quote(
                box_stl([1.0, 1.0, 1.0]),
                Some(v1::QuoteOptions {
                    lead_time: "yesterday".into(),
                    ..options("pla")
                }),
            ),
            Code::NotFound,
            "unknown lead time",
        ),
        (
            quote(
                box_stl([1.0, 1.0, 1.0]),
                Some(v1::QuoteOptions {
                    orientation: 42,
                    ..options("pla")
                }),
            ),
            Code::InvalidArgument,
            "unknown orientation 42",
        ),
        (
            quote(box_stl([300.0, 300.0, 300.0]), Some(options("pla"))),
            Code::FailedPrecondition,
            "does not fit",
        ),
        (
            quote(vec![0u8; 150_000], Some(options("pla"))),
            Code::OutOfRange,
            "",
        ),
    ];
    for (request, code, text) in cases {
        let status = client.quote(request).await.expect_err("refused");
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(text), "{text}: {status:?}");
    }

    // Uploads: the options first, data after, within the limit.
    let data = |bytes: &[u8]| v1::UploadChunk {
        part: Some(v1::upload_chunk::Part::Data(bytes.to_vec())),
    };
    let opts = || v1::UploadChunk {
        part: Some(v1::upload_chunk::Part::Options(options("pla"))),
    };
    let status = client
        .quote_upload(tokio_stream::iter(vec![data(b"abc")]))
        .await
        .expect_err("no options");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("first message"), "{status:?}");
    let status = client
        .quote_upload(tokio_stream::iter(vec![opts(), data(b"abc"), opts()]))
        .await
        .expect_err("options twice");
    assert!(status.message().contains("upload message 2"), "{status:?}");
    let big: Vec<v1::UploadChunk> = std::iter::once(opts())
        .chain((0..3).map(|_| data(&[0u8; 90_000])))
        .collect();
    let status = client
        .quote_upload(tokio_stream::iter(big))
        .await
        .expect_err("too big");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("200000 bytes"), "{status:?}");

    let status = client
        .quote_order(v1::OrderQuoteRequest {
            order_id: "o".into(),
            ..Default::default()
        })
        .await
        .expect_err("empty order");
    assert!(status.message().contains("no lines"), "{status:?}");
    let status = client
        .quote_order(v1::OrderQuoteRequest {
            order_id: "o".into(),
            lines: vec![v1::OrderLine {
                line_id: "x".into(),
                model: b"junk".to_vec(),
                options: Some(options("pla")),
            }],
            ..Default::default()
        })
        .await
        .expect_err("bad line");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("line `x`"), "{status:?}");

    // The server is still healthy and answers.
    client
        .quote(quote(box_stl([5.0, 5.0, 5.0]), Some(options("pla"))))
        .await
        .expect("still serving");
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn health_and_reflection_work_without_the_proto() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let (running, _client) = serve(config("")).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", running.grpc_addr))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "pricing.v1.PricingService".to_string(),
        })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.next().await.expect("one answer").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("a list of services: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"pricing.v1.PricingService".to_string()),
        "{names:?}"
    );
    running.shutdown().await.expect("stops");
}

#[tokio::test]
async fn tls_when_certificates_are_configured() {
    use tonic::transport::{Certificate, ClientTlsConfig};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let dir = std::env::temp_dir().join(format!("pricing-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("server.pem"), cert.cert.pem()).expect("write cert");
    std::fs::write(dir.join("server.key"), cert.signing_key.serialize_pem()).expect("write key");
    let config = pricing_server::config::Config::from_toml(
        "listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n[tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n",
        &dir,
    )
    .expect("config");
    let running = pricing_server::server::start(config).await.expect("starts");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(format!("https://{}", running.grpc_addr))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("a TLS connection");
    let book = v1::pricing_service_client::PricingServiceClient::new(channel)
        .get_price_book(v1::GetPriceBookRequest {})
        .await
        .expect("over TLS")
        .into_inner();
    assert_eq!(book.currency, "EUR");
    // A plaintext client gets nowhere.
    let plain = tonic::transport::Channel::from_shared(format!("http://{}", running.grpc_addr))
        .expect("uri")
        .connect()
        .await;
    if let Ok(channel) = plain {
        assert!(
            v1::pricing_service_client::PricingServiceClient::new(channel)
                .get_price_book(v1::GetPriceBookRequest {})
                .await
                .is_err()
        );
    }
    running.shutdown().await.expect("stops");
    let _ = std::fs::remove_dir_all(&dir);
}
