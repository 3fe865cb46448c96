//! Running hashing and verification off the async runtime, a bounded number at a
//! time, so a burst of logins queues instead of starving other tasks or memory.
//!
//! The work runs on threads of the pool's own, not on tokio's blocking pool:
//! each argon2 hash allocates its memory (19 MiB by default), and the allocator
//! keeps what a thread freed for that thread. On a few fixed threads that is a
//! few buffers; spread over tokio's many blocking threads it grew to hundreds
//! of MiB under a burst of logins.
//!
//! The pool keeps a running average of how long a job takes, so a request
//! can be turned away at once when its work would wait too long
//! ([`HashingPool::admit`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

use crate::{Argon2Params, CredentialError, Verification};

/// Async front for the CPU-bound operations, run on `permits` threads of its
/// own. Each call waits for a slot, then hands its work to the threads. Cheap
/// to clone; clones share the threads and slots.
#[derive(Debug, Clone)]
pub struct HashingPool {
    shared: Arc<Shared>,
}

struct Shared {
    /// Jobs handed to the threads: one running and one ready per thread, so
    /// a thread that finishes starts the next at once instead of sleeping
    /// until the runtime hands it over. More ready would only hash for
    /// callers that may have given up meanwhile.
    slots: Arc<Semaphore>,
    size: usize,
    /// Calls waiting for a slot plus calls running.
    depth: AtomicUsize,
    /// Jobs a thread is working on now.
    running: AtomicUsize,
    /// How long an argon2id job takes, in microseconds: a moving average
    /// over about the last eight; zero until the first one ends. Legacy
    /// checks (about a millisecond) are left out: a login that makes one
    /// also makes an argon2id hash, which is what it waits for.
    job_micros: AtomicU64,
    /// Requests admitted and not done yet, whether their work has reached
    /// the pool or not.
    admitted: AtomicUsize,
    /// To the worker threads; they end when the last clone of the pool is gone.
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The most threads a pool runs: each holds a hash's memory while it works.
pub const MOST_HASHES_AT_ONCE: usize = 1024;

impl HashingPool {
    /// A pool running at most `permits` operations at once (at least one,
    /// at most [`MOST_HASHES_AT_ONCE`]).
    pub fn new(permits: usize) -> Self {
        let size = permits.clamp(1, MOST_HASHES_AT_ONCE);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..size {
            let receiver = Arc::clone(&receiver);
            let spawned = std::thread::Builder::new()
                .name(format!("si-hash-{n}"))
                .spawn(move || {
                    loop {
                        let next = receiver.lock().map(|r| r.recv());
                        match next {
                            Ok(Ok(job)) => job(),
                            _ => return,
                        }
                    }
                });
            // A thread that could not start leaves the others to do its share.
            drop(spawned);
        }
        Self {
            shared: Arc::new(Shared {
                slots: Arc::new(Semaphore::new(size * 2)),
                size,
                depth: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                job_micros: AtomicU64::new(0),
                admitted: AtomicUsize::new(0),
                jobs: Mutex::new(sender),
            }),
        }
    }

    /// One slot per CPU the process may use: more would only add memory, not speed.
    pub fn sized_to_cpus() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// Operations waiting or running, for a metrics gauge.
    pub fn queue_depth(&self) -> usize {
        self.shared.depth.load(Ordering::Relaxed)
    }

    /// Operations running now; never more than the pool size.
    pub fn running(&self) -> usize {
        self.shared.running.load(Ordering::Relaxed)
    }

    /// A place in line for a request whose work (a password check) would
    /// start within `max_wait`, or none when it would wait longer. The
    /// place counts as waiting from now until it is dropped, also while
    /// the request does other work before it hands its hash to the pool:
    /// requests that arrive together see each other and cannot all slip in
    /// before the first of them is queued.
    pub fn admit(&self, max_wait: Duration) -> Option<Admission> {
        let before = self.shared.admitted.fetch_add(1, Ordering::Relaxed);
        let admission = Admission(Arc::clone(&self.shared));
        let line = self.queue_depth().max(before);
        (self.shared.wait_behind(line) <= max_wait).then_some(admission)
    }

