//! Forgetting agents nothing refers to, so a full agent table makes room instead of refusing.
//!
//! Reports name peers freely, and every id a row names is registered; with free keys an
//! attacker could fill [`ReputationConfig::max_agents`](super::ReputationConfig::max_agents)
//! with ids nobody will ever mention again, after which every honest newcomer's row would be
//! refused ([`ReputationError::TooManyAgents`]) — the table would belong to whoever filled it
//! first. When full, the engine first forgets every agent that nothing here refers to: no
//! stake (held, burned or frozen), no offence, not slashed, no principal, not pretrusted, and
//! in no row as reporter or as peer. What is left is renumbered and each topic's solver starts
//! cold at the next [`recompute`](Reputation::recompute). Only when everyone is referred to is
//! the newcomer refused. Rows are what keep an id referred to, so the host should drop rows
//! of reporters it no longer holds ([`Reputation::remove_row`]).

use std::collections::BTreeMap;

use agentnet_core::AgentId;
use agentnet_core::descriptor::Topic;

use super::{Reputation, ReputationError};
use crate::eigentrust::{Solver, TrustGraph};

impl Reputation {
    /// Drop `reporter`'s row in `topic` (e.g. its report left the host's report book). Returns
    /// whether there was one.
    pub fn remove_row(&mut self, reporter: &AgentId, topic: &Topic) -> bool {
        let (Some(&i), Some(&t)) = (self.index.get(reporter), self.topic_index.get(topic)) else {
            return false;
        };
        let ts = &mut self.topics[t];
        if ts.rows.remove(&i).is_none() {
            return false;
        }
        ts.dirty.insert(i);
        true
    }

    /// The reporters with a row in `topic`.
    pub fn reporters(&self, topic: &Topic) -> Vec<AgentId> {
        self.topic_index.get(topic).map_or_else(Vec::new, |&t| {
            self.topics[t]
                .rows
                .keys()
                .map(|&i| self.agents[i as usize].id)
                .collect()
        })
    }

    /// Forget every agent nothing refers to and renumber the rest (see the module docs);
    /// returns how many were forgotten. Runs by itself when the table is full.
    pub fn compact(&mut self) -> Result<usize, ReputationError> {
        let n = self.agents.len();
        let mut keep: Vec<bool> = self
            .agents
            .iter()
            .map(|a| {
                a.stake != 0
                    || a.burned != 0
                    || a.frozen != 0
                    || a.slashed
                    || a.offences > 0
                    || a.principal.is_some()
                    || self.config.pretrusted.contains(&a.id)
            })
            .collect();
        for ts in &self.topics {
            for (r, row) in &ts.rows {
                keep[*r as usize] = true;
                for e in row {
                    keep[e.0 as usize] = true;
                }
            }
        }
        let forgotten = keep.iter().filter(|k| !**k).count();
        if forgotten == 0 {
            return Ok(0);
        }
        // Old index → new index.
        let mut map = vec![u32::MAX; n];
        let mut next = 0u32;
        for (old, k) in keep.iter().enumerate() {
            if *k {
                map[old] = next;
                next += 1;
            }
        }
        let m = next as usize;
        let agents = std::mem::take(&mut self.agents);
        self.agents = agents
            .into_iter()
            .zip(&keep)
            .filter_map(|(a, k)| k.then_some(a))
            .collect();
        self.index = self
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i as u32))
            .collect();
        let remap = |v: &[f64]| -> Vec<f64> {
            let mut out = vec![0.0; m];
            for (old, x) in v.iter().enumerate() {
                if let Some(&new) = map.get(old)
                    && new != u32::MAX
                {
                    out[new as usize] = *x;
                }
            }
            out
        };
        for ts in &mut self.topics {
            let rows = std::mem::take(&mut ts.rows);
            ts.rows = rows
                .into_iter()
                .map(|(r, row)| {
                    let row = row
                        .into_iter()
                        .map(|(j, pos, neg)| (map[j as usize], pos, neg))
                        .collect();
                    (map[r as usize], row)
                })
                .collect::<BTreeMap<_, _>>();
            ts.dirty.clear();
            ts.graph = TrustGraph::new(m)?;
            ts.solver = Solver::new();
            if !ts.scores.is_empty() {
                ts.scores = remap(&ts.scores);
            }
            ts.pos = remap(&ts.pos);
            ts.neg = remap(&ts.neg);
        }
        self.global = None;
        self.rebuild_all = true;
        Ok(forgotten)
    }
}

