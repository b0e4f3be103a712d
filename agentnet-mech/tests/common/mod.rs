//! The fixture the session tests share: one task between a requester (alice) and a provider
//! (bob) on one link, with the mechanism's amounts and deadlines.
#![allow(dead_code)] // each test file uses its own part of it

use agentnet_core::descriptor::Topic;
use agentnet_core::{Hash, Keypair, LinkId};
use agentnet_mech::mechanism::{Micros, UNIT};
use agentnet_mech::session::TaskSpec;
use agentnet_trust::evidence::{TaskId, payload_hash};

pub(crate) const LINK: LinkId = LinkId(7);

pub(crate) const FLAT: Micros = 10 * UNIT;
pub(crate) const BONUS: Micros = 60 * UNIT;
/// An odd deposit, so that slashing has to round.
pub(crate) const DEPOSIT: Micros = 30 * UNIT + 1;
pub(crate) const COMMIT_MS: u64 = 5_000;
pub(crate) const EXECUTE_MS: u64 = 60_000;
pub(crate) const SETTLE_MS: u64 = 10_000;

/// The requester.
pub(crate) fn alice() -> Keypair {
    Keypair::from_seed([1; 32])
}

/// The provider.
pub(crate) fn bob() -> Keypair {
    Keypair::from_seed([2; 32])
}

/// Someone else.
pub(crate) fn mallory() -> Keypair {
    Keypair::from_seed([3; 32])
}

pub(crate) fn task_id(n: u8) -> TaskId {
    TaskId(payload_hash(&[b'T', n]))
}

pub(crate) fn task(n: u8) -> TaskSpec {
    TaskSpec::new(
        task_id(n),
        Topic::new("code/review").unwrap(),
        payload_hash(b"review the pull request"),
    )
}

pub(crate) fn input() -> Hash {
    payload_hash(b"the diff")
}

pub(crate) fn result() -> Hash {
    payload_hash(b"the review")
}
