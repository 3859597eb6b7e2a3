//! The wire contract of the pricing service, `proto/pricing/v1/*.proto`, as Rust: prost
//! messages (with their proto3 JSON mapping, via pbjson and serde) and the tonic client and
//! server of `pricing.v1.PricingService`.

/// `pricing.v1`: messages, `pricing_service_client` and `pricing_service_server`.
#[allow(clippy::doc_markdown, clippy::large_enum_variant)]
pub mod v1 {
    tonic::include_proto!("pricing.v1");
    include!(concat!(env!("OUT_DIR"), "/pricing.v1.serde.rs"));
}

/// The encoded descriptor set of every proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("pricing_descriptor");
