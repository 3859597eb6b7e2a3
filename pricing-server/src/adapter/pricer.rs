//! Where the adapter gets its quotes: the pricing servers over gRPC (spread by request id,
//! each retry on the next server), or the engine in-process (`--embedded`).

use std::sync::Arc;
use std::time::Duration;

use pricing_engine::pricing::{PriceBook, Priority};
use pricing_proto::v1;
use pricing_proto::v1::pricing_service_client::PricingServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::config::Limits;
use crate::convert;
use crate::status::Failure;

pub enum Pricer {
    Remote {
        clients: Vec<PricingServiceClient<Channel>>,
        high_key: Option<String>,
        regular_key: Option<String>,
        timeout: Duration,
    },
    Embedded {
        book: Arc<PriceBook>,
        limits: Limits,
    },
}

impl Pricer {
    /// Clients for `addresses` (connected lazily: a server that is down is a transient error
    /// for the request, not a failure to start).
    pub fn remote(
        addresses: &[String],
        high_key: Option<String>,
        regular_key: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Pricer> {
        let mut clients = Vec::new();
        for address in addresses {
            let uri = if address.contains("://") {
                address.clone()
            } else {
                format!("http://{address}")
            };
            let channel = Channel::from_shared(uri)
                .map_err(|err| anyhow::anyhow!("bad pricing address `{address}`: {err}"))?
                .connect_timeout(Duration::from_secs(2))
                .connect_lazy();
            clients.push(
                PricingServiceClient::new(channel)
                    .max_decoding_message_size(256 << 20)
                    .max_encoding_message_size(256 << 20),
            );
        }
        anyhow::ensure!(!clients.is_empty(), "no pricing address given");
        Ok(Pricer::Remote {
            clients,
            high_key,
            regular_key,
            timeout,
        })
    }

    /// Quotes `model` at `priority`. Remote: the request's first attempt goes to the server
    /// its id hashes to (spreading the work), each retry to the next one.
    pub async fn quote(
        &self,
        mut options: v1::QuoteOptions,
        model: Vec<u8>,
        priority: Priority,
        request_id: &str,
        attempt: u32,
    ) -> Result<v1::QuoteResponse, Status> {
        match self {
            Pricer::Remote {
                clients,
                high_key,
                regular_key,
                timeout,
            } => {
                let spread = pricing_engine::pricing::digest(&[request_id.as_bytes()]) as usize;
                let index = spread.wrapping_add(attempt as usize) % clients.len();
                let mut client = clients[index].clone();
                // A partner's request asks for the highest class its key allows (a server
                // without keys serves it at regular rather than refuse it); a shop's asks for
                // regular, whatever the key.
                options.priority = match priority {
                    Priority::High => v1::Priority::Unspecified,
                    Priority::Regular => v1::Priority::Regular,
                } as i32;
                let mut request = tonic::Request::new(v1::QuoteRequest {
                    options: Some(options),
                    model,
                });
                request.set_timeout(*timeout);
                let key = match priority {
                    Priority::High => high_key,
                    Priority::Regular => regular_key,
                };
                if let Some(key) = key
                    && let Ok(value) = key.parse()
                {
                    request.metadata_mut().insert("x-api-key", value);
                }
                client.quote(request).await.map(tonic::Response::into_inner)
            }
            Pricer::Embedded { book, limits } => {
                options.priority = convert::priority_to_wire(priority) as i32;
                let book = book.clone();
                let limits = limits.clone();
                tokio::task::spawn_blocking(move || {
                    let engine_options = convert::quote_options(&options, priority)
                        .map_err(|failure| failure.status())?;
                    let load = convert::load_options(options.unit, &limits)
                        .map_err(|failure| failure.status())?;
                    pricing_engine::quote_model(&model, &load, &engine_options, &book)
                        .map(|quoted| convert::quote(&quoted, priority))
                        .map_err(|error| {
                            Failure::Quote {
                                file: options.file_name.clone(),
                                error,
                            }
                            .status()
                        })
                })
                .await
                .unwrap_or_else(|err| Err(Status::internal(format!("the engine failed: {err}"))))
            }
        }
    }
}

/// Whether trying again later may succeed: the server or the network, not the request.
pub fn is_transient(code: Code) -> bool {
    !matches!(
        code,
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::OutOfRange
    )
}
