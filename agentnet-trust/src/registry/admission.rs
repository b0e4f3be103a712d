//! Who keeps a place when the chain table ([`RegistryConfig::max_chains`]) is full.
//!
//! A genesis costs nothing but a fresh key, so a table that refuses newcomers once full belongs
//! to whoever filled it first. Instead a full table evicts a chain **without standing** to make
//! room for the newcomer:
//!
//! - **Standing** (never evicted): an unexpired issuer attestation naming the chain, an accepted
//!   execution proof, the host's word ([`IdentityRegistry::vouch`]; the Agent vouches for its
//!   own chain and for every identity it has dealt with), or age: held for
//!   [`RegistryConfig::standing_age`].
//! - Among the rest, the **source** that introduced the most (the link the genesis arrived on;
//!   entries the host hands in directly count as one source) loses its **newest** chain. A
//!   newcomer whose own source holds at least as many as any other only recycles its own
//!   newest, so a link flooding geneses churns its own share and never displaces another
//!   link's chains.
//! - If every chain has standing, the newcomer is refused ([`IdentityError::TableFull`]).
//!
//! An evicted chain leaves completely: its keys resolve to nothing, and
//! [`IdentityEvent::Forgotten`] carries its frames so the host deletes what it persisted. Its
//! keys are then treated like any unknown key (their own identity), which is what they were
//! worth: nobody here vouched for them.

use std::collections::BTreeMap;

use agentnet_core::{Instant, LinkId};

use super::{ChainId, ChainState, IdentityRegistry};

/// Where a chain's genesis came from, for fair eviction.
pub(super) type Source = Option<LinkId>;

impl IdentityRegistry {
    /// Whether `chain` has standing (see the module docs): it is never evicted.
    pub(super) fn has_standing(&self, c: &ChainState) -> bool {
        let genesis = &c.entries[0];
        c.vouched
            || c.proven.is_some()
            || self.attested(&c.head().inputs.principal, &genesis.agent)
            || self.now.mono.saturating_duration_since(c.since) >= self.config.standing_age
    }

    /// Make room for a genesis arriving from `source`: evict the newest chain without standing
    /// of the busiest source (the newcomer's own, if it holds as many). False if every chain
    /// has standing.
    pub(super) fn make_room(&mut self, source: Source) -> bool {
        // Unproven chains by source: (count, newest (since, id)).
        let mut by_source: BTreeMap<Source, (usize, (Instant, ChainId))> = BTreeMap::new();
        for (id, c) in &self.chains {
            if self.has_standing(c) {
                continue;
            }
            let e = by_source.entry(c.source).or_insert((0, (c.since, *id)));
            e.0 += 1;
            e.1 = e.1.max((c.since, *id));
        }
        let own = by_source.get(&source).map_or(0, |e| e.0);
        let victim = if own > 0 && by_source.values().all(|e| e.0 <= own) {
            by_source.get(&source).map(|e| e.1.1)
        } else {
            // The busiest source; ties to the one holding the newest chain.
            by_source
                .values()
                .max_by_key(|(n, newest)| (*n, *newest))
                .map(|e| e.1.1)
        };
        match victim {
            Some(id) => {
                self.forget_chain(id);
                true
            }
            None => false,
        }
    }

    /// Remove a chain and every key it bound, and tell the host to delete its records.
    fn forget_chain(&mut self, id: ChainId) {
        let Some(c) = self.chains.remove(&id) else {
            return;
        };
        for e in &c.entries {
            if self.keys.get(&e.signer()) == Some(&id) {
                self.keys.remove(&e.signer());
            }
            if self.keys.get(&e.agent) == Some(&id) {
                self.keys.remove(&e.agent);
            }
        }
        let mut frames: Vec<_> = c.entries.iter().map(|e| e.to_frame()).collect();
        if let Some(f) = &c.fork {
            frames.push(f.conflicting.to_frame());
        }
        self.push(super::IdentityEvent::Forgotten { chain: id, frames });
    }
}

