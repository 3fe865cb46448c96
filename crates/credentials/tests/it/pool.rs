//! The async hashing pool: bounded concurrency, observable depth, correct results.

use std::time::Duration;

use si_credentials::{Argon2Params, HashingPool, Verification};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_at_most_permits_at_once_and_queues_the_rest() {
    const PERMITS: usize = 2;
    const JOBS: usize = 6;
    let pool = HashingPool::new(PERMITS);
    let params = Argon2Params::default();

    let jobs: Vec<_> = (0..JOBS)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let password = format!("password {i}");
                let stored = pool.hash(password.clone(), params).await.unwrap();
                (password, stored)
            })
        })
        .collect();

    let (mut max_running, mut max_depth) = (0, 0);
    while !jobs.iter().all(|job| job.is_finished()) {
        max_running = max_running.max(pool.running());
        max_depth = max_depth.max(pool.queue_depth());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(max_running <= PERMITS, "ran {max_running} at once");
    assert!(max_running >= 1);
    assert!(max_depth > PERMITS, "never saw a queue (max depth {max_depth})");

    for job in jobs {
        let (password, stored) = job.await.unwrap();
        assert_eq!(
            pool.verify(password, stored, params).await,
            Ok(Verification::Match { needs_upgrade: false })
        );
    }
    assert_eq!(pool.queue_depth(), 0);
    assert_eq!(pool.running(), 0);
}

#[tokio::test]
async fn verifies_legacy_hashes_and_runs_dummy_work() {
    let pool = HashingPool::sized_to_cpus();
    let params = Argon2Params::default();
    // Drepper's SHA-crypt specification, first SHA-512 vector.
    let stored = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
    assert_eq!(
        pool.verify("Hello world!".into(), stored.into(), params).await,
        Ok(Verification::Match { needs_upgrade: true })
    );
    assert_eq!(
        pool.verify("Hello world".into(), stored.into(), params).await,
        Ok(Verification::Mismatch)
    );
    assert_eq!(pool.dummy_verify("anything".into(), params).await, Ok(()));
}

#[test]
fn a_zero_sized_pool_still_has_one_slot() {
    let pool = HashingPool::new(0);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let stored = runtime
        .block_on(pool.hash("pw".into(), Argon2Params::default()))
        .unwrap();
    assert!(stored.starts_with("$argon2id$"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admits_only_requests_whose_work_would_start_in_time() {
    let pool = HashingPool::new(1);
    let params = Argon2Params::default();
    let no_wait = Duration::ZERO;
    let ahead = pool.admit(no_wait).expect("idle");
    assert!(
        pool.admit(no_wait).is_some(),
        "nothing timed yet: one ahead, but no wait known"
    );
    drop(ahead);
    let started = std::time::Instant::now();
    pool.hash("first".into(), params).await.unwrap();
    let one_job = started.elapsed();
    assert!(pool.admit(no_wait).is_some(), "idle");

    // A request admitted and not at the pool yet holds its place in line.
    let first = pool.admit(no_wait).expect("idle");
    assert!(pool.admit(no_wait).is_none(), "one ahead on the only thread");
    assert!(pool.admit(one_job * 2).is_some(), "one job's wait is allowed");
    drop(first);
    assert!(pool.admit(no_wait).is_some(), "the place was given up");

    let jobs: Vec<_> = (0..3)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.hash(format!("password {i}"), params).await })
        })
        .collect();
    let queued = tokio::time::timeout(Duration::from_secs(10), async {
        while pool.queue_depth() < 3 {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    });
    queued.await.expect("three jobs reach the pool");
    // One running and two waiting on one thread: about three jobs' time
    // (two, if the first ended meanwhile).
    assert!(pool.admit(one_job / 2).is_none(), "three jobs ahead");
    assert!(pool.admit(one_job * 4).is_some(), "at most three jobs ahead");
    for job in jobs {
        job.await.unwrap().unwrap();
    }
    assert!(pool.admit(no_wait).is_some(), "idle again");
}