    /// Whether [`HashingPool::admit`] would admit a request now, without
    /// taking a place: a cheap first look before work that should not
    /// hold one.
    pub fn has_room(&self, max_wait: Duration) -> bool {
        let line = self
            .queue_depth()
            .max(self.shared.admitted.load(Ordering::Relaxed));
        self.shared.wait_behind(line) <= max_wait
    }

    /// [`crate::hash_password`] on the pool.
    pub async fn hash(&self, password: String, params: Argon2Params) -> Result<String, CredentialError> {
        self.run(move || crate::hash_password(&password, &params), Timed::Yes)
            .await
    }

    /// [`crate::verify_password`] on the pool.
    pub async fn verify(
        &self,
        password: String,
        stored: String,
        params: Argon2Params,
    ) -> Result<Verification, CredentialError> {
        let timed = match crate::HashFormat::detect(&stored) {
            Ok(format) if !format.is_legacy() => Timed::Yes,
            _ => Timed::No,
        };
        self.run(move || crate::verify_password(&password, &stored, &params), timed)
            .await
    }

    /// [`crate::dummy_verify`] on the pool, so unknown users queue like known ones.
    pub async fn dummy_verify(&self, password: String, params: Argon2Params) -> Result<(), CredentialError> {
        self.run(
            move || {
                crate::dummy_verify(&password, &params);
                Ok(())
            },
            Timed::Yes,
        )
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, CredentialError> + Send + 'static,
        timed: Timed,
    ) -> Result<T, CredentialError> {
        let depth = DepthGuard::enter(Arc::clone(&self.shared));
        let slot = Arc::clone(&self.shared.slots)
            .acquire_owned()
            .await
            .map_err(|_| CredentialError::WorkerLost)?;
        // The slot and the gauge entry move into the job: if the caller gives
        // up, the work still runs to its end and stays counted until then.
        let (done, result) = oneshot::channel();
        let shared = Arc::clone(&self.shared);
        let work: Job = Box::new(move || {
            shared.running.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let outcome = job();
            if timed == Timed::Yes {
                shared.record_job(started.elapsed());
            }
            shared.running.fetch_sub(1, Ordering::Relaxed);
            // Released before the caller hears, so it never sees its own job counted.
            drop((slot, depth, shared));
            let _ = done.send(outcome);
        });
        self.shared
            .jobs
            .lock()
            .map_err(|_| CredentialError::WorkerLost)?
            .send(work)
            .map_err(|_| CredentialError::WorkerLost)?;
        result.await.map_err(|_| CredentialError::WorkerLost)?
    }
}

impl Shared {
    /// How long work waits behind `line` others: none while a thread is
    /// free; otherwise the others still waiting, plus one running to its
    /// end, shared over the threads, at the average time a job takes (zero
    /// until a job has ended).
    fn wait_behind(&self, line: usize) -> Duration {
        let Some(waiting) = line.checked_sub(self.size) else {
            return Duration::ZERO;
        };
        let micros = self.job_micros.load(Ordering::Relaxed);
        let turns = waiting as u64 + 1;
        Duration::from_micros(turns.saturating_mul(micros) / self.size as u64)
    }

    /// Moves the average an eighth of the way to this job's time. Threads
    /// racing here may lose one sample, which an average can spare.
    fn record_job(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let average = self.job_micros.load(Ordering::Relaxed);
        let next = match average {
            0 => sample,
            _ => average - average / 8 + sample / 8,
        };
        self.job_micros.store(next.max(1), Ordering::Relaxed);
    }
}

/// Whether a job's time goes into the average a wait is estimated with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timed {
    Yes,
    No,
}

/// A request's place in line, from [`HashingPool::admit`]; given up when dropped.
#[must_use = "the place in line is given up when dropped"]
pub struct Admission(Arc<Shared>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admission")
    }
}

struct DepthGuard(Arc<Shared>);

impl DepthGuard {
    fn enter(shared: Arc<Shared>) -> Self {
        shared.depth.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        self.0.depth.fetch_sub(1, Ordering::Relaxed);
    }
}
