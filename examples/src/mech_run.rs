//! The mechanism-generation experiment: the production [`MechanismLoop`] driven from a naive
//! mechanism (flat payment, no deposit, tier 1 only) against a population with lazy and
//! adversarial followers, with new scenarios (colluders, Sybils, a lazier crowd) arriving as
//! the loop runs, so every accepted mechanism must also keep passing what it passed before.
//!
//! The designer is either the built-in one or the LLM designer. The LLM designer's requests go
//! to any [`LanguageModel`]: the OpenAI-compatible adapter for a real model, or
//! [`ScriptedModel`], a local stand-in that answers from a script — including prose, broken
//! JSON, schema violations, out-of-range values and an over-budget payment — so the whole LLM
//! path (prompt, answer, validation, retry, fallback) runs without a network.

use std::sync::Mutex;
use std::time::Duration;

use agentnet_core::sim::SimRng;
use agentnet_core::{AgentId, Instant, Now, WallTime};
use agentnet_mech::design::{BuiltInDesigner, Designer};
use agentnet_mech::evaluate::{Metrics, Scenario};
use agentnet_mech::follower::{Environment, FollowerType};
use agentnet_mech::llm::LlmDesigner;
use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
use agentnet_mech::stackelberg::{IterationRecord, LoopConfig, LoopEvent, MechanismLoop};
use agentnet_transport::{LanguageModel, LlmError, Prompt};
use async_trait::async_trait;

/// The naive starting point: 60 units flat on delivery, a budget of 80, nothing else
/// (so no deposit, tier 1, the default 24 h execution deadline).
pub fn naive_mechanism() -> Mechanism {
    Mechanism::new(
        AgentId::from_bytes([0x1e; 32]),
        "code-review",
        80 * UNIT,
        [Clause::Payment {
            flat: 60 * UNIT,
            bonus: 0,
        }],
    )
}

/// The scenarios and the iteration (1-based) before which each joins the suite. Shares are
/// jittered by `seed` (±0.05 around the nominal mix, then normalized).
pub fn schedule(seed: u64) -> Vec<(u32, Scenario)> {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(b"mechloop");
    let mut rng = SimRng::stream(s, 1);
    let mut jitter = |x: f64| (x + (rng.unit() - 0.5) * 0.1).max(0.01);
    let scenario = |name: &str, population: Vec<FollowerType>| Scenario {
        name: name.into(),
        population,
        env: Environment::default(),
    };
    vec![
        (
            1,
            scenario(
                "mixed",
                vec![
                    FollowerType::honest(jitter(0.5)),
                    FollowerType::lazy(jitter(0.3)),
                    FollowerType::adversarial(jitter(0.2)),
                ],
            ),
        ),
        (
            4,
            scenario(
                "colluders",
                vec![
                    FollowerType::honest(jitter(0.6)),
                    FollowerType::colluding(jitter(0.4)),
                ],
            ),
        ),
        (
            7,
            scenario(
                "sybils",
                vec![
                    FollowerType::honest(jitter(0.6)),
                    FollowerType::sybil(jitter(0.4)),
                ],
            ),
        ),
        (
            10,
            scenario(
                "lazy-crowd",
                vec![
                    FollowerType::honest(jitter(0.3)),
                    FollowerType::lazy(jitter(0.7)),
                ],
            ),
        ),
    ]
}

/// A [`LanguageModel`] that answers from a script, in order; past the end it fails with
/// [`LlmError::Empty`]. Every prompt it receives is kept for inspection.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    answers: Vec<String>,
    state: Mutex<(usize, Vec<Prompt>)>,
}

impl ScriptedModel {
    /// A model that gives `answers` in order.
    pub fn new(answers: Vec<String>) -> Self {
        ScriptedModel {
            answers,
            state: Mutex::new((0, Vec::new())),
        }
    }

    /// The experiment's script: what a capable but fallible model might answer, with one
    /// malformed answer of every kind the loop must survive.
    pub fn experiment() -> Self {
        let s = |x: &str| x.to_string();
        ScriptedModel::new(vec![
            // Prose instead of JSON.
            s("The payment rule rewards shirking; I would pay for accepted work instead."),
            // In a Markdown fence: pay for accepted work above a threshold, checked with
            // evidence.
            s(
                "```json\n{\"blame\":[{\"clause\":\"payment\",\"weight\":0.9,\"reason\":\"flat pay \
               rewards shirking\"},{\"clause\":\"verification\",\"weight\":0.7,\"reason\":\
               \"claims are never checked\"},{\"clause\":\"quality_threshold\",\"weight\":0.5}],\
               \"clauses\":{\"payment\":{\"flat\":10,\"bonus\":70},\
               \"quality_threshold\":{\"min_score\":0.5},\"verification\":{\"tier\":3}},\
               \"rationale\":\"pay mostly on verified acceptance\"}\n```",
            ),
            // Wrong type for the tier.
            s("{\"blame\":[{\"clause\":\"verification\",\"weight\":1}],\
               \"clauses\":{\"verification\":{\"tier\":\"three\"}}}"),
            // Ratio out of range.
            s("{\"blame\":[{\"clause\":\"slashing\",\"weight\":1}],\
               \"clauses\":{\"slashing\":{\"ratio\":1.5}}}"),
            // A stake against sabotage.
            s(
                "{\"blame\":[{\"clause\":\"deposit\",\"weight\":0.9,\"reason\":\"a caught \
               saboteur loses too little\"},{\"clause\":\"slashing\",\"weight\":0.6}],\
               \"clauses\":{\"deposit\":{\"amount\":30},\
               \"slashing\":{\"ratio\":1.0}},\"rationale\":\"make fraud costly\"}",
            ),
            // Over budget.
            s("{\"blame\":[{\"clause\":\"payment\",\"weight\":1}],\
               \"clauses\":{\"payment\":{\"flat\":40,\"bonus\":60}}}"),
            // All pay on acceptance, shorter deadline.
            s("{\"blame\":[{\"clause\":\"payment\",\"weight\":0.7},\
               {\"clause\":\"deadlines\",\"weight\":0.3}],\
               \"clauses\":{\"payment\":{\"flat\":0,\"bonus\":80},\
               \"deadlines\":{\"commit_s\":60,\"execute_s\":10800,\"settle_s\":3600}}}"),
            // An unknown field.
            s("{\"blame\":[],\"clauses\":{},\"confidence\":0.9}"),
            // A bigger stake for Sybils.
            s(
                "{\"blame\":[{\"clause\":\"deposit\",\"weight\":1,\"reason\":\"a Sybil has no \
               reputation to lose\"}],\"clauses\":{\"deposit\":{\"amount\":45}}}",
            ),
            // Truncated JSON.
            s("{\"blame\":[{\"clause\":\"deposit\""),
        ])
    }

