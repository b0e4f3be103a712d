//! Gossip messages on arbitrary bytes: the decoder and a live engine never panic, and a frame
//! the engine refuses leaves it with no header stored and nothing relayed.
#![no_main]

use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::wire::{Limits, peek_kind};
use agentnet_core::{Engine, Instant, Keypair, LinkId, Now, WallTime};
use agentnet_gossip::wire::{Message, kind};
use agentnet_gossip::{GossipConfig, GossipEngine};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let frame = Bytes::copy_from_slice(data);
    if let Ok(m) = Message::decode(&frame, &Limits::default()) {
        // Whatever decodes re-encodes to a frame that decodes to the same message.
        let again = Message::decode(&m.encode(), &Limits::default()).expect("re-encoded frame decodes");
        assert_eq!(again, m);
    }
    let now = Now::new(Instant::from_secs(5), WallTime::from_unix_millis(1_800_000_000_000));
    let mut e = GossipEngine::new(
        GossipConfig::default(),
        Box::new(Keypair::from_seed([1; 32])),
        Box::new(HashedNgramEncoder::default()),
        now,
    ).unwrap();
    let topic = agentnet_core::descriptor::Topic::new("fuzz/t").unwrap();
    e.subscribe(now, topic).unwrap();
    e.handle_link_up(now, LinkId(1));
    e.handle_link_up(now, LinkId(2));
    while e.poll_transmit().is_some() {}
    if e.handle_message(now, LinkId(1), frame).is_err() {
        assert_eq!(e.header_count(), 0);
        while let Some(t) = e.poll_transmit() {
            assert_ne!(peek_kind(&t.payload), Some(kind::HEADER));
        }
    }
    while e.poll_event().is_some() {}
});