#[cfg(test)]
mod tests {
    use agentnet_core::semantic::Embedding;
    use agentnet_core::{AgentId, Keypair};

    use super::super::{Method, MgOptions, Reputation, ReputationConfig, ReputationError};
    use agentnet_core::descriptor::Topic;

    fn id(n: u32) -> AgentId {
        let mut seed = [1u8; 32];
        seed[..4].copy_from_slice(&n.to_be_bytes());
        Keypair::from_seed(seed).id()
    }

    fn engine(max_agents: usize) -> (Reputation, Topic) {
        let cfg = ReputationConfig {
            method: Method::MultiGraph(MgOptions::default()),
            max_agents,
            ..ReputationConfig::default()
        };
        let mut r = Reputation::new(cfg).unwrap();
        let t = Topic::new("code/review").unwrap();
        r.add_topic(t.clone(), Embedding::new(vec![1.0, 0.0]))
            .unwrap();
        (r, t)
    }

    /// Honest agents 0..4 with stake, praising each other.
    fn honest(r: &mut Reputation, t: &Topic) {
        for i in 0..4 {
            r.set_stake(id(i), agentnet_core::money::UNIT).unwrap();
            let row = (0..4)
                .filter(|&j| j != i)
                .map(|j| (id(j), 2.0 + j as f32, 0.0));
            r.set_row(id(i), t, row).unwrap();
        }
    }

    #[test]
    fn ids_named_once_by_free_keys_do_not_lock_newcomers_out() {
        let (mut r, t) = engine(40);
        honest(&mut r, &t);
        // Free keys report rows naming fresh ids until the table is full.
        let mut n = 1000;
        let mut sybils = vec![];
        while r.agent_count() + 6 <= 40 {
            let s = id(n);
            let row = (1..=5).map(|k| (id(n + k), 1.0, 0.0));
            r.set_row(s, &t, row).unwrap();
            sybils.push(s);
            n += 6;
        }
        // Before: once full, every newcomer's row was refused while those rows stood.
        let err = r.set_row(id(99), &t, [(id(0), 1.0, 0.0)]);
        assert!(
            matches!(err, Err(ReputationError::TooManyAgents(_))),
            "{err:?}"
        );
        // The host drops the rows it no longer holds (their reports left its report book):
        // the ids they named are referred to by nothing, and the newcomer gets in.
        for s in &sybils {
            assert!(r.remove_row(s, &t));
        }
        r.set_row(id(99), &t, [(id(0), 1.0, 0.0)]).unwrap();
        assert!(r.agent_count() <= 6, "{} agents", r.agent_count());
        assert_eq!(r.reporters(&t).len(), 5);
        // Renumbering changed nothing the scores depend on.
        r.recompute().unwrap();
        let (mut fresh, _) = engine(40);
        honest(&mut fresh, &t);
        fresh.set_row(id(99), &t, [(id(0), 1.0, 0.0)]).unwrap();
        fresh.recompute().unwrap();
        for i in (0..4).chain([99]) {
            let (a, b) = (r.score(&id(i), &t), fresh.score(&id(i), &t));
            assert!((a - b).abs() < 1e-9, "agent {i}: {a} vs {b}");
        }
    }

    #[test]
    fn agents_that_are_referred_to_are_never_forgotten() {
        let (mut r, t) = engine(8);
        honest(&mut r, &t);
        r.register(id(50), None).unwrap();
        assert_eq!(r.compact().unwrap(), 1, "a bare registration is forgotten");
        r.set_stake(id(51), agentnet_core::money::UNIT).unwrap();
        assert_eq!(r.compact().unwrap(), 0);
        assert_eq!(r.agent_count(), 5);
        assert!(r.score(&id(0), &t) >= 0.0);
    }
}
