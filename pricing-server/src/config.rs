//! The server's configuration: one TOML file, every field with a default, refused at start
//! with the field that is wrong.
//!
//! ```toml
//! listen = "127.0.0.1:50051"
//! metrics_listen = "127.0.0.1:9464"
//! price_book = "books/2026-11.toml"      # default: the built-in book
//!
//! [scheduler]
//! workers = 2                 # jobs running at once (default: the number of cores)
//! high_queue = 64             # queued jobs per lane; beyond, RESOURCE_EXHAUSTED
//! regular_queue = 256
//! high_per_regular = 4        # high jobs taken in a row while regular work waits
//! high_reserved = 1           # extra slots only high jobs may take (0: none)
//! regular_niceness = 10       # CPU priority of regular work (nice 0..19; 0: same as high)
//! queued_bytes = 1073741824   # model bytes held by queued and running work, in all
//!
//! [limits]
//! max_message_bytes = 67108864
//! max_upload_bytes = 268435456
//! max_triangles = 10000000
//! max_order_lines = 100
//!
//! [[tenants]]
//! name = "acme-partner"
//! key_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! max_priority = "high"
//! rate_per_second = 20.0      # sustained requests per second
//! burst = 40                  # requests allowed at once above the rate
//! max_concurrent = 8          # requests in flight at once
//!
//! [tls]                       # optional: serve gRPC over TLS
//! cert = "server.pem"
//! key = "server.key"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use pricing_engine::pricing::{PriceBook, Priority};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration: {0}")]
    Syntax(String),
    #[error("configuration field `{field}` {reason}")]
    Field { field: String, reason: String },
    #[error("the price book {path} is refused: {source}")]
    PriceBook {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    metrics_listen: Option<String>,
    price_book: Option<PathBuf>,
    #[serde(default)]
    scheduler: RawScheduler,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    tenants: Vec<RawTenant>,
    tls: Option<RawTls>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    workers: Option<usize>,
    high_queue: Option<usize>,
    regular_queue: Option<usize>,
    high_per_regular: Option<u32>,
    high_reserved: Option<usize>,
    regular_niceness: Option<u8>,
    queued_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_message_bytes: Option<usize>,
    max_upload_bytes: Option<u64>,
    max_triangles: Option<u64>,
    max_order_lines: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: String,
    key_sha256: String,
    max_priority: String,
    rate_per_second: Option<f64>,
    burst: Option<u32>,
    max_concurrent: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    pub workers: usize,
    pub high_queue: usize,
    pub regular_queue: usize,
    pub high_per_regular: u32,
    /// Extra slots beyond `workers` that only high jobs may take.
    pub high_reserved: usize,
    /// The CPU priority (nice value, 0 to 19) of the regular lane's threads.
    pub regular_niceness: u8,
    pub queued_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_upload_bytes: u64,
    pub max_triangles: u64,
    pub max_order_lines: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub name: String,
    pub key_sha256: [u8; 32],
    pub max_priority: Priority,
    pub rate_per_second: f64,
    pub burst: u32,
    pub max_concurrent: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub metrics_listen: SocketAddr,
    pub book: PriceBook,
    /// The book's TOML, served by GetPriceBook.
    pub book_toml: String,
    pub scheduler: SchedulerConfig,
    pub limits: Limits,
    /// Empty: everyone is served at regular priority, without a key.
    pub tenants: Vec<Tenant>,
    pub tls: Option<Tls>,
}

impl Default for Config {
    fn default() -> Config {
        Config::from_toml("", Path::new(".")).expect("the defaults are valid")
    }
}

fn address(name: &str, value: Option<String>, default: &str) -> Result<SocketAddr, ConfigError> {
    let text = value.unwrap_or_else(|| default.to_string());
    text.parse().map_err(|err| {
        field(
            name,
            format!("must be an address like {default}, got `{text}`: {err}"),
        )
    })
}

fn positive<T: PartialOrd + Default + std::fmt::Display>(
    name: &str,
    value: T,
) -> Result<T, ConfigError> {
    if value > T::default() {
        Ok(value)
    } else {
        Err(field(name, format!("must be above 0, got {value}")))
    }
}

