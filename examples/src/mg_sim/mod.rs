//! The cross-topic disguise-collusion experiment (arXiv 2606.17368), run on the production
//! trust plane: real keys, canaries graded by [`CanaryBook`], evidence packages checked by
//! [`verify_evidence`], fraud proofs built from the failed checks and verified, ledgers,
//! signed sparse trust reports through a [`ReportBook`], and [`Reputation`] computing every
//! method's scores. Nothing about who is malicious reaches the reputation code; it sees only
//! what the verification paths produce.
//!
//! # The world
//! - `nodes` agents, `topics` topics (the paper's five: code generation, code review/security,
//!   devops tool execution, data analysis, creative writing; up to three more for the harder
//!   runs: web research, translation, customer support). Every agent deposits `stake`
//!   per identity and has a principal commitment attested by a KYC issuer (the same person
//!   always gets the same commitment, so every identity of one principal shares it).
//! - Honest agents serve 2–3 random topics with quality `q ~ U(0.75, 0.98)` (the chance a
//!   task succeeds).
//! - A `malicious_fraction` of agents collude. Three quarters are **attackers**: they build
//!   their name in code generation (quality 0.97, the disguise) and also serve code review,
//!   where during `warmup` epochs they work like an ordinary honest reviewer (quality drawn
//!   like an honest agent's), so they earn no special standing *in that topic*. After
//!   warm-up they keep doing excellent code generation and sabotage code-review tasks from
//!   honest requesters with probability `sabotage_rate`. The rest are **bridges**: excellent
//!   (0.97) honest work in every topic except the two code topics, which earns them real
//!   trust there.
//! - A `defector_share` of the would-be attackers are **slow defectors** instead: excellent
//!   (0.97) in both code topics, and after warm-up they sabotage an honest requester's code
//!   review only with probability `defector_rate`, always behind a forged, consistent trace,
//!   so they never produce a fraud proof. Canaries look like work, so they fail the canary
//!   that goes with a sabotaged task. To the requesters they look like a weak honest reviewer
//!   (at the default 0.4 a verified acceptance rate of about 0.97·0.6 + 0.4·(1 − `notice`) ≈
//!   0.78, inside the honest range 0.75–0.98, so their record is never "more bad than good").
//!   They are staged with, vouched for and re-enter like attackers. This is the attack where
//!   slashing cannot help and only the gate, the semantic weight, the collusion discount and
//!   the ledger can.
//! - Collusion is staged tasks: good work with honest evidence, so the praise that follows
//!   is backed by checks that really pass — the only praise the ledger accepts. When a
//!   colluder needs a code task it hires a random fellow attacker with probability
//!   `collusion`; on top of that every bridge files `vouches` staged code tasks per epoch
//!   (alternating code generation and code review) with random attackers (slow defectors
//!   included). Bridges hold no
//!   trust in the code topics, so their vouching is worth something only to a method that
//!   lets trust cross topics.
//! - **Sybil re-entry**: an attacker whose identity was convicted by a fraud proof, or whose code-review score
//!   fell below `whitewash_below` × the median of code-review providers, abandons it and
//!   comes back under a fresh key with a fresh deposit (same principal). The colluders'
//!   staged tasks go to current identities, so a fresh one is praised from its first epoch.
//!
//! # One epoch
//! For every topic, `queries` tasks: a random requester (any agent) samples `candidates`
//! providers of the topic (keys convicted by a fraud proof are no candidates) and picks one
//! by EigenTrust's selection rule — proportional to the method's trust, or with probability
//! `explore` (and when all are zero) uniformly among the zero-trust candidates; `random`
//! picks uniformly — unless it is a colluder staging a task. Verification follows the
//! requester's risk policy:
//! - code review (high risk) always requires an evidence package (Tier 3); other topics do
//!   with probability `evidence_rate`. An honest provider's package verifies and the
//!   requester records the outcome (accepted with probability `q`). A saboteur either ships
//!   its real tool trace with the altered result (probability `sloppy`): the check fails
//!   with a final-output mismatch, which [`FraudProof::from_evidence_report`] turns into a
//!   receipt-contradiction proof that anyone can verify; or it forges a consistent trace:
//!   the check passes and the requester notices the sabotage itself with probability
//!   `notice` (a rejected outcome), otherwise it is fooled (an accepted outcome).
//! - With probability `canary_rate` the requester also sends the provider a canary (Tier
//!   2), indistinguishable from work; saboteurs fail it, honest agents pass with
//!   probability `q`.
//! - Tasks without a check produce no ledger entry.
//!
//! At the end of the epoch every agent sends its signed trust reports from its ledger, the
//! shared [`ReportBook`] applies them, and [`Reputation`] recomputes.
//! Each method differs only in its [`ReputationConfig`] and report salience:
//! `global_eigentrust` (one flattened graph, `pretrusted` fixed honest agents, full reports),
//! `per_topic_eigentrust` (the same fixed pretrusted agents per topic, full reports),
//! `mg_eigentrust` (stake and bridge pretrust, gate, semantic weight, collusion discount,
//! slashing, salient reports) and its four ablations (without slashing, gate, semantic weight,
//! collusion discount).
//!
//! **Fraud proofs are the same for every method.** A proof is self-verifying, so it travels
//! to every agent under every method (`random` included): every agent's ledger drops the
//! convicted key and refuses further entries about it (so no method's reports mention it
//! again), and no requester hires a convicted key. The proof is handed to every method's
//! [`Reputation::slash`]; what only MG with slashing adds is its own mechanism: the stake is
//! burned (the attackers' ROI), and the principal is flagged, so every other and every
//! future key of the same principal is convicted too (a Sybil re-entry gains nothing). Under
//! the baselines and the ablation without slashing a fresh key of the same principal starts
//! clean.
//!
//! # Metrics (per method, pooled over seeds)
//! - `attack_success`: sabotaged code-review tasks ÷ honest requesters' code-review tasks
//!   after warm-up (damage is done when the result is delivered, whether or not it is caught
//!   later).
//! - `attacker_roi`: `(gain × sabotaged tasks − stake burned) ÷ capital`, where capital is
//!   the colluders' deposits: one `stake` per colluding agent at the start plus a fresh one
//!   for every Sybil that replaces a *slashed* identity (a whitewashed identity withdraws its
//!   deposit and moves it to the new key). Burn-only: the colluders' operating cost is left
//!   out, as in the paper.
//! - Attacker policy: an identity is replaced when it is slashed, or when it has sabotaged
//!   and its code-review score fell below `whitewash_below` × the median of code-review
//!   providers.
//! - `detection_rate`: of the identities that sabotaged at least once, the fraction the
//!   method *flags* at the end: convicted by a fraud proof (public, so under every method) or
//!   slashed by MG, or its reported verified record in code review is
//!   more bad than good (`N > P` with `P + N ≥ flag_min_evidence`, summed over the reports
//!   the method received; the global baseline's reports are flattened, so its record is the
//!   flattened one).
//! - `false_positive_rate`: of honest identities, the fraction flagged (convicted or slashed,
//!   or a record more bad than good in a topic they serve).
//! - `defector_attack_success` and `defector_detection_rate`: the same two restricted to the
//!   slow defectors (their sabotaged tasks over the same denominator; their identities).
//! - `gate_open_colluders` / `gate_open_honest` (MG variants, a diagnostic): the share of
//!   unconvicted colluders / honest agents serving both code topics whose consistency gate
//!   from code generation into code review is open at the end, evaluated from MG's own
//!   evidence ([`Reputation::evidence`]).
//! - `cold_start_reputation`: an honest agent with a deposit joins at epoch `epochs / 2`;
//!   its mean score over its topics right after joining, before any interaction (`random`
//!   has no scores: 0).
//! - `control_entries_per_epoch`: trust-report entries sent per epoch by all agents.
//!
//! [`CanaryBook`]: agentnet_trust::canary::CanaryBook
//! [`verify_evidence`]: agentnet_trust::evidence::verify_evidence
//! [`ReportBook`]: agentnet_trust::report::ReportBook
//! [`Reputation`]: agentnet_trust::reputation::Reputation
//! [`ReputationConfig`]: agentnet_trust::reputation::ReputationConfig
//! [`Reputation::slash`]: agentnet_trust::reputation::Reputation::slash
//! [`Reputation::evidence`]: agentnet_trust::reputation::Reputation::evidence
//! [`FraudProof::from_evidence_report`]: agentnet_trust::fraud::FraudProof::from_evidence_report

mod config;
mod summary;
mod world;

pub use config::{ExperimentConfig, MethodName, RunResult, SOURCE, TARGET, TOPICS};
pub use summary::{BASELINES, Goals, Summary, summarize};
pub use world::run;
