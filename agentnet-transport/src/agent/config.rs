//! Settings of an [`Agent`](super::Agent): one struct holding every engine's configuration
//! plus the adaptation layer's own (risk policy, terms it offers, funnel and payload bounds).
//!
//! Rule for every field: out-of-range values are refused with a [`ConfigError`] when the agent
//! is built, never silently clamped.

use core::time::Duration;

use agentnet_core::Hash;
use agentnet_core::descriptor::SideEffects;
use agentnet_gossip::GossipConfig;
use agentnet_mech::mechanism::{Clause, Micros, Ppm, Tier};
use agentnet_mech::session::SessionConfig;
use agentnet_trust::baid::PrincipalCommitment;
use agentnet_trust::canary::CanaryConfig;
use agentnet_trust::ledger::LedgerConfig;
use agentnet_trust::registry::RegistryConfig;
use agentnet_trust::report::{ReportBookConfig, SalienceConfig};
use agentnet_trust::reputation::ReputationConfig;
use thiserror::Error;

/// Why an agent's configuration was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field of the adaptation layer's own settings is outside its documented range.
    #[error(transparent)]
    OutOfRange(#[from] agentnet_core::ConfigError),
    /// An engine refused its part of the configuration; `engine` is the [`AgentConfig`]
    /// field holding it (`"gossip"`, `"sessions"`, …). Displays as
    /// `gossip.mesh_d = 0 is outside 1..=1024`.
    #[error("{engine}.{error}")]
    Engine {
        /// The [`AgentConfig`] field.
        engine: &'static str,
        /// The engine's own error.
        #[source]
        error: agentnet_core::ConfigError,
    },
    /// The terms do not make a valid mechanism.
    #[error("the terms do not make a valid mechanism: {0}")]
    Terms(String),
    /// The reputation engine refused its configuration or the default stake.
    #[error("reputation: {0}")]
    Reputation(String),
}

impl ConfigError {
    /// The field refused, as written in [`AgentConfig`] (`"max_queued"`, `"funnel.max_attempts"`,
    /// or an engine's own field name under [`ConfigError::Engine`]), if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ConfigError::OutOfRange(e) | ConfigError::Engine { error: e, .. } => Some(e.field),
            _ => None,
        }
    }

    /// Wrap an engine's error as refused under the [`AgentConfig`] field `engine`.
    pub fn engine(engine: &'static str) -> impl FnOnce(agentnet_core::ConfigError) -> Self {
        move |error| ConfigError::Engine { engine, error }
    }
}

pub(super) fn check<T: PartialOrd + core::fmt::Debug>(
    field: &'static str,
    value: T,
    lo: T,
    hi: T,
    range: &'static str,
) -> Result<(), ConfigError> {
    Ok(agentnet_core::config::check_range(
        field,
        value,
        lo..=hi,
        range,
    )?)
}

/// Which identity this agent binds its key to (the inputs of its BAID, DESIGN §6). The salt is
/// derived from the agent's seed, so the same seed gives the same identity chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdentityConfig {
    /// Hash of the agent's code. Default: the hash of this crate's name and version.
    pub code_hash: Hash,
    /// Digest of the agent's configuration (model, prompt template, tool policy), see
    /// [`agentnet_trust::baid::AgentConfig::digest`]. Default: all zero (undeclared).
    pub config_digest: Hash,
    /// Commitment to the accountable principal. Default: all zero (undeclared); such an agent
    /// can never reach the "attested" identity tier.
    pub principal: PrincipalCommitment,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            code_hash: Hash::digest(
                agentnet_core::hash::domain::CODE,
                concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")).as_bytes(),
            ),
            config_digest: Hash([0; 32]),
            principal: PrincipalCommitment(Hash([0; 32])),
        }
    }
}

/// The rules this agent offers when it requests work: the clauses of the mechanism it signs
/// (its verification clause is set per request by the tier chosen). Money is in µ-units
/// ([`agentnet_mech::mechanism::UNIT`] = one unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// Paid on every delivery. Default 2 units.
    pub flat: Micros,
    /// Paid on top when the delivery is accepted. Default 8 units.
    pub bonus: Micros,
    /// Deposit the provider posts. Default 5 units.
    pub deposit: Micros,
    /// Share of the deposit forfeited on a verified fraud proof. ppm; default 1 000 000 (all).
    pub slashing: Ppm,
    /// Quality a delivery must reach to be accepted. ppm; default 500 000.
    pub min_score: Ppm,
    /// Offer → commitment. Default 5 s; range 1 ms..=1 day.
    pub commit: Duration,
    /// Delegation → delivery. Default 30 s; range 1 ms..=1 day.
    pub execute: Duration,
    /// Delivery → settlement. Default 10 s; range 1 ms..=1 day.
    pub settle: Duration,
}

