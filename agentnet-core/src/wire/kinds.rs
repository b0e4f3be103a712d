//! Every message kind agentnet assigns, in one place, each with the name logs, metrics and
//! experiment output use ([`MessageKind::name`], `Display`). The planes' crates name their
//! kinds through these constants, so a kind cannot be assigned twice without the
//! `every_kind_is_unique_and_in_its_plane` test in [`wire`](super) failing.

use super::MessageKind;

/// Core: a signed capability descriptor.
pub const SIGNED_DESCRIPTOR: MessageKind = MessageKind(0x0001);
/// Core: a signed X25519 key binding.
pub const KEY_BINDING: MessageKind = MessageKind(0x0002);
/// Core: a sealed box.
pub const SEALED: MessageKind = MessageKind(0x0003);
/// Core: a signed intent announcement (a gossip body).
pub const INTENT: MessageKind = MessageKind(0x0004);
/// Core: a signed provider state (load and availability; a gossip body).
pub const PROVIDER_STATE: MessageKind = MessageKind(0x0005);

/// Gossip: a signed log header.
pub const LOG_HEADER: MessageKind = MessageKind(0x0101);
/// Gossip: an equivocation proof.
pub const EQUIVOCATION: MessageKind = MessageKind(0x0102);
/// Gossip: topic subscriptions.
pub const SUBSCRIBE: MessageKind = MessageKind(0x0103);
/// Gossip: join a topic mesh.
pub const GRAFT: MessageKind = MessageKind(0x0104);
/// Gossip: leave a topic mesh.
pub const PRUNE: MessageKind = MessageKind(0x0105);
/// Gossip: lazy announcement of headers.
pub const IHAVE: MessageKind = MessageKind(0x0106);
/// Gossip: request for announced headers.
pub const IWANT: MessageKind = MessageKind(0x0107);
/// Gossip: stop eager push for an author.
pub const CHOKE: MessageKind = MessageKind(0x0108);
/// Gossip: anti-entropy digest.
pub const DIGEST: MessageKind = MessageKind(0x0109);
/// Gossip: per-author log heads.
pub const VECTOR: MessageKind = MessageKind(0x010a);
/// Gossip: pull of a log range.
pub const PULL: MessageKind = MessageKind(0x010b);
/// Gossip: request for a body.
pub const BODY_REQUEST: MessageKind = MessageKind(0x010c);
/// Gossip: a body.
pub const BODY: MessageKind = MessageKind(0x010d);
/// Gossip: the body is not held here.
pub const BODY_MISSING: MessageKind = MessageKind(0x010e);

/// Trust: one identity-chain entry.
pub const BINDING: MessageKind = MessageKind(0x0201);
/// Trust: a fraud proof of any kind.
pub const FRAUD_PROOF: MessageKind = MessageKind(0x0202);
/// Trust: an issuer attestation.
pub const ATTESTATION: MessageKind = MessageKind(0x0203);
/// Trust: a signed tool receipt.
pub const TOOL_RECEIPT: MessageKind = MessageKind(0x0204);
/// Trust: a signed evidence package.
pub const EVIDENCE: MessageKind = MessageKind(0x0205);
/// Trust: a signed commitment to an answer.
pub const COMMITMENT: MessageKind = MessageKind(0x0206);
/// Trust: a signed answer.
pub const ANSWER: MessageKind = MessageKind(0x0207);
/// Trust: a signed per-topic trust report.
pub const TRUST_REPORT: MessageKind = MessageKind(0x0208);
/// Trust: a chain-fork proof on its own.
pub const CHAIN_FORK_PROOF: MessageKind = MessageKind(0x0209);

/// Execution: a signed mechanism.
pub const MECHANISM: MessageKind = MessageKind(0x0301);
/// Execution: a task offer.
pub const OFFER: MessageKind = MessageKind(0x0302);
/// Execution: a provider's answer to an offer.
pub const COMMIT: MessageKind = MessageKind(0x0303);
/// Execution: the task handed to the committed provider.
pub const DELEGATE: MessageKind = MessageKind(0x0304);
/// Execution: a delivery.
pub const DELIVER: MessageKind = MessageKind(0x0305);
/// Execution: a settlement statement.
pub const SETTLE: MessageKind = MessageKind(0x0306);
/// Execution: a provider's signed bid on an intent.
pub const BID: MessageKind = MessageKind(0x0307);
/// Execution: a requester's signed counter-offer to a bid.
pub const COUNTER: MessageKind = MessageKind(0x0308);

/// Payload: a link handshake challenge.
pub const HELLO: MessageKind = MessageKind(0x0401);
/// Payload: the signed answer to a challenge.
pub const HELLO_PROOF: MessageKind = MessageKind(0x0402);
/// Payload: one piece of a sealed task input or result.
pub const CHUNK: MessageKind = MessageKind(0x0410);
/// Payload: a request to resend missing pieces.
pub const RESEND: MessageKind = MessageKind(0x0411);

/// Every kind above with its name, in kind order.
pub const ALL: &[(MessageKind, &str)] = &[
    (SIGNED_DESCRIPTOR, "descriptor"),
    (KEY_BINDING, "key_binding"),
    (SEALED, "sealed"),
    (INTENT, "intent"),
    (PROVIDER_STATE, "provider_state"),
    (LOG_HEADER, "header"),
    (EQUIVOCATION, "equivocation"),
    (SUBSCRIBE, "subscribe"),
    (GRAFT, "graft"),
    (PRUNE, "prune"),
    (IHAVE, "ihave"),
    (IWANT, "iwant"),
    (CHOKE, "choke"),
    (DIGEST, "digest"),
    (VECTOR, "vector"),
    (PULL, "pull"),
    (BODY_REQUEST, "body_request"),
    (BODY, "body"),
    (BODY_MISSING, "body_missing"),
    (BINDING, "binding"),
    (FRAUD_PROOF, "fraud_proof"),
    (ATTESTATION, "attestation"),
    (TOOL_RECEIPT, "tool_receipt"),
    (EVIDENCE, "evidence"),
    (COMMITMENT, "commitment"),
    (ANSWER, "answer"),
    (TRUST_REPORT, "trust_report"),
    (CHAIN_FORK_PROOF, "chain_fork_proof"),
    (MECHANISM, "mechanism"),
    (OFFER, "offer"),
    (COMMIT, "commit"),
    (DELEGATE, "delegate"),
    (DELIVER, "deliver"),
    (SETTLE, "settle"),
    (BID, "bid"),
    (COUNTER, "counter"),
    (HELLO, "hello"),
    (HELLO_PROOF, "hello_proof"),
    (CHUNK, "chunk"),
    (RESEND, "resend"),
];
