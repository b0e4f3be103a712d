//! Candidate selection: the Pareto front over what a provider offers and what this agent knows
//! of it (the agentic-P2P paper's Pareto-style selection), a documented tie-break inside the
//! front, bounded exploration, and demotion of providers whose capability drifted.
//!
//! # What it does
//!
//! Every candidate becomes a vector of objectives, all "higher is better":
//!
//! | objective | source |
//! |---|---|
//! | relevance | cosine similarity of the request's intent to the descriptor's |
//! | reputation | this agent's per-topic reputation of the provider (canonical id) |
//! | success | observed success rate, blended with the claim (below) |
//! | speed | −latency, observed, blended with the claim |
//! | thrift | −cost, observed, blended with the claim |
//! | evidence | the highest verification tier the descriptor offers |
//! | attested | whether an issuer this agent trusts attested the provider's principal |
//!
//! **Claims count only for a provider someone vouches for, and are blended with
//! observations.** A provider is *vouched for* when this agent observed it (a checked outcome
//! for this capability), when it has reputation in the topic (its peers' verified interactions)
//! or when a trusted issuer attested its principal. A *stranger* — none of the three — has its
//! QoS objectives set to the neutral prior ([`SelectionConfig::prior_success`], the
//! candidates' median claimed latency and cost) whatever it claims: claims are free, and
//! letting an unknown identity's boasts order it would hand the front to whoever boasts most
//! (under index poisoning, every copying Sybil). Strangers are then ordered by the same
//! tie-break as everyone (relevance, then id), and exploration gives them work. For a vouched-for
//! provider, a QoS claim is worth [`SelectionConfig::claim_weight`] observations of the prior:
//! with `n` observations, `value = (w·claim_shrunk + n·observed) / (w + n)` where
//! `claim_shrunk = (claim + prior) / 2`. So claims move a provider only halfway from the prior,
//! and its own deliveries soon outweigh what it says.
//!
//! Candidates are sorted into Pareto layers (non-dominated sorting): the first layer is exactly
//! the set no other candidate dominates (at least as good in every objective and better in
//! one); the next layer is the front of the rest, and so on. **Inside a layer** the order is:
//! reputation, then observed deliveries (more is better), then relevance, then the provider
//! id (so the order is total and deterministic).
//!
//! **Exploration.** With probability [`SelectionConfig::exploration`] (drawn from the caller's
//! seeded randomness) one candidate this agent has never observed, chosen uniformly, moves to
//! the front; otherwise new providers compete on their shrunk claims. This bounds how much work
//! goes to strangers and guarantees that an honest newcomer gets some.
//!
//! **Drift.** A provider that failed a real task or a canary for a capability is *demoted* for
//! it — placed after every other candidate — until it re-issues its descriptor after the
//! failure (a newer `issued_at`): a provider whose capability drifted has to refresh what it
//! claims. Descriptors expire with their TTL and are refreshed at a configured fraction of it,
//! so the TTL and the refresh cadence bound how long a stale claim is believed.
//!
//! # Threat model
//!
//! Anyone can publish a descriptor, and claims are free. A Sybil that copies an honest
//! provider's text gets the same relevance; with zero reputation and no deliveries its claims
//! do not count, so it is at best equal to an equally unknown honest provider and is dominated
//! by one with any standing, and the first failed check demotes it. The observation table is keyed by (provider, capability) — attacker-chosen — so it is
//! bounded ([`SelectionConfig::max_observed`]); when full, the entry with the fewest
//! observations (then the oldest) goes, so identities that were never served cannot push out
//! the record of those that were.
//!
//! # What it does not do
//!
//! No hard-constraint filtering (the discovery index does that before) and no verification:
//! selection only orders candidates; the verification tier and the checks are the funnel's.

use std::collections::BTreeMap;

use agentnet_core::{AgentId, WallTime};

/// What selection knows of one candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The provider (canonical id: reputation and observations are keyed by it).
    pub provider: AgentId,
    /// The capability offered.
    pub capability: String,
    /// Relevance to the request, `[-1, 1]`.
    pub similarity: f32,
    /// Claimed latency, ms (`None`: not stated; the prior stands in for it).
    pub claimed_latency_ms: Option<u32>,
    /// Claimed success rate, basis points (0..=10 000; `None`: not stated).
    pub claimed_success_bp: Option<u16>,
    /// Claimed cost per call, µ-units (`None`: not stated).
    pub claimed_cost_micros: Option<agentnet_core::money::Micros>,
    /// This agent's reputation of the provider in the capability's topic.
    pub reputation: f64,
    /// Highest verification tier the descriptor offers (1..=3).
    pub evidence_tier: u8,
    /// Whether a trusted issuer attested the provider's principal.
    pub attested: bool,
    /// When the descriptor was issued (a refresh after a failure lifts a demotion).
    pub issued_at: WallTime,
}

