//! Slashing and stake: applying a verified offence ([`Reputation::slash`], [`SlashOutcome`]) and
//! reading who is slashed, convicted or flagged and what stake they hold.

use super::*;

/// What a slash did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlashOutcome {
    /// The agent is now slashed; this much stake was burned or frozen.
    Slashed {
        /// Stake burned or frozen by this slash.
        stake: Micros,
    },
    /// The agent had already been slashed.
    AlreadySlashed,
    /// This method does not slash (a baseline or the ablation); the offence was recorded.
    NotApplied,
}

impl Reputation {
    /// Apply a verified offence to the identity it blames. `culprit` says who that is: the
    /// offending key's identity (its canonical id) and the principal, if any, proven to own
    /// it ([`Culprit`]: the identity registry makes one that blames a principal only when an
    /// issuer attestation names the chain). The principal registered for the identity is
    /// flagged too: register only proven principals. A culprit made from another offence is
    /// refused ([`ReputationError::NotTheOffender`]).
    pub fn slash(
        &mut self,
        culprit: &Culprit,
        offence: &Offence,
    ) -> Result<SlashOutcome, ReputationError> {
        if culprit.offender() != offence.offender {
            return Err(ReputationError::NotTheOffender);
        }
        let (agent, principal) = (culprit.agent(), culprit.principal());
        let i = self.ensure(agent)? as usize;
        self.agents[i].offences = self.agents[i].offences.saturating_add(1);
        let slashing = matches!(self.config.method, Method::MultiGraph(o) if o.slashing);
        if !slashing {
            return Ok(SlashOutcome::NotApplied);
        }
        for p in [principal, self.agents[i].principal].into_iter().flatten() {
            self.flagged.insert(p);
        }
        let a = &mut self.agents[i];
        if a.slashed {
            return Ok(SlashOutcome::AlreadySlashed);
        }
        a.slashed = true;
        let stake = std::mem::take(&mut a.stake);
        match self.config.slash_policy {
            SlashPolicy::Burn => a.burned += stake,
            SlashPolicy::Freeze => a.frozen += stake,
        }
        self.rebuild_all = true;
        Ok(SlashOutcome::Slashed { stake })
    }

    /// Whether `agent` is eligible for MG pretrust (`e(j) = 1`: not slashed, principal not
    /// flagged). A fresh identity of a slashed principal is not.
    pub fn eligible_for_pretrust(&self, agent: &AgentId) -> bool {
        self.index
            .get(agent)
            .is_some_and(|&j| !self.convicted(j as usize))
    }

    /// Whether `agent` is convicted: slashed, or an identity of a flagged principal. Its
    /// score is 0 in every topic; hosts should not hire it at all (not even to explore).
    pub fn is_convicted(&self, agent: &AgentId) -> bool {
        self.index
            .get(agent)
            .is_some_and(|&j| self.convicted(j as usize))
    }

    /// Slashed, or an identity of a flagged principal.
    pub(super) fn convicted(&self, j: usize) -> bool {
        let a = &self.agents[j];
        a.slashed || a.principal.is_some_and(|p| self.flagged.contains(&p))
    }

    /// Whether `agent` was slashed.
    pub fn is_slashed(&self, agent: &AgentId) -> bool {
        self.index
            .get(agent)
            .is_some_and(|&j| self.agents[j as usize].slashed)
    }

    /// Whether a principal commitment is flagged.
    pub fn is_flagged(&self, principal: &PrincipalCommitment) -> bool {
        self.flagged.contains(principal)
    }

    /// Offences recorded against `agent` (whether or not this method slashes).
    pub fn offences(&self, agent: &AgentId) -> u32 {
        self.index
            .get(agent)
            .map_or(0, |&j| self.agents[j as usize].offences)
    }

    /// The stake `agent` has, has lost and has frozen (all zero for an unknown agent).
    pub fn stake(&self, agent: &AgentId) -> Stake {
        self.index.get(agent).map_or(Stake::default(), |&j| {
            let a = &self.agents[j as usize];
            Stake {
                staked: a.stake,
                burned: a.burned,
                frozen: a.frozen,
            }
        })
    }
}

/// An agent's stake as the reputation engine holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stake {
    /// Stake held and counting towards standing.
    pub staked: Micros,
    /// Stake taken by slashing under [`SlashPolicy::Burn`] (gone for good).
    pub burned: Micros,
    /// Stake taken by slashing under [`SlashPolicy::Freeze`] (held; the host may release it
    /// after an appeal).
    pub frozen: Micros,
}

impl Stake {
    /// Whether the agent has no stake of any kind.
    pub fn is_zero(&self) -> bool {
        self.staked == 0 && self.burned == 0 && self.frozen == 0
    }
}
