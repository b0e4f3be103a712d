//! [`Sim`] links: connecting and disconnecting nodes, per-link models, partitions and healing.

use super::*;

impl<E: Engine> Sim<E>
where
    E::Event: fmt::Debug,
{
    // ----- links -----

    /// Connect `a` and `b` with the link model set for the pair (or the default). If both are
    /// up, `a` gets `handle_link_up(LinkId(b))` and then `b` gets `handle_link_up(LinkId(a))`.
    /// Returns `false` (and does nothing) if the link exists, `a == b`, or a node is unknown.
    pub fn connect(&mut self, a: NodeId, b: NodeId) -> bool {
        let (Ok(x), Ok(y)) = (self.k.check(a), self.k.check(b)) else {
            return false;
        };
        if x == y || self.k.nodes[x as usize].find(y).is_some() {
            return false;
        }
        let epoch = self.k.fresh_epoch();
        let model = self.k.model_index(x, y);
        for (n, p) in [(x, y), (y, x)] {
            let adj = &mut self.k.nodes[n as usize].adj;
            let at = adj.partition_point(|e| e.peer < p);
            adj.insert(
                at,
                Adj {
                    peer: p,
                    epoch,
                    model,
                },
            );
        }
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::CONNECT, t).u32(x).u32(y);
        }
        if self.k.nodes[x as usize].up && self.k.nodes[y as usize].up {
            self.link_up(x, y);
            self.link_up(y, x);
        }
        true
    }

    /// [`set_link_model`](Self::set_link_model) for the pair, then [`connect`](Self::connect).
    pub fn connect_with(&mut self, a: NodeId, b: NodeId, model: LinkModel) -> bool {
        self.set_link_model(a, b, model);
        self.connect(a, b)
    }

    /// Remove the link between `a` and `b`. Frames in flight on it are dropped on arrival
    /// ([`DropCause::NoLink`]). If both are up, `a` then `b` get `handle_link_down`. Returns
    /// `false` if there was no such link.
    pub fn disconnect(&mut self, a: NodeId, b: NodeId) -> bool {
        let (Ok(x), Ok(y)) = (self.k.check(a), self.k.check(b)) else {
            return false;
        };
        let Some(ix) = self.k.nodes[x as usize].find(y) else {
            return false;
        };
        self.k.nodes[x as usize].adj.remove(ix);
        if let Some(iy) = self.k.nodes[y as usize].find(x) {
            self.k.nodes[y as usize].adj.remove(iy);
        }
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::DISCONNECT, t).u32(x).u32(y);
        }
        if self.k.nodes[x as usize].up && self.k.nodes[y as usize].up {
            self.link_down(x, y);
            self.link_down(y, x);
        }
        true
    }

    /// Whether a link between `a` and `b` exists (whether or not both ends are up).
    pub fn is_connected(&self, a: NodeId, b: NodeId) -> bool {
        self.k
            .nodes
            .get(a.0 as usize)
            .is_some_and(|n| n.find(b.0).is_some())
    }

    /// The nodes `id` has links to, ascending.
    pub fn neighbors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.k
            .nodes
            .get(id.0 as usize)
            .into_iter()
            .flat_map(|n| n.adj.iter().map(|a| NodeId(a.peer)))
    }

    /// Use `model` for the link between `a` and `b` (both directions), now if it exists and
    /// whenever it is connected later. Frames already in flight keep their sampled delay.
    pub fn set_link_model(&mut self, a: NodeId, b: NodeId, model: LinkModel) {
        self.k.models.push(model);
        let idx = (self.k.models.len() - 1) as u32;
        let (x, y) = ordered(a.0, b.0);
        self.k.overrides.insert((x, y), idx);
        for (n, p) in [(x, y), (y, x)] {
            if let Some(st) = self.k.nodes.get_mut(n as usize)
                && let Some(i) = st.find(p)
            {
                st.adj[i].model = idx;
            }
        }
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::LINK_MODEL, t).u32(x).u32(y);
        }
    }

    /// Replace the default link model (used by every link without an override), effective
    /// for frames sent from now on.
    pub fn set_default_link_model(&mut self, model: LinkModel) {
        self.k.models[0] = model;
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k
                .trace
                .begin(tag::LINK_MODEL, t)
                .u32(u32::MAX)
                .u32(u32::MAX);
        }
    }

    /// Split the network: frames between nodes in different groups are dropped
    /// ([`DropCause::Partition`]), both when sent and when arriving. Nodes in no listed group
    /// (including nodes added later) form one more group together. Replaces any earlier
    /// partition; unknown ids are ignored; a node listed twice ends in the later group.
    ///
    /// A partition is silent, like a real one: links stay up and engines learn of it only
    /// through their own timeouts.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.set_groups(groups.iter().copied());
    }

    pub(super) fn set_groups<'a>(&mut self, groups: impl Iterator<Item = &'a [NodeId]> + Clone) {
        let mut g = vec![0u32; self.k.nodes.len()];
        for (i, group) in groups.clone().enumerate() {
            for id in group {
                if let Some(slot) = g.get_mut(id.0 as usize) {
                    *slot = i as u32 + 1;
                }
            }
        }
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::PARTITION, t);
            for group in groups {
                self.k.trace.u32(group.len() as u32);
                for id in group {
                    self.k.trace.u32(id.0);
                }
            }
        }
        self.k.groups = Some(g);
    }

    /// Remove the partition: every pair of linked nodes can talk again.
    pub fn heal(&mut self) {
        self.k.groups = None;
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::HEAL, t);
        }
    }

    /// Whether a partition is in force.
    pub fn is_partitioned(&self) -> bool {
        self.k.groups.is_some()
    }
}
