//! Compiles `pricing/v1/*.proto` with the protoc that protoc-bin-vendored ships, so a fresh
//! machine needs no system protoc; also writes the descriptor set that server reflection serves,
//! and the proto3 JSON mapping (pbjson) of every message.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["pricing/v1/pricing.proto", "pricing/v1/events.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = out.join("pricing_descriptor.bin");
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptors)
        .compile_with_config(config, &protos, &["."])?;
    // The proto3 JSON mapping (serde) of every message, for the queue's JSON content type.
    pbjson_build::Builder::new()
        .register_descriptors(&std::fs::read(&descriptors)?)?
        .build(&[".pricing.v1"])?;
    Ok(())
}
