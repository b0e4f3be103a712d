//! agentnet quickstart: six agents form a live network on loopback TCP + Noise and run the
//! whole task funnel — discover, rank, choose a verification tier by risk, check with canaries
//! and evidence, negotiate signed rules, delegate sealed payloads, settle, learn reputation —
//! including a provider that fails a canary, a provider caught lying by its own receipts and
//! convicted everywhere, and an agent restarting from its data directory.
//!
//! Each agent is a full [`Node`] running the sans-IO `Agent`: its own Ed25519/X25519 keys and
//! identity chain, its own data directory (a temporary one here), a TCP listener, Noise XX
//! links authenticated to agent ids. Nothing needs to be installed or configured.
//!
//! `cargo run --release --bin quickstart`

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as WallClock};

use agentnet_core::descriptor::{CapabilityDescriptor, QosVector, Topic};
use agentnet_core::effect::ExecuteTask;
use agentnet_core::{AgentId, Keypair};
use agentnet_examples::adversary::Lying;
use agentnet_gossip::InterestProfile;
use agentnet_mech::mechanism::UNIT;
use agentnet_transport::agent::{
    AgentConfig, CanaryCase, Executed, Stage, TaskRequest, ToolCall, Verdict,
};
use agentnet_transport::host::Clock;
use agentnet_transport::tcp::{TcpConfig, TcpTransport};
use agentnet_transport::{Node, NodeConfig, NodeError, SystemClock};
use agentnet_trust::evidence::payload_hash;
use bytes::Bytes;

const IMAGE: &str = "creative/image";
const CAPTION: &str = "creative/caption";

/// What each provider serves: (capability, topic, summary, claimed QoS).
type Offer = (&'static str, &'static str, &'static str, QosVector);

fn qos(latency_ms: u32, success_bp: u16) -> QosVector {
    QosVector::stated(latency_ms, success_bp, 20_000, 9_900, 2_000)
}

/// How a provider behaves.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// Does the work.
    Honest,
    /// Answers anything with junk.
    Sloppy,
    /// Honest until its lying transport is switched on.
    Cheat,
}

/// The "model" every honest image provider runs: a deterministic renderer, so a requester
/// can know the right answer to a canary prompt.
fn render(prompt: &[u8]) -> Bytes {
    Bytes::from(format!(
        "<svg><text>{}</text></svg>",
        String::from_utf8_lossy(prompt).to_uppercase()
    ))
}

fn caption(image: &[u8]) -> Bytes {
    Bytes::from(format!("A picture worth {} bytes, in words.", image.len()))
}

/// The application behind every provider: a two-step tool pipeline (draft, then finish),
/// reported as tool calls so tier-3 evidence carries one signed receipt per step.
fn work(task: &ExecuteTask, input: &[u8], behaviour: Behaviour) -> Executed {
    let clock = SystemClock::new();
    let t0 = clock.now().wall;
    let result = match (behaviour, task.capability.as_str()) {
        (Behaviour::Sloppy, _) => Bytes::from_static(b"<svg>a blurry smudge</svg>"),
        (_, "image.caption") => caption(input),
        _ => render(input),
    };
    let draft = Bytes::from(format!("draft of {} bytes", result.len()));
    let t1 = clock.now().wall;
    let tools = vec![
        ToolCall {
            tool: "draft".into(),
            input_hash: payload_hash(input),
            output_hash: payload_hash(&draft),
            started_at: t0,
            ended_at: t1,
        },
        ToolCall {
            tool: "finish".into(),
            input_hash: payload_hash(&draft),
            output_hash: payload_hash(&result),
            started_at: t1,
            ended_at: clock.now().wall,
        },
    ];
    Executed::Done { result, tools }
}

fn seed_of(name: &str) -> [u8; 32] {
    // Fixed keys keep the transcript's ids stable between runs; a real agent draws its seed
    // from the OS once (the Node does that when given no identity) and keeps it in its data
    // directory.
    *blake3::hash(format!("agentnet quickstart {name}").as_bytes()).as_bytes()
}

struct Agent {
    name: &'static str,
    behaviour: Behaviour,
    offers: Vec<Offer>,
}

