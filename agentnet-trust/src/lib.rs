//! # agentnet-trust
//!
//! The trust and verification plane of agentnet (DESIGN §6): who an agent is, what proves it
//! misbehaved, what this node has verified about its peers, and how that becomes a reputation
//! per topic, so that trust earned in one domain cannot be spent to betray another.
//!
//! Sans-IO and deterministic like every protocol crate: no sockets, no clock reads, no OS
//! randomness. Time comes in as [`Now`](agentnet_core::Now)/[`WallTime`](agentnet_core::WallTime)
//! arguments, seeds and keys from the host; effects (frames to send, records to persist) go out
//! as values.
//!
//! ## What is here
//! | module | holds |
//! |---|---|
//! | [`baid`] | BAID commitments, signed bindings of a BAID to Ed25519/X25519 keys, identity chains (config change, key rotation, revocation), issuer attestations, fork proofs, the `ProofVerifier` hook |
//! | [`registry`] | [`IdentityRegistry`](registry::IdentityRegistry): verifies chain entries at three tiers, resolves any key to its chain, canonical id and current key, detects forks |
//! | [`evidence`] | signed tool receipts, evidence packages, their verification (every fault reported), commitments and answers |
//! | [`fraud`] | self-contained fraud proofs (log equivocation, chain fork, receipt contradiction, answer contradiction) and the verified [`Offence`](fraud::Offence) they yield |
//! | [`canary`] | the requester's book of canary challenges (Tier 2) and their verdicts |
//! | [`depth`] | how many canaries a check needs: the share of bad providers this agent's own checks meet (proven providers and strangers apart), and the smallest count that keeps the residual risk under a target |
//! | [`ledger`] | local trust per (peer, topic), fed only by verified outcomes, decayed on read |
//! | [`report`] | signed sparse per-topic trust reports: salient-change builder and receiver book |
//! | [`eigentrust`] | sparse (CSR) EigenTrust: a Gauss–Seidel push solver that keeps its residual, so a warm start after small edits needs a few sweeps |
//! | [`select`] | candidate selection: Pareto layers over relevance, reputation, observed-and-claimed QoS, evidence offered and attestation; exploration; demotion after a failure until the descriptor is refreshed |
//! | [`reputation`] | [`Reputation`](reputation::Reputation): MG-EigenTrust (stake + gated, semantically weighted cross-topic pretrust, slashing) and the flattened-global and per-topic baselines; formulas in the module docs |
//! | [`wire`] | the trust plane's frame kinds (`0x02xx`) |
//!
//! ## What is not here
//! Choosing verification tiers by risk and falling back between candidates (the tiered
//! verification engine), moving frames, storing records, and any notion of money: stake is a
//! number the host sets and slashing reports what it burned or froze.
//!
//! ## How the pieces connect (the drive loop)
//! ```text
//!  frames 0x0201/0x0203 ──► IdentityRegistry ──► canonical id of any key, tier, fork proofs
//!  evidence package ──► verify_evidence ──► VerifiedEvidence ─┐
//!                                        └► EvidenceReport ─► FraudProof::from_evidence_report
//!  canary answer/delivery ──► CanaryBook ──► CanaryVerdict ───┤
//!                                                              ▼
//!                                           Ledger (canonical id, topic) ──► ReportBuilder ──► signed TrustReport
//!  signed TrustReports from peers ──► ReportBook ──► Reputation::set_row
//!  FraudProof (any source, e.g. gossip equivocation) ──► verify ──► Offence ──► Ledger::record_offence
//!                                                                          └──► Reputation::slash
//!  every epoch: Reputation::recompute ──► score(agent, topic)
//! ```
//! The host keys everything by the peer's canonical id from the registry (the key that started
//! its identity chain), so a key rotation keeps reputation and history, and a fresh identity
//! starts from nothing. A minimal loop:
//!
//! ```
//! use agentnet_core::descriptor::Topic;
//! use agentnet_core::semantic::Embedding;
//! use agentnet_core::{Hash, Instant, Keypair, Now, WallTime};
//! use agentnet_trust::canary::{CanaryBook, CanaryConfig, Expected};
//! use agentnet_trust::evidence::Answer;
//! use agentnet_trust::ledger::{Ledger, LedgerConfig};
//! use agentnet_trust::reputation::{Reputation, ReputationConfig};
//! use core::time::Duration;
//!
//! let me = Keypair::from_seed([1; 32]);
//! let provider = Keypair::from_seed([2; 32]);
//! let topic = Topic::new("code/review").unwrap();
//! let now = Now::new(Instant::from_secs(1), WallTime::from_unix_millis(1_800_000_000_000));
//!
//! // Tier 2: send a canary (as ordinary work), grade the signed answer, record the verdict.
//! let mut canaries = CanaryBook::new(CanaryConfig::default())?;
//! let mut ledger = Ledger::new(LedgerConfig::default())?;
//! let task = Hash::digest("example/task-id", b"drawn from the host's seeded generator");
//! canaries.issue(now, task, provider.id(), topic.clone(), Expected::exact(b"42"), Duration::from_secs(10))?;
//! let answer = Answer::sign(&provider, task, b"42".to_vec(), now.wall)?;
//! canaries.handle_answer(now, &answer)?;
//! while let Some(verdict) = canaries.poll_verdict() {   // timeouts arrive here too
//!     ledger.record_canary(&verdict)?;
//! }
//!
//! // Reputation from this node's own row (peers' rows arrive as signed reports).
//! let mut rep = Reputation::new(ReputationConfig::default())?;
//! rep.add_topic(topic.clone(), Embedding::from_slice(&[1.0, 0.0]))?;
//! rep.set_stake(me.id(), 10 * agentnet_core::money::UNIT)?;
//! rep.set_stake(provider.id(), 10 * agentnet_core::money::UNIT)?;
//! let row = ledger.row(&topic, now.wall);
//! rep.set_row(me.id(), &topic, row.iter().map(|(p, t)| (*p, t.pos as f32, t.neg as f32)))?;
//! rep.recompute()?;
//! assert!(rep.score(&provider.id(), &topic) > rep.score(&me.id(), &topic));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Crate dependencies
//! Only `agentnet-core` (DESIGN §1; CI checks it). A [`fraud::FraudProof`] can still carry and
//! verify the gossip plane's equivocation proofs with no other state: the log header and the
//! fork proof both live in core ([`agentnet_core::log_header`], [`agentnet_core::fork`]), and
//! [`baid::ChainForkProof`] is the same generic proof over identity-chain entries.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baid;
pub mod canary;
pub mod depth;
pub mod eigentrust;
pub mod evidence;
pub mod fraud;
pub mod ledger;
pub mod registry;
pub mod report;
pub mod reputation;
pub mod select;
pub mod wire;
