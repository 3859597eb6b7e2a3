//! `pricing-server`: parses flags, sets up logging, and runs the server until SIGTERM or
//! Ctrl-C, then shuts it down gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pricing_server::config::Config;

#[derive(Parser)]
#[command(
    name = "pricing-server",
    version,
    about = "The gRPC pricing service: quotes 3D models, partners first under overload"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve pricing.v1.PricingService (with grpc.health.v1 and server reflection) and
    /// Prometheus metrics on /metrics.
    ///
    /// The configuration file (TOML) sets the price book, the scheduler, limits, tenants with
    /// their API keys, and TLS; every field has a default, and a bad field is refused at start.
    /// The flags override its addresses.
    Serve {
        /// gRPC address [default: 127.0.0.1:50051, or the configuration's]
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Metrics address [default: 127.0.0.1:9464, or the configuration's]
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
        /// Configuration file (also PRICING_SERVER_CONFIG)
        #[arg(long, env = "PRICING_SERVER_CONFIG")]
        config: Option<PathBuf>,
        /// Log lines as text or as JSON objects
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Print the SHA-256 of an API key, as the configuration's `key_sha256` wants it.
    HashKey {
        /// The key
        key: String,
    },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::HashKey { key } => {
            println!("{}", pricing_server::auth::key_hash_hex(&key));
            ExitCode::SUCCESS
        }
        Command::Serve {
            listen,
            metrics_listen,
            config,
            log_format,
        } => {
            init_logs(log_format);
            let config = match config {
                Some(path) => Config::load(&path),
                None => Ok(Config::default()),
            };
            let mut config = match config {
                Ok(config) => config,
                Err(err) => {
                    eprintln!("pricing-server: {err}");
                    return ExitCode::from(2);
                }
            };
            if let Some(listen) = listen {
                config.listen = listen;
            }
            if let Some(metrics_listen) = metrics_listen {
                config.metrics_listen = metrics_listen;
            }
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(err) => {
                    eprintln!("pricing-server: cannot start the runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            let outcome = runtime.block_on(async {
                let running = pricing_server::server::start(config).await?;
                let stopper = running.stopper();
                tokio::spawn(async move {
                    terminated().await;
                    let _ = stopper.send(true);
                });
                running.wait().await
            });
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("pricing-server: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
