//! `pricing.v1.PricingService`: each call is admitted (API key, quotas), given its class and
//! deadline, queued on the scheduler, run by the engine on a worker, and answered; every answer
//! is counted, timed and logged with the request id.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pricing_engine::pipeline::{Observer, Stage, quote_model_observed};
use pricing_engine::pricing::Priority;
use pricing_engine::{QuoteError, analyze, parse};
use pricing_proto::v1;
use pricing_proto::v1::pricing_service_server::PricingService;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::{Admitted, Auth, Denied};
use crate::config::Config;
use crate::convert;
use crate::metrics::{MethodLabels, Metrics, RequestLabels, ShedLabels, StageLabels};
use crate::scheduler::{Cancel, Dropped, Lane, Reservation, Scheduler};
use crate::status::{Failure, code_name};

/// What every call shares.
pub struct AppState {
    pub config: Config,
    pub scheduler: Scheduler,
    pub auth: Auth,
    pub metrics: Arc<Metrics>,
}

#[derive(Clone)]
pub struct Service {
    state: Arc<AppState>,
}

impl Service {
    pub fn new(state: Arc<AppState>) -> Service {
        Service { state }
    }
}

/// How long before the caller's deadline the answer is sent: tonic answers an expired deadline
/// with CANCELLED (the server's timer, and the client's own), so DEADLINE_EXCEEDED must reach
/// the client first. A tenth of the time allowed, between 5 and 50 ms.
fn deadline_margin(allowed: Duration) -> Duration {
    (allowed / 10).clamp(Duration::from_millis(5), Duration::from_millis(50))
}

/// The `grpc-timeout` header (`<digits><unit>`, unit one of H M S m u n).
fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let text = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value * 3600),
        "M" => Duration::from_secs(value * 60),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

fn request_id(metadata: &MetadataMap) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if let Some(id) = metadata
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128)
    {
        return id.to_string();
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "{:016x}",
        seed ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(32)
    )
}

fn class_name(priority: Priority) -> &'static str {
    match priority {
        Priority::High => "high",
        Priority::Regular => "regular",
    }
}

/// One call, from arrival to answer.
struct Call {
    method: &'static str,
    started: Instant,
    request_id: String,
    tenant: String,
    priority: &'static str,
    /// When to answer DEADLINE_EXCEEDED at the latest (the caller's deadline, less a margin).
    deadline: Option<Instant>,
}

/// Cancels the call's work if the handler is dropped before it answers (the client went away).
struct CancelOnDrop {
    cancel: Cancel,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.cancel.cancel();
        }
    }
}

/// The engine's view of a call: stage times to the metrics, and stop when the caller is gone
/// or its deadline has passed.
struct Watch {
    cancel: Cancel,
    deadline: Option<Instant>,
    metrics: Arc<Metrics>,
}

impl Observer for Watch {
    fn stage_done(&self, stage: Stage, elapsed: Duration) {
        self.metrics
            .stage_seconds
            .get_or_create(&StageLabels {
                stage: stage.name(),
            })
            .observe(elapsed.as_secs_f64());
    }

    fn should_stop(&self) -> bool {
        self.cancel.is_cancelled() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Service {
    fn begin(&self, method: &'static str, metadata: &MetadataMap) -> Call {
        Call {
            method,
            started: Instant::now(),
            request_id: request_id(metadata),
            tenant: String::new(),
            priority: "none",
            deadline: grpc_timeout(metadata)
                .map(|allowed| Instant::now() + allowed.saturating_sub(deadline_margin(allowed))),
        }
    }

    fn admit(&self, call: &mut Call, metadata: &MetadataMap) -> Result<Admitted, Failure> {
        let key = metadata
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                metadata
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
            });
        let admitted = self.state.auth.admit(key).map_err(|denied| {
            if let Denied::Rate { class, .. } | Denied::Concurrency { class, .. } = denied {
                call.priority = class_name(class);
            }
            Failure::Denied(denied)
        })?;
        call.tenant = admitted.caller.tenant.clone();
        Ok(admitted)
    }

