//! A hand-rolled HTTP/1.1 server on 127.0.0.1 standing in for an OpenAI-compatible model
//! server: canned replies per request, or replies computed from the request.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentnet_transport::llm::OpenAiConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the mock server received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// Makes a whole HTTP response from a request.
pub type Responder = Arc<dyn Fn(&Seen) -> Vec<u8> + Send + Sync>;

/// What the mock does with the n-th request.
#[derive(Clone)]
pub enum Reply {
    /// Write these bytes, then close.
    Raw(Vec<u8>),
    /// Write these bytes, then keep the connection open without writing more.
    RawThenHang(Vec<u8>),
    /// Read the request and never answer.
    Hang,
    /// Answer with what the function makes of the request, then close.
    Compute(Responder),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Raw(b) => write!(f, "Raw({} bytes)", b.len()),
            Reply::RawThenHang(b) => write!(f, "RawThenHang({} bytes)", b.len()),
            Reply::Hang => f.write_str("Hang"),
            Reply::Compute(_) => f.write_str("Compute"),
        }
    }
}

/// A mock server: the n-th request gets `replies[n]` (the last one once they run out).
pub struct Mock {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    pub async fn start(replies: Vec<Reply>) -> Mock {
        assert!(!replies.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(replies);
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&replies), Arc::clone(&log)));
            }
        });
        Mock { addr, seen }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// A config for this server with fast retries.
    pub fn config(&self) -> OpenAiConfig {
        let mut config = OpenAiConfig::new(self.base_url(), "test-model");
        config.retry_backoff = Duration::from_millis(10);
        config
    }
}

/// Handles one connection: reads one request, logs it, replies.
async fn serve(mut stream: TcpStream, replies: Arc<Vec<Reply>>, log: Arc<Mutex<Vec<Seen>>>) {
    let Some(seen) = read_request(&mut stream).await else {
        return;
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(seen);
        log.len() - 1
    };
    let reply = replies.get(index).or(replies.last()).cloned();
    let seen = log.lock().unwrap()[index].clone();
    match reply {
        Some(Reply::Compute(f)) => {
            let _ = stream.write_all(&f(&seen)).await;
            let _ = stream.shutdown().await;
        }
        Some(Reply::Raw(bytes)) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Some(Reply::RawThenHang(bytes)) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.flush().await;
            hang(stream).await;
        }
        Some(Reply::Hang) | None => hang(stream).await,
    }
}

/// Keeps the connection open until the test's runtime shuts down.
async fn hang(stream: TcpStream) {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    drop(stream);
}

/// Reads a request head and a `Content-Length` body. `None` if the peer goes away first.
async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?.to_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

/// A complete response with a `Content-Length` body.
pub fn http(status: u16, extra_headers: &str, body: &str) -> Reply {
    Reply::Raw(
        format!(
            "HTTP/1.1 {status} Mock\r\nContent-Type: application/json\r\n{extra_headers}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}
