//! Link policing: bans, per-link rate limits and penalties.

use super::*;

impl GossipEngine {
    pub(super) fn is_banned(&self, now: Now, link: LinkId) -> bool {
        self.bans.get(&link).is_some_and(|until| now.mono < *until)
    }

    pub(super) fn link_allows(&mut self, now: Now, link: LinkId) -> bool {
        let (rate, burst) = (self.cfg.link_rate, self.cfg.link_burst);
        let st = self.links.entry(link).or_insert_with(|| LinkState {
            topics: BTreeSet::new(),
            bucket: Bucket::full(burst, now.mono),
            digests: BTreeMap::new(),
        });
        st.bucket.take(now.mono, rate, burst)
    }

    pub(super) fn penalize(&mut self, now: Now, link: LinkId, points: u32) {
        if points == 0 {
            return;
        }
        let p = self.points.entry(link).or_insert(0);
        *p = p.saturating_add(points);
        let p = *p;
        self.emit(Event::LinkPenalized { link, points: p });
        if p >= self.cfg.ban_threshold {
            self.points.remove(&link);
            if self.bans.len() >= MAX_BANS
                && let Some((&k, _)) = self.bans.iter().min_by_key(|(_, u)| **u)
            {
                self.bans.remove(&k);
            }
            self.bans.insert(link, now.mono + self.cfg.ban_duration);
            for ts in self.topics.values_mut() {
                ts.mesh.remove(&link);
                ts.peers.remove(&link);
            }
            self.emit(Event::LinkBanned { link });
        }
    }
}