/// Selection settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SelectionConfig {
    /// How many observations a claim is worth. Default 2.0; range 0..=1 000.
    pub claim_weight: f64,
    /// The neutral success rate claims are shrunk toward. Default 0.5; range 0..=1.
    pub prior_success: f64,
    /// Probability that an unobserved candidate is moved to the front. Default 0.1; range
    /// 0..=1.
    pub exploration: f64,
    /// Weight of the newest observation in the moving averages. Default 0.2; range
    /// 0.001..=1.
    pub smoothing: f64,
    /// Most (provider, capability) pairs observed. Default 65 536; range 1..=10 000 000.
    pub max_observed: usize,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        SelectionConfig {
            claim_weight: 2.0,
            prior_success: 0.5,
            exploration: 0.1,
            smoothing: 0.2,
            max_observed: 65_536,
        }
    }
}

impl SelectionConfig {
    /// Check the documented ranges.
    pub fn validate(&self) -> Result<(), agentnet_core::ConfigError> {
        use agentnet_core::config::check_range;
        check_range("claim_weight", self.claim_weight, 0.0..=1000.0, "0..=1000")?;
        check_range("prior_success", self.prior_success, 0.0..=1.0, "0..=1")?;
        check_range("exploration", self.exploration, 0.0..=1.0, "0..=1")?;
        check_range("smoothing", self.smoothing, 0.001..=1.0, "0.001..=1")?;
        check_range(
            "max_observed",
            self.max_observed,
            1..=10_000_000,
            "1..=10000000",
        )
    }
}

/// What this agent saw of one (provider, capability).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    /// Checked outcomes recorded.
    pub count: u32,
    /// Moving average of success (1 = accepted, 0 = failed).
    pub success: f64,
    /// Moving average of latency, ms (successful deliveries only).
    pub latency_ms: f64,
    /// Moving average of what was paid, µ-units.
    pub cost_micros: f64,
    /// When it last failed a real task or a canary.
    pub last_failure: Option<WallTime>,
    /// When it was last observed.
    pub at: WallTime,
}

/// The observations behind selection: bounded, keyed by (canonical provider, capability).
#[derive(Clone, Debug, Default)]
pub struct Observations {
    config: SelectionConfig,
    table: BTreeMap<(AgentId, String), Observed>,
}

