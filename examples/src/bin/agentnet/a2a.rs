//! `agentnet a2a`: an A2A gateway into the network. A requester node joins through
//! `--bootstrap`; an HTTP/1.1 server serves its Agent Card at
//! `/.well-known/agent-card.json` and A2A JSON-RPC at `/`. The mapping lives in
//! `agentnet_examples::a2a_gateway`; this file is the I/O around it.
//!
//! # Threat model at the edge
//!
//! The HTTP side is an open door: anyone who reaches the port can make the gateway's node
//! hire (and pay) providers. The gateway has no authentication of its own — put it behind
//! one, or on loopback — and bounds what one client can cost it:
//!
//! - bodies over [`BODY_MAX`] are refused (`413`) before they are read, or as soon as the
//!   read passes the limit; a body that trickles in is cut off after [`BODY_TIMEOUT`];
//! - a request's headers must arrive within [`HEADER_TIMEOUT`] (also the longest an idle
//!   kept-alive connection is held), at most [`CONNECTIONS_MAX`] connections are served at
//!   once (more wait in the kernel's backlog);
//! - at most `--max-in-flight` tasks run at once; the next gets `503` with a JSON-RPC error
//!   and `Retry-After`, and each runs for at most `--timeout-secs` (then it fails);
//! - a JSON-RPC call must be sent as `application/json` (or `application/a2a+json`): a web
//!   page can only send a cross-origin POST without a CORS preflight as a form or
//!   `text/plain`, so this (and no CORS headers) keeps a browser on the same machine from
//!   driving a loopback gateway;
//! - task ids are random UUIDs (`GetTask` hands a result to whoever presents its id), and
//!   the task table keeps the last [`TASKS_KEPT`], oldest evicted first;
//! - everything peers say (descriptors on the card, results in tasks) leaves as JSON,
//!   escaped by the serializer, and the card lists at most `SKILLS_MAX` skills from at most
//!   [`DESCRIPTORS_MAX`] descriptors.

use super::*;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;

use agentnet_examples::a2a::DescriptorSpec;
use agentnet_examples::a2a_gateway::{self as gw, Call, RpcError, SendMessage, code};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// Largest request body, bytes.
pub(crate) const BODY_MAX: usize = 1 << 20;
/// Longest wait for a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a request's headers (and longest idle keep-alive).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Most HTTP connections served at once.
const CONNECTIONS_MAX: usize = 256;
/// Most tasks kept for `GetTask`.
const TASKS_KEPT: usize = 1024;
/// Most descriptors read for the card.
const DESCRIPTORS_MAX: usize = 4096;
const CARD_PATH: &str = "/.well-known/agent-card.json";

/// The `a2a` command's arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct A2aArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Address the HTTP server listens on (`host:port`; port 0 for any free port).
    #[arg(long)]
    http: SocketAddr,
    /// The URL clients reach the gateway at, written in the card (default
    /// `http://<bound address>/`); JSON-RPC is also served at its path.
    #[arg(long)]
    public_url: Option<String>,
    /// Longest a message waits for a matching descriptor to be known, in seconds.
    #[arg(long, default_value_t = 10)]
    wait_secs: u64,
    /// Longest a task runs through the funnel, in seconds (then it fails).
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// Most tasks running at once (more get 503).
    #[arg(long, default_value_t = 8)]
    max_in_flight: usize,
}

struct Gateway {
    node: Node,
    url: String,
    rpc_path: String,
    tasks: Mutex<gw::TaskTable>,
    in_flight: Arc<Semaphore>,
    wait: Duration,
    timeout: Duration,
}

/// A lock that a panicking holder cannot poison for everyone after it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The path part of a URL (`/` if it has none).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("/").to_owned(),
        None => "/".into(),
    }
}