    /// The class the call runs at: what it asks for, at most what its key allows.
    fn priority(
        &self,
        call: &mut Call,
        admitted: &Admitted,
        asked: i32,
    ) -> Result<Priority, Failure> {
        let allowed = admitted.caller.max_priority;
        let priority = match convert::asked_priority(asked)? {
            None => allowed,
            Some(Priority::High) if allowed == Priority::Regular => {
                return Err(Failure::PriorityTooHigh {
                    tenant: admitted.caller.tenant.clone(),
                });
            }
            Some(asked) => asked,
        };
        call.priority = class_name(priority);
        Ok(priority)
    }

    /// Runs `work` on the scheduler in the call's lane and waits for it, at most until the
    /// caller's deadline.
    async fn run<T: Send + 'static>(
        &self,
        call: &Call,
        priority: Priority,
        reservation: Reservation,
        work: impl FnOnce(&Watch) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        let lane = match priority {
            Priority::High => Lane::High,
            Priority::Regular => Lane::Regular,
        };
        let cancel = Cancel::default();
        let mut guard = CancelOnDrop {
            cancel: cancel.clone(),
            armed: true,
        };
        let answer_by = call.deadline;
        let watch = Watch {
            cancel: cancel.clone(),
            deadline: answer_by,
            metrics: self.state.metrics.clone(),
        };
        let pending = self
            .state
            .scheduler
            .submit(lane, reservation, answer_by, cancel.clone(), move || {
                let result = work(&watch);
                match result {
                    Err(Failure::Quote {
                        error: QuoteError::Stopped { .. },
                        ..
                    }) if watch.cancel.is_cancelled() => Err(Failure::Dropped(Dropped::Cancelled)),
                    Err(Failure::Quote {
                        error: QuoteError::Stopped { .. },
                        ..
                    }) => Err(Failure::DeadlineExceeded),
                    other => other,
                }
            })
            .map_err(Failure::Refused)?;
        let outcome = match answer_by {
            Some(at) => match tokio::time::timeout_at(at.into(), pending.wait()).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    // Answer now; the job is dropped if still queued, or stops at its next
                    // stage boundary.
                    cancel.cancel();
                    guard.armed = false;
                    return Err(Failure::DeadlineExceeded);
                }
            },
            None => pending.wait().await,
        };
        guard.armed = false;
        outcome.map_err(Failure::Dropped)?
    }

    /// Counts, times and logs the answer, and turns a failure into its status.
    fn finish<T>(&self, call: Call, result: Result<T, Failure>) -> Result<Response<T>, Status> {
        let metrics = &self.state.metrics;
        let (code, response) = match result {
            Ok(message) => {
                let mut response = Response::new(message);
                if let Ok(value) = call.request_id.parse() {
                    response.metadata_mut().insert("x-request-id", value);
                }
                ("OK", Ok(response))
            }
            Err(failure) => {
                if let Some(reason) = failure.shed_reason() {
                    metrics
                        .shed
                        .get_or_create(&ShedLabels {
                            priority: call.priority,
                            reason,
                        })
                        .inc();
                }
                let status = failure.status();
                (code_name(status.code()), Err(status))
            }
        };
        let elapsed = call.started.elapsed();
        metrics
            .requests
            .get_or_create(&RequestLabels {
                method: call.method,
                code,
                priority: call.priority,
            })
            .inc();
        metrics
            .request_seconds
            .get_or_create(&MethodLabels {
                method: call.method,
                priority: call.priority,
            })
            .observe(elapsed.as_secs_f64());
        let message = response.as_ref().err().map(|s| s.message().to_string());
        tracing::info!(
            request_id = %call.request_id,
            method = call.method,
            tenant = %call.tenant,
            priority = call.priority,
            code,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            error = message.as_deref().unwrap_or(""),
            "answered"
        );
        response
    }

    /// Quotes one model: the work behind Quote and QuoteUpload.
    async fn quote_model(
        &self,
        call: &mut Call,
        admitted: &Admitted,
        options: v1::QuoteOptions,
        model: Vec<u8>,
        reservation: Reservation,
    ) -> Result<v1::QuoteResponse, Failure> {
        let priority = self.priority(call, admitted, options.priority)?;
        let engine_options = convert::quote_options(&options, priority)?;
        let load = convert::load_options(options.unit, &self.state.config.limits)?;
        let state = self.state.clone();
        let file = options.file_name;
        self.run(call, priority, reservation, move |watch| {
            state.metrics.bytes.inc_by(model.len() as u64);
            let quoted =
                quote_model_observed(&model, &load, &engine_options, &state.config.book, watch)
                    .map_err(|error| Failure::Quote { file, error })?;
            state
                .metrics
                .triangles
                .inc_by(quoted.analysis.n_triangles_in_file);
            Ok(convert::quote(&quoted, priority))
        })
        .await
    }
}

