use super::ngram::tokenize;
use super::*;
use proptest::prelude::*;

fn enc() -> HashedNgramEncoder {
    HashedNgramEncoder::default()
}

fn cos(a: &str, b: &str) -> f32 {
    let e = enc();
    e.encode(a).cosine(&e.encode(b))
}

fn norm(e: &Embedding) -> f64 {
    e.as_slice()
        .iter()
        .map(|&v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt()
}

fn fingerprint(e: &Embedding) -> String {
    let bytes: Vec<u8> = e.as_slice().iter().flat_map(|x| x.to_le_bytes()).collect();
    blake3::hash(&bytes).to_hex().to_string()
}

const CORPUS: &[&str] = &[
    "generate an image from a text prompt",
    "text-to-image generation",
    "translate documents to French",
    "French translation",
    "review rust code for security bugs",
    "audit Rust crates for memory safety vulnerabilities",
    "summarise long PDF reports",
    "document summarization service",
    "transcribe audio recordings to text",
    "speech to text transcription",
    "book flights and hotels",
    "travel booking assistant",
    "answer questions about tax law",
    "image captioning: describe a photo in words",
    "Übersetze Dokumente ins Deutsche",
    "weather forecast for a city",
];

#[test]
fn hash_function_is_pinned() {
    // FNV-1a 64 published test vectors.
    assert_eq!(Fnv::new().0, 0xcbf2_9ce4_8422_2325);
    assert_eq!(Fnv::new().bytes(b"a").0, 0xaf63_dc4c_8601_ec8c);
    assert_eq!(Fnv::new().bytes(b"foobar").0, 0x8594_4171_f739_67e8);
    // SplitMix64's first output for seed 0.
    assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    // Feature hashes as the encoder computes them.
    let word = Fnv::new().byte(TAG_WORD).bytes(b"image").finish();
    assert_eq!(word, 0x78bb_9e30_dcd9_ced8);
    let gram = Fnv::new().byte(TAG_CHAR).bytes(b"^tra").finish();
    assert_eq!(gram, 0x4439_2e62_a8ed_6197);
    assert_eq!(bucket_and_sign(word, 256), (0x78, 1.0));
    assert_eq!(bucket_and_sign(gram, 256), (0x44, -1.0));
}

#[test]
fn encoding_is_pinned() {
    let e = enc();
    assert_eq!(
        e.id(),
        "agentnet/hashed-ngram/v1;dim=256;char=3..=4;w=1,0.7,0.4;stop=true"
    );
    let v = e.encode("translate documents to French");
    assert_eq!(
        fingerprint(&v),
        "6fe69502e3c9fbcb1e888d639161abd3881a1dd50f33be387e91d3fc84cc1050"
    );
    assert_eq!(v.as_slice()[4], 0.207_869_86);
    let v = e.encode("generate an image from a text prompt");
    assert_eq!(
        fingerprint(&v),
        "0c19b18d0ddae0bc6a25e3a77e6840fc13f0c78defc182ffdd190f1273cfb99c"
    );
    let s = e.encode("translate documents to French").sketch();
    assert_eq!(
        &s.0[..8],
        &[193, 68, 179, 3, 180, 189, 203, 245],
        "sketch projection changed"
    );
}

#[test]
fn deterministic_bit_for_bit() {
    let a = enc();
    let b = HashedNgramEncoder::new(HashedNgramConfig::default()).unwrap();
    for t in CORPUS {
        let x = a.encode(t);
        let y = b.encode(t);
        let xb: Vec<u32> = x.as_slice().iter().map(|v| v.to_bits()).collect();
        let yb: Vec<u32> = y.as_slice().iter().map(|v| v.to_bits()).collect();
        assert_eq!(xb, yb);
        assert_eq!(x.sketch(), y.sketch());
    }
}

#[test]
fn normalised_and_empty_is_zero() {
    let e = enc();
    for t in CORPUS {
        let v = e.encode(t);
        assert_eq!(v.dim(), 256);
        assert!((norm(&v) - 1.0).abs() < 1e-5, "{t}: {}", norm(&v));
        assert!((v.cosine(&v) - 1.0).abs() < 1e-5);
    }
    for t in ["", "   ", "!!! ??? ...", "\u{301}\u{301}"] {
        let v = e.encode(t);
        assert!(v.is_zero(), "{t:?}");
        assert_eq!(v.dim(), 256);
        assert_eq!(v.cosine(&e.encode("hello")), 0.0);
        assert_eq!(v.cosine(&v), 0.0);
        assert!(v.as_slice().iter().all(|x| !x.is_nan()));
    }
    // Only stop words: kept rather than dropped.
    assert!(!e.encode("to the").is_zero());
}

#[test]
fn embedding_constructors() {
    let v = Embedding::new(vec![3.0, 4.0]);
    assert_eq!(v.as_slice(), &[0.6, 0.8]);
    let w = Embedding::from_slice(&[f32::NAN, 2.0, f32::INFINITY]);
    assert_eq!(w.as_slice(), &[0.0, 1.0, 0.0]);
    assert!(Embedding::new(vec![0.0; 4]).is_zero());
    assert!(Embedding::new(vec![f32::NAN; 4]).is_zero());
    assert!(Embedding::zeros(8).is_zero());
    // Mismatched dimensions compare as 0.
    assert_eq!(v.cosine(&Embedding::new(vec![1.0, 0.0, 0.0])), 0.0);
    assert!((v.cosine(&Embedding::new(vec![-3.0, -4.0])) + 1.0).abs() < 1e-6);
    // Huge finite values do not overflow to a zero or NaN vector.
    let h = Embedding::new(vec![f32::MAX, f32::MAX]);
    assert!((norm(&h) - 1.0).abs() < 1e-6);
    assert_eq!(v.clone().into_vec(), vec![0.6, 0.8]);
}

#[test]
fn tokenisation() {
    let mut out = String::new();
    let mut spans = Vec::new();
    tokenize(
        "Don't STOP: text-to-image, Café\u{301}s ÉTÉ 3D",
        &mut out,
        &mut spans,
    );
    let words: Vec<&str> = spans.iter().map(|&(s, e)| &out[s..e]).collect();
    assert_eq!(
        words,
        ["dont", "stop", "text", "to", "image", "cafés", "été", "3d"]
    );
    // Case and punctuation do not matter.
    let e = enc();
    assert_eq!(
        e.encode("French translation!"),
        e.encode("  french, TRANSLATION ")
    );
}

#[test]
fn similar_phrasings_rank_above_unrelated() {
    let groups: &[(&str, &str, &[&str])] = &[
        (
            "generate an image from a text prompt",
            "text-to-image generation",
            &[
                "review rust code for security bugs",
                "book flights and hotels",
                "French translation",
            ],
        ),
        (
            "translate documents to French",
            "French translation",
            &[
                "review rust code for security bugs",
                "weather forecast for a city",
                "text-to-image generation",
            ],
        ),
        (
            "transcribe audio recordings to text",
            "speech to text transcription",
            &[
                "review rust code for security bugs",
                "book flights and hotels",
            ],
        ),
        (
            "summarise documents",
            "document summarization service",
            &[
                "review rust code for security bugs",
                "travel booking assistant",
            ],
        ),
        (
            "review rust code for security bugs",
            "security review of Rust code",
            &[
                "generate an image from a text prompt",
                "translate documents to French",
            ],
        ),
    ];
    for (query, close, far) in groups {
        let near = cos(query, close);
        assert!(near > 0.25, "{query} ~ {close}: {near}");
        for f in *far {
            let c = cos(query, f);
            assert!(near > c + 0.15, "{query}: {close} ({near}) vs {f} ({c})");
            assert!(cos(close, f) < near, "{close} vs {f}");
        }
    }
}

#[test]
fn ranking_a_catalogue() {
    let e = enc();
    let catalogue: Vec<(&str, Embedding)> = CORPUS.iter().map(|t| (*t, e.encode(t))).collect();
    let best = |q: &str| {
        let qv = e.encode(q);
        catalogue
            .iter()
            .filter(|(t, _)| *t != q)
            .max_by(|a, b| qv.cosine(&a.1).total_cmp(&qv.cosine(&b.1)))
            .unwrap()
            .0
    };
    assert_eq!(
        best("text-to-image generation"),
        "generate an image from a text prompt"
    );
    assert_eq!(best("French translation"), "translate documents to French");
    assert_eq!(
        best("audio transcription"),
        "transcribe audio recordings to text"
    );
    assert_eq!(best("summarize a report"), "summarise long PDF reports");
    assert_eq!(best("book a hotel"), "book flights and hotels");
    assert_eq!(
        best("rust security audit"),
        "review rust code for security bugs"
    );
}

#[test]
fn config_validation_and_ids() {
    assert!(HashedNgramEncoder::new(HashedNgramConfig::with_dim(15)).is_err());
    assert!(HashedNgramEncoder::new(HashedNgramConfig::with_dim(4097)).is_err());
    assert_eq!(
        HashedNgramEncoder::new(HashedNgramConfig::with_dim(8)).unwrap_err(),
        SemanticError::DimOutOfRange { dim: 8 }
    );
    let c = HashedNgramConfig {
        char_ngram_min: 5,
        char_ngram_max: 4,
        ..HashedNgramConfig::default()
    };
    assert!(matches!(c.validate(), Err(SemanticError::InvalidConfig(_))));
    let mut c = HashedNgramConfig {
        bigram_weight: f32::NAN,
        ..HashedNgramConfig::default()
    };
    assert!(c.validate().is_err());
    c.bigram_weight = -1.0;
    assert!(c.validate().is_err());

    // Other dimensions work and give different ids.
    for dim in [16, 100, 384, 4096] {
        let e = HashedNgramEncoder::new(HashedNgramConfig::with_dim(dim)).unwrap();
        assert_eq!(e.dim(), dim);
        let v = e.encode("translate documents to French");
        assert_eq!(v.dim(), dim);
        assert!((norm(&v) - 1.0).abs() < 1e-5);
        assert_ne!(e.id(), enc().id());
    }
    // Disabling families still works; all disabled gives zero.
    let mut c = HashedNgramConfig {
        char_ngram_weight: 0.0,
        bigram_weight: 0.0,
        ..HashedNgramConfig::default()
    };
    let words_only = HashedNgramEncoder::new(c.clone()).unwrap();
    assert!(
        words_only
            .encode("French translation")
            .cosine(&words_only.encode("french"))
            > 0.5
    );
    c.word_weight = 0.0;
    assert!(
        HashedNgramEncoder::new(c)
            .unwrap()
            .encode("anything")
            .is_zero()
    );
}

#[test]
fn trait_is_object_safe() {
    let boxed: Box<dyn SemanticEncoder> = Box::new(enc());
    assert_eq!(boxed.dim(), 256);
    assert_eq!(boxed.encode("x"), enc().encode("x"));
    let by_ref: &dyn SemanticEncoder = &boxed;
    assert_eq!(by_ref.id(), enc().id());
}

#[test]
fn quantize_round_trip() {
    let e = enc();
    for t in CORPUS {
        let v = e.encode(t);
        let q = v.quantize().unwrap();
        assert_eq!(q.dim(), 256);
        assert!(q.values().iter().all(|&x| x != i8::MIN));
        assert!(q.values().iter().any(|&x| x.unsigned_abs() == 127));
        let back = q.dequantize();
        assert!(v.cosine(&back) >= 0.99, "{t}: {}", v.cosine(&back));
        assert!((norm(&back) - 1.0).abs() < 1e-5);
    }
    for a in CORPUS {
        for b in CORPUS {
            let (va, vb) = (e.encode(a), e.encode(b));
            let qc = va.quantize().unwrap().cosine(&vb.quantize().unwrap());
            assert!((qc - va.cosine(&vb)).abs() < 0.02, "{a} / {b}");
        }
    }
    let z = Embedding::zeros(64).quantize().unwrap();
    assert!(z.values().iter().all(|&x| x == 0));
    assert!(z.dequantize().is_zero());
    assert_eq!(z.cosine(&z), 0.0);
    assert_eq!(
        Embedding::zeros(8).quantize(),
        Err(SemanticError::DimOutOfRange { dim: 8 })
    );
    let q16 = Embedding::new(vec![1.0; 16]).quantize().unwrap();
    assert_eq!(q16.cosine(&e.encode("x").quantize().unwrap()), 0.0);
}

#[test]
fn quantized_validation() {
    assert!(QuantizedEmbedding::from_parts(16, vec![1; 16]).is_ok());
    assert_eq!(
        QuantizedEmbedding::from_parts(16, vec![1; 15]),
        Err(SemanticError::LengthMismatch { dim: 16, len: 15 })
    );
    assert_eq!(
        QuantizedEmbedding::from_parts(4, vec![1; 4]),
        Err(SemanticError::DimOutOfRange { dim: 4 })
    );
    assert_eq!(
        QuantizedEmbedding::from_parts(5000, vec![1; 5000]),
        Err(SemanticError::DimOutOfRange { dim: 5000 })
    );
    let mut v = vec![0i8; 16];
    v[3] = i8::MIN;
    assert_eq!(
        QuantizedEmbedding::from_parts(16, v),
        Err(SemanticError::ValueOutOfRange { index: 3 })
    );
}

fn cbor<T: Serialize>(v: &T) -> Vec<u8> {
    let mut buf = Vec::new();
    ciborium::into_writer(v, &mut buf).unwrap();
    buf
}

#[test]
fn quantized_serde() {
    let q = enc().encode("French translation").quantize().unwrap();
    let buf = cbor(&q);
    let back: QuantizedEmbedding = ciborium::from_reader(&buf[..]).unwrap();
    assert_eq!(back, q);
    // The values travel as one byte string: 256 raw bytes after a 2-byte length header.
    let header = [0x59, 0x01, 0x00];
    let pos = buf
        .windows(3)
        .position(|w| w == header)
        .expect("byte string");
    assert_eq!(buf.len(), pos + 3 + 256);
    // No CBOR float major type 7 items (0xf9..=0xfb) outside the byte string.
    assert!(buf[..pos].iter().all(|b| !(0xf9..=0xfb).contains(b)));

    // Decoding validates.
    #[derive(Serialize)]
    struct Raw {
        dim: u16,
        #[serde(with = "serde_bytes")]
        values: Vec<u8>,
    }
    let bad = cbor(&Raw {
        dim: 32,
        values: vec![0; 31],
    });
    assert!(ciborium::from_reader::<QuantizedEmbedding, _>(&bad[..]).is_err());
    let bad = cbor(&Raw {
        dim: 16,
        values: vec![0x80; 16],
    });
    assert!(ciborium::from_reader::<QuantizedEmbedding, _>(&bad[..]).is_err());
    let good = cbor(&Raw {
        dim: 16,
        values: vec![0xff; 16],
    });
    let q: QuantizedEmbedding = ciborium::from_reader(&good[..]).unwrap();
    assert!(q.values().iter().all(|&v| v == -1));
}

#[test]
fn sketch_serde() {
    let s = enc().encode("French translation").sketch();
    let buf = cbor(&s);
    assert_eq!(&buf[..2], &[0x58, 32]);
    assert_eq!(buf.len(), 34);
    let back: Sketch = ciborium::from_reader(&buf[..]).unwrap();
    assert_eq!(back, s);
    let short = cbor(&serde_bytes::Bytes::new(&[0; 31]));
    assert!(ciborium::from_reader::<Sketch, _>(&short[..]).is_err());
}

#[test]
fn sketch_tracks_cosine() {
    let e = enc();
    let vs: Vec<Embedding> = CORPUS.iter().map(|t| e.encode(t)).collect();
    let (mut sum, mut n, mut worst) = (0.0f32, 0, 0.0f32);
    for a in &vs {
        assert_eq!(a.sketch().similarity(&a.sketch()), 1.0);
        for b in &vs {
            let err = (a.sketch().similarity(&b.sketch()) - a.cosine(b)).abs();
            sum += err;
            n += 1;
            worst = worst.max(err);
        }
    }
    let mean = sum / n as f32;
    assert!(mean < 0.1, "mean error {mean}");
    assert!(worst < 0.35, "worst error {worst}");
    // Opposite vectors have opposite sketches.
    let v = &vs[0];
    let neg = Embedding::new(v.as_slice().iter().map(|x| -x).collect());
    assert_eq!(v.sketch().hamming(&neg.sketch()), 256);
    assert!((v.sketch().similarity(&neg.sketch()) + 1.0).abs() < 1e-6);
    // Works for other dimensions too.
    let e384 = HashedNgramEncoder::new(HashedNgramConfig::with_dim(384)).unwrap();
    let (a, b, c) = (
        e384.encode("translate documents to French"),
        e384.encode("French translation"),
        e384.encode("review rust code for security bugs"),
    );
    assert!(a.sketch().similarity(&b.sketch()) > a.sketch().similarity(&c.sketch()));
    assert_eq!(Embedding::zeros(256).sketch(), Sketch::default());
}

fn word_pool() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "image",
        "text",
        "generate",
        "translate",
        "french",
        "code",
        "rust",
        "review",
        "security",
        "audio",
        "speech",
        "summary",
        "document",
        "the",
        "to",
        "data",
        "model",
    ]);
    prop::collection::vec(words, 0..8).prop_map(|w| w.join(" "))
}

