//! The libp2p transport's record stream (`agentnet_transport::records`) on arbitrary bytes
//! fed in arbitrary chunk sizes, as a link's reader sees them. Asserts: never a panic; every
//! frame taken is within the maximum; the records taken, encoded again, are exactly a prefix
//! of the input; and the chunking never changes what is taken (one chunk gives the same
//! records, or the same refusal).
#![no_main]

use agentnet_transport::records::{self, Record};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, Vec<u8>, Vec<u8>)| {
    let (max, chunks, data) = input;
    let max_frame = usize::from(max % 2048);
    let chunks: Vec<usize> = chunks.iter().map(|&c| usize::from(c)).collect();
    let chunked = records::decode_chunked(&data, &chunks, max_frame);
    let whole = records::decode_chunked(&data, &[data.len().max(1)], max_frame);
    match (&chunked, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunking changed the records"),
        (Err(a), Err(b)) => assert_eq!(a, b, "chunking changed the refusal"),
        _ => panic!("chunking changed the outcome: {chunked:?} vs {whole:?}"),
    }
    if let Ok(taken) = chunked {
        let mut wire = BytesMut::new();
        for r in &taken {
            if let Record::Frame(f) = r {
                assert!(f.len() <= max_frame, "a frame over the maximum");
            }
            records::encode(r, &mut wire);
        }
        assert_eq!(&wire[..], &data[..wire.len()], "records not a prefix of the input");
    }
});
