//! The pricing service: a stateless gRPC server around the engine.
//!
//! ```text
//! request ─▶ service (auth, class, deadline) ─▶ scheduler lanes ─▶ worker pool (rayon)
//!         ─▶ pricing_engine::quote_model ─▶ convert ─▶ response; status::Failure for errors
//! ```
//!
//! [`config`] reads the TOML configuration, [`auth`] checks API keys and quotas, [`scheduler`]
//! queues engine work in two lanes (high first, regular never starved), [`service`] implements
//! `pricing.v1.PricingService`, [`status`] maps every error to its gRPC code in one place,
//! [`metrics`] serves Prometheus metrics, and [`server`] starts and gracefully stops it all.
//! [`adapter`] is the RabbitMQ queue adapter, a client of the service (or of the engine
//! in-process).

pub mod adapter;
pub mod auth;
pub mod config;
pub mod convert;
pub mod metrics;
pub mod scheduler;
pub mod server;
pub mod service;
pub mod status;
