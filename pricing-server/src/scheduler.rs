//! The scheduler: engine work runs on its own rayon pools, never on tokio's threads, and waits
//! in two bounded lanes, high and regular, so that partners are served first under overload.
//!
//! - Each lane has its own pool. The regular pool's threads run at a lower CPU priority (nice
//!   `regular_niceness`), so a high job that starts while regular jobs run gets the cores it
//!   would have on an idle server (a quote is parallel inside), and regular work still moves.
//!
//! - At most `workers` jobs run at once, plus `high_reserved` slots that only high jobs may
//!   take: a partner's request starts at once even when regular work fills every worker. The
//!   backlog stays in the lanes, not in rayon's deque, so priority, deadlines and
//!   cancellation are decided when a worker frees up.
//! - A free worker takes from the high lane first, but after `high_per_regular` high jobs in a
//!   row it takes one regular job if any waits: regular work is never starved.
//! - A full lane, or model bytes beyond the `queued_bytes` budget, refuses the job at once
//!   ([`Refusal::Shed`]) with an estimate of when to retry: memory stays bounded whatever the
//!   offered load. Bytes are reserved ([`Scheduler::reserve`]) as soon as a request holds them
//!   (an upload grows its reservation chunk by chunk) and released when its job ends.
//! - A job whose deadline has passed, or whose caller went away ([`Cancel`]), is dropped when it
//!   reaches the head of its lane, without running.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::SchedulerConfig;
use crate::metrics::{DroppedLabels, Metrics, PriorityLabels};

/// A scheduler lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    High,
    Regular,
}

impl Lane {
    pub fn name(self) -> &'static str {
        match self {
            Lane::High => "high",
            Lane::Regular => "regular",
        }
    }

    fn index(self) -> usize {
        match self {
            Lane::High => 0,
            Lane::Regular => 1,
        }
    }
}

/// Set when the caller no longer wants the answer; a queued job is then dropped, and a running
/// one stops at its next stage boundary.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why a job was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Its lane is full (`queue_full`) or the byte budget is spent (`memory`).
    Shed {
        reason: &'static str,
        retry_after: Duration,
    },
    /// The server is draining for shutdown.
    ShuttingDown,
}

/// Why an accepted job ended without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    DeadlineExceeded,
    Cancelled,
}

enum Start {
    Run,
    Drop(Dropped),
}

struct Job {
    lane: Lane,
    enqueued: Instant,
    deadline: Option<Instant>,
    cancel: Cancel,
    reservation: Reservation,
    start: Box<dyn FnOnce(Start) + Send>,
}

/// An accepted job's answer, to come.
pub struct Pending<T>(tokio::sync::oneshot::Receiver<Result<T, Dropped>>);

impl<T> Pending<T> {
    /// The job's result, or why it was dropped without running.
    pub async fn wait(self) -> Result<T, Dropped> {
        // A job that panicked never sends: its caller is answered as cancelled.
        self.0.await.unwrap_or(Err(Dropped::Cancelled))
    }
}

/// Model bytes held against the scheduler's budget, given back when dropped.
pub struct Reservation {
    inner: Arc<Inner>,
    bytes: u64,
}

impl Reservation {
    /// Holds `more` bytes too, if the budget allows.
    pub fn grow(&mut self, more: u64) -> Result<(), Refusal> {
        let mut state = self.inner.lock();
        if state.bytes + more > self.inner.config.queued_bytes {
            return Err(self.inner.shed(&state, "memory", Lane::Regular));
        }
        state.bytes += more;
        self.bytes += more;
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.inner.lock().bytes -= self.bytes;
    }
}

struct State {
    lanes: [VecDeque<Job>; 2],
    running: usize,
    rule: LaneRule,
    bytes: u64,
    /// Moving average of how long a job runs, for retry hints.
    mean_run_s: f64,
    closed: bool,
}

struct Inner {
    state: Mutex<State>,
    /// The high lane's pool, and the regular lane's (lower CPU priority).
    pools: [rayon::ThreadPool; 2],
    config: SchedulerConfig,
    metrics: Arc<Metrics>,
}

