//! Intent announcements, provider states, bids and counter-offers from arbitrary frames (raw,
//! and behind each kind's header): decoding never panics, whatever decodes re-encodes to the
//! bytes that were signed, validation answers with a typed error, and bids go into a live
//! auction (then its timers run) without a panic or more bids kept than its bound.
#![no_main]

use agentnet_core::descriptor::{DescriptorRules, SideEffects, Topic};
use agentnet_core::intent::{IntentAnnouncement, ProviderState};
use agentnet_core::signed::Signed;
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::{self, Limits, kinds};
use agentnet_core::Keypair;
use agentnet_mech::auction::{Auction, AuctionConfig, Bid, Counter, ScoreRule};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// What decoded re-encodes to exactly the signed bytes.
macro_rules! reencodes {
    ($s:expr) => {{
        let re = wire::encode_cbor($s.value()).expect("encode");
        assert_eq!(&re[..], &$s.body()[..]);
    }};
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let now = Now::new(Instant::from_secs(1), WallTime::from_unix_millis(1_800_000_000_000));
    let rules = DescriptorRules::default();
    let requester = Keypair::from_seed([9; 32]);
    let intent = Signed::sign(
        &requester,
        IntentAnnouncement {
            requester: requester.id(),
            nonce: 1,
            topic: Topic::new("creative/image").unwrap(),
            summary: "draw a cat".into(),
            tags: vec![],
            max_side_effects: SideEffects::None,
            tier: 1,
            max_latency_ms: None,
            budget_min: 0,
            budget_max: 10_000_000,
            bid_by: now.wall + core::time::Duration::from_secs(2),
            deadline: now.wall + core::time::Duration::from_secs(60),
            endpoints: vec![],
            issued_at: now.wall,
            ttl_ms: 60_000,
        },
    )
    .unwrap();
    let config = AuctionConfig::default();
    let mut auction = Auction::new(now, &intent, ScoreRule::default(), config).unwrap();
    let raw = Bytes::copy_from_slice(data);
    for k in [None, Some(kinds::INTENT), Some(kinds::PROVIDER_STATE), Some(kinds::BID), Some(kinds::COUNTER)] {
        let f = match k {
            None => raw.clone(),
            Some(k) => wire::frame_from_payload(k, data),
        };
        if let Ok(i) = Signed::<IntentAnnouncement>::from_frame(&f, &limits) {
            reencodes!(i);
            let _ = i.validate(now, &rules);
        }
        if let Ok(s) = Signed::<ProviderState>::from_frame(&f, &limits) {
            reencodes!(s);
            let _ = s.validate(now, rules.max_skew);
        }
        if let Ok(c) = Signed::<Counter>::from_frame(&f, &limits) {
            reencodes!(c);
            let _ = c.validate_fields();
        }
        if let Ok(b) = Signed::<Bid>::from_frame(&f, &limits) {
            reencodes!(b);
            let _ = b.validate_fields();
            let _ = auction.handle_bid(now, b);
        }
    }
    assert!(auction.bids().count() <= config.max_bids);
    let later = Now::new(Instant::from_secs(10), now.wall + core::time::Duration::from_secs(9));
    let _ = auction.handle_timeout(later, &requester);
    while auction.poll_event().is_some() {}
});
