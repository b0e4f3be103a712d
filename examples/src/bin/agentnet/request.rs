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
    /// Ask for bids: announce the task as a signed intent paying at most this many units
    /// (needs `--topic`).
    #[arg(long, value_name = "UNITS", requires = "topic")]
    pub(crate) budget: Option<f64>,
    /// With `--budget`: the least the requester expects to pay, in units (a hint to
    /// providers).
    #[arg(long, value_name = "UNITS", default_value_t = 0.0, requires = "budget")]
    pub(crate) budget_min: f64,
    /// With `--budget`: the topic the intent is announced in (`creative/image`).
    #[arg(long, requires = "budget")]
    pub(crate) topic: Option<String>,
    /// With `--budget`: how long bids are taken, in seconds.
    #[arg(long, default_value_t = 2, requires = "budget")]
    pub(crate) bid_window_secs: u64,
    /// What is wanted, in words.
    pub(crate) intent: String,
}

/// The bids and award a request by intent went through (from its stages).
#[derive(Default)]
struct Auctioned {
    bids: Vec<serde_json::Value>,
    award: Option<serde_json::Value>,
    countered: usize,
}

/// `--budget`: the task as an intent in `--topic`.
fn intent_request(a: &RequestArgs, task: TaskRequest) -> Result<Option<IntentRequest>, String> {
    let Some(budget) = a.budget else {
        return Ok(None);
    };
    let units = |v: f64, flag: &str| {
        if v.is_finite() && v > 0.0 || flag == "budget-min" && v == 0.0 {
            Ok((v * UNIT as f64).round() as u64)
        } else {
            Err(format!("--{flag} must be a positive number of units"))
        }
    };
    let topic = a.topic.clone().unwrap_or_default();
    let topic = Topic::new(topic).map_err(|e| format!("--topic: {e}"))?;
    let mut req = IntentRequest::new(task, topic, units(budget, "budget")?);
    req.budget_min = units(a.budget_min, "budget-min")?;
    if req.budget_min > req.budget_max {
        return Err("--budget-min is above --budget".into());
    }
    req.bid_window = Duration::from_secs(a.bid_window_secs.clamp(1, 600));
    Ok(Some(req))
}

/// Run a request by intent, recording its bids and award from its stages.
async fn run_by_intent(
    node: &Node,
    req: IntentRequest,
) -> Result<(TaskOutcome, Auctioned), Box<dyn Error>> {
    let mut handle = node.start_request_by_intent(req).await?;
    let mut seen = Auctioned::default();
    while let Some(stage) = handle.next_stage().await {
        match stage {
            Stage::Bid {
                provider,
                price,
                latency_ms,
                round,
            } => seen.bids.push(serde_json::json!({
                "provider": provider.to_string(),
                "price": units(price),
                "latency_ms": latency_ms,
                "round": round,
            })),
            Stage::Countered { .. } => seen.countered += 1,
            Stage::Awarded { provider, pay, .. } => {
                seen.award = Some(serde_json::json!({
                    "provider": provider.to_string(),
                    "pay": units(pay),
                }));
            }
            _ => {}
        }
    }
    Ok((handle.outcome().await?, seen))
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
    let by_intent = intent_request(&a, task.clone())?;
    let mut agent = agent_config();
    agent.selection.exploration = a.explore;
    let node = start_requester(&a.client, agent).await?;
    let (outcome, auctioned) = match by_intent {
        Some(req) => {
            // Join the topic's mesh first, so the intent's header is pushed to its
            // followers at once.
            node.subscribe(req.topic.clone()).await?;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let (o, seen) = run_by_intent(&node, req).await?;
            (o, Some(seen))
        }
        None => {
            let until = WallClock::now() + Duration::from_secs(a.wait_secs);
            await_candidates(&node, &a.intent, &task.requirements, until, a.expect).await?;
            (node.request(task).await?, None)
        }
    };
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
        if let Some(s) = &auctioned {
            out["bids"] = s.bids.clone().into();
            out["award"] = s.award.clone().unwrap_or_default();
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if let Some(s) = &auctioned {
            for b in &s.bids {
                println!(
                    "bid from {} at {} units, {} ms (round {})",
                    b["provider"].as_str().unwrap_or_default(),
                    b["price"],
                    b["latency_ms"],
                    b["round"]
                );
            }
            if s.countered > 0 {
                println!("{} counter-offers sent", s.countered);
            }
            match &s.award {
                Some(w) => println!(
                    "awarded to {} for {} units",
                    w["provider"].as_str().unwrap_or_default(),
                    w["pay"]
                ),
                None => println!("no award"),
            }
        }
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
