//! The execution plane's decoders: signed mechanisms from arbitrary frames, and the LLM
//! designer's answer parser on arbitrary text. Never panic; whatever is accepted is valid.
#![no_main]

use agentnet_core::signed::Signed;
use agentnet_core::wire::{self, Limits};
use agentnet_mech::llm::parse_answer;
use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    for f in [
        Bytes::copy_from_slice(data),
        wire::frame_from_payload(agentnet_mech::wire::MECHANISM, data),
    ] {
        if let Ok(m) = Signed::<Mechanism>::from_frame(&f, &limits) {
            let _ = m.value().validate();
            let _ = m.value().text();
        }
    }
    let incumbent = Mechanism::new(
        agentnet_core::AgentId::from_bytes([1; 32]),
        "fuzz",
        80 * UNIT,
        [Clause::Payment { flat: 60 * UNIT, bonus: 0 }],
    );
    if let Ok(r) = parse_answer(&incumbent, &String::from_utf8_lossy(data)) {
        assert!(r.mechanism.validate().is_ok());
    }
});