pub(crate) async fn run_a2a(a: A2aArgs) -> Result<(), Box<dyn Error>> {
    if a.max_in_flight == 0 {
        return Err("--max-in-flight must be at least 1".into());
    }
    let listener = tokio::net::TcpListener::bind(a.http)
        .await
        .map_err(|e| format!("--http {}: {e}", a.http))?;
    let bound = listener.local_addr()?;
    let url = a
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}/"));
    let node = start_requester(&a.client, agent_config()).await?;
    println!("listening http://{bound}/ as {}", node.id());
    let gw = Arc::new(Gateway {
        node,
        rpc_path: url_path(&url),
        url,
        tasks: Mutex::new(gw::TaskTable::new(TASKS_KEPT)),
        in_flight: Arc::new(Semaphore::new(a.max_in_flight)),
        wait: Duration::from_secs(a.wait_secs),
        timeout: Duration::from_secs(a.timeout_secs),
    });
    let conns = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            p = conns.clone().acquire_owned() => p?,
        };
        let stream = tokio::select! {
            _ = &mut stop => break,
            s = listener.accept() => match s {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let gw = gw.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| handle(gw.clone(), req));
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!("http connection: {e}");
            }
        });
    }
    match Arc::try_unwrap(gw) {
        Ok(gw) => gw.node.shutdown().await?,
        // Connections still hold it: dropping the last handle stops the node.
        Err(_) => tracing::debug!("stopping with connections open"),
    }
    println!("stopped");
    Ok(())
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_str(content_type).unwrap_or(
            hyper::header::HeaderValue::from_static("application/octet-stream"),
        ),
    );
    h.insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    r
}

fn json_reply(status: StatusCode, v: &Value) -> Reply {
    reply(
        status,
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

fn text_reply(status: StatusCode, text: &str) -> Reply {
    reply(
        status,
        "text/plain; charset=utf-8",
        format!("{text}\n").into_bytes(),
    )
}

fn not_allowed(allow: &'static str) -> Reply {
    let mut r = text_reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(ALLOW, hyper::header::HeaderValue::from_static(allow));
    r
}

async fn handle(gw: Arc<Gateway>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path();
    let out = if path == CARD_PATH {
        if req.method() == Method::GET {
            json_reply(StatusCode::OK, &card(&gw).await)
        } else {
            not_allowed("GET")
        }
    } else if path == "/" || path == gw.rpc_path {
        if req.method() == Method::POST {
            rpc(&gw, req).await
        } else {
            not_allowed("POST")
        }
    } else {
        text_reply(StatusCode::NOT_FOUND, "not found")
    };
    Ok(out)
}

async fn card(gw: &Gateway) -> Value {
    let specs: Vec<DescriptorSpec> = gw
        .node
        .descriptors(DESCRIPTORS_MAX)
        .await
        .unwrap_or_default()
        .iter()
        .map(DescriptorSpec::from_descriptor)
        .collect();
    let card = gw::gateway_card(&specs, &gw.url, &gw.node.id().to_string());
    serde_json::to_value(&card).unwrap_or(Value::Null)
}

/// A JSON-RPC body is `application/json` or `application/a2a+json` (parameters allowed).
fn json_content(req: &Request<Incoming>) -> bool {
    let Some(ct) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || mime == "application/a2a+json"
}

async fn rpc(gw: &Arc<Gateway>, req: Request<Incoming>) -> Reply {
    if !json_content(&req) {
        return text_reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send JSON-RPC as Content-Type: application/json",
        );
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || text_reply(StatusCode::PAYLOAD_TOO_LARGE, "request body over 1 MiB");
    if declared.is_some_and(|n| n > BODY_MAX as u64) {
        return too_large();
    }
    let body = Limited::new(req.into_body(), BODY_MAX).collect();
    let body = match tokio::time::timeout(BODY_TIMEOUT, body).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(_)) => return text_reply(StatusCode::BAD_REQUEST, "unreadable body"),
        Err(_) => return text_reply(StatusCode::REQUEST_TIMEOUT, "body too slow"),
    };
    let parsed = gw::parse_call(&body);
    let id = parsed.id;
    let err = |e: RpcError| json_reply(StatusCode::OK, &gw::rpc_error(&id, &e));
    let task = |id_: &str| lock(&gw.tasks).get(id_).cloned();
    match parsed.call {
        Err(e) => err(e),
        Ok(Call::Get { id: t }) => match task(&t) {
            Some(task) => json_reply(StatusCode::OK, &gw::rpc_result(&id, task)),
            None => err(RpcError::new(code::TASK_NOT_FOUND, "task not found")),
        },
        Ok(Call::Cancel { id: t }) => match task(&t) {
            Some(_) => err(RpcError::new(
                code::TASK_NOT_CANCELABLE,
                "a task runs through the funnel to its end",
            )),
            None => err(RpcError::new(code::TASK_NOT_FOUND, "task not found")),
        },
        Ok(Call::Send(s)) => {
            if let Some(t) = &s.task_id {
                return err(match task(t) {
                    Some(_) => RpcError::new(
                        code::UNSUPPORTED_OPERATION,
                        "a task takes one message: send a new one without taskId",
                    ),
                    None => RpcError::new(code::TASK_NOT_FOUND, "task not found"),
                });
            }
            let Ok(permit) = gw.in_flight.clone().try_acquire_owned() else {
                let mut r = json_reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &gw::rpc_error(
                        &id,
                        &RpcError::new(code::INTERNAL, "the gateway is busy; retry later"),
                    ),
                );
                r.headers_mut()
                    .insert(RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
                return r;
            };
            let immediately = s.return_immediately;
            let (working, done) = start_task(gw.clone(), s, permit);
            let task = if immediately {
                working
            } else {
                match done.await {
                    Ok(t) => t,
                    Err(_) => return err(RpcError::new(code::INTERNAL, "the task was lost")),
                }
            };
            json_reply(StatusCode::OK, &gw::rpc_result(&id, json!({"task": task})))
        }
    }
}