    /// Prompts received so far.
    pub fn prompts(&self) -> Vec<Prompt> {
        self.state
            .lock()
            .expect("no panics while holding")
            .1
            .clone()
    }
}

#[async_trait]
impl LanguageModel for ScriptedModel {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn complete(&self, prompt: &Prompt, _timeout: Duration) -> Result<String, LlmError> {
        let mut st = self.state.lock().expect("no panics while holding");
        st.1.push(prompt.clone());
        let i = st.0;
        st.0 += 1;
        self.answers.get(i).cloned().ok_or(LlmError::Empty)
    }
}

/// Which designer a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignerChoice {
    /// [`BuiltInDesigner`].
    BuiltIn,
    /// [`LlmDesigner`] with the given model.
    Llm,
}

/// One run of the loop.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// Every iteration, in order.
    pub iterations: Vec<IterationRecord>,
    /// The final mechanism.
    pub mechanism: Mechanism,
    /// Its metrics on the final suite.
    pub metrics: Metrics,
    /// Every scenario's name, in suite order.
    pub scenarios: Vec<String>,
    /// LLM requests made.
    pub llm_requests: u32,
}

impl RunOutcome {
    /// The first iteration from which the incumbent passes every scenario it has seen at every
    /// later iteration, if any.
    pub fn zero_violation_from(&self) -> Option<u32> {
        let mut from = None;
        for r in &self.iterations {
            if r.after.passes() {
                from.get_or_insert(r.iteration);
            } else {
                from = None;
            }
        }
        from
    }
}

/// Run the loop for `iterations` with `choice`, asking `model` when the designer is the LLM
/// one. `progress` sees every record as it lands.
pub async fn run(
    choice: DesignerChoice,
    model: Option<&dyn LanguageModel>,
    seed: u64,
    iterations: u32,
    mut progress: impl FnMut(&IterationRecord),
) -> Result<RunOutcome, Box<dyn std::error::Error>> {
    let designer: Box<dyn Designer> = match choice {
        DesignerChoice::BuiltIn => Box::new(BuiltInDesigner::new()),
        DesignerChoice::Llm => Box::new(LlmDesigner::new()),
    };
    let config = LoopConfig {
        max_iterations: iterations,
        ..LoopConfig::default()
    };
    let timeout = config.llm_timeout;
    let mut lp = MechanismLoop::new(config, naive_mechanism(), designer)?;
    let mut pending = schedule(seed);
    let start = std::time::Instant::now();
    let now = || {
        let ms = start.elapsed().as_millis() as u64;
        Now::new(
            Instant::from_millis(ms),
            WallTime::from_unix_millis(1_800_000_000_000 + ms),
        )
    };
    let mut requests = 0;
    let mut seen = 0;
    loop {
        let next = lp.history().len() as u32 + 1;
        if lp.is_finished() {
            // A loop that ran out of ideas resumes when a new scenario arrives.
            if pending.is_empty() || next > iterations {
                break;
            }
            let (_, s) = pending.remove(0);
            lp.add_scenario(s)?;
        }
        while pending.first().is_some_and(|(at, _)| *at <= next) {
            let (_, s) = pending.remove(0);
            lp.add_scenario(s)?;
        }
        // The next iteration (or an LLM request's expiry) is the loop's deadline. Every
        // request below is answered before the next turn, so here it is an iteration.
        let Some(deadline) = lp.poll_timeout() else {
            break;
        };
        let wait = deadline.saturating_duration_since(now().mono);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        lp.handle_timeout(now());
        while let Some(ev) = lp.poll_event() {
            if let LoopEvent::LlmRequest { id, prompt, .. } = ev {
                requests += 1;
                let Some(model) = model else {
                    lp.handle_llm_failure(now(), id, "no language model configured")?;
                    continue;
                };
                let p = Prompt {
                    system: prompt.system,
                    user: prompt.user,
                    max_tokens: prompt.max_tokens,
                    temperature: 0.0,
                };
                match model.complete(&p, timeout).await {
                    Ok(text) => lp.handle_llm_response(now(), id, &text)?,
                    Err(e) => lp.handle_llm_failure(now(), id, &e.to_string())?,
                }
            }
        }
        for r in &lp.history()[seen..] {
            progress(r);
        }
        seen = lp.history().len();
    }
    Ok(RunOutcome {
        iterations: lp.history().to_vec(),
        mechanism: lp.incumbent().clone(),
        metrics: lp.report().metrics,
        scenarios: lp.suite().iter().map(|s| s.name.clone()).collect(),
        llm_requests: requests,
    })
}
