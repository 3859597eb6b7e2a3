//! Every error the service answers with, mapped to a gRPC status in one place.
//!
//! | what | code |
//! |---|---|
//! | a malformed model, a bad option, an empty model | `INVALID_ARGUMENT` |
//! | an unknown material or lead time | `NOT_FOUND` |
//! | a model the machine cannot make (too large, open mesh refused by the book) | `FAILED_PRECONDITION` |
//! | a full lane, the byte budget, a tenant's rate or concurrency quota | `RESOURCE_EXHAUSTED` + `grpc-retry-pushback-ms` |
//! | work whose deadline passed | `DEADLINE_EXCEEDED` |
//! | a caller that went away | `CANCELLED` |
//! | a missing or unknown API key | `UNAUTHENTICATED` |
//! | a priority above the key's | `PERMISSION_DENIED` |
//! | the server draining for shutdown | `UNAVAILABLE` |

use std::time::Duration;

use pricing_engine::QuoteError;
use pricing_engine::pricing::PricingError;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use crate::auth::Denied;
use crate::scheduler::{Dropped, Refusal};

/// Why a request failed, before it becomes a [`Status`].
#[derive(Debug)]
pub enum Failure {
    Quote {
        file: String,
        error: QuoteError,
    },
    BadRequest(String),
    Refused(Refusal),
    Dropped(Dropped),
    Denied(Denied),
    PriorityTooHigh {
        tenant: String,
    },
    /// The caller's deadline passed while its work was queued or running.
    DeadlineExceeded,
    Internal(String),
}

/// The `RESOURCE_EXHAUSTED` answer, with the client's retry hint (gRFC A6).
fn exhausted(message: String, retry_after: Duration) -> Status {
    let mut metadata = MetadataMap::new();
    let ms = retry_after.as_millis().max(1).to_string();
    if let Ok(value) = ms.parse() {
        metadata.insert("grpc-retry-pushback-ms", value);
    }
    Status::with_metadata(Code::ResourceExhausted, message, metadata)
}

impl Failure {
    pub fn status(&self) -> Status {
        match self {
            Failure::Quote { file, error } => {
                let message = if file.is_empty() {
                    error.to_string()
                } else {
                    format!("{file}: {error}")
                };
                let code = match error {
                    QuoteError::Mesh(_) => Code::InvalidArgument,
                    QuoteError::Pricing(
                        PricingError::UnknownMaterial { .. } | PricingError::UnknownLeadTime { .. },
                    ) => Code::NotFound,
                    QuoteError::Pricing(PricingError::ZeroQuantity) => Code::InvalidArgument,
                    QuoteError::Pricing(PricingError::InvalidUsage { .. }) => Code::Internal,
                    QuoteError::Refused {
                        kind: "empty_mesh", ..
                    } => Code::InvalidArgument,
                    QuoteError::Refused { .. } => Code::FailedPrecondition,
                    QuoteError::Stopped { .. } => Code::Cancelled,
                };
                Status::new(code, message)
            }
            Failure::BadRequest(message) => Status::invalid_argument(message.clone()),
            Failure::Refused(Refusal::Shed {
                reason,
                retry_after,
            }) => exhausted(
                format!("the server is overloaded ({reason}); retry later"),
                *retry_after,
            ),
            Failure::Refused(Refusal::ShuttingDown) => {
                Status::unavailable("the server is shutting down; retry on another replica")
            }
            Failure::Dropped(Dropped::DeadlineExceeded) | Failure::DeadlineExceeded => {
                Status::deadline_exceeded("the deadline passed before the work could finish")
            }
            Failure::Dropped(Dropped::Cancelled) => Status::cancelled("the request was cancelled"),
            Failure::Denied(Denied::MissingKey) => {
                Status::unauthenticated("an API key is required: send it as metadata `x-api-key`")
            }
            Failure::Denied(Denied::UnknownKey) => {
                Status::unauthenticated("the API key is not known")
            }
            Failure::Denied(Denied::Rate { retry_after_ms, .. }) => exhausted(
                "over the tenant's request rate".to_string(),
                Duration::from_millis(*retry_after_ms),
            ),
            Failure::Denied(Denied::Concurrency { limit, .. }) => exhausted(
                format!("over the tenant's {limit} requests in flight"),
                Duration::from_millis(100),
            ),
            Failure::PriorityTooHigh { tenant } => Status::permission_denied(format!(
                "tenant `{tenant}` may use regular priority only"
            )),
            Failure::Internal(message) => Status::internal(message.clone()),
        }
    }

    /// The shed reason for the metrics, when this is a refusal for load.
    pub fn shed_reason(&self) -> Option<&'static str> {
        match self {
            Failure::Refused(Refusal::Shed { reason, .. }) => Some(reason),
            Failure::Denied(Denied::Rate { .. }) => Some("rate"),
            Failure::Denied(Denied::Concurrency { .. }) => Some("concurrency"),
            _ => None,
        }
    }
}

/// The status code's name as metrics label it (`OK`, `INVALID_ARGUMENT`, ...).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
