//! A stand-in embeddings server speaking the OpenAI-compatible `POST /v1/embeddings`
//! protocol on 127.0.0.1, whose "model" knows a few synonyms: each group of words below is one
//! concept (one vector component); other words count a little, hashed into the rest.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use serde_json::{Value, json};

/// Words that mean the same thing to the stand-in model.
pub(crate) const CONCEPTS: &[&[&str]] = &[
    &["image", "picture", "draw", "photo", "illustration", "paint"],
    &[
        "translate",
        "translation",
        "spanish",
        "french",
        "languages",
        "language",
    ],
    &["shout", "capitals", "loud", "uppercase"],
];

/// Components of every vector.
pub(crate) const DIM: usize = 32;

/// The stand-in model.
pub(crate) fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = w.to_lowercase();
        match CONCEPTS.iter().position(|c| c.contains(&w.as_str())) {
            Some(c) => v[c] += 1.0,
            None => {
                let h = w
                    .bytes()
                    .fold(5u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
                v[CONCEPTS.len() + h as usize % (DIM - CONCEPTS.len())] += 0.2;
            }
        }
    }
    v
}

/// Starts the server on a free port; returns its API root (`http://127.0.0.1:PORT/v1`).
pub(crate) fn start() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || answer(s));
        }
    });
    format!("http://{addr}/v1")
}

fn answer(mut s: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, len) = loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let req: Value = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or_default();
    let data: Vec<Value> = req["input"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"index": i, "embedding": vector(t.as_str().unwrap_or(""))}))
        .collect();
    let body = json!({"object": "list", "data": data}).to_string();
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
