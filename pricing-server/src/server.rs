//! Starting and stopping the server: the gRPC service with health and reflection, the metrics
//! endpoint, and the graceful shutdown (health NOT_SERVING, no new work, in-flight work
//! finishes, then the listeners close).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use pricing_proto::v1::pricing_service_server::PricingServiceServer;
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;

use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::scheduler::Scheduler;
use crate::service::{AppState, Service};

/// A server that is up.
pub struct Running {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Starts the graceful shutdown and waits for it to finish.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("the server task failed")?
    }

    /// Waits until the server stops (after [`Running::shutdown`] or a failure).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("the server task failed")?
    }

    /// A handle that starts the graceful shutdown.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Binds the listeners and starts serving.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let metrics = Arc::new(Metrics::default());
    let scheduler = Scheduler::new(config.scheduler.clone(), metrics.clone())
        .context("starting the worker pool")?;
    let auth = Auth::new(&config.tenants);
    if auth.enabled() {
        tracing::info!(tenants = config.tenants.len(), "API keys required");
    } else {
        tracing::warn!(
            "no API keys configured: serving everyone, without a key, at regular priority"
        );
    }
    let grpc_listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let metrics_listener = tokio::net::TcpListener::bind(config.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.metrics_listen))?;
    let grpc_addr = grpc_listener.local_addr()?;
    let metrics_addr = metrics_listener.local_addr()?;

    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<PricingServiceServer<Service>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pricing_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building server reflection")?;
    let limits = config.limits.clone();
    let tls = match &config.tls {
        Some(tls) => {
            let cert = std::fs::read(&tls.cert).with_context(|| {
                format!("cannot read the TLS certificate {}", tls.cert.display())
            })?;
            let key = std::fs::read(&tls.key)
                .with_context(|| format!("cannot read the TLS key {}", tls.key.display()))?;
            Some(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
        }
        None => None,
    };
    let state = Arc::new(AppState {
        config,
        scheduler: scheduler.clone(),
        auth,
        metrics: metrics.clone(),
    });
    let service = PricingServiceServer::new(Service::new(state))
        .max_decoding_message_size(limits.max_message_bytes)
        .max_encoding_message_size(limits.max_message_bytes);

    let tls_on = tls.is_some();
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .max_concurrent_streams(Some(256))
        .http2_max_pending_accept_reset_streams(Some(64));
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).context("configuring TLS")?;
    }
    // Small answers must not wait for Nagle's algorithm and a delayed ACK (40 ms each).
    let incoming = TcpListenerStream::new(grpc_listener).map(|stream| {
        if let Ok(stream) = &stream {
            let _ = stream.set_nodelay(true);
        }
        stream
    });
    let (stop, mut stopped) = watch::channel(false);
    let (grpc_done_tx, grpc_done_rx) = watch::channel(false);
    let grpc = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async move {
            let mut done = grpc_done_rx;
            let _ = done.wait_for(|d| *d).await;
        });
    let metrics_server = metrics::serve(metrics_listener, metrics.clone(), {
        let mut stopped = stop.subscribe();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    });
    tracing::info!(
        grpc = %grpc_addr,
        tls = tls_on,
        metrics = %metrics::describe(metrics_addr),
        "serving"
    );
    let task = tokio::spawn(async move {
        let drain = async {
            let _ = stopped.wait_for(|s| *s).await;
            tracing::info!("shutting down: health NOT_SERVING, refusing new work");
            health
                .set_not_serving::<PricingServiceServer<Service>>()
                .await;
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            scheduler.close();
            scheduler.drained().await;
            tracing::info!("in-flight work finished; closing the listeners");
            let _ = grpc_done_tx.send(true);
        };
        let (grpc, metrics, ()) = tokio::join!(grpc, metrics_server, drain);
        grpc.context("the gRPC server failed")?;
        metrics.context("the metrics server failed")?;
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Running {
        grpc_addr,
        metrics_addr,
        stop,
        task,
    })
}
