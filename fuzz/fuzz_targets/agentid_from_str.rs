//! `AgentId::from_str` on arbitrary text: never a panic; whatever parses prints back to the
//! same string, so an id has exactly one text form.
#![no_main]

use std::str::FromStr;

use agentnet_core::AgentId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for s in [
        &*text,
        &format!("did:key:z{text}"),
        &format!("did:key:{text}"),
    ] {
        if let Ok(id) = AgentId::from_str(s) {
            let printed = id.to_string();
            // The text form is canonical: one id, one string.
            assert_eq!(printed, *s, "a non-canonical spelling parsed");
            assert_eq!(AgentId::from_str(&printed).expect("printed id parses"), id);
        }
    }
});
