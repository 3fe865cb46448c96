//! Mail throughput: how fast mails are written to the outbox (one per
//! transaction, as actions do, and in bulk, as go-live does) and how fast the
//! delivery worker hands them to a local SMTP sink with pooled connections.
//!
//! Usage: `mail [--mails N] [--concurrency N] [--database-url URL]` (default 20000 mails into a
//! fresh SQLite file; give a PostgreSQL URL of an empty database to measure it).

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use si_domain::Email;
use si_store::{Repositories, Store, SystemClock, outbox::NewMail};
use single_identity::{
    config::Config,
    http::i18n::Language,
    mail::{self, Mail, delivery::Deliverer},
    oidc::keys::SealingKey,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

#[tokio::main]
async fn main() -> ExitCode {
    let mut mails = 20_000u64;
    let mut concurrency = Config::default().mail.concurrency;
    let mut database_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--mails", Some(n)) if n.parse::<u64>().is_ok() => mails = n.parse().unwrap_or(mails),
            ("--database-url", Some(url)) => database_url = Some(url),
            ("--concurrency", Some(n)) if n.parse::<u32>().is_ok_and(|n| n > 0) => {
                concurrency = n.parse().unwrap_or(concurrency)
            }
            _ => {
                eprintln!("usage: mail [--mails N] [--concurrency N] [--database-url URL]");
                return ExitCode::from(2);
            }
        }
    }
    match run(mails, concurrency, database_url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    mails: u64,
    concurrency: u32,
    database_url: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::connect(&url, Arc::new(SystemClock)).await?;
    store.migrate().await?;
    let backend = format!("{:?}", store.backend());
    let to = Email::parse("member@example.nl")?;
    let message = Mail::PasswordChanged {
        username: "20000000000001".into(),
    };
    // Mails are sealed as the service seals them; the key is thrown away.
    let sealing = SealingKey::from_base64(&"A".repeat(43))?;

    let started = Instant::now();
    for _ in 0..mails / 2 {
        let txn = store.begin().await?;
        mail::queue(&txn, &sealing, &to, Language::Nl, &message).await?;
        txn.commit().await?;
    }
    let single = rate(mails / 2, started);

    let started = Instant::now();
    let rows = (0..mails - mails / 2)
        .map(|_| {
            Some(NewMail {
                recipient: &to,
                template: message.template(),
                language: "nl",
                payload: mail::sealed_payload(&sealing, &to, &message)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or("cannot seal a mail")?;
    store.outbox().enqueue_many(rows).await?;
    let bulk = rate(mails - mails / 2, started);

    let (sink, received) = smtp_sink().await?;
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    config.mail.smtp_url = Some(format!("smtp://{sink}"));
    config.mail.concurrency = concurrency;
    let deliverer = Deliverer::new(store.clone(), sealing, Arc::new(config))?;
    let started = Instant::now();
    let report = deliverer.drain().await?;
    let delivered = rate(report.sent, started);
    let arrived = received.load(Ordering::Relaxed);

    println!("{mails} mails, outbox on {backend}");
    println!(
        "{:<52} {:>10.0} mails/s",
        "enqueue, one transaction per mail", single
    );
    println!(
        "{:<52} {:>10.0} mails/s",
        "enqueue, bulk (multi-row inserts)", bulk
    );
    println!(
        "{:<52} {:>10.0} mails/s",
        format!("deliver to local SMTP sink ({concurrency} pooled connections)"),
        delivered
    );
    println!(
        "sent {} (the sink received {arrived}), retry {}, failed {}",
        report.sent, report.retry_later, report.failed
    );
    Ok(())
}

fn rate(count: u64, since: Instant) -> f64 {
    count as f64 / since.elapsed().as_secs_f64()
}

/// A minimal SMTP server that accepts everything and counts the mails.
async fn smtp_sink() -> std::io::Result<(std::net::SocketAddr, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                    return;
                }
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        counter.fetch_add(1, Ordering::Relaxed);
                        b"250 queued\r\n"
                    } else {
                        match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                            Some("EHLO") => b"250-sink\r\n250 8BITMIME\r\n",
                            Some("DATA") => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            Some("QUIT") => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 ok\r\n",
                        }
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((address, received))
}
