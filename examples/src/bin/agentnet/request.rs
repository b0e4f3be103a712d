//! `agentnet request`: hire a provider on the network for one task, through the funnel.

use super::*;

/// The `request` command's arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// The task input.
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Canaries, JSON lines `{"input": "...", "expected": "..."}`.
    #[arg(long)]
    pub(crate) canaries: Option<PathBuf>,
    /// Verification tier: auto (the risk policy decides), 1, 2 or 3.
    #[arg(long, default_value = "auto")]
    pub(crate) tier: String,
    /// What a wrong result would cost, in units (for `--tier auto`).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) value_at_risk: f64,
    /// Longest wait for descriptors before the request starts, in seconds.
    #[arg(long, default_value_t = 10)]
    pub(crate) wait_secs: u64,
    /// Start as soon as this many candidates are known (default: when the candidate list
    /// has not grown for a second).
    #[arg(long)]
    pub(crate) expect: Option<usize>,
    /// Probability of trying a never-observed provider first (0..=1; default 0.1).
    #[arg(long, default_value_t = 0.1)]
    pub(crate) explore: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// What is wanted, in words.
    pub(crate) intent: String,
}

pub(crate) async fn run_request(a: RequestArgs) -> Result<bool, Box<dyn Error>> {
    let input =
        std::fs::read(&a.input).map_err(|e| format!("cannot read {}: {e}", a.input.display()))?;
    let canaries = match &a.canaries {
        Some(p) => read_canaries(p)?,
        None => Vec::new(),
    };
    let task = task_request(&a.intent, Bytes::from(input), &a.tier, a.value_at_risk)
        .map_err(|e| format!("--{e}"))?
        .canaries(canaries);
    let mut agent = agent_config();
    agent.selection.exploration = a.explore;
    let node = start_requester(&a.client, agent).await?;
    let until = WallClock::now() + Duration::from_secs(a.wait_secs);
    await_candidates(&node, &a.intent, &task.requirements, until, a.expect).await?;
    let outcome = node.request(task).await?;
    // One trust round, so the scores below include this task.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut reputation = serde_json::Map::new();
    let mut scores = Vec::new();
    for at in &outcome.attempts {
        let (s, convicted) = node.reputation(at.provider, at.topic.clone()).await?;
        reputation.insert(at.provider.to_string(), serde_json::json!(s));
        scores.push((at.provider, s, convicted));
    }
    let ok = outcome.result.is_ok();
    let verdict = |v: &Verdict| v.name();
    if a.json {
        let mut out = outcome_json(&outcome);
        out["reputation"] = reputation.into();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for at in &outcome.attempts {
            println!(
                "tried {} at tier {}: {}",
                at.provider,
                at.tier as u8,
                printable(verdict(&at.verdict), false)
            );
        }
        match &outcome.result {
            Ok(r) => println!(
                "success from {} (paid {:.2} units):\n{}",
                outcome.provider.map(|p| p.to_string()).unwrap_or_default(),
                outcome.payment as f64 / UNIT as f64,
                printable(&String::from_utf8_lossy(r), true)
            ),
            Err(e) => println!("failed: {}", printable(e, false)),
        }
        for (p, s, convicted) in scores {
            println!(
                "reputation {p} {s:.4}{}",
                if convicted { " (convicted)" } else { "" }
            );
        }
    }
    node.shutdown().await?;
    Ok(ok)
}

/// A task from the `request` command's (and the MCP `request` tool's) arguments: `tier` is
/// `auto` (the risk policy decides), `1`, `2` or `3`; `value_at_risk` is in units. An error
/// names the offending argument (`tier …`, `value-at-risk …`).
pub(crate) fn task_request(
    intent: &str,
    input: Bytes,
    tier: &str,
    value_at_risk: f64,
) -> Result<TaskRequest, String> {
    let task = TaskRequest::new(intent.to_string(), input);
    let task = match tier {
        "auto" => task,
        "1" => task.tier(Tier::Reputation),
        "2" => task.tier(Tier::Canary),
        "3" => task.tier(Tier::Evidence),
        other => return Err(format!("tier {other}: use auto, 1, 2 or 3")),
    };
    if !(value_at_risk.is_finite() && value_at_risk >= 0.0) {
        return Err("value-at-risk must be a non-negative number of units".into());
    }
    Ok(task.value_at_risk((value_at_risk * UNIT as f64) as u64))
}

/// Wait until `node` knows candidates for `intent`: until `expect` of them are known, or
/// else until the list is non-empty and has not grown for a second; never past `until`.
/// Returns how many are known.
pub(crate) async fn await_candidates(
    node: &Node,
    intent: &str,
    requirements: &Requirements,
    until: WallClock,
    expect: Option<usize>,
) -> Result<usize, NodeError> {
    let (mut seen, mut stable_since) = (0, WallClock::now());
    loop {
        let n = node.discover(intent, requirements.clone(), 16).await?.len();
        if WallClock::now() >= until {
            return Ok(n);
        }
        if let Some(e) = expect {
            if n >= e {
                return Ok(n);
            }
        } else if n != seen {
            seen = n;
            stable_since = WallClock::now();
        } else if n > 0 && stable_since.elapsed() >= Duration::from_secs(1) {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A task's outcome as `request --json` prints it (without `reputation`): `outcome`
/// (`"success"` or why not), `result` (UTF-8 text), `provider`, `tier`, `attempts`,
/// `fallbacks`, `payment` (units).
pub(crate) fn outcome_json(outcome: &TaskOutcome) -> serde_json::Value {
    serde_json::json!({
        "outcome": match &outcome.result { Ok(_) => "success".to_string(), Err(e) => e.clone() },
        "result": outcome.result.as_ref().map(|b| String::from_utf8_lossy(b).to_string()).unwrap_or_default(),
        "provider": outcome.provider.map(|p| p.to_string()),
        "tier": outcome.tier as u8,
        "attempts": outcome.attempts.iter().map(|at| serde_json::json!({
            "provider": at.provider.to_string(),
            "topic": at.topic.as_str(),
            "tier": at.tier as u8,
            "verdict": at.verdict.name(),
        })).collect::<Vec<_>>(),
        "fallbacks": outcome.fallback_count(),
        "payment": outcome.payment as f64 / UNIT as f64,
    })
}