fn cast() -> Vec<Agent> {
    vec![
        Agent {
            name: "herald",
            behaviour: Behaviour::Honest,
            offers: vec![],
        },
        Agent {
            name: "pixel",
            behaviour: Behaviour::Sloppy,
            offers: vec![(
                "image.generate",
                IMAGE,
                "Turn a text prompt into a picture: the best images, instantly, for any prompt",
                qos(300, 9_990),
            )],
        },
        Agent {
            name: "canvas",
            behaviour: Behaviour::Honest,
            offers: vec![
                (
                    "image.generate",
                    IMAGE,
                    "Generate an image from a text prompt",
                    qos(4_000, 9_700),
                ),
                (
                    "image.caption",
                    CAPTION,
                    "Caption a picture: describe an image in one sentence",
                    qos(2_000, 9_600),
                ),
            ],
        },
        Agent {
            name: "mosaic",
            behaviour: Behaviour::Cheat,
            offers: vec![
                (
                    "image.generate",
                    IMAGE,
                    "Paint watercolor images from a text prompt",
                    qos(5_000, 9_500),
                ),
                (
                    "image.caption",
                    CAPTION,
                    "Write a poetic caption for a picture",
                    qos(1_500, 9_800),
                ),
            ],
        },
        Agent {
            name: "babel",
            behaviour: Behaviour::Honest,
            offers: vec![],
        },
        Agent {
            name: "scribe",
            behaviour: Behaviour::Honest,
            offers: vec![],
        },
    ]
}

async fn start(
    a: &Agent,
    dir: &std::path::Path,
    bootstrap: Vec<String>,
    cheat: Arc<AtomicBool>,
    listen: String,
) -> Result<Node, NodeError> {
    let mut agent = AgentConfig::default();
    // Quick trust rounds, so reputation visibly moves within the demo.
    agent.trust_interval = Duration::from_millis(300);
    // No exploration: the transcript is the same on every run (a real agent keeps the default,
    // so newcomers get some work).
    agent.selection.exploration = 0.0;
    let topics = vec![
        Topic::new(IMAGE).expect("topic"),
        Topic::new(CAPTION).expect("topic"),
    ];
    let keys = Keypair::from_seed(seed_of(a.name));
    let lying = a.behaviour == Behaviour::Cheat;
    Node::builder()
        .identity(Keypair::from_seed(seed_of(a.name)))
        .data_dir(dir)
        .transport_with(move |k: &Keypair, now| {
            let k = Keypair::from_seed(*k.seed());
            async move {
                let cfg = TcpConfig {
                    listen: Some(
                        listen
                            .parse()
                            .map_err(|e| NodeError::Config(format!("{e}")))?,
                    ),
                    ..TcpConfig::default()
                };
                let tcp = TcpTransport::bind(&k, cfg, now.wall.as_unix_millis()).await?;
                let cheat = if lying {
                    cheat
                } else {
                    Arc::new(AtomicBool::new(false))
                };
                Ok(Lying::new(tcp, &keys, cheat))
            }
        })
        .interest(InterestProfile::everything())
        .seed(seed_of(&format!("{} engine", a.name)))
        .config(NodeConfig {
            agent,
            bootstrap,
            topics,
            ..NodeConfig::default()
        })
        .start()
        .await
}