impl Default for Terms {
    fn default() -> Self {
        use agentnet_mech::mechanism::UNIT;
        Terms {
            flat: 2 * UNIT,
            bonus: 8 * UNIT,
            deposit: 5 * UNIT,
            slashing: 1_000_000,
            min_score: 500_000,
            commit: Duration::from_secs(5),
            execute: Duration::from_secs(30),
            settle: Duration::from_secs(10),
        }
    }
}

impl Terms {
    /// The clauses of the mechanism for `tier`.
    pub fn clauses(&self, tier: Tier) -> Vec<Clause> {
        vec![
            Clause::Payment {
                flat: self.flat,
                bonus: self.bonus,
            },
            Clause::QualityThreshold {
                min_score: self.min_score,
            },
            Clause::Deposit {
                amount: self.deposit,
            },
            Clause::Slashing {
                ratio: self.slashing,
            },
            Clause::Verification { tier },
            Clause::Deadlines {
                commit_ms: self.commit.as_millis() as u64,
                execute_ms: self.execute.as_millis() as u64,
                settle_ms: self.settle.as_millis() as u64,
            },
        ]
    }
}

/// The documented risk policy: which verification tier a task gets from what is at stake.
///
/// ```text
/// tier 3 (evidence) if side_effects ≥ evidence_side_effects or value_at_risk ≥ evidence_value
/// tier 2 (canaries) if side_effects ≥ canary_side_effects  or value_at_risk ≥ canary_value
/// tier 1 (reputation) otherwise
/// ```
///
/// Tier 2 needs canaries the requester can grade; a request without an unused canary for a
/// provider is checked at tier 3 for that provider instead (never silently at a lower tier).
/// The caller can force a tier per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskPolicy {
    /// Value at risk (µ) from which canaries are used. Default 10 units.
    pub canary_value: Micros,
    /// Side effects from which canaries are used. Default [`SideEffects::Reversible`].
    pub canary_side_effects: SideEffects,
    /// Value at risk (µ) from which evidence packages are required. Default 100 units.
    pub evidence_value: Micros,
    /// Side effects from which evidence packages are required. Default
    /// [`SideEffects::Irreversible`].
    pub evidence_side_effects: SideEffects,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        use agentnet_mech::mechanism::UNIT;
        RiskPolicy {
            canary_value: 10 * UNIT,
            canary_side_effects: SideEffects::Reversible,
            evidence_value: 100 * UNIT,
            evidence_side_effects: SideEffects::Irreversible,
        }
    }
}

impl RiskPolicy {
    /// The tier for a task, and the reason in words.
    pub fn tier(&self, value_at_risk: Micros, side_effects: SideEffects) -> (Tier, String) {
        use agentnet_mech::mechanism::UNIT;
        let units = |m: Micros| m as f64 / UNIT as f64;
        if side_effects >= self.evidence_side_effects {
            (
                Tier::Evidence,
                format!("side effects {side_effects:?} reach the evidence level"),
            )
        } else if value_at_risk >= self.evidence_value {
            (
                Tier::Evidence,
                format!(
                    "value at risk {} ≥ {} units",
                    units(value_at_risk),
                    units(self.evidence_value)
                ),
            )
        } else if side_effects >= self.canary_side_effects {
            (
                Tier::Canary,
                format!("side effects {side_effects:?} reach the canary level"),
            )
        } else if value_at_risk >= self.canary_value {
            (
                Tier::Canary,
                format!(
                    "value at risk {} ≥ {} units",
                    units(value_at_risk),
                    units(self.canary_value)
                ),
            )
        } else {
            (
                Tier::Reputation,
                format!(
                    "value at risk {} < {} units and side effects {side_effects:?}",
                    units(value_at_risk),
                    units(self.canary_value)
                ),
            )
        }
    }
}

