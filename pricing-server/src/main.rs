//! `pricing-server`: parses flags, sets up logging, and runs the server until SIGTERM or
//! Ctrl-C, then shuts it down gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use pricing_proto::v1;
use pricing_server::adapter::{self, AdapterConfig, Pricer};
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
    /// Price every request from RabbitMQ and publish its outcome: partners first, nothing lost.
    ///
    /// Declares the topology (exchange pricing.requests, quorum queues
    /// pricing.requests.priority and .regular, exchange pricing.events, queue
    /// pricing.requests.dead), consumes both queues (high first, a regular one after
    /// --high-per-regular high ones in a row), gets each quote from the pricing servers
    /// (round-robin) or the engine in-process (--embedded), publishes OrderPriceCalculated or
    /// OrderPriceFailed to pricing.events, and acknowledges only once the broker confirmed it.
    /// Transient failures are retried with back-off, then dead-lettered after --max-attempts.
    /// Reconnects with back-off when the broker goes away; SIGTERM finishes in-flight requests.
    Adapter {
        /// The broker (also PRICING_AMQP_URL)
        #[arg(
            long,
            env = "PRICING_AMQP_URL",
            default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
        )]
        amqp: String,
        /// Pricing servers, comma-separated (ADDR[,ADDR...])
        #[arg(
            long,
            value_delimiter = ',',
            required_unless_present = "embedded",
            conflicts_with = "embedded"
        )]
        pricing: Vec<String>,
        /// Run the engine in-process instead of calling servers
        #[arg(long)]
        embedded: bool,
        /// API key for the partners' requests (also PRICING_HIGH_KEY)
        #[arg(long, env = "PRICING_HIGH_KEY")]
        high_key: Option<String>,
        /// API key for the shop's requests (also PRICING_REGULAR_KEY)
        #[arg(long, env = "PRICING_REGULAR_KEY")]
        regular_key: Option<String>,
        /// Prepended to every exchange and queue name
        #[arg(long, default_value = "")]
        prefix: String,
        /// Metrics address
        #[arg(long, default_value = "127.0.0.1:9465")]
        metrics_listen: SocketAddr,
        /// Requests processed at once
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Unacknowledged deliveries per queue
        #[arg(long, default_value_t = 16)]
        prefetch: u16,
        /// High requests started in a row while regular ones wait
        #[arg(long, default_value_t = 4)]
        high_per_regular: u32,
        /// Attempts before a request that keeps failing transiently is dead-lettered
        #[arg(long, default_value_t = 5)]
        max_attempts: u32,
        /// Back-off before the first retry, in milliseconds (doubled each attempt, at most 10 s)
        #[arg(long, default_value_t = 500)]
        retry_ms: u64,
        /// Each quote's deadline, in seconds
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
        /// Log lines as text or as JSON objects
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Publish one PriceRequested, as the shop or a partner would, and print its outcome event
    /// as JSON (exit 1 when the outcome is a failure).
    Request {
        /// The model file (sent inline), or with --uri a file:// URI the adapter can read
        model: String,
        /// Send `model` as model_uri instead of its bytes
        #[arg(long)]
        uri: bool,
        #[arg(long, default_value = "pla")]
        material: String,
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        /// Publish to the priority queue (partners) instead of the regular one
        #[arg(long)]
        high: bool,
        /// Send the request as JSON instead of protobuf
        #[arg(long)]
        json: bool,
        /// The request id [default: generated]
        #[arg(long)]
        request_id: Option<String>,
        #[arg(long, default_value = "demo-order")]
        order_id: String,
        /// The broker (also PRICING_AMQP_URL)
        #[arg(
            long,
            env = "PRICING_AMQP_URL",
            default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
        )]
        amqp: String,
        /// Prepended to every exchange and queue name
        #[arg(long, default_value = "")]
        prefix: String,
        /// Seconds to wait for the outcome
        #[arg(long, default_value_t = 60.0)]
        wait: f64,
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

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new()
        .map_err(|err| eprintln!("pricing-server: cannot start the runtime: {err}"))
        .ok()
}

/// Large blocks on transparent huge pages: see `pricing_engine::memory`.
#[global_allocator]
static ALLOCATOR: pricing_engine::memory::LargePages = pricing_engine::memory::LargePages;

fn main() -> ExitCode {
    pricing_engine::memory::keep_freed_memory();
    let cli = Cli::parse();
    match cli.command {
        Command::Adapter {
            amqp,
            pricing,
            embedded,
            high_key,
            regular_key,
            prefix,
            metrics_listen,
            concurrency,
            prefetch,
            high_per_regular,
            max_attempts,
            retry_ms,
            timeout,
            log_format,
        } => {
            init_logs(log_format);
            if concurrency == 0 || prefetch == 0 || high_per_regular == 0 || max_attempts == 0 {
                eprintln!(
                    "pricing-server: --concurrency, --prefetch, --high-per-regular and --max-attempts must be above 0"
                );
                return ExitCode::from(2);
            }
            let config = AdapterConfig {
                amqp,
                prefix,
                metrics_listen,
                concurrency,
                prefetch,
                high_per_regular,
                max_attempts,
                retry_base: std::time::Duration::from_millis(retry_ms),
                retry_max: std::time::Duration::from_secs(10),
            };
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
            };
            let outcome = runtime.block_on(async {
                let pricer = if embedded {
                    let defaults = Config::default();
                    Pricer::Embedded {
                        book: std::sync::Arc::new(defaults.book),
                        limits: defaults.limits,
                    }
                } else {
                    Pricer::remote(
                        &pricing,
                        high_key,
                        regular_key,
                        std::time::Duration::from_secs_f64(timeout.max(0.001)),
                    )?
                };
                let (stop, stopped) = tokio::sync::watch::channel(false);
                tokio::spawn(async move {
                    terminated().await;
                    let _ = stop.send(true);
                });
                adapter::run(config, pricer, stopped).await
            });
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("pricing-server: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Request {
            model,
            uri,
            material,
            quantity,
            high,
            json,
            request_id,
            order_id,
            amqp,
            prefix,
            wait,
        } => {
            let model = if uri {
                v1::price_requested::Model::ModelUri(model)
            } else {
                match std::fs::read(&model) {
                    Ok(bytes) => v1::price_requested::Model::ModelBytes(bytes),
                    Err(err) => {
                        eprintln!("pricing-server: cannot read {model}: {err}");
                        return ExitCode::from(2);
                    }
                }
            };
            let request = v1::PriceRequested {
                request_id: request_id.unwrap_or_else(|| {
                    format!(
                        "demo-{}",
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis())
                    )
                }),
                order_id,
                tenant: "demo".to_string(),
                model: Some(model),
                options: Some(v1::QuoteOptions {
                    material,
                    quantity,
                    ..Default::default()
                }),
            };
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
            };
            match runtime.block_on(adapter::request::request(
                &amqp,
                &prefix,
                request,
                high,
                json,
                std::time::Duration::from_secs_f64(wait.max(0.1)),
            )) {
                Ok((key, event)) => {
                    println!(
                        "{key} {}",
                        serde_json::to_string_pretty(&event).unwrap_or_default()
                    );
                    if key.ends_with("price_failed") {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(err) => {
                    eprintln!("pricing-server: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
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
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
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