/// Announce and serve every capability of `a` on `n`. Honest work on a prompt starting with
/// "slowly:" takes 1.5 s (so the quickstart can stop a provider in the middle of it).
async fn serve_all(n: &Node, a: &Agent, clock: &SystemClock) -> Result<(), Box<dyn Error>> {
    for (cap, topic, summary, q) in &a.offers {
        let d = CapabilityDescriptor::builder(n.id(), *cap, topic, *summary)
            .qos(*q)
            .ttl(Duration::from_secs(300))
            .build(clock.now())?;
        let behaviour = a.behaviour;
        n.serve(d, move |task, input| async move {
            if input.starts_with(b"slowly:") {
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            work(&task, &input, behaviour)
        })
        .await?;
    }
    Ok(())
}

fn units(micros: u64) -> String {
    format!("{:.2}", micros as f64 / UNIT as f64)
}

/// Run one request, printing every stage as it happens.
/// Print one stage of a request as it happens.
fn print_stage(
    stage: Stage,
    names: &BTreeMap<AgentId, &'static str>,
    t: &dyn Fn() -> u128,
    shown_rules: &mut bool,
) {
    let name = |id: &AgentId| names.get(id).copied().unwrap_or("?");
    match stage {
        Stage::Ranked(r) => {
            println!(
                "   {:>5} ms  candidates, best first (Pareto layers over relevance, reputation, QoS, evidence):",
                t()
            );
            for c in r {
                let place = if c.demoted {
                    "demoted".to_string()
                } else if c.explored {
                    "explored".to_string()
                } else if c.layer == 0 {
                    "front".to_string()
                } else {
                    format!("layer {}", c.layer)
                };
                println!(
                    "               {:<7} {:<15} similarity {:.3}  reputation {:.3}  {place}",
                    name(&c.provider),
                    c.capability,
                    c.similarity,
                    c.reputation
                );
            }
        }
        Stage::TierChosen { tier, reason } => {
            println!("   {:>5} ms  tier {} chosen: {reason}", t(), tier as u8)
        }
        Stage::Offered {
            provider,
            tier,
            clauses,
            canaries,
        } => {
            let canaries = match canaries {
                0 => "no canaries".to_string(),
                n => format!("{n} canary interleaved, indistinguishable from the task"),
            };
            let rules = if *shown_rules {
                "under the same signed rules"
            } else {
                "under these signed rules:"
            };
            println!(
                "   {:>5} ms  offer to {} at tier {} ({canaries}), {rules}",
                t(),
                name(&provider),
                tier as u8
            );
            if !*shown_rules {
                for c in clauses {
                    println!("               - {c}");
                }
                *shown_rules = true;
            }
        }
        Stage::Delegated { provider, deposit } => println!(
            "   {:>5} ms  {} committed with a deposit of {} units; input sealed to its key and sent",
            t(),
            name(&provider),
            units(deposit)
        ),
        Stage::Delivered { provider, receipts } => println!(
            "   {:>5} ms  result from {} matches its signed hash{}",
            t(),
            name(&provider),
            if receipts > 0 {
                format!("; evidence verified: {receipts} signed tool receipts")
            } else {
                String::new()
            }
        ),
        Stage::Verdict(a) => {
            let why = match &a.verdict {
                Verdict::CanaryFailed => "failed its canary: falling back to the next candidate".to_string(),
                Verdict::Fraud => "its evidence contradicts its own receipts: FRAUD PROOF, deposit slashed, falling back".to_string(),
                Verdict::BelowReputation { score } => format!("skipped at tier 1 (score {score:.3}, failures on record)"),
                Verdict::Convicted => "skipped: convicted by a fraud proof".to_string(),
                Verdict::Accepted => "accepted".to_string(),
                other => format!("{other:?}"),
            };
            println!("   {:>5} ms  {}: {why}", t(), name(&a.provider));
        }
        Stage::Settled {
            provider,
            payment,
            refund,
            slashed,
        } => println!(
            "   {:>5} ms  settled with {}: paid {} units, deposit refunded {}, slashed {}",
            t(),
            name(&provider),
            units(payment),
            units(refund),
            units(slashed)
        ),
        _ => {}
    }
}

/// Run one request, printing every stage as it happens.
async fn run_request(
    node: &Node,
    names: &BTreeMap<AgentId, &'static str>,
    task: TaskRequest,
    t: &dyn Fn() -> u128,
) -> Result<agentnet_transport::agent::TaskOutcome, Box<dyn Error>> {
    let mut h = node.start_request(task).await?;
    let mut shown_rules = false;
    while let Some(stage) = h.next_stage().await {
        print_stage(stage, names, t, &mut shown_rules);
    }
    Ok(h.outcome().await?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let started = WallClock::now();
    let t = move || started.elapsed().as_millis();
    let agents = cast();
    let cheat = Arc::new(AtomicBool::new(false));
    println!("agentnet quickstart: the task funnel\n====================================\n");

    println!(
        "1. Six agents start on loopback TCP + Noise, each with its own keys, identity chain and data directory"
    );
    let mut dirs = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut addrs: Vec<String> = Vec::new();
    for a in &agents {
        let dir = tempfile::tempdir()?;
        let node = start(
            a,
            dir.path(),
            addrs.clone(),
            cheat.clone(),
            "127.0.0.1:0".into(),
        )
        .await?;
        let addr = node.local_addr().unwrap_or("-").to_string();
        println!("   {:<7} {}  listening on {addr}", a.name, node.id());
        addrs.push(addr);
        nodes.push(node);
        dirs.push(dir);
    }
    let names: BTreeMap<AgentId, &'static str> = nodes
        .iter()
        .zip(&agents)
        .map(|(n, a)| (n.id(), a.name))
        .collect();
    let by_name = |name: &str| agents.iter().position(|a| a.name == name).expect("agent");
    let deadline = WallClock::now() + Duration::from_secs(20);
    loop {
        let mut ready = 0;
        for n in &nodes {
            ready += usize::from(n.peers().await?.len() >= agents.len() - 1);
        }
        if ready == nodes.len() || WallClock::now() > deadline {
            println!(
                "   {ready} of {} agents fully linked after {} ms",
                nodes.len(),
                t()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    println!(
        "\n2. Providers serve capabilities: signed, expiring descriptors gossiped in their topics"
    );
    let clock = SystemClock::new();
    for (n, a) in nodes.iter().zip(&agents) {
        serve_all(n, a, &clock).await?;
        for (cap, topic, summary, _) in &a.offers {
            println!(
                "   {:<7} serves {cap:<15} in {topic:<17} \"{summary}\"",
                a.name
            );
        }
    }
    let herald = &nodes[by_name("herald")];
    let until = WallClock::now() + Duration::from_secs(20);
    while herald
        .discover("picture", Default::default(), 8)
        .await?
        .len()
        < 3
        && WallClock::now() < until
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    println!(
        "\n3. babel and scribe each commission mosaic (honest so far): it earns reputation in two topics"
    );
    for who in ["babel", "scribe"] {
        let n = &nodes[by_name(who)];
        for (intent, input) in [
            (
                "paint a watercolor image from my prompt",
                &b"a lighthouse at dusk"[..],
            ),
            (
                "write a poetic caption for my picture",
                &b"<svg>...</svg>"[..],
            ),
        ] {
            let o = n
                .request(TaskRequest::new(intent, Bytes::copy_from_slice(input)))
                .await?;
            let by = o
                .provider
                .map_or("nobody", |p| names.get(&p).copied().unwrap_or("?"));
            println!(
                "   {who:<7} \"{intent}\" → {by} (tier {}), {}",
                o.tier as u8,
                if o.result.is_ok() {
                    "accepted"
                } else {
                    "failed"
                }
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mosaic = nodes[by_name("mosaic")].id();
    let topics = [Topic::new(IMAGE)?, Topic::new(CAPTION)?];
    let mut before = BTreeMap::new();
    for who in ["babel", "scribe"] {
        for topic in &topics {
            let (s, _) = nodes[by_name(who)]
                .reputation(mosaic, topic.clone())
                .await?;
            before.insert((who, topic.as_str().to_string()), s);
        }
    }

    println!(
        "\n4. herald needs a picture for an article: 150 units at risk, one canary prompt it knows the answer to"
    );
    let canary = CanaryCase::new(
        Bytes::from_static(b"a red circle on white"),
        render(b"a red circle on white"),
    );
    let task = TaskRequest::new(
        "turn my text prompt into a picture",
        Bytes::from_static(b"a fox reading a newspaper"),
    )
    .value_at_risk(150 * UNIT)
    .canaries(vec![canary.clone()]);
    let o = run_request(herald, &names, task, &t).await?;
    println!(
        "   outcome: {} from {} after {} fallback(s): {:?}",
        if o.result.is_ok() {
            "success"
        } else {
            "failure"
        },
        o.provider
            .map_or("nobody", |p| names.get(&p).copied().unwrap_or("?")),
        o.fallback_count(),
        o.result
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).to_string())
            .map_err(|e| e.clone())
    );
    let first_ok = o.result.is_ok();

    println!(
        "\n5. mosaic turns dishonest; herald asks for a caption (it falls back again if cheated)"
    );
    cheat.store(true, Ordering::Relaxed);
    let mut task = TaskRequest::new(
        "write a poetic caption for my picture",
        render(b"a fox reading a newspaper"),
    )
    .value_at_risk(150 * UNIT);
    task.requirements.topic = Some(Topic::new(CAPTION)?);
    let o2 = run_request(herald, &names, task, &t).await?;
    println!(
        "   outcome: {} from {} after {} fallback(s)",
        if o2.result.is_ok() {
            "success"
        } else {
            "failure"
        },
        o2.provider
            .map_or("nobody", |p| names.get(&p).copied().unwrap_or("?")),
        o2.fallback_count()
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    println!("   the fraud proof spread: mosaic's reputation as other agents now see it");
    let mut convicted_everywhere = true;
    for who in ["babel", "scribe"] {
        for topic in &topics {
            let (s, convicted) = nodes[by_name(who)]
                .reputation(mosaic, topic.clone())
                .await?;
            convicted_everywhere &= convicted && s == 0.0;
            println!(
                "   at {who:<7} in {:<17} {:.3} → {:.3}{}",
                topic.as_str(),
                before[&(who, topic.as_str().to_string())],
                s,
                if convicted {
                    "  (convicted: holds the proof)"
                } else {
                    ""
                }
            );
        }
    }

    println!("\n6. canvas stops in the middle of a session and restarts from its data directory");
    let ci = by_name("canvas");
    let canvas_id = nodes[ci].id();
    let herald_i = by_name("herald");
    let task = TaskRequest::new(
        "generate an image from a text prompt",
        Bytes::from_static(b"slowly: a quiet harbour"),
    )
    .value_at_risk(150 * UNIT)
    .canaries(vec![CanaryCase::new(
        Bytes::from_static(b"a blue square"),
        render(b"a blue square"),
    )]);
    let mut h = nodes[herald_i].start_request(task).await?;
    let mut shown_rules = false;
    let mut restarted = false;
    let mut settled = None;
    while let Some(stage) = h.next_stage().await {
        let delegated_to_canvas =
            matches!(&stage, Stage::Delegated { provider, .. } if *provider == canvas_id);
        if let Stage::Settled {
            payment, refund, ..
        } = &stage
        {
            settled = Some((*payment, *refund));
        }
        print_stage(stage, &names, &t, &mut shown_rules);
        if delegated_to_canvas && !restarted {
            restarted = true;
            // The deposit is posted and the work under way: canvas goes down.
            let old = nodes.remove(ci);
            old.shutdown().await?;
            println!("   {:>5} ms  canvas is down, its open session on disk", t());
            let others: Vec<String> = addrs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != ci)
                .map(|(_, a)| a.clone())
                .collect();
            let again = start(
                &agents[ci],
                dirs[ci].path(),
                others,
                cheat.clone(),
                "127.0.0.1:0".into(),
            )
            .await?;
            serve_all(&again, &agents[ci], &clock).await?;
            println!(
                "   {:>5} ms  canvas is back ({}): it restored the session and asks herald for the input again",
                t(),
                if again.id() == canvas_id {
                    "same identity chain"
                } else {
                    "A DIFFERENT AGENT"
                }
            );
            nodes.insert(ci, again);
        }
    }
    let o3 = h.outcome().await?;
    println!(
        "   outcome: {}; the session settled {}",
        if o3.result.is_ok() {
            "success"
        } else {
            "failure"
        },
        match settled {
            Some((p, r)) => format!(
                "paying {} units with the deposit intact ({} refunded)",
                units(p),
                units(r)
            ),
            None => "without a statement".into(),
        }
    );

    println!("\nTraffic per plane (frames / bytes sent by all agents)");
    let mut planes = [(0u64, 0u64); 4];
    for n in &nodes {
        let p = n.stats().await?.planes;
        for (i, x) in [p.gossip, p.trust, p.execution, p.payload]
            .iter()
            .enumerate()
        {
            planes[i].0 += x.sent_frames;
            planes[i].1 += x.sent_bytes;
        }
    }
    for (name, (f, b)) in ["gossip", "trust", "execution", "payload"]
        .iter()
        .zip(planes)
    {
        println!("   {name:<10} {f:>6} frames {b:>9} bytes");
    }
    for n in nodes {
        n.shutdown().await?;
    }
    println!("\nfinished in {} ms", t());
    if !(first_ok && o2.result.is_ok() && o3.result.is_ok() && convicted_everywhere) {
        return Err("the funnel did not go as the transcript says".into());
    }
    Ok(())
}
