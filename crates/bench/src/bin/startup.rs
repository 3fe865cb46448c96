//! Start-up to `/readyz` on an empty SQLite database, and resident memory when
//! idle: runs the real binary several times, each in a fresh data directory.
//!
//! Usage: `startup [--binary PATH] [--runs N]` (defaults: target/release/single-identity, 10).

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

struct Run {
    ready_after: Duration,
    idle_rss_kib: u64,
}

fn main() -> ExitCode {
    let mut binary = "target/release/single-identity".to_owned();
    let mut runs = 10usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--binary", Some(path)) => binary = path,
            ("--runs", Some(n)) if n.parse::<usize>().is_ok_and(|n| n > 0) => runs = n.parse().unwrap_or(10),
            _ => {
                eprintln!("usage: startup [--binary PATH] [--runs N]");
                return ExitCode::from(2);
            }
        }
    }
    let mut results = Vec::with_capacity(runs);
    for _ in 0..runs {
        match measure(&binary) {
            Ok(run) => results.push(run),
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    let mut ready: Vec<f64> = results
        .iter()
        .map(|r| r.ready_after.as_secs_f64() * 1000.0)
        .collect();
    let mut rss: Vec<f64> = results.iter().map(|r| r.idle_rss_kib as f64 / 1024.0).collect();
    println!("{runs} runs of {binary} serve on an empty SQLite database");
    println!("{:<38} {:>8} {:>8} {:>8}", "", "min", "median", "max");
    let (lo, mid, hi) = spread(&mut ready);
    println!(
        "{:<38} {lo:>8.1} {mid:>8.1} {hi:>8.1}",
        "start-up to /readyz 200 (ms)"
    );
    let (lo, mid, hi) = spread(&mut rss);
    println!(
        "{:<38} {lo:>8.1} {mid:>8.1} {hi:>8.1}",
        "resident memory, idle after 1 s (MiB)"
    );
    ExitCode::SUCCESS
}

fn spread(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[0], values[values.len() / 2], values[values.len() - 1])
}

fn measure(binary: &str) -> Result<Run, String> {
    let dir = std::env::temp_dir().join(format!("si-startup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("serve")
        .env("SI_LISTEN", "127.0.0.1:0")
        .env("SI_DATA_DIR", &dir)
        .env("SI_LOG_FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e} (build it with cargo build --release)"))?;
    let result = wait_ready(&mut child, started).and_then(|ready_after| {
        std::thread::sleep(Duration::from_secs(1));
        Ok(Run {
            ready_after,
            idle_rss_kib: resident_kib(child.id())?,
        })
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn wait_ready(child: &mut Child, started: Instant) -> Result<Duration, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let address = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|url| url.strip_prefix("http://"))
        .ok_or_else(|| format!("unexpected first line: {line:?}"))?
        .to_owned();
    let deadline = started + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ready(&address) {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    Err("not ready within 10 s".into())
}

fn ready(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

fn resident_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc status".into())
}