#[tonic::async_trait]
impl PricingService for Service {
    async fn quote(
        &self,
        request: Request<v1::QuoteRequest>,
    ) -> Result<Response<v1::QuoteResponse>, Status> {
        let mut call = self.begin("Quote", request.metadata());
        let result = async {
            let admitted = self.admit(&mut call, request.metadata())?;
            let request = request.into_inner();
            let options = request
                .options
                .ok_or_else(|| Failure::BadRequest("options are required".to_string()))?;
            let reservation = self
                .state
                .scheduler
                .reserve(request.model.len() as u64)
                .map_err(Failure::Refused)?;
            self.quote_model(&mut call, &admitted, options, request.model, reservation)
                .await
        }
        .await;
        self.finish(call, result)
    }

    async fn quote_upload(
        &self,
        request: Request<Streaming<v1::UploadChunk>>,
    ) -> Result<Response<v1::QuoteResponse>, Status> {
        let mut call = self.begin("QuoteUpload", request.metadata());
        let result = async {
            // The key is checked before a byte of the model is read.
            let admitted = self.admit(&mut call, request.metadata())?;
            let mut stream = request.into_inner();
            let first = stream.message().await.map_err(|status| {
                Failure::BadRequest(format!("reading the upload: {}", status.message()))
            })?;
            let Some(v1::UploadChunk {
                part: Some(v1::upload_chunk::Part::Options(options)),
            }) = first
            else {
                return Err(Failure::BadRequest(
                    "the first message of an upload must carry the options".to_string(),
                ));
            };
            let limit = self.state.config.limits.max_upload_bytes;
            let mut reservation = self.state.scheduler.reserve(0).map_err(Failure::Refused)?;
            let mut model = Vec::new();
            let mut index = 1u64;
            while let Some(chunk) = stream.message().await.map_err(|status| {
                Failure::BadRequest(format!(
                    "reading upload message {index}: {}",
                    status.message()
                ))
            })? {
                let Some(v1::upload_chunk::Part::Data(data)) = chunk.part else {
                    return Err(Failure::BadRequest(format!(
                        "upload message {index} carries no data: the options may come only first"
                    )));
                };
                if model.len() as u64 + data.len() as u64 > limit {
                    return Err(Failure::BadRequest(format!(
                        "the upload is larger than the server's limit of {limit} bytes"
                    )));
                }
                reservation
                    .grow(data.len() as u64)
                    .map_err(Failure::Refused)?;
                model.extend_from_slice(&data);
                index += 1;
            }
            self.quote_model(&mut call, &admitted, options, model, reservation)
                .await
        }
        .await;
        self.finish(call, result)
    }

