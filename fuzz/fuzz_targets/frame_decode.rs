//! Frame decoding and the CBOR pre-scan on arbitrary bytes: never panic, and anything the
//! pre-scan accepts must be parseable CBOR.
#![no_main]

use agentnet_core::wire::{self, Limits};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let frame = Bytes::copy_from_slice(data);
    if let Ok(f) = wire::decode_frame(&frame, &limits) {
        assert_eq!(f.version, wire::PROTOCOL_VERSION);
        assert_eq!(wire::peek_kind(data), Some(f.kind));
    }
    if wire::check_cbor(data, &limits).is_ok() {
        // Whatever passes the structural check decodes as generic CBOR.
        let v: Result<ciborium::Value, _> = ciborium::from_reader(data);
        assert!(v.is_ok(), "check_cbor accepted what the decoder refuses: {v:?}");
    }
});
