//! Tests of [`RemoteEncoder`] and the tagged wire forms.

use super::*;
use proptest::prelude::*;

fn remote(cache: usize, pending: usize) -> RemoteEncoder {
    RemoteEncoder::new(
        "test-model-v1",
        16,
        RemoteEncoderLimits {
            cache_entries: cache,
            max_pending: pending,
            ..RemoteEncoderLimits::default()
        },
    )
    .unwrap()
}

fn unit(i: usize) -> Vec<f32> {
    let mut v = vec![0.0; 16];
    v[i % 16] = 2.0;
    v
}

#[test]
fn a_miss_is_asked_for_once_and_answered_vectors_are_served() {
    let mut e = remote(8, 8);
    assert!(e.encode("draw a cat").is_zero(), "no vector yet");
    assert!(!e.is_ready("draw a cat"));
    assert!(e.is_ready("   "), "nothing to encode is always ready");
    let _ = e.encode("draw a cat");
    assert_eq!(
        e.take_misses(),
        vec!["draw a cat".to_owned()],
        "once, not twice"
    );
    let _ = e.encode("draw a cat");
    assert!(
        e.take_misses().is_empty(),
        "asked and not answered: not asked again"
    );
    assert_eq!(e.outstanding(), 1);
    e.answer("draw a cat", Some(unit(3))).unwrap();
    assert!(e.is_ready("draw a cat"));
    let v = e.encode("draw a cat");
    assert!((v.as_slice()[3] - 1.0).abs() < 1e-6, "normalised: {v:?}");
    assert_eq!(e.outstanding(), 0);
    // An answer nobody asked for fills nothing.
    e.answer("never asked", Some(unit(1))).unwrap();
    assert!(!e.is_ready("never asked"));
}

#[test]
fn a_failed_text_is_asked_for_again_and_wrong_lengths_are_refused() {
    let mut e = remote(8, 8);
    let _ = e.encode("a");
    let _ = e.encode("b");
    assert_eq!(e.take_misses().len(), 2);
    e.answer("a", None).unwrap();
    assert_eq!(
        e.answer("b", Some(vec![1.0; 15])),
        Err(SemanticError::DimMismatch {
            expected: 16,
            got: 15
        })
    );
    let _ = e.encode("a");
    let _ = e.encode("b");
    assert_eq!(e.take_misses(), vec!["a".to_owned(), "b".to_owned()]);
}

#[test]
fn the_cache_and_the_misses_are_bounded() {
    let mut e = remote(2, 3);
    for t in ["a", "b", "c", "d", "e"] {
        let _ = e.encode(t);
    }
    let taken = e.take_misses();
    assert_eq!(
        taken.len(),
        3,
        "misses beyond the bound wait for a later encode"
    );
    for (i, t) in taken.iter().enumerate() {
        e.answer(t, Some(unit(i))).unwrap();
    }
    assert_eq!(e.cached(), 2, "oldest answer evicted");
    assert!(!e.is_ready(&taken[0]));
    assert!(e.is_ready(&taken[2]));
}

#[test]
fn long_texts_are_cut_at_a_character_boundary() {
    let mut e = RemoteEncoder::new(
        "m",
        16,
        RemoteEncoderLimits {
            max_text_bytes: 16,
            ..RemoteEncoderLimits::default()
        },
    )
    .unwrap();
    let long = "ééééééééééééé"; // 26 bytes
    let _ = e.encode(long);
    let asked = e.take_misses();
    assert_eq!(asked, vec!["éééééééé".to_owned()]);
    e.answer(long, Some(unit(0))).unwrap();
    assert!(e.is_ready(long));
}

#[test]
fn limits_and_dimensions_are_checked() {
    let bad = |l: RemoteEncoderLimits| RemoteEncoder::new("m", 16, l).is_err();
    assert!(bad(RemoteEncoderLimits {
        cache_entries: 0,
        ..Default::default()
    }));
    assert!(bad(RemoteEncoderLimits {
        max_pending: 0,
        ..Default::default()
    }));
    assert!(bad(RemoteEncoderLimits {
        max_text_bytes: 8,
        ..Default::default()
    }));
    assert!(RemoteEncoder::new("m", 8, RemoteEncoderLimits::default()).is_err());
}

#[test]
fn tags_name_encoders_and_keep_their_vectors_apart() {
    let lexical = HashedNgramEncoder::default();
    let model = remote(4, 4);
    assert_eq!(lexical.tag(), EncoderTag::of(lexical.id()));
    assert_eq!(model.tag(), EncoderTag::of("test-model-v1"));
    assert_ne!(lexical.tag(), model.tag());
    let e = lexical.encode("translate documents");
    let a = TaggedSketch::new(&lexical, &e);
    let b = TaggedSketch {
        encoder: model.tag(),
        sketch: a.sketch,
    };
    assert_eq!(a.similarity(&a), Some(1.0));
    assert_eq!(
        a.similarity(&b),
        None,
        "same bits, other encoder: not compared"
    );
    let qa = TaggedEmbedding::new(&lexical, &e).unwrap();
    let qb = TaggedEmbedding {
        encoder: model.tag(),
        vector: qa.vector.clone(),
    };
    assert!(qa.cosine(&qa).unwrap() > 0.99);
    assert_eq!(qa.cosine(&qb), None);
    // Wire form round trip.
    let bytes = crate::wire::encode_cbor(&a).unwrap();
    let back: TaggedSketch = ciborium::from_reader(bytes.as_slice()).unwrap();
    assert_eq!(back, a);
}

proptest! {
    /// Whatever the host and the engine do, in any order, the encoder's tables stay within
    /// their bounds and it never returns a vector of the wrong length.
    #[test]
    fn any_sequence_stays_bounded(ops in proptest::collection::vec((0u8..4, 0usize..12, any::<bool>()), 0..200)) {
        let mut e = remote(3, 4);
        let mut asked: Vec<String> = Vec::new();
        for (op, t, ok) in ops {
            let text = format!("text {t}");
            match op {
                0 => prop_assert_eq!(e.encode(&text).dim(), 16),
                1 => asked.extend(e.take_misses()),
                2 => {
                    if let Some(x) = asked.pop() {
                        let _ = e.answer(&x, ok.then(|| unit(t)));
                    }
                }
                _ => { let _ = e.answer(&text, Some(unit(t))); }
            }
            prop_assert!(e.cached() <= 3);
            prop_assert!(e.pending() <= 4);
        }
    }
}
