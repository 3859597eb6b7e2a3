//! `pricing-server`: the gRPC service and the queue adapter.
//!
//! Not implemented yet (issues #4 and #5): the binary says so and exits with status 2, so that no
//! deployment mistakes it for a working service.

fn main() -> std::process::ExitCode {
    eprintln!(
        "pricing-server: unsupported: the gRPC server and the queue adapter are not implemented yet (issues #4 and #5); use `pricing-bench analyze` for the engine"
    );
    std::process::ExitCode::from(2)
}