#[cfg(test)]
mod tests {
    use agentnet_core::{Engine, Hash, Keypair};
    use bytes::Bytes;

    use super::super::{IdentityError, IdentityEvent, RegistryConfig, Table};
    use super::*;
    use crate::baid::{BaidInputs, BindingEntry, PrincipalCommitment};
    use agentnet_core::test_support::at_secs;

    /// A genesis frame for a fresh key numbered `n`.
    fn genesis(n: u32) -> (Keypair, Bytes) {
        let mut seed = [7u8; 32];
        seed[..4].copy_from_slice(&n.to_be_bytes());
        let k = Keypair::from_seed(seed);
        let inputs = BaidInputs {
            code_hash: Hash([1; 32]),
            config_digest: Hash([2; 32]),
            principal: PrincipalCommitment::new(b"p", &[3; 32]),
            salt: [4; 32],
        };
        let e = BindingEntry::genesis(&k, k.x25519().public(), inputs, at_secs(0).wall).unwrap();
        (k, e.to_frame())
    }

    fn registry(max_chains: usize) -> IdentityRegistry {
        let cfg = RegistryConfig {
            max_chains,
            ..RegistryConfig::default()
        };
        IdentityRegistry::new(cfg).unwrap()
    }

    fn forgotten(r: &mut IdentityRegistry) -> Vec<(ChainId, Vec<Bytes>)> {
        let mut out = vec![];
        while let Some(e) = r.poll_event() {
            if let IdentityEvent::Forgotten { chain, frames } = e {
                out.push((chain, frames));
            }
        }
        out
    }

    #[test]
    fn a_flooding_link_does_not_lock_newcomers_out_of_a_full_table() {
        let mut r = registry(8);
        let (sybil, honest) = (LinkId(1), LinkId(2));
        for n in 0..8 {
            r.handle_message(at_secs(1 + u64::from(n)), sybil, genesis(n).1)
                .unwrap();
        }
        forgotten(&mut r);
        // Before: the ninth genesis was refused whoever sent it. Now the honest newcomer
        // takes the place of the flood's newest.
        let (h, frame) = genesis(100);
        r.handle_message(at_secs(20), honest, frame).unwrap();
        assert!(r.resolve(&h.id()).is_some());
        let gone = forgotten(&mut r);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].1, vec![genesis(7).1], "the frames to delete");
        assert!(
            r.resolve(&genesis(7).0.id()).is_none(),
            "its keys resolve to nothing"
        );
        // The flood goes on: it recycles only its own places, never the honest chain's.
        for n in 8..100 {
            r.handle_message(at_secs(30), sybil, genesis(n).1).unwrap();
            assert!(r.resolve(&h.id()).is_some(), "after {n}");
            assert_eq!(r.chain_count(), 8);
        }
    }

    #[test]
    fn chains_with_standing_stay_and_a_table_of_them_refuses() {
        let mut r = registry(4);
        let link = LinkId(1);
        let (vouched, f) = genesis(0);
        r.handle_message(at_secs(0), link, f).unwrap();
        assert!(r.vouch(&vouched.id()));
        for n in 1..4 {
            r.handle_message(at_secs(0), link, genesis(n).1).unwrap();
        }
        // Old chains have standing by age; until then the flood churns its own unvouched.
        for n in 10..20 {
            r.handle_message(at_secs(1), LinkId(9), genesis(n).1)
                .unwrap();
            assert!(r.resolve(&vouched.id()).is_some());
        }
        // Past standing_age (5 min) everything held has standing: a newcomer is refused.
        let later = at_secs(1 + 301);
        let (k, f) = genesis(50);
        assert_eq!(
            r.handle_message(later, LinkId(3), f),
            Err(IdentityError::TableFull {
                table: Table::Chains,
                max: 4
            })
        );
        assert!(r.resolve(&k.id()).is_none());
        assert!(r.resolve(&vouched.id()).is_some());
        assert!(!r.vouch(&k.id()), "nothing to vouch for");
    }
}
