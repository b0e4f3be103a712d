//! The whole signed-descriptor receive path on arbitrary frames: never panic; whatever is
//! accepted re-encodes to exactly the bytes that were signed.
#![no_main]

use agentnet_core::descriptor::{self, DescriptorRules};
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::{self, Limits, MessageKind};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Now::new(Instant::from_secs(1), WallTime::from_unix_millis(1_800_000_000_000));
    let limits = Limits::default();
    let rules = DescriptorRules::default();
    // As a whole frame, and as a payload behind a valid descriptor header.
    let raw = Bytes::copy_from_slice(data);
    let framed = wire::frame_from_payload(MessageKind::SIGNED_DESCRIPTOR, data);
    for f in [&raw, &framed] {
        if let Ok(d) = descriptor::ingest(f, now, &rules, &limits) {
            let re = wire::encode_cbor(d.value()).expect("encode");
            assert_eq!(&re[..], &d.body()[..]);
        }
        let _ = descriptor::ingest_batch(std::slice::from_ref(f), now, &rules, &limits);
    }
});
