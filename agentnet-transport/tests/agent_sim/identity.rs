//! Identity across agents: issuer attestations travel with the identity chain, and a peer's key
//! rotation keeps its reputation and history.

use super::*;

#[test]
fn an_issuer_attestation_travels_with_the_identity_chain() {
    use agentnet_trust::baid::{IssuerAttestation, PrincipalCommitment};
    use agentnet_trust::registry::RegistryConfig;
    let issuer = Keypair::from_seed([77; 32]);
    let principal = PrincipalCommitment::new(b"ACME Corp, registration 42", &[5; 32]);
    let mut sim = Sim::new(SimConfig::seeded(12));
    let now = sim.now();
    let mut a_cfg = config(seed(1, 12));
    a_cfg.identity.principal = principal;
    let mut b_cfg = config(seed(2, 12));
    b_cfg.registry = RegistryConfig::with_anchors([issuer.id()]);
    let a = Agent::new(Keypair::from_seed(seed(1, 12)), a_cfg, now).unwrap();
    let a_id = a.id();
    let b = Agent::new(Keypair::from_seed(seed(2, 12)), b_cfg, now).unwrap();
    let (na, nb) = (
        sim.add_node(SimHost::new(a, None)),
        sim.add_node(SimHost::new(b, None)),
    );
    let hour = now.wall.saturating_add(Duration::from_secs(3600));
    let att = IssuerAttestation::sign(&issuer, principal, a_id, now.wall, hour).unwrap();
    sim.command(na, |h, now| h.agent_mut().add_attestation(now, att))
        .unwrap()
        .unwrap();
    // Someone else's principal is refused, and so is one naming another chain.
    let elsewhere = PrincipalCommitment::new(b"someone else", &[6; 32]);
    let other = IssuerAttestation::sign(&issuer, elsewhere, a_id, now.wall, hour).unwrap();
    let b_key = Keypair::from_seed(seed(2, 12)).id();
    let not_mine = IssuerAttestation::sign(&issuer, principal, b_key, now.wall, hour).unwrap();
    for wrong in [other, not_mine] {
        assert!(
            sim.command(na, |h, now| h.agent_mut().add_attestation(now, wrong))
                .unwrap()
                .is_err()
        );
    }
    sim.connect(na, nb);
    sim.run_for(Duration::from_secs(1));
    let seen = sim
        .engine(nb)
        .unwrap()
        .agent()
        .registry()
        .resolve(&a_id)
        .unwrap();
    assert!(
        seen.attested,
        "b trusts the issuer and holds the attestation: {seen:?}"
    );
}

#[test]
fn a_peers_key_rotation_keeps_its_reputation_and_history() {
    use agentnet_core::Engine;
    use agentnet_trust::baid::BindingEntry;
    let mut w = solo(13);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"x")).tier(Tier::Reputation),
    );
    let old = o.provider.expect("served");
    w.sim.run_for(Duration::from_secs(2));
    let topic = Topic::new(TOPIC).unwrap();
    let old_keys = Keypair::from_seed(seed(2, 13));
    let new_keys = Keypair::from_seed([0xAB; 32]);
    let now = w.sim.now();
    let requester = w.sim.engine_mut(w.ids[0]).unwrap();
    let chain = requester.agent().registry().resolve(&old).unwrap().chain;
    let head = requester
        .agent()
        .registry()
        .entries(&chain)
        .last()
        .unwrap()
        .clone();
    let rotation = BindingEntry::rotation(
        &head,
        &old_keys,
        &new_keys,
        new_keys.x25519().public(),
        now.wall,
    )
    .unwrap();
    requester
        .handle_message(now, agentnet_core::LinkId(1), rotation.to_frame())
        .unwrap();
    let a = requester.agent();
    let before = a.reputation(&old, &topic);
    assert!(before > 0.0);
    assert_eq!(
        a.reputation(&new_keys.id(), &topic),
        before,
        "the new key inherits the score"
    );
    assert_eq!(
        a.registry().resolve(&new_keys.id()).unwrap().canonical,
        old,
        "both keys map to the chain's canonical id"
    );
    assert!(a.ledger().tally(&topic, &old, now.wall).is_some());
}
