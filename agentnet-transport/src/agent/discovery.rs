//! The discovery plane's glue: announcing, following topics, discovering candidates, and
//! what the gossip engine reports (records to persist, equivocations as fraud proofs).

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::{Now, Record};
use agentnet_gossip::{Candidate, Requirements};
use agentnet_trust::fraud::FraudProof;
use bytes::Bytes;

use super::persist::{descriptor_key, header_key};
use super::{Agent, AgentError, AgentEvent, tables};

impl Agent {
    /// Announce a capability (signed, logged, gossiped, refreshed before expiry). Returns the
    /// topic and seq of its log entry.
    pub fn announce(
        &mut self,
        now: Now,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), AgentError> {
        self.tick(now);
        let r = self.gossip.publish(now, descriptor);
        self.pump(now);
        Ok(r?)
    }

    /// Subscribe to a topic's headers until [`unsubscribe`](Self::unsubscribe) or a restart
    /// (nothing is persisted): for topics followed on a peer's word, which must not become
    /// permanent by surviving a restart.
    pub fn subscribe_volatile(&mut self, now: Now, topic: Topic) -> Result<(), AgentError> {
        self.tick(now);
        let r = self.gossip.subscribe(now, topic);
        self.pump(now);
        Ok(r?)
    }

    /// Subscribe to a topic's headers (restored after a restart).
    pub fn subscribe(&mut self, now: Now, topic: Topic) -> Result<(), AgentError> {
        self.tick(now);
        let key = topic.as_str().as_bytes().to_vec();
        let r = self.gossip.subscribe(now, topic);
        if r.is_ok() {
            self.durable
                .batch
                .push(Record::put(tables::GOSSIP_TOPIC, key, Bytes::new()));
        }
        self.pump(now);
        Ok(r?)
    }

    /// Leave a topic: its headers are forgotten (the own log's head is kept, so a later
    /// re-join continues the sequence) and it is not followed again after a restart.
    pub fn unsubscribe(&mut self, now: Now, topic: &Topic) {
        self.tick(now);
        if self.gossip.topics().any(|t| t == topic) {
            self.gossip.unsubscribe(now, topic);
            let key = topic.as_str().as_bytes().to_vec();
            self.durable
                .batch
                .push(Record::delete(tables::GOSSIP_TOPIC, key));
        }
        self.pump(now);
    }

    /// Set which announced bodies to pull.
    pub fn set_interest(&mut self, profile: agentnet_gossip::InterestProfile) {
        self.gossip.set_interest(profile);
    }

    /// Ranked candidates for `intent` among the fresh descriptors held.
    pub fn discover(
        &self,
        now: Now,
        intent: &str,
        requirements: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        self.gossip.discover(now, intent, requirements, k)
    }

    pub(super) fn on_gossip_event(&mut self, now: Now, e: agentnet_gossip::Event) {
        use agentnet_gossip::Event as G;
        match e {
            G::Overflow(o) => self.engine_overflow("gossip", o),
            G::PersistHead(head) => {
                let value = agentnet_core::wire::encode_cbor(&(
                    head.topic.as_str(),
                    head.seq,
                    serde_bytes::Bytes::new(&head.header),
                    head.body.as_deref().map(serde_bytes::Bytes::new),
                ))
                .unwrap_or_default();
                self.durable.batch_acks.push((head.topic.clone(), head.seq));
                self.durable.batch.push(Record::put(
                    tables::GOSSIP_HEAD,
                    head.topic.as_str().as_bytes().to_vec(),
                    value,
                ));
            }
            G::Equivocation { proof, .. } => {
                let proof = FraudProof::from(*proof);
                let _ = self.on_proof(now, proof, None);
            }
            G::Header {
                author,
                ref topic,
                seq,
                ..
            } => {
                if let Some(h) = self.gossip.header(topic, &author, seq) {
                    let key = header_key(topic, &author, seq);
                    let r = Record::put(tables::GOSSIP_HEADER, key, h.to_frame())
                        .expiring(h.expires_at());
                    self.durable.batch.push(r);
                }
                self.event(AgentEvent::Gossip(e));
            }
            G::Descriptor(ref d) | G::Retracted(ref d) => {
                let key = descriptor_key(&d.provider, &d.capability);
                let r = Record::put(tables::GOSSIP_DESCRIPTOR, key, d.to_frame())
                    .expiring(d.expires_at());
                self.durable.batch.push(r);
                self.event(AgentEvent::Gossip(e));
            }
            // What the engine stopped holding before expiry leaves the store too: the store is
            // bounded by the engine's tables, not by what peers sent.
            G::HeadersForgotten {
                topic,
                author,
                seqs,
            } => {
                for seq in seqs {
                    let key = header_key(&topic, &author, seq);
                    self.durable
                        .batch
                        .push(Record::delete(tables::GOSSIP_HEADER, key));
                }
            }
            G::DescriptorForgotten {
                provider,
                capability,
            } => {
                let key = descriptor_key(&provider, &capability);
                self.durable
                    .batch
                    .push(Record::delete(tables::GOSSIP_DESCRIPTOR, key));
            }
            G::Intent(intent) => self.on_intent(now, *intent),
            other => self.event(AgentEvent::Gossip(other)),
        }
    }
}
