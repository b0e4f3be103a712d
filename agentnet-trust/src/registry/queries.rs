//! Reads of the registry: resolving keys and chains, the signer check, the culprit of an
//! offence, what is held, and the export for persistence.

use super::*;

impl IdentityRegistry {
    /// What is known about `key`: any key a held chain ever bound, old or current.
    pub fn resolve(&self, key: &AgentId) -> Option<Resolved> {
        let cid = self.keys.get(key)?;
        Some(self.resolved(cid, self.chains.get(cid)?, *key))
    }

    /// Whom `offence` blames: the identity chain holding the offending key (its canonical id;
    /// the key alone if no chain holds it), and the chain's principal only when an issuer
    /// attestation names this chain ([`Resolved::attested`]). See [`Culprit`].
    pub fn culprit(&self, offence: &Offence) -> Culprit {
        match self.resolve(&offence.offender) {
            Some(r) => Culprit::of_chain(offence, r.canonical, r.attested.then_some(r.principal)),
            None => Culprit::key(offence),
        }
    }

    /// What is known about a chain (with `key` = its current key).
    pub fn resolve_chain(&self, chain: &ChainId) -> Option<Resolved> {
        let c = self.chains.get(chain)?;
        Some(self.resolved(chain, c, c.head().agent))
    }

    /// May `key` sign new statements? Only the current key of an active chain may (see the
    /// module docs for the policy and its threat model).
    pub fn check_signer(&self, key: &AgentId) -> Result<Resolved, IdentityError> {
        let r = self.resolve(key).ok_or(IdentityError::UnknownKey(*key))?;
        match r.status {
            ChainStatus::Forked => Err(IdentityError::ChainForked(r.chain)),
            ChainStatus::Revoked => Err(IdentityError::ChainRevoked(r.chain)),
            ChainStatus::Active if !r.is_current => Err(IdentityError::KeyRotatedOut {
                key: *key,
                current: r.current_key,
            }),
            ChainStatus::Active => Ok(r),
        }
    }

    /// The entries of `chain` in seq order (empty if unknown).
    pub fn entries(&self, chain: &ChainId) -> impl Iterator<Item = &Signed<BindingEntry>> {
        self.chains
            .get(chain)
            .map(|c| c.entries.as_slice())
            .unwrap_or_default()
            .iter()
    }

    /// The ids of all chains held, in order.
    pub fn chain_ids(&self) -> impl Iterator<Item = &ChainId> {
        self.chains.keys()
    }

    /// Chains held.
    pub fn chain_count(&self) -> usize {
        self.chains.len()
    }

    /// The fork proof of `chain`, if it is forked.
    pub fn fork_proof(&self, chain: &ChainId) -> Option<&ChainForkProof> {
        self.chains.get(chain)?.fork.as_ref().map(|f| &f.proof)
    }

    /// The attestations held, ordered by principal and issuer.
    pub fn attestations(&self) -> impl Iterator<Item = &Signed<IssuerAttestation>> {
        self.attestations.values()
    }

    /// Attestations held.
    pub fn attestation_count(&self) -> usize {
        self.attestations.len()
    }

    /// Every frame needed to rebuild this state with [`restore`](Self::restore): per chain,
    /// its entries in order and then a fork's conflicting entry; then the attestations.
    pub fn export(&self) -> Vec<Bytes> {
        let mut out = Vec::new();
        for c in self.chains.values() {
            out.extend(c.entries.iter().map(Signed::to_frame));
            if let Some(f) = &c.fork {
                out.push(f.conflicting.to_frame());
            }
        }
        out.extend(self.attestations.values().map(Signed::to_frame));
        out
    }
}
