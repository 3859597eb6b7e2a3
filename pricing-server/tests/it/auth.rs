//! API keys, classes and quotas.

use pricing_proto::v1;
use pricing_server::auth::key_hash_hex;
use tonic::Code;

use super::{box_stl, config, options, serve, with_key};

pub fn tenants(shop_rate: f64, shop_burst: u32) -> String {
    tenants_with(shop_rate, shop_burst, 2)
}

pub fn tenants_with(shop_rate: f64, shop_burst: u32, shop_concurrent: u32) -> String {
    format!(
        "[[tenants]]\nname = \"partner\"\nkey_sha256 = \"{}\"\nmax_priority = \"high\"\n\n\
         [[tenants]]\nname = \"shop\"\nkey_sha256 = \"{}\"\nmax_priority = \"regular\"\n\
         rate_per_second = {shop_rate}\nburst = {shop_burst}\nmax_concurrent = {shop_concurrent}\n",
        key_hash_hex("partner-key"),
        key_hash_hex("shop-key")
    )
}

#[tokio::test]
async fn keys_decide_the_class_and_quotas_refuse() {
    let (running, mut client) = serve(config(&tenants(0.5, 3))).await;
    let request = |priority: v1::Priority| v1::QuoteRequest {
        options: Some(v1::QuoteOptions {
            priority: priority as i32,
            ..options("pla")
        }),
        model: box_stl([5.0, 5.0, 5.0]),
    };
    let status = client
        .quote(request(v1::Priority::Unspecified))
        .await
        .expect_err("no key");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("x-api-key"), "{status:?}");
    let status = client
        .quote(with_key(request(v1::Priority::Unspecified), "guess"))
        .await
        .expect_err("wrong key");
    assert_eq!(status.code(), Code::Unauthenticated);

    // The partner runs at high by default, and may ask for less.
    let partner = client
        .quote(with_key(request(v1::Priority::Unspecified), "partner-key"))
        .await
        .expect("partner")
        .into_inner();
    assert_eq!(partner.priority, v1::Priority::High as i32);
    assert!(partner.lines.iter().any(|l| l.kind == "priority_surcharge"));
    let lower = client
        .quote(with_key(request(v1::Priority::Regular), "partner-key"))
        .await
        .expect("partner at regular")
        .into_inner();
    assert_eq!(lower.priority, v1::Priority::Regular as i32);

    // The shop may not ask for more than regular.
    let status = client
        .quote(with_key(request(v1::Priority::High), "shop-key"))
        .await
        .expect_err("shop at high");
    assert_eq!(status.code(), Code::PermissionDenied);
    // That took one of the shop's 3 tokens; two more pass, the next is over the rate.
    for _ in 0..2 {
        client
            .quote(with_key(request(v1::Priority::Unspecified), "shop-key"))
            .await
            .expect("within the rate");
    }
    let status = client
        .quote(with_key(request(v1::Priority::Unspecified), "shop-key"))
        .await
        .expect_err("over the rate");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.metadata().get("grpc-retry-pushback-ms").is_some(),
        "{status:?}"
    );
    // The key also works as a bearer token.
    let mut bearer = tonic::Request::new(v1::GetPriceBookRequest {});
    bearer.metadata_mut().insert(
        "authorization",
        "Bearer partner-key".parse().expect("ascii"),
    );
    client.get_price_book(bearer).await.expect("bearer key");
    running.shutdown().await.expect("stops");
}
