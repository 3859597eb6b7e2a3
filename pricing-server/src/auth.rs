//! API keys and quotas. A key (metadata `x-api-key`, or `authorization: Bearer KEY`) is hashed
//! with SHA-256 and looked up among the configured tenants; the tenant says the highest class
//! it may use and its rate (a token bucket) and concurrency quotas. With no tenants configured,
//! everyone is served, at regular priority, without a key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pricing_engine::pricing::Priority;
use sha2::{Digest, Sha256};

use crate::config::Tenant;

/// Who is calling, once the key checked out.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: String,
    pub max_priority: Priority,
}

/// Why a caller is turned away.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    MissingKey,
    UnknownKey,
    /// Over the rate quota; retry after this long. `class` is the tenant's highest.
    Rate {
        retry_after_ms: u64,
        class: Priority,
    },
    /// Over the concurrency quota.
    Concurrency {
        limit: u32,
        class: Priority,
    },
}

struct Quota {
    tenant: Tenant,
    bucket: Mutex<(f64, Instant)>,
    in_flight: AtomicU32,
}

/// Counts a request against its tenant's concurrency quota until dropped.
pub struct Admitted {
    quota: Option<Arc<Quota>>,
    pub caller: Caller,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(quota) = &self.quota {
            quota.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The tenants, by the hash of their key.
pub struct Auth {
    by_hash: HashMap<[u8; 32], Arc<Quota>>,
}

impl Auth {
    pub fn new(tenants: &[Tenant]) -> Auth {
        Auth {
            by_hash: tenants
                .iter()
                .map(|tenant| {
                    (
                        tenant.key_sha256,
                        Arc::new(Quota {
                            tenant: tenant.clone(),
                            bucket: Mutex::new((f64::from(tenant.burst), Instant::now())),
                            in_flight: AtomicU32::new(0),
                        }),
                    )
                })
                .collect(),
        }
    }

    /// Whether keys are required.
    pub fn enabled(&self) -> bool {
        !self.by_hash.is_empty()
    }

    /// Checks `key` and takes one request from the tenant's quotas.
    pub fn admit(&self, key: Option<&str>) -> Result<Admitted, Denied> {
        if !self.enabled() {
            return Ok(Admitted {
                quota: None,
                caller: Caller {
                    tenant: "anonymous".to_string(),
                    max_priority: Priority::Regular,
                },
            });
        }
        let key = key.filter(|k| !k.is_empty()).ok_or(Denied::MissingKey)?;
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let quota = self.by_hash.get(&hash).ok_or(Denied::UnknownKey)?;
        {
            let mut bucket = quota.bucket.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refill = now.duration_since(bucket.1).as_secs_f64() * quota.tenant.rate_per_second;
            bucket.0 = (bucket.0 + refill).min(f64::from(quota.tenant.burst));
            bucket.1 = now;
            if bucket.0 < 1.0 {
                let wait = (1.0 - bucket.0) / quota.tenant.rate_per_second;
                return Err(Denied::Rate {
                    retry_after_ms: (wait * 1000.0).ceil() as u64,
                    class: quota.tenant.max_priority,
                });
            }
            bucket.0 -= 1.0;
        }
        let limit = quota.tenant.max_concurrent;
        if quota.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
            quota.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(Denied::Concurrency {
                limit,
                class: quota.tenant.max_priority,
            });
        }
        Ok(Admitted {
            quota: Some(quota.clone()),
            caller: Caller {
                tenant: quota.tenant.name.clone(),
                max_priority: quota.tenant.max_priority,
            },
        })
    }
}

/// The SHA-256 of a key as 64 hex digits, as the configuration wants it.
pub fn key_hash_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(key: &str, burst: u32, max_concurrent: u32) -> Tenant {
        let hash = Sha256::digest(key.as_bytes()).into();
        Tenant {
            name: format!("t-{key}"),
            key_sha256: hash,
            max_priority: Priority::High,
            rate_per_second: 1.0,
            burst,
            max_concurrent,
        }
    }

    #[test]
    fn keys_rate_and_concurrency() {
        let auth = Auth::new(&[tenant("k1", 2, 1)]);
        assert_eq!(auth.admit(None).err(), Some(Denied::MissingKey));
        assert_eq!(auth.admit(Some("nope")).err(), Some(Denied::UnknownKey));
        let first = auth.admit(Some("k1")).expect("admitted");
        assert_eq!(first.caller.tenant, "t-k1");
        assert_eq!(
            auth.admit(Some("k1")).err(),
            Some(Denied::Concurrency {
                limit: 1,
                class: Priority::High
            })
        );
        drop(first);
        // The burst of 2 is spent (the refused request took a token too).
        assert!(matches!(
            auth.admit(Some("k1")).err(),
            Some(Denied::Rate { .. })
        ));
        assert_eq!(
            key_hash_hex("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn without_tenants_everyone_is_regular() {
        let auth = Auth::new(&[]);
        let admitted = auth.admit(None).expect("open");
        assert_eq!(admitted.caller.max_priority, Priority::Regular);
    }
}
