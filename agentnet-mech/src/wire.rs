//! Frame kinds of the execution plane (`0x0300..=0x03ff`).
//!
//! | kind | payload |
//! |---|---|
//! | `0x0301` | signed [`Mechanism`](crate::mechanism::Mechanism) |
//! | `0x0302` | signed session [`Offer`](crate::session::Offer) (task, topic, the signed mechanism) |
//! | `0x0303` | signed session [`Commit`](crate::session::Commit) (accept with deposit, or decline) |
//! | `0x0304` | signed [`Delegate`](crate::session::Delegate) (the task input's hash, after a commitment) |
//! | `0x0305` | signed [`Deliver`](crate::session::Deliver) (result hash + evidence package) |
//! | `0x0306` | signed settlement statement, [`Settle`](crate::session::Settle) |
//! | `0x0307` | signed auction [`Bid`](crate::auction::Bid) |
//! | `0x0308` | signed auction [`Counter`](crate::auction::Counter) (counter-offer) |

use agentnet_core::wire::MessageKind;

/// A signed mechanism.
pub const MECHANISM: MessageKind = agentnet_core::wire::kinds::MECHANISM;
/// A task offer.
pub const OFFER: MessageKind = agentnet_core::wire::kinds::OFFER;
/// A provider's answer to an offer.
pub const COMMIT: MessageKind = agentnet_core::wire::kinds::COMMIT;
/// The task handed to the committed provider.
pub const DELEGATE: MessageKind = agentnet_core::wire::kinds::DELEGATE;
/// A delivery: result hash and evidence.
pub const DELIVER: MessageKind = agentnet_core::wire::kinds::DELIVER;
/// The requester's settlement statement.
pub const SETTLE: MessageKind = agentnet_core::wire::kinds::SETTLE;
/// A provider's bid on an intent.
pub const BID: MessageKind = agentnet_core::wire::kinds::BID;
/// A requester's counter-offer to a bid.
pub const COUNTER: MessageKind = agentnet_core::wire::kinds::COUNTER;