impl Observations {
    /// An empty table.
    pub fn new(config: SelectionConfig) -> Result<Self, agentnet_core::ConfigError> {
        config.validate()?;
        Ok(Observations {
            config,
            table: BTreeMap::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &SelectionConfig {
        &self.config
    }

    /// What was observed of `provider` for `capability`.
    pub fn get(&self, provider: &AgentId, capability: &str) -> Option<&Observed> {
        self.table.get(&(*provider, capability.to_string()))
    }

    /// Pairs held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Every pair held, in key order (what a host persists; see [`restore`](Self::restore)).
    pub fn iter(&self) -> impl Iterator<Item = (&AgentId, &str, &Observed)> {
        self.table.iter().map(|((p, c), o)| (p, c.as_str(), o))
    }

    /// Put back a pair saved before a restart. The table's bound and eviction rule apply as
    /// for a new pair; returns the pair evicted to make room, if any. A record with values
    /// outside their range (a damaged or hand-edited store) is refused with `false` in the
    /// second place and changes nothing.
    pub fn restore(
        &mut self,
        provider: AgentId,
        capability: &str,
        observed: Observed,
    ) -> (Option<(AgentId, String)>, bool) {
        let sane = (0.0..=1.0).contains(&observed.success)
            && observed.latency_ms.is_finite()
            && observed.latency_ms >= 0.0
            && observed.cost_micros.is_finite()
            && observed.cost_micros >= 0.0;
        if !sane {
            return (None, false);
        }
        let (evicted, o) = self.entry(provider, capability, observed.at);
        *o = observed;
        (evicted, true)
    }

    /// Record a successful, checked delivery: `latency_ms` from delegation to delivery, and
    /// what was paid. Returns the pair evicted to make room for this one, if any (so a host
    /// that persists the table can delete it).
    pub fn record_success(
        &mut self,
        provider: AgentId,
        capability: &str,
        latency_ms: u64,
        paid_micros: u64,
        at: WallTime,
    ) -> Option<(AgentId, String)> {
        let a = self.config.smoothing;
        let (evicted, o) = self.entry(provider, capability, at);
        let first = o.count == 0;
        o.count = o.count.saturating_add(1);
        o.success = if first {
            1.0
        } else {
            o.success + a * (1.0 - o.success)
        };
        let l = latency_ms as f64;
        o.latency_ms = if first || o.latency_ms == 0.0 {
            l
        } else {
            o.latency_ms + a * (l - o.latency_ms)
        };
        let c = paid_micros as f64;
        o.cost_micros = if first {
            c
        } else {
            o.cost_micros + a * (c - o.cost_micros)
        };
        o.at = at;
        evicted
    }

    /// Record a failed real task or canary: the provider is demoted for `capability` until it
    /// re-issues its descriptor after `at`. Returns the pair evicted to make room, if any.
    pub fn record_failure(
        &mut self,
        provider: AgentId,
        capability: &str,
        at: WallTime,
    ) -> Option<(AgentId, String)> {
        let a = self.config.smoothing;
        let (evicted, o) = self.entry(provider, capability, at);
        let first = o.count == 0;
        o.count = o.count.saturating_add(1);
        o.success = if first {
            0.0
        } else {
            o.success - a * o.success
        };
        o.last_failure = Some(at);
        o.at = at;
        evicted
    }

    fn entry(
        &mut self,
        provider: AgentId,
        capability: &str,
        at: WallTime,
    ) -> (Option<(AgentId, String)>, &mut Observed) {
        let key = (provider, capability.to_string());
        let mut evicted = None;
        if !self.table.contains_key(&key) && self.table.len() >= self.config.max_observed {
            // Fair eviction: the least-observed pair goes (then the longest unseen), so never-
            // served identities cannot push out the record of providers that were.
            if let Some(victim) = self
                .table
                .iter()
                .min_by(|a, b| a.1.count.cmp(&b.1.count).then(a.1.at.cmp(&b.1.at)))
                .map(|(k, _)| k.clone())
            {
                self.table.remove(&victim);
                evicted = Some(victim);
            }
        }
        let o = self.table.entry(key).or_insert(Observed {
            count: 0,
            success: 0.0,
            latency_ms: 0.0,
            cost_micros: 0.0,
            last_failure: None,
            at,
        });
        (evicted, o)
    }

    /// Whether `c` is demoted: it failed after its descriptor was issued.
    pub fn is_demoted(&self, c: &Candidate) -> bool {
        self.get(&c.provider, &c.capability)
            .and_then(|o| o.last_failure)
            .is_some_and(|f| c.issued_at <= f)
    }
}

/// A candidate's objectives, "higher is better".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objectives {
    /// Relevance.
    pub relevance: f64,
    /// Reputation.
    pub reputation: f64,
    /// Blended success rate.
    pub success: f64,
    /// −blended latency (ms).
    pub speed: f64,
    /// −blended cost (µ).
    pub thrift: f64,
    /// Verification tier offered.
    pub evidence: f64,
    /// 1 if attested.
    pub attested: f64,
}

impl Objectives {
    fn values(&self) -> [f64; 7] {
        [
            self.relevance,
            self.reputation,
            self.success,
            self.speed,
            self.thrift,
            self.evidence,
            self.attested,
        ]
    }

    /// Whether `self` dominates `other`: at least as good everywhere, better somewhere.
    pub fn dominates(&self, other: &Objectives) -> bool {
        let (a, b) = (self.values(), other.values());
        a.iter().zip(&b).all(|(x, y)| x >= y) && a.iter().zip(&b).any(|(x, y)| x > y)
    }
}

/// One candidate in the order selection chose.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The candidate.
    pub candidate: Candidate,
    /// Its objectives.
    pub objectives: Objectives,
    /// Its Pareto layer (0 = the front).
    pub layer: usize,
    /// Moved to the front to explore.
    pub explored: bool,
    /// Placed last: it failed since its descriptor was issued.
    pub demoted: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Order `candidates` (see the [module docs](self)). `draw` is a uniform random `u64` from the
/// caller's seeded generator: it decides exploration, so the result is deterministic for a
/// given draw.
pub fn select(candidates: Vec<Candidate>, obs: &Observations, draw: u64) -> Vec<Choice> {
    let cfg = obs.config;
    // Priors from what was stated; a claim left out is replaced by the prior (it neither
    // helps nor hurts: unknown is not good, and not proven bad either).
    let prior_latency = median(
        candidates
            .iter()
            .filter_map(|c| c.claimed_latency_ms.map(f64::from))
            .collect(),
    );
    let prior_cost = median(
        candidates
            .iter()
            .filter_map(|c| c.claimed_cost_micros.map(|m| m as f64))
            .collect(),
    );
    let blend = |claim: Option<f64>, prior: f64, observed: Option<(f64, u32)>| {
        let shrunk = (claim.unwrap_or(prior) + prior) / 2.0;
        let w = cfg.claim_weight;
        match observed {
            Some((v, n)) if n > 0 => (w * shrunk + f64::from(n) * v) / (w + f64::from(n)),
            _ => shrunk,
        }
    };
    let mut choices: Vec<Choice> = candidates
        .into_iter()
        .map(|c| {
            let o = obs.get(&c.provider, &c.capability).copied();
            let n = o.map_or(0, |o| o.count);
            let delivered = o.filter(|o| o.latency_ms > 0.0);
            let vouched = n > 0 || c.reputation > 0.0 || c.attested;
            let qos = if vouched {
                None
            } else {
                Some((cfg.prior_success, -prior_latency, -prior_cost))
            };
            let objectives = Objectives {
                relevance: f64::from(c.similarity),
                reputation: c.reputation,
                success: qos.map_or_else(
                    || {
                        blend(
                            c.claimed_success_bp.map(|b| f64::from(b) / 10_000.0),
                            cfg.prior_success,
                            o.map(|o| (o.success, n)),
                        )
                    },
                    |q| q.0,
                ),
                speed: qos.map_or_else(
                    || {
                        -blend(
                            c.claimed_latency_ms.map(f64::from),
                            prior_latency,
                            delivered.map(|o| (o.latency_ms, n)),
                        )
                    },
                    |q| q.1,
                ),
                thrift: qos.map_or_else(
                    || {
                        -blend(
                            c.claimed_cost_micros.map(|m| m as f64),
                            prior_cost,
                            delivered.map(|o| (o.cost_micros, n)),
                        )
                    },
                    |q| q.2,
                ),
                evidence: f64::from(c.evidence_tier),
                attested: f64::from(u8::from(c.attested)),
            };
            let demoted = obs.is_demoted(&c);
            Choice {
                candidate: c,
                objectives,
                layer: 0,
                explored: false,
                demoted,
            }
        })
        .collect();
    // Non-dominated sorting among the candidates in good standing; demoted ones come last.
    let mut remaining: Vec<usize> = (0..choices.len())
        .filter(|i| !choices[*i].demoted)
        .collect();
    let mut layer = 0;
    while !remaining.is_empty() {
        let front: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| {
                !remaining
                    .iter()
                    .any(|&j| j != i && choices[j].objectives.dominates(&choices[i].objectives))
            })
            .collect();
        for &i in &front {
            choices[i].layer = layer;
        }
        remaining.retain(|i| !front.contains(i));
        layer += 1;
    }
    for c in choices.iter_mut().filter(|c| c.demoted) {
        c.layer = layer;
    }
    let observed = |c: &Choice| {
        obs.get(&c.candidate.provider, &c.candidate.capability)
            .map_or(0, |o| o.count)
    };
    let counts: Vec<u32> = choices.iter().map(observed).collect();
    let mut order: Vec<usize> = (0..choices.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&choices[a], &choices[b]);
        x.layer
            .cmp(&y.layer)
            .then(y.objectives.reputation.total_cmp(&x.objectives.reputation))
            .then(counts[b].cmp(&counts[a]))
            .then(y.objectives.relevance.total_cmp(&x.objectives.relevance))
            .then(x.candidate.provider.cmp(&y.candidate.provider))
            .then(x.candidate.capability.cmp(&y.candidate.capability))
    });
    let mut sorted: Vec<Choice> = order.into_iter().map(|i| choices[i].clone()).collect();
    // Exploration: with probability `exploration`, one never-observed candidate in good
    // standing moves to the front.
    let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
    if unit < cfg.exploration {
        let strangers: Vec<usize> = sorted
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.demoted && observed(c) == 0)
            .map(|(i, _)| i)
            .collect();
        if !strangers.is_empty() {
            let pick = strangers[(draw as usize) % strangers.len()];
            let mut c = sorted.remove(pick);
            c.explored = true;
            sorted.insert(0, c);
        }
    }
    sorted
}

#[cfg(test)]
mod tests;
