//! The topic mesh: which links get headers eagerly (graft, prune with backoff, degree
//! bounds) and which only get ids for an author (choke).

use super::*;

impl GossipEngine {
    pub(super) fn on_subscribe(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Subscribe,
    ) -> Result<(), GossipError> {
        let mut graft = Vec::new();
        if let Some(st) = self.links.get_mut(&from) {
            for t in &m.leave {
                st.topics.remove(t);
            }
            for t in &m.join {
                if st.topics.len() < MAX_LINK_TOPICS {
                    st.topics.insert(t.clone());
                }
            }
        }
        for t in m.leave {
            if let Some(ts) = self.topics.get_mut(&t) {
                ts.peers.remove(&from);
                ts.leave_mesh(from);
            }
        }
        for t in m.join {
            if let Some(ts) = self.topics.get_mut(&t) {
                ts.peers.insert(from);
                let backoff = ts.backoff.get(&from).is_some_and(|u| now.mono < *u);
                if ts.mesh.len() < self.cfg.mesh_d && !backoff && !ts.mesh.contains(&from) {
                    ts.mesh.insert(from);
                    graft.push(t);
                }
            }
        }
        if !graft.is_empty() {
            self.send_msg(
                Class::Control,
                from,
                Message::Graft(wire::Graft { topics: graft }),
            );
        }
        Ok(())
    }

    pub(super) fn on_graft(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Graft,
    ) -> Result<(), GossipError> {
        let backoff_ms = self.cfg.prune_backoff.as_millis() as u32;
        for t in m.topics {
            let refuse = match self.topics.get_mut(&t) {
                None => true,
                Some(ts) => {
                    ts.peers.insert(from);
                    let backoff = ts.backoff.get(&from).is_some_and(|u| now.mono < *u);
                    if ts.mesh.contains(&from) {
                        // A re-graft: the peer lost its state for us; push everything
                        // eagerly again until it chokes authors anew.
                        for v in ts.lazy_to.values_mut() {
                            v.retain(|l| *l != from);
                        }
                        false
                    } else if backoff || ts.mesh.len() >= self.cfg.mesh_d_hi {
                        true
                    } else {
                        ts.mesh.insert(from);
                        false
                    }
                }
            };
            if refuse {
                self.send_msg(
                    Class::Control,
                    from,
                    Message::Prune(wire::Prune {
                        topic: t,
                        backoff_ms,
                    }),
                );
            }
        }
        Ok(())
    }

    pub(super) fn on_prune(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Prune,
    ) -> Result<(), GossipError> {
        if let Some(ts) = self.topics.get_mut(&m.topic) {
            ts.leave_mesh(from);
            let d = Duration::from_millis(u64::from(m.backoff_ms)).min(Duration::from_secs(600));
            ts.backoff.insert(from, now.mono + d);
        }
        Ok(())
    }

    /// The peer got `m.author`'s headers from elsewhere first: send it only their ids.
    pub(super) fn on_choke(&mut self, from: LinkId, m: wire::Choke) {
        let cap = self.cfg.max_authors_per_topic;
        let Some(ts) = self.topics.get_mut(&m.topic) else {
            return;
        };
        if !ts.mesh.contains(&from) || !(ts.logs.contains_key(&m.author) || m.author == self.me) {
            return;
        }
        if !ts.lazy_to.contains_key(&m.author) && ts.lazy_to.len() > cap {
            return;
        }
        let v = ts.lazy_to.entry(m.author).or_default();
        if !v.contains(&from) {
            v.push(from);
        }
    }

    pub(super) fn maintain_mesh(&mut self, now: Now, topic: &Topic) {
        let (d, lo, hi) = (self.cfg.mesh_d, self.cfg.mesh_d_lo, self.cfg.mesh_d_hi);
        let backoff_ms = self.cfg.prune_backoff.as_millis() as u32;
        let policing = &self.policing;
        let Some(ts) = self.topics.get_mut(topic) else {
            return;
        };
        ts.backoff.retain(|_, u| now.mono < *u);
        let mut graft = Vec::new();
        let mut prune = Vec::new();
        if ts.mesh.len() < lo {
            let mut cand: Vec<LinkId> = ts
                .peers
                .iter()
                .copied()
                .filter(|l| {
                    !ts.mesh.contains(l)
                        && !ts.backoff.contains_key(l)
                        && !policing.is_banned(now.mono, *l)
                })
                .collect();
            shuffle(&mut self.rng, &mut cand);
            cand.truncate(d - ts.mesh.len());
            for l in cand {
                ts.mesh.insert(l);
                graft.push(l);
            }
        } else if ts.mesh.len() > hi {
            let mut members: Vec<LinkId> = ts.mesh.iter().copied().collect();
            shuffle(&mut self.rng, &mut members);
            members.truncate(ts.mesh.len() - d);
            for l in members {
                ts.leave_mesh(l);
                ts.backoff.insert(l, now.mono + self.cfg.prune_backoff);
                prune.push(l);
            }
        }
        for l in graft {
            self.send_msg(
                Class::Control,
                l,
                Message::Graft(wire::Graft {
                    topics: vec![topic.clone()],
                }),
            );
        }
        for l in prune {
            self.send_msg(
                Class::Control,
                l,
                Message::Prune(wire::Prune {
                    topic: topic.clone(),
                    backoff_ms,
                }),
            );
        }
    }
}
