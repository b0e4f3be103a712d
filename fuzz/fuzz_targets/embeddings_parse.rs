//! The embeddings adapter's response parser on arbitrary bodies and batch shapes: never a
//! panic; an error is `Malformed`; a success is exactly `n` vectors of `dim` finite numbers.
#![no_main]

use agentnet_transport::LlmError;
use agentnet_transport::llm::embeddings::fuzzing::parse_embeddings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&shape, body)) = data.split_first() else {
        return;
    };
    let n = usize::from(shape & 0x07);
    let dim = usize::from(shape >> 3);
    match parse_embeddings(body, n, dim) {
        Ok(v) => {
            assert_eq!(v.len(), n);
            let want = if dim == 0 { v.first().map_or(0, Vec::len) } else { dim };
            for x in &v {
                assert_eq!(x.len(), want);
                assert!(x.iter().all(|f| f.is_finite()));
            }
        }
        Err(LlmError::Malformed(_)) => {}
        Err(e) => panic!("untyped parse error {e:?}"),
    }
});
