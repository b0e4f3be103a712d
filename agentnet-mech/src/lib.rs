//! # agentnet-mech
//!
//! The execution plane of agentnet (`DESIGN.md` §7): the rules under which agents cooperate on
//! a task, generated and repaired by a leader that anticipates how followers respond, and the
//! session that carries one task from offer to settlement.
//!
//! **What it does.**
//! - [`mechanism`]: versioned, signed, validated sets of clauses (payment rule, quality
//!   threshold, deposit, slashing ratio, verification tier, deadlines, custom clauses), each
//!   with typed parameters and text, identified by the hash of their encoding.
//! - [`follower`]: typed follower models (honest, lazy, adversarial, colluding, Sybil) and
//!   their exact best responses over a finite strategy space.
//! - [`evaluate`]: IC violation, IR violation, system loss, budget balance and regression over
//!   a suite of scenarios (formulas in the module docs).
//! - [`stackelberg`]: the mechanism-generation loop as a sans-IO engine, with two designers
//!   behind [`design::Designer`]: the built-in deterministic one ([`design`]) and the LLM
//!   designer ([`llm`]), whose model calls are effects the host completes.
//! - [`session`]: task sessions (negotiate → execute → settle) with deadlines, evidence checks,
//!   slashing on verified fraud proofs and feedback for the trust ledger.
//!
//! **What it does not do.** No I/O, no async, no clock reads, no randomness: time comes in as
//! [`agentnet_core::Now`], model answers as text through `handle_llm_response`. It never calls
//! a language model (the host does, e.g. with the OpenAI-compatible adapter in
//! `agentnet-transport`) and never moves money (sessions compute and sign settlement
//! statements; the host's payment rail executes them). The follower models are a planning
//! tool for the leader: the sessions do not assume followers behave as modelled.
//!
//! # Drive loop (mechanism generation)
//! Like every engine: after any input or command, drain the events, then arm one timer at
//! `poll_timeout`. The next iteration is such a deadline, so there is no `step` to call.
//! ```text
//! let mut lp = MechanismLoop::new(config, naive_mechanism, Box::new(LlmDesigner::new()))?;
//! lp.add_scenario(scenario)?;                       // more may arrive at any time
//! loop {
//!     input = timer fired | the model answered (or failed) request id | a new scenario
//!     lp.handle_timeout(now)                        // runs one due iteration, or expires a request
//!       / lp.handle_llm_response(now, id, &text)    // or lp.handle_llm_failure(now, id, why)
//!       / lp.add_scenario(scenario)?
//!     while let Some(ev) = lp.poll_event() {
//!         match ev {
//!             LoopEvent::LlmRequest { id, prompt, deadline } =>
//!                 host.ask_model(id, prompt, deadline),     // its answer is a later input
//!             LoopEvent::Accepted(m) => host.publish(Signed::sign(&leader_key, *m)?),
//!             LoopEvent::Iteration(record) => host.log(record),
//!             _ => {}
//!         }
//!     }
//!     arm one timer at lp.poll_timeout()            // None: idle until a new scenario
//! }
//! ```
//! A runnable version is in the [`stackelberg`] docs; the `mechanism_loop` example drives it
//! with both designers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod design;
pub mod evaluate;
pub mod follower;
pub mod llm;
pub mod mechanism;
pub mod session;
pub mod stackelberg;
pub mod wire;
