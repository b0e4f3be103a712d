//! [`RegistryConfig`]: the registry's bounds and trust anchors, with units, defaults and
//! ranges.

use core::time::Duration;
use std::collections::BTreeSet;

use agentnet_core::AgentId;
use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::wire::Limits;

#[cfg(doc)]
use super::{IdentityError, IdentityRegistry, IdentityTier};

/// Settings of an [`IdentityRegistry`]. Start from [`RegistryConfig::default`]; out-of-range
/// values are refused with a [`ConfigError`] when the registry is built
/// ([`validate`](Self::validate)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryConfig {
    /// Decoding limits for entry and attestation frames.
    pub limits: Limits,
    /// Chains held. Default 4 096; range 1..=1 000 000. When full, a new genesis evicts the
    /// newest chain without standing of the busiest source, and is refused
    /// ([`IdentityError::TableFull`]) only if every chain has standing (see
    /// [Admission](IdentityRegistry#admission-when-the-chain-table-is-full)).
    pub max_chains: usize,
    /// Age at which a chain has standing by itself (never evicted from a full table): how long
    /// a chain must have been held here. Time; default 5 min; range 0..=1 day (0: every chain
    /// has standing at once, so a full table refuses newcomers).
    pub standing_age: Duration,
    /// Entries per chain, genesis included. Default 64; range 2..=65 536. The last slot is
    /// reserved for a revocation, so a full chain can always still be closed.
    pub max_entries_per_chain: usize,
    /// Attestations held (one per principal and issuer). Default 4 096; range 1..=1 000 000.
    pub max_attestations: usize,
    /// How far in the future an entry's or attestation's `issued_at` may be. Default 30 s;
    /// range 0..=10 min.
    pub max_skew: Duration,
    /// Events queued for the application. Default 1 024; range 16..=1 000 000. When fewer
    /// than two slots are free, inputs are refused ([`IdentityError::EventQueueFull`]) rather
    /// than accepted unreported.
    pub max_queued_events: usize,
    /// Largest execution proof accepted (system name plus bytes). Bytes; default 1 MiB; range
    /// 0..=64 MiB.
    pub max_proof_bytes: usize,
    /// Issuers whose attestations raise a chain to [`IdentityTier::Attested`]. Default: none.
    pub trust_anchors: BTreeSet<AgentId>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            limits: Limits::default(),
            max_chains: 4096,
            standing_age: Duration::from_secs(300),
            max_entries_per_chain: 64,
            max_attestations: 4096,
            max_skew: Duration::from_secs(30),
            max_queued_events: 1024,
            max_proof_bytes: 1 << 20,
            trust_anchors: BTreeSet::new(),
        }
    }
}

impl RegistryConfig {
    /// The default configuration trusting `anchors` as attestation issuers.
    pub fn with_anchors<I: IntoIterator<Item = AgentId>>(anchors: I) -> Self {
        RegistryConfig {
            trust_anchors: anchors.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("max_chains", self.max_chains, 1..=1_000_000, "1..=1000000")?;
        check_range(
            "standing_age",
            self.standing_age,
            Duration::ZERO..=Duration::from_secs(86_400),
            "0..=1 day",
        )?;
        check_range(
            "max_entries_per_chain",
            self.max_entries_per_chain,
            2..=65_536,
            "2..=65536",
        )?;
        check_range(
            "max_attestations",
            self.max_attestations,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "max_skew",
            self.max_skew,
            Duration::ZERO..=Duration::from_secs(600),
            "0..=10 min",
        )?;
        check_range(
            "max_queued_events",
            self.max_queued_events,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range(
            "max_proof_bytes",
            self.max_proof_bytes,
            0..=64 << 20,
            "0..=64 MiB",
        )
    }
}
