//! Identity and links: this agent's own identity chain and attestations, the registry's
//! events, and the link handshake that makes a link a verified route to an agent.

use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, LinkId, Now, Record, Signed};
use agentnet_trust::baid::{BaidInputs, BindingEntry};
use agentnet_trust::fraud::FraudProof;
use agentnet_trust::registry::IdentityEvent;
use bytes::Bytes;

use super::persist::identity_record_key;
use super::wire::{Hello, HelloProof};
use super::{Agent, AgentError, AgentEvent, derive_seed, tables};

#[derive(Debug)]
pub(super) struct Link {
    pub(super) nonce: [u8; 16],
    pub(super) peer: Option<AgentId>,
    pub(super) hellos_answered: u32,
}

/// Most attestations of its own principal an agent holds and presents.
pub(super) const MAX_OWN_ATTESTATIONS: usize = 8;

/// Most handshake challenges answered per link (each costs a signature).
const MAX_HELLOS_PER_LINK: u32 = 4;

impl Agent {
    /// Hold an issuer's attestation of this agent's principal (obtained out of band, e.g. from
    /// a KYC issuer): it is verified, persisted, and sent with the identity chain to every
    /// peer, whose registries accept it if they trust the issuer.
    pub fn add_attestation(
        &mut self,
        now: Now,
        attestation: Signed<agentnet_trust::baid::IssuerAttestation>,
    ) -> Result<(), AgentError> {
        self.tick(now);
        if attestation.principal != self.config.identity.principal {
            return Err(AgentError::BadRequest(
                "the attestation is for another principal".into(),
            ));
        }
        if attestation.subject != self.canonical(&self.me) {
            return Err(AgentError::BadRequest(
                "the attestation names another identity chain".into(),
            ));
        }
        // This agent's own registry may not trust the issuer; its peers decide for themselves.
        let _ = self
            .registry
            .handle_signed_attestation(now, attestation.clone());
        if !self
            .own_attestations
            .iter()
            .any(|a| a.hash() == attestation.hash())
        {
            if self.own_attestations.len() >= MAX_OWN_ATTESTATIONS {
                self.own_attestations.remove(0);
            }
            self.durable.batch.push(Record::put(
                tables::OWN_ATTESTATION,
                attestation.hash().0.to_vec(),
                attestation.to_frame(),
            ));
            self.own_attestations.push(attestation);
        }
        self.pump(now);
        Ok(())
    }

    /// Called first by every input and command. Creates this agent's identity chain on the
    /// first input after [`new`](Self::new) unless [`restore`](Self::restore) brought it back
    /// (its genesis is signed at that moment; a restarted agent must keep its chain, or its
    /// reputation would not follow it).
    pub(super) fn tick(&mut self, now: Now) {
        if !self.chain.is_empty() {
            return;
        }
        let inputs = BaidInputs {
            code_hash: self.config.identity.code_hash,
            config_digest: self.config.identity.config_digest,
            principal: self.config.identity.principal,
            salt: derive_seed(&self.config.seed, "baid-salt"),
        };
        let Ok(genesis) =
            BindingEntry::genesis(&self.keys, self.keys.x25519().public(), inputs, now.wall)
        else {
            return;
        };
        if self
            .registry
            .handle_signed_entry(now, genesis.clone())
            .is_ok()
        {
            self.chain.push(genesis);
            // Its own chain is never evicted from a full registry.
            self.registry.vouch(&self.me);
        }
    }

    pub(super) fn on_identity_event(&mut self, now: Now, e: IdentityEvent) {
        match e {
            IdentityEvent::Overflow(o) => self.engine_overflow("registry", o),
            IdentityEvent::Persist { frame } => {
                let key = identity_record_key(&frame);
                self.durable
                    .batch
                    .push(Record::put(tables::IDENTITY_ENTRY, key, frame));
            }
            IdentityEvent::ForkDetected { proof, .. } => {
                let _ = self.on_proof(now, FraudProof::from(*proof), None);
            }
            IdentityEvent::Forgotten { frames, .. } => {
                // Evicted from a full registry: the store holds no more than the registry.
                for frame in frames {
                    let key = identity_record_key(&frame);
                    self.durable
                        .batch
                        .push(Record::delete(tables::IDENTITY_ENTRY, key));
                }
            }
            _ => {}
        }
    }

    // =========================================================================================
    // Internals: the link handshake
    // =========================================================================================

    pub(super) fn on_hello(&mut self, from: LinkId, hello: Hello) {
        let Some(link) = self.links.get_mut(&from) else {
            return;
        };
        if link.hellos_answered >= MAX_HELLOS_PER_LINK {
            return;
        }
        link.hellos_answered += 1;
        // The identity chain first: links deliver in order, so by the time the peer accepts
        // the proof (and starts using the link as a route) it can resolve this agent's keys.
        let principal = self.config.identity.principal;
        let entries: Vec<Bytes> = self
            .chain
            .iter()
            .map(|e| e.to_frame())
            .chain(
                self.own_attestations
                    .iter()
                    .filter(|a| a.principal == principal)
                    .map(|a| a.to_frame()),
            )
            .collect();
        for e in entries {
            self.send(from, e);
        }
        let proof = HelloProof {
            nonce: hello.nonce,
            agent: self.me,
        };
        if let Ok(signed) = Signed::sign(&self.keys, proof) {
            self.send(from, signed.to_frame());
        }
    }

    pub(super) fn on_hello_proof(
        &mut self,
        now: Now,
        from: LinkId,
        frame: &Bytes,
    ) -> Result<(), AgentError> {
        let proof = Signed::<HelloProof>::from_frame(frame, &self.limits)?;
        let link = self
            .links
            .get_mut(&from)
            .filter(|l| l.peer.is_none() && l.nonce == proof.nonce)
            .ok_or(AgentError::BadHandshake(from))?;
        let agent = proof.agent;
        link.peer = Some(agent);
        // The newest verified link is the route; an older one stays usable for frames in
        // flight and takes over if this one goes down.
        self.routes.insert(agent, from);
        let topics: Vec<Topic> = self.reputation.topics().cloned().collect();
        for t in &topics {
            self.reports.force_full(t);
        }
        // Sessions restored from disk (or whose link went down) continue on this link, and
        // transfers waiting on this agent ask for their chunks now.
        self.sessions.resume_with(agent, from);
        self.flush_bids(agent, from);
        for inc in self.incoming.values_mut() {
            if inc.peer == agent {
                inc.resend_at = now.mono;
            }
        }
        self.event(AgentEvent::PeerUp { link: from, agent });
        Ok(())
    }
}
