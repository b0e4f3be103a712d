//! The checks an entry or attestation goes through, in the order the module docs give, and
//! what accepting one changes (forks included).

use super::*;
use agentnet_core::fork::Forkable;

impl IdentityRegistry {
    pub(super) fn accept_entry(
        &mut self,
        now: Now,
        e: Signed<BindingEntry>,
        source: admission::Source,
    ) -> Result<Accepted, IdentityError> {
        e.validate(&e.signer())?;
        if e.kind == BindingKind::Genesis {
            self.accept_genesis(now, e, source)
        } else {
            self.accept_successor(now, e)
        }
    }

    fn accept_genesis(
        &mut self,
        now: Now,
        e: Signed<BindingEntry>,
        source: admission::Source,
    ) -> Result<Accepted, IdentityError> {
        let id = ChainId(e.hash());
        if self.chains.contains_key(&id) {
            return Ok(Accepted::Duplicate);
        }
        let key = e.signer();
        if let Some(&held_chain) = self.keys.get(&key) {
            let genesis = &self.chains[&held_chain].entries[0];
            if genesis.signer() == key {
                // Two geneses by one key: the key claims two identities.
                let genesis = genesis.clone();
                return self.fork(held_chain, &genesis, e);
            }
            return Err(IdentityError::KeyInUse {
                key,
                chain: held_chain,
            });
        }
        self.check_skew(now, e.issued_at)?;
        if self.chains.len() >= self.config.max_chains {
            if self.emit && self.events.len() + EVENTS_PER_INPUT + 1 > self.config.max_queued_events
            {
                return Err(IdentityError::EventQueueFull);
            }
            if !self.make_room(source) {
                return Err(self.full(Table::Chains));
            }
        }
        let baid = e.baid;
        let frame = e.to_frame();
        self.chains.insert(
            id,
            ChainState {
                entries: vec![e],
                fork: None,
                proven: None,
                since: now.mono,
                source,
                vouched: false,
            },
        );
        self.keys.insert(key, id);
        self.push(IdentityEvent::Persist { frame });
        self.push(IdentityEvent::Registered {
            chain: id,
            key,
            baid,
        });
        Ok(Accepted::Registered { chain: id, key })
    }

    fn accept_successor(
        &mut self,
        now: Now,
        e: Signed<BindingEntry>,
    ) -> Result<Accepted, IdentityError> {
        let cid = e.chain.expect("validated: successors name their chain");
        let chain = self
            .chains
            .get(&cid)
            .ok_or(IdentityError::UnknownChain(cid))?;
        let head = chain.head();
        let (seq, signer) = (e.seq, e.signer());
        if seq <= head.seq {
            let held = &chain.entries[seq as usize];
            if held.body() == e.body() {
                return Ok(Accepted::Duplicate);
            }
            if held.signer() == signer {
                let held = held.clone();
                return self.fork(cid, &held, e);
            }
            return Err(IdentityError::WrongSigner {
                chain: cid,
                seq,
                expected: held.signer(),
                got: signer,
            });
        }
        if seq != head.seq + 1 {
            return Err(IdentityError::Gap {
                chain: cid,
                expected: head.seq + 1,
                got: seq,
            });
        }
        match chain.status() {
            ChainStatus::Forked => return Err(IdentityError::ChainForked(cid)),
            ChainStatus::Revoked => return Err(IdentityError::ChainRevoked(cid)),
            ChainStatus::Active => {}
        }
        if signer != head.agent {
            return Err(IdentityError::WrongSigner {
                chain: cid,
                seq,
                expected: head.agent,
                got: signer,
            });
        }
        if e.prev != Some(head.hash()) {
            return Err(IdentityError::PrevMismatch { chain: cid, seq });
        }
        if e.issued_at < head.issued_at {
            return Err(IdentityError::NotMonotonic { chain: cid, seq });
        }
        self.check_skew(now, e.issued_at)?;
        let invalid = |reason| IdentityError::InvalidSuccessor {
            chain: cid,
            kind: e.kind,
            reason,
        };
        match e.kind {
            BindingKind::ConfigChange => {
                if e.inputs.principal != head.inputs.principal {
                    return Err(BindingError::PrincipalChanged.into());
                }
                if e.x25519 != head.x25519 {
                    return Err(invalid("a config change keeps the X25519 key"));
                }
            }
            BindingKind::KeyRotation => {
                if e.inputs != head.inputs {
                    return Err(invalid("a rotation keeps the BAID inputs"));
                }
                if e.agent == head.agent && e.x25519 == head.x25519 {
                    return Err(BindingError::NoKeyChange.into());
                }
                if e.agent != head.agent
                    && let Some(&other) = self.keys.get(&e.agent)
                {
                    return Err(IdentityError::KeyInUse {
                        key: e.agent,
                        chain: other,
                    });
                }
            }
            BindingKind::Revocation => {
                if e.inputs != head.inputs || e.x25519 != head.x25519 {
                    return Err(invalid("a revocation repeats the head's binding"));
                }
            }
            // `validate` ties the genesis kind to seq 0, which never reaches this point.
            BindingKind::Genesis => return Err(invalid("a genesis cannot follow an entry")),
        }
        // The last slot is reserved for a revocation, so a full chain can still be closed.
        let len = chain.entries.len();
        let max = self.config.max_entries_per_chain;
        let fits = if e.kind == BindingKind::Revocation {
            len < max
        } else {
            len + 1 < max
        };
        if !fits {
            return Err(self.full(Table::ChainEntries));
        }
        let old = head.agent;
        let (kind, agent, baid) = (e.kind, e.agent, e.baid);
        let frame = e.to_frame();
        self.chains
            .get_mut(&cid)
            .expect("checked above")
            .entries
            .push(e);
        self.keys.entry(agent).or_insert(cid);
        self.push(IdentityEvent::Persist { frame });
        self.push(match kind {
            BindingKind::ConfigChange => IdentityEvent::ConfigChanged {
                chain: cid,
                seq,
                baid,
            },
            BindingKind::KeyRotation => IdentityEvent::Rotated {
                chain: cid,
                seq,
                old,
                new: agent,
            },
            _ => IdentityEvent::Revoked {
                chain: cid,
                seq,
                key: agent,
            },
        });
        Ok(Accepted::Appended {
            chain: cid,
            seq,
            kind,
        })
    }