/// Bounds of the request funnel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunnelConfig {
    /// Candidates taken from discovery per request. Default 8; range 1..=64.
    pub max_candidates: usize,
    /// Providers tried per request before it fails (the first try included). Default 3;
    /// range 1..=16.
    pub max_attempts: usize,
    /// Canaries interleaved with the real task at tier 2: between `canaries.min` (default 1)
    /// and `canaries.max` (default 4), as many as keep the residual risk under
    /// `canaries.target` given the share of bad providers this agent's own checks met
    /// ([`agentnet_trust::depth`]). Set `min = max` for a fixed count. The host supplies the
    /// cases ([`TaskRequest::canaries`](super::TaskRequest::canaries)); an attempt uses what
    /// is left of them, up to the depth.
    pub canaries: agentnet_trust::depth::DepthConfig,
    /// Tier 1: the least MG-EigenTrust score (this topic) a provider needs. Default 0.0 (any
    /// provider this agent has no evidence against); range 0..=1.
    pub min_reputation: f64,
    /// Requests running at once. Default 64; range 1..=4 096.
    pub max_requests: usize,
    /// Provider ids remembered per canary to never send the same canary twice to one
    /// provider. Entries; default 4 096; range 16..=1 000 000.
    pub max_canary_uses: usize,
    /// A candidate whose live provider state ([`Agent::announce_state`](super::Agent::announce_state))
    /// reports a load at or above this is tried after every other candidate. Basis points of
    /// capacity; default 9 000 (90 %); range 0..=10 000. (A provider stating itself
    /// unavailable is not a candidate at all.)
    pub busy_load_bp: u16,
}

impl Default for FunnelConfig {
    fn default() -> Self {
        FunnelConfig {
            max_candidates: 8,
            max_attempts: 3,
            canaries: agentnet_trust::depth::DepthConfig::default(),
            min_reputation: 0.0,
            max_requests: 64,
            max_canary_uses: 4096,
            busy_load_bp: 9_000,
        }
    }
}

/// Bounds of the payload plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadConfig {
    /// Bytes of sealed payload per chunk. Default 12 KiB; range 256..=15 KiB (a chunk must
    /// fit a 16 KiB CBOR byte string).
    pub chunk_size: usize,
    /// Largest task input or result before sealing and padding. Bytes; default 1 MiB; range
    /// 1..=64 MiB.
    pub max_payload: usize,
    /// Silence on an incomplete transfer before the receiver asks for the missing chunks.
    /// Default 500 ms; range 10 ms..=60 s.
    pub resend_after: Duration,
    /// Resend requests per transfer before the receiver gives up (the session's own deadline
    /// then ends it). Default 8; range 0..=64.
    pub max_resends: u32,
}

impl Default for PayloadConfig {
    fn default() -> Self {
        PayloadConfig {
            chunk_size: 12 * 1024,
            max_payload: 1024 * 1024,
            resend_after: Duration::from_millis(500),
            max_resends: 8,
        }
    }
}

/// A leading agent improves the rules it offers with the Stackelberg loop
/// ([`MechanismLoop`](agentnet_mech::stackelberg::MechanismLoop)): the outcomes of its real
/// sessions become scenarios, and the loop's incumbent mechanism is what it offers next
/// (with the verification clause the risk policy chooses per request).
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderConfig {
    /// The loop's settings (iteration budget per scenario, LLM retries and timeout, pause
    /// between iterations). Default: [`LoopConfig::default`](agentnet_mech::stackelberg::LoopConfig)
    /// with a 1 s pause between iterations, so improving the rules never competes with the
    /// work they govern.
    pub loop_config: agentnet_mech::stackelberg::LoopConfig,
    /// Settled real tasks summarised into one scenario. Tasks; default 8; range 1..=10 000.
    pub outcomes_per_scenario: usize,
    /// Ask the language model (through [`Effect::Llm`](agentnet_core::Effect)) for revisions,
    /// falling back to the built-in designer on malformed answers; `false` uses the built-in
    /// designer only. Default `false`.
    pub use_llm: bool,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        LeaderConfig {
            loop_config: agentnet_mech::stackelberg::LoopConfig {
                iteration_interval: Duration::from_secs(1),
                ..Default::default()
            },
            outcomes_per_scenario: 8,
            use_llm: false,
        }
    }
}