/// The two-lane scheduler; cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl Scheduler {
    /// A scheduler with its own pools: `workers + high_reserved` threads for high jobs,
    /// `workers` for regular ones.
    pub fn new(config: SchedulerConfig, metrics: Arc<Metrics>) -> std::io::Result<Scheduler> {
        let high = rayon::ThreadPoolBuilder::new()
            .num_threads(config.workers + config.high_reserved)
            .thread_name(|i| format!("pricing-high-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        let niceness = config.regular_niceness;
        let regular = rayon::ThreadPoolBuilder::new()
            .num_threads(config.workers)
            .thread_name(|i| format!("pricing-regular-{i}"))
            .start_handler(move |_| lower_priority(niceness))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Scheduler {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    lanes: [VecDeque::new(), VecDeque::new()],
                    running: 0,
                    rule: LaneRule::new(config.high_per_regular),
                    bytes: 0,
                    mean_run_s: 0.05,
                    closed: false,
                }),
                pools: [high, regular],
                config,
                metrics,
            }),
        })
    }

    /// Reserves `bytes` of the budget for a request's model data.
    pub fn reserve(&self, bytes: u64) -> Result<Reservation, Refusal> {
        let mut reservation = Reservation {
            inner: self.inner.clone(),
            bytes: 0,
        };
        reservation.grow(bytes)?;
        Ok(reservation)
    }

    /// Queues `work` in `lane`, holding `reservation` until it ends. The returned future gives
    /// its result, or why it was dropped.
    pub fn submit<T: Send + 'static>(
        &self,
        lane: Lane,
        reservation: Reservation,
        deadline: Option<Instant>,
        cancel: Cancel,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Pending<T>, Refusal> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = Box::new(move |start: Start| {
            let _ = tx.send(match start {
                Start::Run => Ok(work()),
                Start::Drop(why) => Err(why),
            });
        });
        {
            let mut state = self.inner.lock();
            if state.closed {
                return Err(Refusal::ShuttingDown);
            }
            let capacity = match lane {
                Lane::High => self.inner.config.high_queue,
                Lane::Regular => self.inner.config.regular_queue,
            };
            if state.lanes[lane.index()].len() >= capacity {
                // The reservation is given back after the lock is released.
                return Err(self.inner.shed(&state, "queue_full", lane));
            }
            state.lanes[lane.index()].push_back(Job {
                lane,
                enqueued: Instant::now(),
                deadline,
                cancel,
                reservation,
                start,
            });
            self.inner.set_depth(&state, lane);
        }
        pump(&self.inner);
        Ok(Pending(rx))
    }

    /// Refuses new work from now on; queued and running work still finishes.
    pub fn close(&self) {
        self.inner.lock().closed = true;
    }

    /// Jobs queued and running.
    pub fn pending(&self) -> usize {
        let state = self.inner.lock();
        state.lanes[0].len() + state.lanes[1].len() + state.running
    }

    /// Waits until no job is queued or running.
    pub async fn drained(&self) {
        while self.pending() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A job never runs under this lock, so a poisoned lock only means a panic in the
        // bookkeeping above; the state is still consistent enough to go on.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A refusal for load, with roughly when the lane's backlog will have gone through.
    fn shed(&self, state: &State, reason: &'static str, lane: Lane) -> Refusal {
        let ahead =
            (state.lanes[lane.index()].len() + state.running) as f64 / self.config.workers as f64;
        Refusal::Shed {
            reason,
            retry_after: Duration::from_secs_f64(
                ((ahead + 1.0) * state.mean_run_s).clamp(0.05, 30.0),
            ),
        }
    }

    fn set_depth(&self, state: &State, lane: Lane) {
        self.metrics
            .queue_depth
            .get_or_create(&PriorityLabels {
                priority: lane.name(),
            })
            .set(state.lanes[lane.index()].len() as i64);
    }
}

/// The lane rule, which the queue adapter follows too: high work first, but after
/// `high_per_regular` high picks in a row, a regular one if any waits.
#[derive(Debug, Clone, Copy)]
pub struct LaneRule {
    high_per_regular: u32,
    high_streak: u32,
}

impl LaneRule {
    pub fn new(high_per_regular: u32) -> LaneRule {
        LaneRule {
            high_per_regular,
            high_streak: 0,
        }
    }

    /// The lane to take from next, given which have work; `None` when neither has.
    pub fn pick(&mut self, high_waits: bool, regular_waits: bool) -> Option<Lane> {
        if high_waits && (!regular_waits || self.high_streak < self.high_per_regular) {
            self.high_streak += 1;
            Some(Lane::High)
        } else if regular_waits {
            self.high_streak = 0;
            Some(Lane::Regular)
        } else {
            None
        }
    }
}

impl State {
    /// The next job by the lane rule; only a high one when `regular_allowed` is false.
    fn pick(&mut self, regular_allowed: bool) -> Option<Job> {
        let high_waits = !self.lanes[0].is_empty();
        let regular_waits = regular_allowed && !self.lanes[1].is_empty();
        let lane = self.rule.pick(high_waits, regular_waits)?;
        self.lanes[lane.index()].pop_front()
    }
}