    async fn quote_order(
        &self,
        request: Request<v1::OrderQuoteRequest>,
    ) -> Result<Response<v1::OrderQuote>, Status> {
        let mut call = self.begin("QuoteOrder", request.metadata());
        let result = async {
            let admitted = self.admit(&mut call, request.metadata())?;
            let order = request.into_inner();
            let limits = &self.state.config.limits;
            if order.lines.is_empty() {
                return Err(Failure::BadRequest("the order has no lines".to_string()));
            }
            if order.lines.len() > limits.max_order_lines {
                return Err(Failure::BadRequest(format!(
                    "the order has {} lines; at most {}",
                    order.lines.len(),
                    limits.max_order_lines
                )));
            }
            let priority = self.priority(&mut call, &admitted, order.priority)?;
            let mut lines = Vec::new();
            let mut bytes = 0u64;
            for (i, line) in order.lines.into_iter().enumerate() {
                let name = if line.line_id.is_empty() {
                    format!("line {}", i + 1)
                } else {
                    format!("line `{}`", line.line_id)
                };
                let mut options = line
                    .options
                    .ok_or_else(|| Failure::BadRequest(format!("{name}: options are required")))?;
                options.lead_time.clone_from(&order.lead_time);
                let engine_options = convert::quote_options(&options, priority).map_err(|f| {
                    Failure::BadRequest(format!("{name}: {}", f.status().message()))
                })?;
                let load = convert::load_options(options.unit, limits)?;
                bytes += line.model.len() as u64;
                lines.push((line.line_id, name, line.model, engine_options, load));
            }
            let reservation = self
                .state
                .scheduler
                .reserve(bytes)
                .map_err(Failure::Refused)?;
            let state = self.state.clone();
            let order_id = order.order_id;
            self.run(&call, priority, reservation, move |watch| {
                let mut out = v1::OrderQuote {
                    order_id,
                    lines: Vec::new(),
                    total_minor: 0,
                    currency: state.config.book.currency.clone(),
                    price_book_version: state.config.book.version.clone(),
                };
                for (line_id, name, model, options, load) in lines {
                    state.metrics.bytes.inc_by(model.len() as u64);
                    let quoted =
                        quote_model_observed(&model, &load, &options, &state.config.book, watch)
                            .map_err(|error| Failure::Quote { file: name, error })?;
                    state
                        .metrics
                        .triangles
                        .inc_by(quoted.analysis.n_triangles_in_file);
                    out.total_minor += quoted.chosen.quote.total_minor;
                    out.lines.push(v1::OrderLineQuote {
                        line_id,
                        quote: Some(convert::quote(&quoted, priority)),
                    });
                }
                Ok(out)
            })
            .await
        }
        .await;
        self.finish(call, result)
    }

    async fn analyze(
        &self,
        request: Request<v1::AnalyzeRequest>,
    ) -> Result<Response<v1::Analysis>, Status> {
        let mut call = self.begin("Analyze", request.metadata());
        let result = async {
            let admitted = self.admit(&mut call, request.metadata())?;
            let priority = self.priority(&mut call, &admitted, 0)?;
            let request = request.into_inner();
            let load = convert::load_options(request.unit, &self.state.config.limits)?;
            let reservation = self
                .state
                .scheduler
                .reserve(request.model.len() as u64)
                .map_err(Failure::Refused)?;
            let state = self.state.clone();
            self.run(&call, priority, reservation, move |watch| {
                let started = Instant::now();
                state.metrics.bytes.inc_by(request.model.len() as u64);
                let mesh = parse(&request.model, &load).map_err(|error| Failure::Quote {
                    file: request.file_name.clone(),
                    error: QuoteError::Mesh(error),
                })?;
                watch.stage_done(Stage::Parse, started.elapsed());
                let started = Instant::now();
                let analysis = analyze(&mesh);
                watch.stage_done(Stage::Analyze, started.elapsed());
                state.metrics.triangles.inc_by(analysis.n_triangles_in_file);
                Ok(convert::analysis(&analysis))
            })
            .await
        }
        .await;
        self.finish(call, result)
    }

    async fn get_price_book(
        &self,
        request: Request<v1::GetPriceBookRequest>,
    ) -> Result<Response<v1::PriceBook>, Status> {
        let mut call = self.begin("GetPriceBook", request.metadata());
        let result = self.admit(&mut call, request.metadata()).map(|admitted| {
            call.priority = class_name(admitted.caller.max_priority);
            convert::price_book(&self.state.config.book, &self.state.config.book_toml)
        });
        self.finish(call, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_units() {
        let mut metadata = MetadataMap::new();
        for (text, expected) in [
            ("1S", Some(Duration::from_secs(1))),
            ("250m", Some(Duration::from_millis(250))),
            ("2H", Some(Duration::from_secs(7200))),
            ("5u", Some(Duration::from_micros(5))),
            ("123456789S", None),
            ("S", None),
            ("10x", None),
        ] {
            metadata.insert("grpc-timeout", text.parse().expect("ascii"));
            assert_eq!(grpc_timeout(&metadata), expected, "{text}");
        }
    }
}
