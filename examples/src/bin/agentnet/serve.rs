//! `agentnet serve`: run a node that offers one capability by running a command per task.

use super::*;

pub(crate) struct ServeArgs {
    pub(crate) net: Net,
    pub(crate) descriptors: Vec<PathBuf>,
    pub(crate) data_dir: PathBuf,
    pub(crate) exec: String,
    pub(crate) exec_timeout: Duration,
    pub(crate) seconds: Option<u64>,
    pub(crate) lie: bool,
    /// Bid on matching intents on these terms.
    pub(crate) bid: Option<BidPolicy>,
    /// Announce the descriptors (off: found only through intents).
    pub(crate) advertise: bool,
    /// Tasks run at once before the node states itself unavailable (`None`: no state).
    pub(crate) capacity: Option<u32>,
}

/// `serve`'s bidding flags.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct BidArgs {
    /// Bid on intents that match a served capability, at this price in units (the least
    /// this service takes; bids are truthful: see the auction's score rule).
    #[arg(long, value_name = "UNITS")]
    pub(crate) bid: Option<f64>,
    /// The delivery time bids promise, in milliseconds. A promise: a delivery later than it
    /// is paid nothing.
    #[arg(long, value_name = "MS", default_value_t = 5_000, requires = "bid")]
    pub(crate) bid_latency_ms: u32,
    /// The deposit bids post, in units.
    #[arg(long, value_name = "UNITS", default_value_t = 0.0, requires = "bid")]
    pub(crate) bid_deposit: f64,
    /// Do not announce the descriptors: serve only requesters whose intents this node bids
    /// on.
    #[arg(long, requires = "bid")]
    pub(crate) no_advertise: bool,
}

impl BidArgs {
    /// The bid policy the flags describe (`None` without `--bid`).
    pub(crate) fn policy(&self) -> Result<Option<BidPolicy>, String> {
        let Some(price) = self.bid else {
            return Ok(None);
        };
        let units = |v: f64, flag: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok((v * UNIT as f64).round() as u64)
            } else {
                Err(format!("--{flag} must be a non-negative number of units"))
            }
        };
        if self.bid_latency_ms == 0 {
            return Err("--bid-latency-ms must be at least 1".into());
        }
        Ok(Some(BidPolicy {
            floor: units(price, "bid")?,
            ask: None,
            latency_ms: self.bid_latency_ms,
            deposit: units(self.bid_deposit, "bid-deposit")?,
            max_tier: Tier::Evidence,
        }))
    }
}

/// Run `cmd` with `sh -c`, `input` on stdin; stdout is the result.
pub(crate) async fn exec(
    cmd: &str,
    task: &ExecuteTask,
    input: &[u8],
    timeout: Duration,
) -> Executed {
    use tokio::io::AsyncWriteExt;
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("AGENTNET_CAPABILITY", &task.capability)
        .env("AGENTNET_TOPIC", task.topic.as_str())
        .env("AGENTNET_INTENT", &task.intent)
        .env("AGENTNET_REQUESTER", task.requester.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Executed::Failed(format!("cannot start {cmd:?}: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => Executed::Failed(format!("{cmd:?} ran past {timeout:?}")),
        Ok(Err(e)) => Executed::Failed(format!("{cmd:?}: {e}")),
        Ok(Ok(out)) if !out.status.success() => {
            Executed::Failed(format!("{cmd:?} exited with {}", out.status))
        }
        Ok(Ok(out)) => Executed::Done {
            result: Bytes::from(out.stdout),
            tools: Vec::new(),
        },
    }
}

pub(crate) async fn run_serve(a: ServeArgs) -> Result<(), Box<dyn Error>> {
    let files = a
        .descriptors
        .iter()
        .map(|p| read_descriptor(p))
        .collect::<Result<Vec<_>, _>>()?;
    let node = start_node(Start {
        net: &a.net,
        data_dir: Some(&a.data_dir),
        interest: InterestProfile::none(),
        config: NodeConfig {
            agent: agent_config(),
            follow_peer_topics: true,
            capacity: a.capacity,
            ..NodeConfig::default()
        },
        lie: a.lie,
    })
    .await?;
    print_listening(&node);
    let policy = ServePolicy {
        bid: a.bid,
        advertise: a.advertise,
        ..ServePolicy::default()
    };
    for f in &files {
        let cmd = a.exec.clone();
        let timeout = a.exec_timeout;
        node.serve_with(build(&node, f)?, policy, move |task, input| {
            let cmd = cmd.clone();
            async move { exec(&cmd, &task, &input, timeout).await }
        })
        .await?;
        let how = match (a.bid, a.advertise) {
            (None, _) => String::new(),
            (Some(b), true) => format!(", bidding {:.2} units", units(b.floor)),
            (Some(b), false) => format!(", unannounced, bidding {:.2} units", units(b.floor)),
        };
        println!("serving {} in {}{how}", f.capability, f.topic);
    }
    run_until_stopped(node, a.seconds).await
}