proptest! {
    #[test]
    fn encode_never_panics_or_nans(s in any::<String>()) {
        let v = enc().encode(&s);
        prop_assert_eq!(v.dim(), 256);
        prop_assert!(v.as_slice().iter().all(|x| x.is_finite()));
        let n = norm(&v);
        prop_assert!(v.is_zero() || (n - 1.0).abs() < 1e-5);
        let _ = v.sketch();
        prop_assert!(v.quantize().is_ok());
    }

    #[test]
    fn encode_printable(s in "\\PC{0,200}") {
        let v = enc().encode(&s);
        prop_assert!(v.as_slice().iter().all(|x| x.is_finite()));
        prop_assert_eq!(v.clone(), enc().encode(&s));
    }

    #[test]
    fn quantized_cosine_close_to_float(a in word_pool(), b in word_pool()) {
        let e = enc();
        let (va, vb) = (e.encode(&a), e.encode(&b));
        let (qa, qb) = (va.quantize().unwrap(), vb.quantize().unwrap());
        prop_assert!((qa.cosine(&qb) - va.cosine(&vb)).abs() < 0.02);
        prop_assert!(va.is_zero() || va.cosine(&qa.dequantize()) >= 0.99);
    }

    #[test]
    fn quantized_cosine_random_vectors(
        a in prop::collection::vec(-1.0f32..1.0, 64),
        b in prop::collection::vec(-1.0f32..1.0, 64),
    ) {
        let (va, vb) = (Embedding::new(a), Embedding::new(b));
        let (qa, qb) = (va.quantize().unwrap(), vb.quantize().unwrap());
        prop_assert!((qa.cosine(&qb) - va.cosine(&vb)).abs() < 0.02);
    }

    #[test]
    fn quantized_serde_round_trip(s in "\\PC{0,60}") {
        let q = enc().encode(&s).quantize().unwrap();
        let back: QuantizedEmbedding = ciborium::from_reader(&cbor(&q)[..]).unwrap();
        prop_assert_eq!(back, q);
        let sk = enc().encode(&s).sketch();
        let back: Sketch = ciborium::from_reader(&cbor(&sk)[..]).unwrap();
        prop_assert_eq!(back, sk);
    }
}