    /// `new` conflicts with `held` (same signer, chain field and seq, different bytes) in the
    /// chain `cid`: mark the chain forked and report the proof, once.
    fn fork(
        &mut self,
        cid: ChainId,
        held: &Signed<BindingEntry>,
        new: Signed<BindingEntry>,
    ) -> Result<Accepted, IdentityError> {
        let chain = self.chains.get(&cid).expect("caller holds the chain");
        if let Some(f) = &chain.fork {
            if f.conflicting.body() == new.body() {
                return Ok(Accepted::Duplicate);
            }
            return Err(IdentityError::ChainForked(cid));
        }
        // Both entries passed `validate`, share signer, chain field and seq, and differ, so
        // this cannot fail; map it anyway rather than panic on a logic slip.
        let proof = ChainForkProof::new(held, &new).map_err(|e| match e {
            crate::baid::ForkError::Invalid(b) => IdentityError::Binding(b),
            crate::baid::ForkError::Entry(s) => IdentityError::Signed(s),
            _ => IdentityError::ChainForked(cid),
        })?;
        let first = if held.hash() < new.hash() { held } else { &new };
        let fork = <BindingEntry as Forkable>::fork(first);
        let frame = new.to_frame();
        let seq = new.seq;
        self.chains.get_mut(&cid).expect("held").fork = Some(ForkRecord {
            conflicting: new,
            proof: proof.clone(),
        });
        self.push(IdentityEvent::Persist { frame });
        self.push(IdentityEvent::ForkDetected {
            chain: cid,
            fork,
            proof: Box::new(proof),
        });
        Ok(Accepted::ForkDetected { chain: cid, seq })
    }

    pub(super) fn accept_attestation(
        &mut self,
        now: Now,
        a: Signed<IssuerAttestation>,
    ) -> Result<Accepted, IdentityError> {
        // Only anchors' attestations are stored: anyone can sign one, and holding them would
        // let strangers fill the table.
        if !self.config.trust_anchors.contains(&a.issuer) {
            return Err(IdentityError::UntrustedIssuer(a.issuer));
        }
        if a.expires_at <= a.issued_at {
            return Err(IdentityError::EmptyValidity);
        }
        self.check_skew(now, a.issued_at)?;
        if now.wall >= a.expires_at {
            return Err(IdentityError::AttestationExpired);
        }
        let key = (a.principal, a.subject, a.issuer);
        match self.attestations.get(&key) {
            Some(old) if old.body() == a.body() => return Ok(Accepted::Duplicate),
            Some(old) if a.expires_at <= old.expires_at => {
                return Err(IdentityError::StaleAttestation);
            }
            Some(old) => {
                let old_exp = old.expires_at;
                self.expiry.remove(&(old_exp, key.0, key.1, key.2));
            }
            None if self.attestations.len() >= self.config.max_attestations => {
                return Err(self.full(Table::Attestations));
            }
            None => {}
        }
        let expires_at = a.expires_at;
        let frame = a.to_frame();
        self.expiry.insert((expires_at, key.0, key.1, key.2));
        self.attestations.insert(key, a);
        self.push(IdentityEvent::Persist { frame });
        self.push(IdentityEvent::AttestationAccepted {
            principal: key.0,
            subject: key.1,
            issuer: key.2,
            expires_at,
        });
        Ok(Accepted::Attestation {
            principal: key.0,
            subject: key.1,
            issuer: key.2,
        })
    }
}