/// Record a working task and run it on a task of its own (so a client that hangs up does
/// not cancel it: its outcome stays in the table for `GetTask`). Returns the working task
/// and where the finished one will be sent.
fn start_task(
    gw: Arc<Gateway>,
    s: SendMessage,
    permit: OwnedSemaphorePermit,
) -> (Value, oneshot::Receiver<Value>) {
    let id = gw::random_uuid();
    let context = s.context_id.clone().unwrap_or_else(gw::random_uuid);
    let working = gw::working_task(&id, &context, &s.intent, now_ms());
    lock(&gw.tasks).put(working.clone());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let _permit = permit;
        let task = run_task(&gw, &id, &context, s).await;
        match &task["status"]["state"].as_str() {
            Some("TASK_STATE_COMPLETED") => println!(
                "task {id} completed by {}",
                task["metadata"]["agentnet"]["provider"]
                    .as_str()
                    .unwrap_or("-")
            ),
            _ => println!(
                "task {id} failed: {}",
                printable(
                    task["status"]["message"]["parts"][0]["text"]
                        .as_str()
                        .unwrap_or("-"),
                    false
                )
            ),
        }
        lock(&gw.tasks).put(task.clone());
        let _ = tx.send(task);
    });
    (working, rx)
}

async fn run_task(gw: &Gateway, id: &str, context: &str, s: SendMessage) -> Value {
    let fail = |why: &str| gw::failed_task(id, context, &s.intent, why, now_ms());
    // Right after start (or when a provider just appeared) the descriptor may not be here
    // yet: wait a little for one that matches, rather than fail at once.
    let until = WallClock::now() + gw.wait;
    loop {
        match gw
            .node
            .discover(&s.intent, Requirements::default(), 1)
            .await
        {
            Ok(c) if !c.is_empty() => break,
            Ok(_) if WallClock::now() < until => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(_) => break, // the funnel reports "no candidates"
            Err(e) => return fail(&format!("the gateway's node failed: {e}")),
        }
    }
    let request = TaskRequest::new(s.intent.clone(), Bytes::from(s.input.into_bytes()));
    match tokio::time::timeout(gw.timeout, gw.node.request(request)).await {
        Ok(Ok(outcome)) => gw::task_from_outcome(id, context, &s.intent, &outcome, now_ms()),
        Ok(Err(e)) => fail(&format!("the gateway's node failed: {e}")),
        Err(_) => fail(&format!(
            "timed out after {} s in the funnel",
            gw.timeout.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn rpc_path_comes_from_the_public_url() {
        assert_eq!(url_path("http://127.0.0.1:8080/"), "/");
        assert_eq!(url_path("https://agent.example.com"), "/");
        assert_eq!(url_path("https://agent.example.com/a2a/v1?x=1"), "/a2a/v1");
    }
}
