//! Shared pieces of the agentnet example programs: A2A Agent Cards from and to capability
//! descriptors ([`a2a`], for `agentnet card`) and the A2A JSON-RPC gateway's mapping
//! ([`a2a_gateway`], for `agentnet a2a`), the flooding baseline engine the gossip
//! experiments compare against, the gossip experiments themselves ([`discovery`] for
//! gossip_discovery, [`scale`] for gossip_scale), the MG-EigenTrust attack simulation
//! ([`mg_sim`]), the agentic-P2P world of whole agents ([`p2p_sim`]), reporting helpers (CSV, SVG
//! charts, progress, memory), [`unix`], an example of a custom transport, and the transport
//! benchmark's helpers ([`bench_link`] for any agentnet `Transport`, [`bench_libp2p`] for bare
//! rust-libp2p swarms), and the paraphrase set that measures discovery by meaning
//! ([`paraphrase`], for paraphrase_eval).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod a2a;
pub mod a2a_gateway;
pub mod adversary;
pub mod bench_libp2p;
pub mod bench_link;
pub mod discovery;
pub mod flood;
pub mod mech_run;
pub mod mg_sim;
pub mod p2p_sim;
pub mod paraphrase;
pub mod report;
pub mod scale;
pub mod unix;
