//! Link policing: bans, per-link rate limits and penalties.

use super::*;

/// Penalty points and bans of links: the policing state, apart from the per-link rate
/// buckets (those live in each link's [`LinkState`]).
///
/// Bounds: one `points` entry per link penalised since its points last decayed to zero, and at
/// most [`MAX_BANS`] bans (when full, the ban ending first makes room).
///
/// Deadline: none of its own. A ban's end is judged against `now` wherever it matters
/// ([`is_banned`](Self::is_banned)), and ended bans and decayed points are swept at each
/// heartbeat ([`heartbeat`](Self::heartbeat)); no timer wakes the engine for them.
#[derive(Debug)]
pub(super) struct Policing {
    /// Penalty points per link. Points decay by one per heartbeat; reaching `ban_threshold`
    /// bans the link and forgets its points.
    points: BTreeMap<LinkId, u32>,
    /// Banned links, until when. At most [`MAX_BANS`] entries.
    bans: BTreeMap<LinkId, Instant>,
    /// Points that ban a link ([`GossipConfig::ban_threshold`]).
    ban_threshold: u32,
    /// How long a ban lasts ([`GossipConfig::ban_duration`]).
    ban_duration: Duration,
}

/// What the engine must do after [`Policing::penalize`]: report the link's points and, if it
/// is now banned, drop it from every mesh and peer set and report the ban.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Penalty {
    /// The link's points after the penalty.
    pub(super) points: u32,
    /// True if the penalty banned the link.
    pub(super) banned: bool,
}

impl Policing {
    pub(super) fn new(ban_threshold: u32, ban_duration: Duration) -> Self {
        Policing {
            points: BTreeMap::new(),
            bans: BTreeMap::new(),
            ban_threshold,
            ban_duration,
        }
    }

    /// Penalty points of `link`.
    pub(super) fn points(&self, link: LinkId) -> u32 {
        self.points.get(&link).copied().unwrap_or(0)
    }

    /// True if `link` is banned at `now`.
    pub(super) fn is_banned(&self, now: Instant, link: LinkId) -> bool {
        self.bans.get(&link).is_some_and(|until| now < *until)
    }

    /// Add `points` to `link` at `now`, banning it at the threshold. `None` if `points` is 0
    /// (nothing changed, nothing to report); otherwise what the engine must do.
    pub(super) fn penalize(&mut self, now: Instant, link: LinkId, points: u32) -> Option<Penalty> {
        if points == 0 {
            return None;
        }
        let p = self.points.entry(link).or_insert(0);
        *p = p.saturating_add(points);
        let p = *p;
        let banned = p >= self.ban_threshold;
        if banned {
            self.points.remove(&link);
            if self.bans.len() >= MAX_BANS
                && let Some((&k, _)) = self.bans.iter().min_by_key(|(_, u)| **u)
            {
                self.bans.remove(&k);
            }
            self.bans.insert(link, now + self.ban_duration);
        }
        Some(Penalty { points: p, banned })
    }

    /// At each heartbeat: forget bans ended at `now` and decay every link's points by one
    /// (forgetting those at zero).
    pub(super) fn heartbeat(&mut self, now: Instant) {
        self.bans.retain(|_, u| now < *u);
        self.points.retain(|_, p| {
            *p = p.saturating_sub(1);
            *p > 0
        });
    }
}

impl GossipEngine {
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
        let Some(p) = self.policing.penalize(now.mono, link, points) else {
            return;
        };
        self.emit(Event::LinkPenalized {
            link,
            points: p.points,
        });
        if p.banned {
            for ts in self.topics.values_mut() {
                ts.mesh.remove(&link);
                ts.peers.remove(&link);
            }
            self.emit(Event::LinkBanned { link });
        }
    }
}