fn hex_sha256(name: &str, text: &str) -> Result<[u8; 32], ConfigError> {
    let bad = || {
        field(
            name,
            "must be the SHA-256 of the key, as 64 hexadecimal digits (`printf %s KEY | sha256sum`)",
        )
    };
    if text.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

impl Config {
    /// Reads and validates a configuration file; relative paths in it are relative to it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Validates a configuration; `base` resolves the relative paths in it.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|err| ConfigError::Syntax(err.to_string()))?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let scheduler = SchedulerConfig {
            workers: positive("scheduler.workers", raw.scheduler.workers.unwrap_or(cores))?,
            high_queue: positive(
                "scheduler.high_queue",
                raw.scheduler.high_queue.unwrap_or(64),
            )?,
            regular_queue: positive(
                "scheduler.regular_queue",
                raw.scheduler.regular_queue.unwrap_or(256),
            )?,
            high_per_regular: positive(
                "scheduler.high_per_regular",
                raw.scheduler.high_per_regular.unwrap_or(4),
            )?,
            high_reserved: raw.scheduler.high_reserved.unwrap_or(1),
            regular_niceness: match raw.scheduler.regular_niceness.unwrap_or(10) {
                n @ 0..=19 => n,
                n => {
                    return Err(field(
                        "scheduler.regular_niceness",
                        format!("must be a nice value from 0 to 19, got {n}"),
                    ));
                }
            },
            queued_bytes: positive(
                "scheduler.queued_bytes",
                raw.scheduler.queued_bytes.unwrap_or(1 << 30),
            )?,
        };
        let limits = Limits {
            max_message_bytes: positive(
                "limits.max_message_bytes",
                raw.limits.max_message_bytes.unwrap_or(64 << 20),
            )?,
            max_upload_bytes: positive(
                "limits.max_upload_bytes",
                raw.limits.max_upload_bytes.unwrap_or(256 << 20),
            )?,
            max_triangles: positive(
                "limits.max_triangles",
                raw.limits.max_triangles.unwrap_or(10_000_000),
            )?,
            max_order_lines: positive(
                "limits.max_order_lines",
                raw.limits.max_order_lines.unwrap_or(100),
            )?,
        };
        if limits.max_upload_bytes > scheduler.queued_bytes {
            return Err(field(
                "limits.max_upload_bytes",
                format!(
                    "({}) is more than scheduler.queued_bytes ({}): such an upload could never be queued",
                    limits.max_upload_bytes, scheduler.queued_bytes
                ),
            ));
        }
        let mut tenants: Vec<Tenant> = Vec::new();
        for (i, t) in raw.tenants.into_iter().enumerate() {
            let name = |f: &str| format!("tenants[{i}].{f}");
            if t.name.trim().is_empty() {
                return Err(field(name("name"), "must not be empty"));
            }
            let max_priority = match t.max_priority.as_str() {
                "high" => Priority::High,
                "regular" => Priority::Regular,
                other => {
                    return Err(field(
                        name("max_priority"),
                        format!("must be `high` or `regular`, got `{other}`"),
                    ));
                }
            };
            let tenant = Tenant {
                key_sha256: hex_sha256(&name("key_sha256"), &t.key_sha256.to_ascii_lowercase())?,
                max_priority,
                rate_per_second: positive(
                    &name("rate_per_second"),
                    t.rate_per_second.unwrap_or(100.0),
                )?,
                burst: positive(&name("burst"), t.burst.unwrap_or(100))?,
                max_concurrent: positive(&name("max_concurrent"), t.max_concurrent.unwrap_or(16))?,
                name: t.name,
            };
            if !tenant.rate_per_second.is_finite() {
                return Err(field(name("rate_per_second"), "must be a finite number"));
            }
            if let Some(other) = tenants.iter().find(|o| o.key_sha256 == tenant.key_sha256) {
                return Err(field(
                    name("key_sha256"),
                    format!("is the same key as tenant `{}`", other.name),
                ));
            }
            tenants.push(tenant);
        }
        let (book, book_toml) = match raw.price_book {
            None => (
                PriceBook::built_in(),
                pricing_engine::pricing::DEFAULT_PRICE_BOOK_TOML.to_string(),
            ),
            Some(path) => {
                let path = base.join(path);
                let text =
                    std::fs::read_to_string(&path).map_err(|err| ConfigError::PriceBook {
                        path: path.clone(),
                        source: Box::new(err),
                    })?;
                let book = PriceBook::from_toml(&text).map_err(|err| ConfigError::PriceBook {
                    path: path.clone(),
                    source: Box::new(err),
                })?;
                (book, text)
            }
        };
        let tls = raw.tls.map(|tls| Tls {
            cert: base.join(tls.cert),
            key: base.join(tls.key),
        });
        Ok(Config {
            listen: address("listen", raw.listen, "127.0.0.1:50051")?,
            metrics_listen: address("metrics_listen", raw.metrics_listen, "127.0.0.1:9464")?,
            book,
            book_toml,
            scheduler,
            limits,
            tenants,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Config::from_toml(text, Path::new("."))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn defaults_and_bad_fields() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(config.metrics_listen.to_string(), "127.0.0.1:9464");
        assert!(config.tenants.is_empty());
        assert_eq!(config.scheduler.high_per_regular, 4);
        for (text, expected) in [
            (
                "listen = \"nowhere\"",
                "configuration field `listen` must be an address",
            ),
            (
                "[scheduler]\nworkers = 0",
                "`scheduler.workers` must be above 0, got 0",
            ),
            (
                "[limits]\nmax_upload_bytes = 4000000000",
                "`limits.max_upload_bytes` (4000000000) is more than scheduler.queued_bytes",
            ),
            ("colour = 1", "unknown field `colour`"),
            (
                "[[tenants]]\nname = \"a\"\nkey_sha256 = \"abc\"\nmax_priority = \"high\"",
                "`tenants[0].key_sha256` must be the SHA-256 of the key",
            ),
            (
                "[[tenants]]\nname = \"a\"\nkey_sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\nmax_priority = \"urgent\"",
                "`tenants[0].max_priority` must be `high` or `regular`, got `urgent`",
            ),
            (
                "price_book = \"/no/such/book.toml\"",
                "the price book /no/such/book.toml is refused",
            ),
        ] {
            let message = error(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