/// Everything an [`Agent`](super::Agent) is built from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AgentConfig {
    /// The seed of every random choice (gossip jitter, task ids, handshake nonces, sealing
    /// keys). Same seed and inputs, same outputs.
    pub seed: [u8; 32],
    /// The identity chain's inputs.
    pub identity: IdentityConfig,
    /// Gossip (its seed is derived from [`seed`](Self::seed)).
    pub gossip: GossipConfig,
    /// Task sessions.
    pub sessions: SessionConfig,
    /// The identity registry.
    pub registry: RegistryConfig,
    /// The interaction ledger.
    pub ledger: LedgerConfig,
    /// Reputation (MG-EigenTrust by default).
    pub reputation: ReputationConfig,
    /// Outstanding canaries.
    pub canary: CanaryConfig,
    /// When a ledger change is worth a trust report.
    pub salience: SalienceConfig,
    /// Peers' trust reports held.
    pub report_book: ReportBookConfig,
    /// The stake this agent declares for itself and assumes for peers it has no stake
    /// information on. Micro-units; default [`UNIT`](agentnet_core::money::UNIT) (one whole
    /// unit); range 0..=10^18 (10^12 units).
    pub default_stake: agentnet_core::money::Micros,
    /// The rules offered when requesting (the starting point of a leader's loop).
    pub terms: Terms,
    /// Improve the rules from real outcomes (see [`LeaderConfig`]). Default `None`: the
    /// terms stay as configured.
    pub leader: Option<LeaderConfig>,
    /// Tier by risk.
    pub risk: RiskPolicy,
    /// Candidate selection (Pareto layers, claims blended with observations, exploration).
    pub selection: agentnet_trust::select::SelectionConfig,
    /// Request funnel bounds.
    pub funnel: FunnelConfig,
    /// Payload plane bounds.
    pub payload: PayloadConfig,
    /// How often trust reports are sent and reputation recomputed. Default 2 s; range
    /// 10 ms..=1 day.
    pub trust_interval: Duration,
    /// Fraud proofs remembered to relay each once, and (apart) proofs kept and persisted
    /// against offenders with standing here, the oldest given up first. Proofs; default 4 096;
    /// range 16..=1 000 000.
    pub max_proofs: usize,
    /// Events, effects and frames queued (each). Default 8 192; range 64..=1 000 000. On
    /// overflow the oldest is dropped and [`AgentEvent::Overflow`](super::AgentEvent::Overflow)
    /// says so.
    pub max_queued: usize,
    /// Calls to an embedding model outside the agent (only with a
    /// [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder); see [`EmbedConfig`](super::EmbedConfig)).
    pub embed: super::embed::EmbedConfig,
    /// Intents, bids and auctions (see [`IntentConfig`](super::IntentConfig)).
    pub intents: super::intents::IntentConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig::seeded([0; 32])
    }
}

impl AgentConfig {
    /// The defaults with `seed`.
    pub fn seeded(seed: [u8; 32]) -> Self {
        AgentConfig {
            seed,
            identity: IdentityConfig::default(),
            gossip: GossipConfig::default(),
            sessions: SessionConfig::default(),
            registry: RegistryConfig::default(),
            ledger: LedgerConfig::default(),
            reputation: ReputationConfig::default(),
            canary: CanaryConfig::default(),
            salience: SalienceConfig {
                full_every: 8,
                ..SalienceConfig::default()
            },
            report_book: ReportBookConfig::default(),
            default_stake: agentnet_core::money::UNIT,
            terms: Terms::default(),
            leader: None,
            risk: RiskPolicy::default(),
            selection: agentnet_trust::select::SelectionConfig::default(),
            funnel: FunnelConfig::default(),
            payload: PayloadConfig::default(),
            trust_interval: Duration::from_secs(2),
            max_proofs: 4096,
            max_queued: 8192,
            embed: super::embed::EmbedConfig::default(),
            intents: super::intents::IntentConfig::default(),
        }
    }

