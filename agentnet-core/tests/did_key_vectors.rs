//! The Ed25519 test vectors of the did:key method specification (W3C CCG, test-vectors/
//! ed25519-x25519.json): each did parses to the key listed as `publicKeyBase58`, that key is the
//! RFC 8032 public key of the listed seed, and printing the id gives the did back unchanged.

use agentnet_core::identity::{AgentId, Keypair};

/// (did, seed as hex, publicKeyBase58)
const VECTORS: &[(&str, &str, &str)] = &[
    (
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
    ),
    (
        "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        "0000000000000000000000000000000000000000000000000000000000000001",
        "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
    ),
    (
        "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        "0000000000000000000000000000000000000000000000000000000000000002",
        "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
    ),
    (
        "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        "0000000000000000000000000000000000000000000000000000000000000003",
        "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
    ),
    (
        "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
        "0000000000000000000000000000000000000000000000000000000000000004",
        "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
    ),
];

fn seed(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[test]
fn spec_vectors_parse_print_and_match_their_seeds() {
    for &(did, seed_hex, pk58) in VECTORS {
        let id: AgentId = did.parse().unwrap_or_else(|e| panic!("{did}: {e}"));
        let pk = bs58::decode(pk58).into_vec().unwrap();
        assert_eq!(id.as_bytes().as_slice(), pk.as_slice(), "{did}: key bytes");
        assert_eq!(id.to_string(), did, "{did}: prints back");
        assert_eq!(
            Keypair::from_seed(seed(seed_hex)).id(),
            id,
            "{did}: derived from seed"
        );
    }
}
