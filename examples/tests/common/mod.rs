//! What the CLI tests share: `agentnet` processes and the lines they print, descriptor
//! files, and `serve` processes that shout their input.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) mod stand_in;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_agentnet");

/// A running node process and the lines it printed.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) lines: mpsc::Receiver<String>,
}

impl Proc {
    pub(crate) fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn agentnet");
        let out: ChildStdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines: rx }
    }

    /// Wait (up to 60 s) for a line starting with `prefix`; returns it.
    pub(crate) fn expect(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return l,
                Ok(_) => {}
                Err(e) => panic!("no line starting with {prefix:?}: {e}"),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn descriptor(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .and_then(|mut f| f.write_all(body.as_bytes()))
        .expect("write descriptor");
    p.to_string_lossy().into_owned()
}

pub(crate) fn node(
    dir: &Path,
    name: &str,
    bootstrap: Option<&str>,
    desc: &str,
) -> (Proc, String, String) {
    let data = dir.join(name).to_string_lossy().into_owned();
    let mut args = vec![
        "node",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data,
        "--descriptor",
        desc,
    ];
    if let Some(b) = bootstrap {
        args.extend(["--bootstrap", b]);
    }
    started(Proc::spawn(&args))
}

/// A process that printed `listening <address> as <did:key>`: it, the address and the id.
pub(crate) fn started(p: Proc) -> (Proc, String, String) {
    let first = p.expect("listening ");
    let mut parts = first.split_whitespace().skip(1);
    let addr = parts.next().expect("address").to_string();
    let id = parts.nth(1).expect("did").to_string();
    (p, addr, id)
}

/// `--listen` for a TCP node.
pub(crate) const TCP: &[&str] = &["--listen", "127.0.0.1:0"];

/// `--transport libp2p` and `--listen` for a libp2p node.
pub(crate) const LIBP2P: &[&str] = &["--transport", "libp2p", "--listen", "/ip4/127.0.0.1/tcp/0"];

/// A `serve` process over `net` (`TCP` or `LIBP2P`) that shouts its input.
pub(crate) fn serve(
    net: &[&str],
    dir: &Path,
    name: &str,
    bootstrap: Option<&str>,
    desc: &str,
    extra: &[&str],
) -> (Proc, String, String) {
    let data = dir.join(name).to_string_lossy().into_owned();
    let mut args = vec!["serve"];
    args.extend(net);
    args.extend([
        "--data-dir",
        &data,
        "--descriptor",
        desc,
        "--exec",
        "tr a-z A-Z",
    ]);
    if let Some(b) = bootstrap {
        args.extend(["--bootstrap", b]);
    }
    args.extend(extra);
    let (p, addr, id) = started(Proc::spawn(&args));
    p.expect("serving ");
    (p, addr, id)
}
