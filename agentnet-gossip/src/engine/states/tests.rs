//! The provider-state table on its own: one state per provider, newer replaces older, the
//! bound, eviction of the state expiring soonest, and never a lapsed state.

use super::*;
use agentnet_core::Keypair;
use agentnet_core::test_support::wall_ms;
use proptest::prelude::*;

/// A state of provider `p` issued at `issued` ms after the epoch, living `ttl` ms.
fn state(p: u8, issued: u64, ttl: u32) -> Signed<ProviderState> {
    let kp = Keypair::from_seed([p; 32]);
    let s = ProviderState {
        provider: kp.id(),
        load_bp: 100,
        available: true,
        queued: 0,
        issued_at: wall_ms(issued),
        ttl_ms: ttl,
    };
    Signed::sign(&kp, s).unwrap()
}

fn id(p: u8) -> AgentId {
    Keypair::from_seed([p; 32]).id()
}

#[test]
fn newer_replaces_older_and_older_or_equal_is_ignored() {
    let mut t = StateTable::new(8);
    assert_eq!(t.offer(wall_ms(0), state(1, 0, 5_000)), StateOffer::Taken);
    assert_eq!(t.offer(wall_ms(0), state(1, 0, 5_000)), StateOffer::Stale);
    assert_eq!(
        t.offer(wall_ms(0), state(1, 1_000, 5_000)),
        StateOffer::Taken
    );
    assert_eq!(
        t.offer(wall_ms(0), state(1, 500, 60_000)),
        StateOffer::Stale
    );
    assert_eq!(t.len(), 1);
    assert_eq!(
        t.live(wall_ms(0), &id(1)).unwrap().issued_at,
        wall_ms(1_000)
    );
    assert_eq!(t.next_expiry(), Some(wall_ms(6_000)));
    t.assert_consistent();
}

#[test]
fn a_lapsed_state_is_never_returned_and_is_pruned() {
    let mut t = StateTable::new(8);
    t.offer(wall_ms(0), state(1, 0, 5_000));
    t.offer(wall_ms(0), state(2, 0, 9_000));
    assert!(t.live(wall_ms(4_999), &id(1)).is_some());
    assert!(
        t.live(wall_ms(5_000), &id(1)).is_none(),
        "not yet pruned, still not live"
    );
    assert_eq!(t.prune(wall_ms(5_000)), 1);
    assert_eq!(t.len(), 1);
    assert_eq!(t.next_expiry(), Some(wall_ms(9_000)));
    // Already lapsed when offered: not taken.
    assert_eq!(
        t.offer(wall_ms(20_000), state(3, 0, 5_000)),
        StateOffer::Stale
    );
    t.assert_consistent();
}

#[test]
fn a_full_table_gives_the_soonest_lapsing_place_to_a_later_one() {
    let mut t = StateTable::new(2);
    t.offer(wall_ms(0), state(1, 0, 3_000));
    t.offer(wall_ms(0), state(2, 0, 8_000));
    // Expires no later than the soonest held: refused.
    assert_eq!(t.offer(wall_ms(0), state(3, 0, 3_000)), StateOffer::Full);
    // Expires later: takes provider 1's place.
    assert_eq!(t.offer(wall_ms(0), state(3, 0, 4_000)), StateOffer::Taken);
    assert!(t.live(wall_ms(0), &id(1)).is_none());
    assert!(t.live(wall_ms(0), &id(3)).is_some());
    // A lapsed state makes room first, whatever the newcomer's lifetime.
    assert_eq!(
        t.offer(wall_ms(4_000), state(4, 4_000, 100)),
        StateOffer::Taken
    );
    assert!(t.live(wall_ms(4_000), &id(2)).is_some());
    assert_eq!(t.len(), 2);
    t.retain(|p| *p != id(2));
    assert_eq!(t.len(), 1);
    t.assert_consistent();
}

proptest! {
    /// Under any sequence of offers, prunes and removals at a non-decreasing clock the table
    /// stays within its bound, keeps its expiry order consistent, holds at most one state
    /// per provider (the newest taken), and never returns a lapsed state.
    #[test]
    fn the_table_stays_bounded_and_never_returns_a_lapsed_state(
        cap in 1usize..6,
        ops in proptest::collection::vec((0u8..4, 0u8..8, 0u64..3_000, 100u32..6_000), 1..80),
    ) {
        let mut t = StateTable::new(cap);
        let mut clock = 0u64;
        for (op, p, step, ttl) in ops {
            clock += step / 4;
            let now = wall_ms(clock);
            match op {
                0 | 1 => {
                    let before = t.live(now, &id(p)).map(|s| s.issued_at);
                    let issued = clock.saturating_sub(step / 2);
                    let r = t.offer(now, state(p, issued, ttl));
                    if r == StateOffer::Taken {
                        let held = t.live(now, &id(p)).expect("a taken state is live");
                        prop_assert_eq!(held.issued_at, wall_ms(issued));
                        prop_assert!(before.is_none_or(|b| b < wall_ms(issued)));
                    }
                }
                2 => {
                    t.prune(now);
                    prop_assert!(t.next_expiry().is_none_or(|e| e > now));
                }
                _ => {
                    t.remove(&id(p));
                    prop_assert!(t.live(now, &id(p)).is_none());
                }
            }
            t.assert_consistent();
            prop_assert!(t.len() <= cap);
            for q in 0..8 {
                if let Some(s) = t.live(now, &id(q)) {
                    prop_assert!(now < s.expires_at());
                }
            }
        }
    }
}