/// Lowers the calling thread's CPU priority to `niceness` (0: leave it).
fn lower_priority(niceness: u8) {
    if niceness == 0 {
        return;
    }
    use thread_priority::{ThreadPriority, ThreadPriorityValue, set_current_thread_priority};
    // The crate maps 0..=99 onto niceness 19..=-20; find the value for `niceness`.
    let value = ((19 - i32::from(niceness.min(19))) * 99 / 39).clamp(0, 99) as u8;
    let outcome = ThreadPriorityValue::try_from(value)
        .map_err(|err| err.to_string())
        .and_then(|v| {
            set_current_thread_priority(ThreadPriority::Crossplatform(v))
                .map_err(|err| format!("{err:?}"))
        });
    if let Err(err) = outcome {
        tracing::warn!(
            niceness,
            "cannot lower the regular workers' priority: {err}"
        );
    }
}

/// Starts queued jobs while workers are free; drops the expired and cancelled ones it meets.
fn pump(inner: &Arc<Inner>) {
    let mut to_run = Vec::new();
    let mut to_drop = Vec::new();
    {
        let mut state = inner.lock();
        let workers = inner.config.workers;
        while state.running < workers + inner.config.high_reserved {
            let regular_allowed = state.running < workers;
            let Some(job) = state.pick(regular_allowed) else {
                break;
            };
            inner.set_depth(&state, job.lane);
            inner
                .metrics
                .queue_wait_seconds
                .get_or_create(&PriorityLabels {
                    priority: job.lane.name(),
                })
                .observe(job.enqueued.elapsed().as_secs_f64());
            let why = if job.deadline.is_some_and(|d| d <= Instant::now()) {
                Some(Dropped::DeadlineExceeded)
            } else if job.cancel.is_cancelled() {
                Some(Dropped::Cancelled)
            } else {
                None
            };
            match why {
                Some(why) => {
                    inner
                        .metrics
                        .jobs_dropped
                        .get_or_create(&DroppedLabels {
                            priority: job.lane.name(),
                            reason: match why {
                                Dropped::DeadlineExceeded => "deadline",
                                Dropped::Cancelled => "cancelled",
                            },
                        })
                        .inc();
                    to_drop.push((job, why));
                }
                None => {
                    state.running += 1;
                    to_run.push(job);
                }
            }
        }
        inner.metrics.workers_busy.set(state.running as i64);
    }
    // Outside the lock: a reservation takes it when dropped.
    for (job, why) in to_drop {
        let Job {
            start, reservation, ..
        } = job;
        start(Start::Drop(why));
        drop(reservation);
    }
    for job in to_run {
        let inner_for_job = inner.clone();
        inner.pools[job.lane.index()].spawn(move || {
            let Job {
                start, reservation, ..
            } = job;
            let started = Instant::now();
            // A panic in the engine must not take the worker's slot with it.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| start(Start::Run)));
            drop(reservation);
            {
                let mut state = inner_for_job.lock();
                state.running -= 1;
                state.mean_run_s = 0.8 * state.mean_run_s + 0.2 * started.elapsed().as_secs_f64();
            }
            if outcome.is_err() {
                tracing::error!("a job panicked; its caller gets no answer but CANCELLED");
            }
            pump(&inner_for_job);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheduler(workers: usize, queue: usize) -> Scheduler {
        Scheduler::new(
            SchedulerConfig {
                workers,
                high_queue: queue,
                regular_queue: queue,
                high_per_regular: 2,
                high_reserved: 0,
                regular_niceness: 10,
                queued_bytes: 1000,
            },
            Arc::new(Metrics::default()),
        )
        .expect("pool")
    }

    /// One worker held busy by a job that waits for `release`.
    fn block(s: &Scheduler) -> std::sync::mpsc::Sender<()> {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = std::sync::mpsc::channel::<()>();
        drop(
            s.submit(
                Lane::Regular,
                s.reserve(0).expect("budget"),
                None,
                Cancel::default(),
                move || {
                    started.send(()).ok();
                    wait.recv().ok();
                },
            )
            .expect("accepted"),
        );
        is_started.recv().expect("started");
        release
    }

    #[tokio::test]
    async fn high_first_but_regular_is_not_starved() {
        let s = scheduler(1, 100);
        let release = block(&s);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waits = Vec::new();
        for (lane, name) in [
            (Lane::Regular, "r1"),
            (Lane::Regular, "r2"),
            (Lane::High, "h1"),
            (Lane::High, "h2"),
            (Lane::High, "h3"),
            (Lane::High, "h4"),
        ] {
            let order = order.clone();
            waits.push(
                s.submit(
                    lane,
                    s.reserve(0).expect("budget"),
                    None,
                    Cancel::default(),
                    move || order.lock().expect("lock").push(name),
                )
                .expect("accepted"),
            );
        }
        release.send(()).expect("release");
        for wait in waits {
            wait.wait().await.expect("ran");
        }
        // Two high in a row at most while regular work waits.
        assert_eq!(
            *order.lock().expect("lock"),
            ["h1", "h2", "r1", "h3", "h4", "r2"]
        );
    }

    #[tokio::test]
    async fn a_reserved_slot_starts_high_work_past_busy_workers() {
        let s = Scheduler::new(
            SchedulerConfig {
                workers: 1,
                high_queue: 10,
                regular_queue: 10,
                high_per_regular: 2,
                high_reserved: 1,
                regular_niceness: 10,
                queued_bytes: 1000,
            },
            Arc::new(Metrics::default()),
        )
        .expect("pool");
        let release = block(&s);
        // The one worker is busy: regular work waits, high work runs in the reserved slot.
        let regular = s
            .submit(
                Lane::Regular,
                s.reserve(0).expect("budget"),
                None,
                Cancel::default(),
                || "regular",
            )
            .expect("accepted");
        let high = s
            .submit(
                Lane::High,
                s.reserve(0).expect("budget"),
                None,
                Cancel::default(),
                || "high",
            )
            .expect("accepted");
        assert_eq!(high.wait().await, Ok("high"));
        // The high job's slot is given back just after its answer is sent.
        for _ in 0..100 {
            if s.pending() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.pending(), 2, "the blocker and the regular job");
        release.send(()).expect("release");
        assert_eq!(regular.wait().await, Ok("regular"));
    }

    #[tokio::test]
    async fn full_lanes_and_the_byte_budget_shed() {
        let s = scheduler(1, 1);
        let release = block(&s);
        let _queued = s
            .submit(
                Lane::Regular,
                s.reserve(10).expect("budget"),
                None,
                Cancel::default(),
                || (),
            )
            .expect("accepted");
        match s.submit(
            Lane::Regular,
            s.reserve(10).expect("budget"),
            None,
            Cancel::default(),
            || (),
        ) {
            Err(Refusal::Shed {
                reason,
                retry_after,
            }) => {
                assert_eq!(reason, "queue_full");
                assert!(retry_after >= Duration::from_millis(50));
            }
            _ => panic!("a full lane sheds"),
        }
        // 10 bytes are held by the queued job: 991 more are over the budget of 1000.
        match s.reserve(991) {
            Err(Refusal::Shed { reason, .. }) => assert_eq!(reason, "memory"),
            _ => panic!("over the byte budget sheds"),
        }
        let mut growing = s.reserve(900).expect("within the budget");
        assert!(growing.grow(91).is_err());
        assert_eq!(growing.bytes(), 900);
        drop(growing);
        release.send(()).expect("release");
        s.drained().await;
        s.close();
        assert!(matches!(
            s.submit(
                Lane::High,
                s.reserve(1000).expect("all given back"),
                None,
                Cancel::default(),
                || ()
            ),
            Err(Refusal::ShuttingDown)
        ));
    }

    #[tokio::test]
    async fn expired_and_cancelled_jobs_are_dropped_unrun() {
        let s = scheduler(1, 10);
        let release = block(&s);
        let ran = Arc::new(AtomicBool::new(false));
        let (r1, r2) = (ran.clone(), ran.clone());
        let expired = s
            .submit(
                Lane::High,
                s.reserve(0).expect("budget"),
                Some(Instant::now() + Duration::from_millis(1)),
                Cancel::default(),
                move || r1.store(true, Ordering::Relaxed),
            )
            .expect("accepted");
        let cancel = Cancel::default();
        let cancelled = s
            .submit(
                Lane::High,
                s.reserve(0).expect("budget"),
                None,
                cancel.clone(),
                move || r2.store(true, Ordering::Relaxed),
            )
            .expect("accepted");
        cancel.cancel();
        std::thread::sleep(Duration::from_millis(5));
        release.send(()).expect("release");
        assert_eq!(expired.wait().await, Err(Dropped::DeadlineExceeded));
        assert_eq!(cancelled.wait().await, Err(Dropped::Cancelled));
        assert!(!ran.load(Ordering::Relaxed));
    }
}