    /// Check every field against its documented range: the engines' configs (their own
    /// `validate`, reported as [`ConfigError::Engine`]) and this layer's fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let day = Duration::from_secs(86_400);
        let ms = Duration::from_millis(1);
        self.gossip
            .validate()
            .map_err(ConfigError::engine("gossip"))?;
        self.sessions
            .validate()
            .map_err(ConfigError::engine("sessions"))?;
        self.registry
            .validate()
            .map_err(ConfigError::engine("registry"))?;
        self.ledger
            .validate()
            .map_err(ConfigError::engine("ledger"))?;
        self.canary
            .validate()
            .map_err(ConfigError::engine("canary"))?;
        self.salience
            .validate()
            .map_err(ConfigError::engine("salience"))?;
        self.report_book
            .validate()
            .map_err(ConfigError::engine("report_book"))?;
        self.reputation
            .validate()
            .map_err(ConfigError::engine("reputation"))?;
        check(
            "default_stake",
            self.default_stake,
            0,
            1_000_000_000_000 * agentnet_core::money::UNIT,
            "0..=10^18 µ",
        )?;
        check("terms.commit", self.terms.commit, ms, day, "1 ms..=1 day")?;
        check("terms.execute", self.terms.execute, ms, day, "1 ms..=1 day")?;
        check("terms.settle", self.terms.settle, ms, day, "1 ms..=1 day")?;
        let f = &self.funnel;
        check("funnel.max_candidates", f.max_candidates, 1, 64, "1..=64")?;
        check("funnel.max_attempts", f.max_attempts, 1, 16, "1..=16")?;
        f.canaries
            .validate()
            .map_err(ConfigError::engine("funnel"))?;
        check("funnel.min_reputation", f.min_reputation, 0.0, 1.0, "0..=1")?;
        check("funnel.max_requests", f.max_requests, 1, 4096, "1..=4096")?;
        check(
            "funnel.max_canary_uses",
            f.max_canary_uses,
            16,
            1_000_000,
            "16..=1000000",
        )?;
        let p = &self.payload;
        check(
            "payload.chunk_size",
            p.chunk_size,
            256,
            15 * 1024,
            "256..=15360",
        )?;
        check(
            "payload.max_payload",
            p.max_payload,
            1,
            64 << 20,
            "1..=64 MiB",
        )?;
        check(
            "payload.resend_after",
            p.resend_after,
            Duration::from_millis(10),
            Duration::from_secs(60),
            "10 ms..=60 s",
        )?;
        check("payload.max_resends", p.max_resends, 0, 64, "0..=64")?;
        check(
            "trust_interval",
            self.trust_interval,
            Duration::from_millis(10),
            day,
            "10 ms..=1 day",
        )?;
        check("max_proofs", self.max_proofs, 16, 1_000_000, "16..=1000000")?;
        check("max_queued", self.max_queued, 64, 1_000_000, "64..=1000000")?;
        self.embed.validate()?;
        let i = &self.intents;
        i.auction
            .validate()
            .map_err(|e| ConfigError::Terms(format!("intents.auction: {e}")))?;
        check(
            "intents.match_threshold",
            i.match_threshold,
            -1.0,
            1.0,
            "-1..=1",
        )?;
        check(
            "intents.max_answered",
            i.max_answered,
            1,
            65_536,
            "1..=65536",
        )?;
        check("intents.max_pending", i.max_pending, 1, 4096, "1..=4096")?;
        check(
            "funnel.busy_load_bp",
            f.busy_load_bp,
            0,
            10_000,
            "0..=10000",
        )?;
        let m = agentnet_mech::mechanism::Mechanism::new(
            agentnet_core::AgentId::from_bytes([0; 32]),
            "agentnet-terms",
            self.terms.flat.saturating_add(self.terms.bonus),
            self.terms.clauses(Tier::Evidence),
        );
        m.validate()
            .map_err(|e| ConfigError::Terms(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Agent;
    use agentnet_core::Keypair;
    use agentnet_core::test_support::now;

    #[test]
    fn own_field_out_of_range_is_refused_by_name() {
        let mut c = AgentConfig::seeded([1; 32]);
        c.max_queued = 1;
        let e = Agent::new(Keypair::from_seed([1; 32]), c, now()).unwrap_err();
        assert_eq!(e.field(), Some("max_queued"));
        assert!(matches!(e, ConfigError::OutOfRange(_)));
        let mut c = AgentConfig::seeded([1; 32]);
        c.default_stake = u64::MAX;
        assert_eq!(c.validate().unwrap_err().field(), Some("default_stake"));
    }

    #[test]
    fn engine_field_out_of_range_is_refused_with_the_engine_named() {
        let mut c = AgentConfig::seeded([1; 32]);
        c.gossip.mesh_d = 0;
        let e = Agent::new(Keypair::from_seed([1; 32]), c, now()).unwrap_err();
        assert_eq!(e.to_string(), "gossip.mesh_d = 0 is outside 1..=1024");
        let mut c = AgentConfig::seeded([1; 32]);
        c.sessions.max_sessions = 0;
        let e = c.validate().unwrap_err();
        assert!(matches!(
            e,
            ConfigError::Engine {
                engine: "sessions",
                ..
            }
        ));
        assert_eq!(e.field(), Some("max_sessions"));
        let mut c = AgentConfig::seeded([1; 32]);
        c.canary.max_pending = 0;
        assert_eq!(c.validate().unwrap_err().field(), Some("max_pending"));
    }
}
