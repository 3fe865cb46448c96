//! Password hashing throughput: argon2id at the default parameters on one core and
//! on all cores through `HashingPool`, then verification speed of every legacy format.
//!
//! Usage: `hashes [--seconds N]` (N seconds per measurement, default 2).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use si_credentials::{Argon2Params, HashingPool, Verification, hash_password, verify_password};

/// Published vectors at the parameters legacy systems typically used; each row
/// also proves the verifier still agrees with the reference before it is timed.
const LEGACY: &[(&str, &str, &str, &str)] = &[
    (
        "bcrypt",
        "cost=10",
        "~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
        "$2a$10$LgfYWkbzEvQ4JakH7rOvHe0y8pHKF9OaFgwUZ2q7W2FFZmZzJYlfS",
    ),
    (
        "sha512-crypt",
        "rounds=5000",
        "Hello world!",
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ),
    (
        "sha256-crypt",
        "rounds=5000",
        "Hello world!",
        "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
    ),
    (
        "md5-crypt",
        "1000 rounds (fixed)",
        "U*U*U*U*",
        "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1",
    ),
    (
        "scrypt",
        "N=16384 r=8 p=1",
        "pleaseletmein",
        "$scrypt$ln=14,r=8,p=1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046/2o+7qQT44+qbVD9lRdofI",
    ),
    (
        "{PBKDF2} sha1",
        "rounds=10000",
        "password",
        "{PBKDF2}10000$IlfapjA351LuDSwYC0IQ8Q$saHqQTuYnjJN/tmAndT.8mJt.6w",
    ),
    (
        "{PBKDF2-SHA256}",
        "rounds=10000",
        "password",
        "{PBKDF2-SHA256}10000$henZGfPWw79Cs8ORDeVNrQ$1dTJy73v6n3bnTmTZFghxHXHLsAzKaAy8SksDfZBPIw",
    ),
    (
        "{PBKDF2-SHA512}",
        "rounds=10000",
        "password",
        "{PBKDF2-SHA512}10000$Je1Uw19Bfv5lArzZ6V3EPw$g4T/1sqBUYWl9o93MVnyQ/8zKGSkPbKaXXsT8WmysXQJhWy8MRP2JFudSL.N9RklQYgDPxPjnfum/F2f/TrppA",
    ),
    (
        "argon2i v1.3",
        "m=65536 t=2 p=1",
        "differentpassword",
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$FK6NoBr+qHAMI1jc73xTWNkCEoK9iGY6RWL1n7dNIu4",
    ),
    (
        "{SSHA512}",
        "1 round",
        "password",
        "{SSHA512}+7A8kA32q4mCBao4Cbatdyzl5imVwJ62ZAE7UOTP4pfrF90E9R2LabOfJFzx6guaYhTmUEVK2wRKC8bToqspdeTluX2d1BX2",
    ),
    (
        "{SSHA}",
        "1 round",
        "password",
        "{SSHA}jdALDtX0+MVMkRsX0ilHz0O6Uos95D4s",
    ),
    (
        "{SHA}",
        "1 round",
        "password",
        "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    ),
];

/// passlib's default pbkdf2_sha256 cost, for scaling the 10 000-round vector.
const PASSLIB_PBKDF2_SHA256_ROUNDS: f64 = 29_000.0;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hashes: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let seconds = parse_seconds(std::env::args().skip(1))?;
    let window = Duration::from_secs(seconds);
    let params = Argon2Params::default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    println!(
        "{:<22} {:<28} {:>12} {:>10}",
        "operation", "parameters", "per second", "ms each"
    );
    println!("{}", "-".repeat(75));

    let argon2_params = format!(
        "m={} t={} p={}",
        params.memory_kib(),
        params.iterations(),
        params.parallelism()
    );
    let single = measure(window, || hash_password("correct horse", &params).map(drop))
        .map_err(|err| format!("argon2id hash failed: {err}"))?;
    row("argon2id hash", &format!("{argon2_params}, 1 thread"), single);

    let pooled = measure_pool(window, cores, params)?;
    row("argon2id hash", &format!("{argon2_params}, pool×{cores}"), pooled);
    row("", "  per core (pool)", pooled / cores as f64);

    for (name, parameters, password, stored) in LEGACY {
        let check = || match verify_password(password, stored, &params) {
            Ok(Verification::Match { .. }) => Ok(()),
            other => Err(format!("{name} vector did not verify: {other:?}")),
        };
        let rate = measure(window, check)?;
        row(&format!("verify {name}"), parameters, rate);
        if *name == "{PBKDF2-SHA256}" {
            let scaled = rate * 10_000.0 / PASSLIB_PBKDF2_SHA256_ROUNDS;
            row("  scaled", "rounds=29000 (passlib)", scaled);
        }
    }
    println!("\n{cores} CPU(s) available; {seconds} s per measurement.");
    Ok(())
}

fn parse_seconds(mut args: impl Iterator<Item = String>) -> Result<u64, String> {
    let mut seconds = 2;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|value| *value > 0)
                    .ok_or("--seconds needs a positive whole number")?;
            }
            other => {
                return Err(format!("unknown argument {other:?}; usage: hashes [--seconds N]"));
            }
        }
    }
    Ok(seconds)
}

/// Operations per second of `operation` run back to back for at least `window`.
fn measure<E>(window: Duration, mut operation: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < window {
        operation()?;
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Hashes per second with `cores` callers each keeping the pool busy.
fn measure_pool(window: Duration, cores: usize, params: Argon2Params) -> Result<f64, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start tokio: {err}"))?;
    runtime.block_on(async move {
        let pool = HashingPool::new(cores);
        let start = Instant::now();
        let callers: Vec<_> = (0..cores * 2)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut count = 0u64;
                    while start.elapsed() < window {
                        pool.hash("correct horse".into(), params).await?;
                        count += 1;
                    }
                    Ok::<u64, si_credentials::CredentialError>(count)
                })
            })
            .collect();
        let mut total = 0;
        for caller in callers {
            total += caller
                .await
                .map_err(|err| format!("caller task failed: {err}"))?
                .map_err(|err| format!("pooled hash failed: {err}"))?;
        }
        Ok(total as f64 / start.elapsed().as_secs_f64())
    })
}

fn row(operation: &str, parameters: &str, per_second: f64) {
    println!(
        "{operation:<22} {parameters:<28} {per_second:>12.1} {:>10.3}",
        1000.0 / per_second
    );
}
