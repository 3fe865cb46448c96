//! A real SMTP server for the tests (mailin-embedded), recording what it
//! receives. Recipients starting with `bounce` are refused for good (550,
//! naming the address as Postfix does), those starting with `later` for
//! now (451).

use std::{
    net::{SocketAddr, TcpListener},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// The value of a header, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }
}

#[derive(Clone)]
struct Recorder {
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    delay: Duration,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.starts_with("bounce") {
            Response::custom(
                550,
                format!("5.1.1 <{to}>: Recipient address rejected: User unknown"),
            )
        } else if to.starts_with("later") {
            response::INTERNAL_ERROR
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        let mail = ReceivedMail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&self.data).into_owned(),
        };
        self.received.lock().expect("recorder lock").push(mail);
        response::OK
    }
}

pub struct SmtpServer {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("bind"), Duration::ZERO)
    }

    /// A server that takes `delay` to accept each mail.
    pub fn start_slow(delay: Duration) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").expect("bind"), delay)
    }

    pub fn start_on(listener: TcpListener, delay: Duration) -> Self {
        let address = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            received: received.clone(),
            delay,
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(recorder);
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .expect("no TLS")
            // A thread per connection: more than any test's pooled connections.
            .with_num_threads(32)
            .with_tcp_listener(listener);
        // Runs until the test process ends: mailin has no shutdown.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { address, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().expect("recorder lock").clone()
    }

    /// Waits (polling, with a deadline) until at least `count` mails arrived.
    pub fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(received) = self.arrived(count, deadline) {
                return received;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// As [`Self::wait_for`], from async code, without holding up the runtime.
    pub async fn wait_for_async(&self, count: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(received) = self.arrived(count, deadline) {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn arrived(&self, count: usize, deadline: Instant) -> Option<Vec<ReceivedMail>> {
        let received = self.received();
        if received.len() >= count {
            return Some(received);
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {count} mails arrived within 30 s",
            received.len()
        );
        None
    }
}

/// A loopback address where nothing listens (yet): the port is reserved and released.
pub fn unused_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
}
