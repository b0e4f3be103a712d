//! The execution plane's decoders: signed mechanisms and every session message from arbitrary
//! frames (raw, and behind each 0x03xx header) into a live `Sessions` engine, arbitrary bytes
//! as session records into `Sessions::restore` (raw, and behind the record version byte), and
//! the LLM designer's answer parser on arbitrary text. Never panic; whatever is accepted is
//! valid.
#![no_main]

use agentnet_core::signed::Signed;
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::{self, Limits};
use agentnet_core::{Engine, Keypair, LinkId};
use agentnet_mech::llm::parse_answer;
use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
use agentnet_mech::session::{RECORD_VERSION, SessionConfig, Sessions};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let now = Now::new(Instant::from_secs(1), WallTime::from_unix_millis(1_800_000_000_000));
    let mut sessions = Sessions::new(SessionConfig::default(), Box::new(Keypair::from_seed([5; 32]))).unwrap();
    let kinds = [
        agentnet_mech::wire::MECHANISM,
        agentnet_mech::wire::OFFER,
        agentnet_mech::wire::COMMIT,
        agentnet_mech::wire::DELEGATE,
        agentnet_mech::wire::DELIVER,
        agentnet_mech::wire::SETTLE,
    ];
    let mut frames = vec![Bytes::copy_from_slice(data)];
    frames.extend(kinds.iter().map(|k| wire::frame_from_payload(*k, data)));
    for f in frames {
        if let Ok(m) = Signed::<Mechanism>::from_frame(&f, &limits) {
            let _ = m.value().validate();
            let _ = m.value().text();
        }
        let _ = sessions.handle_message(now, LinkId(1), f);
        while sessions.poll_event().is_some() {}
        while sessions.poll_transmit().is_some() {}
    }
    // Arbitrary records: refused with a typed error or restored, never a panic; a restored
    // session exports a record that restores again.
    let mut versioned = vec![RECORD_VERSION];
    versioned.extend_from_slice(data);
    for record in [Bytes::copy_from_slice(data), Bytes::from(versioned)] {
        let mut fresh =
            Sessions::new(SessionConfig::default(), Box::new(Keypair::from_seed([5; 32]))).unwrap();
        let report = fresh.restore(now, [record]);
        assert_eq!(report.restored + report.refused, 1);
        assert_eq!(fresh.len(), report.restored);
        for (_, again) in fresh.export(now) {
            let mut other =
                Sessions::new(SessionConfig::default(), Box::new(Keypair::from_seed([5; 32]))).unwrap();
            assert_eq!(other.restore(now, [again]).restored, 1);
        }
        fresh.handle_timeout(now);
        while fresh.poll_event().is_some() {}
        while fresh.poll_transmit().is_some() {}
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
