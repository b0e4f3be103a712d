//! Supersession ([`compare_versions`], [`supersedes`]) and the receive path ([`ingest`] and its
//! batch and key-cached forms).

use super::*;

/// Order two versions of a descriptor: by `issued_at`, then by body hash. `Greater` means `a`
/// is the newer one. Only meaningful for the same [`CapabilityDescriptor::key`].
pub fn compare_versions(
    a: &Signed<CapabilityDescriptor>,
    b: &Signed<CapabilityDescriptor>,
) -> Ordering {
    a.issued_at
        .cmp(&b.issued_at)
        .then_with(|| a.hash().cmp(&b.hash()))
}

/// True if `new` replaces `old`: same (provider, capability) and a newer version.
pub fn supersedes(new: &Signed<CapabilityDescriptor>, old: &Signed<CapabilityDescriptor>) -> bool {
    new.key() == old.key() && compare_versions(new, old) == Ordering::Greater
}

/// The whole receive path for one descriptor frame: frame checks, envelope, signature,
/// body decode, provider = signer, field validation and freshness.
pub fn ingest(
    frame: &Bytes,
    now: Now,
    rules: &DescriptorRules,
    limits: &Limits,
) -> Result<Signed<CapabilityDescriptor>, DescriptorError> {
    validated(Signed::from_frame(frame, limits), now, rules)
}

/// [`ingest`] for many frames, verifying all signatures in one batch. `result[i]` belongs to
/// `frames[i]`.
pub fn ingest_batch(
    frames: &[Bytes],
    now: Now,
    rules: &DescriptorRules,
    limits: &Limits,
) -> Vec<Result<Signed<CapabilityDescriptor>, DescriptorError>> {
    let opened = Signed::from_frames_batch(frames, limits);
    opened
        .into_iter()
        .map(|r| validated(r, now, rules))
        .collect()
}

/// [`ingest`] with signer keys kept in a [`KeyCache`] (the path engines use: providers
/// re-announce often, so their keys are decompressed once).
pub fn ingest_cached(
    frame: &Bytes,
    now: Now,
    rules: &DescriptorRules,
    limits: &Limits,
    cache: &mut KeyCache,
) -> Result<Signed<CapabilityDescriptor>, DescriptorError> {
    validated(Signed::from_frame_cached(frame, limits, cache), now, rules)
}

/// [`ingest_batch`] with signer keys kept in a [`KeyCache`].
pub fn ingest_batch_cached(
    frames: &[Bytes],
    now: Now,
    rules: &DescriptorRules,
    limits: &Limits,
    cache: &mut KeyCache,
) -> Vec<Result<Signed<CapabilityDescriptor>, DescriptorError>> {
    let opened = Signed::from_frames_batch_cached(frames, limits, cache);
    opened
        .into_iter()
        .map(|r| validated(r, now, rules))
        .collect()
}

fn validated(
    opened: Result<Signed<CapabilityDescriptor>, SignedError>,
    now: Now,
    rules: &DescriptorRules,
) -> Result<Signed<CapabilityDescriptor>, DescriptorError> {
    let d = opened?;
    d.validate(now, rules)?;
    Ok(d)
}
