//! Mesh maintenance: degree bounds and prune backoff.

use super::*;

#[test]
fn mesh_respects_degree_bounds_and_backoff() {
    let mut e = engine_with(1, |c| {
        c.mesh_d = 2;
        c.mesh_d_lo = 1;
        c.mesh_d_hi = 3;
    });
    for l in 1..=6 {
        peer(&mut e, l);
    }
    assert_eq!(
        e.mesh(&topic()).len(),
        2,
        "subscriptions fill the mesh up to D"
    );
    drain(&mut e);
    for l in 3..=6 {
        let g = Message::Graft(wire::Graft {
            topics: vec![topic()],
        })
        .encode();
        e.handle_message(uptime_secs(10), LinkId(l), g).unwrap();
    }
    assert_eq!(e.mesh(&topic()).len(), 3, "grafts accepted up to D_hi");
    let (t, _) = drain(&mut e);
    let prunes: Vec<LinkId> = t
        .iter()
        .filter(|t| peek_kind(&t.payload) == Some(kind::PRUNE))
        .map(|t| t.link)
        .collect();
    assert_eq!(prunes.len(), 3, "the rest are pruned with a backoff");
    // A peer that prunes us is not grafted again during its backoff.
    let member = e.mesh(&topic())[0];
    let p = Message::Prune(wire::Prune {
        topic: topic(),
        backoff_ms: 60_000,
    })
    .encode();
    e.handle_message(uptime_secs(10), member, p).unwrap();
    assert!(!e.mesh(&topic()).contains(&member));
    for s in 1..5 {
        e.handle_timeout(uptime_secs(10).advance(Duration::from_secs(s)));
    }
    assert!(!e.mesh(&topic()).contains(&member));
    assert!(!e.mesh(&topic()).is_empty());
}
