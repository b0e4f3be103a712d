//! Discovery quality on paraphrases: does an intent find its capability when it shares no
//! word with it?
//!
//! The set ([`Set`], `examples/data/paraphrase.json`) holds capability descriptors and, for
//! each, intents written to ask for it in other words: none shares a content word with the
//! capability's name, summary or tags ([`shared_words`] checks it: lower-cased words of three
//! letters or more, stop words aside, counted as shared when equal or when one is a prefix of
//! the other of four letters or more, so "translate"/"translation" count). That is the case a
//! lexical encoder cannot handle by construction, and the one users meet first ("draw a
//! picture" for `image.generate`).
//!
//! [`evaluate`] runs the production discovery path: every capability is a signed descriptor
//! of its own provider in a [`DiscoveryIndex`], embedded with the encoder under test; each
//! intent is a query with the engine's default similarity floor
//! ([`GossipConfig::min_similarity`](agentnet_gossip::GossipConfig)), no other requirement,
//! `k = 5`. A hit at rank 1 counts for top-1, within the first five for top-5; a capability
//! the floor dropped is a miss. The mean reciprocal rank (0 for a miss) is reported too.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use agentnet_core::descriptor::CapabilityDescriptor;
use agentnet_core::semantic::SemanticEncoder;
use agentnet_core::{Keypair, Now, Signed, WallTime};
use agentnet_gossip::discover::{IndexLimits, intent_text};
use agentnet_gossip::{DiscoveryIndex, GossipConfig, Requirements};
use serde::{Deserialize, Serialize};

/// Candidates looked at per intent.
pub const K: usize = 5;

/// One capability and the intents that ask for it in other words.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Capability {
    /// The capability name (`image.generate`).
    pub capability: String,
    /// Its topic.
    pub topic: String,
    /// The descriptor's summary.
    pub summary: String,
    /// The descriptor's tags.
    pub tags: Vec<String>,
    /// Requests for it that share none of its words.
    pub intents: Vec<String>,
}

/// The paraphrase set.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Set {
    /// What the set is.
    #[serde(default)]
    pub about: String,
    /// The capabilities, each with its intents.
    pub capabilities: Vec<Capability>,
}

impl Set {
    /// Reads a set from a JSON file.
    pub fn load(path: &Path) -> Result<Set, Box<dyn std::error::Error>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?)
    }

    /// Every (intent, capability) pair.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.capabilities.iter().flat_map(|c| {
            c.intents
                .iter()
                .map(move |i| (i.as_str(), c.capability.as_str()))
        })
    }

    /// Every text an encoder is asked to embed: descriptor texts, then intents.
    pub fn texts(&self) -> Vec<String> {
        let mut t: Vec<String> = self.descriptors(at()).iter().map(intent_text).collect();
        t.extend(self.pairs().map(|(i, _)| i.to_owned()));
        t
    }

    fn descriptors(&self, now: Now) -> Vec<CapabilityDescriptor> {
        self.capabilities
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let k = provider(i);
                CapabilityDescriptor::builder(k.id(), &c.capability, &c.topic, &c.summary)
                    .tags(c.tags.iter().cloned())
                    .ttl(Duration::from_secs(3600))
                    .build(now)
                    .ok()
            })
            .collect()
    }
}

/// A fixed time, so the run is the same on every machine.
fn at() -> Now {
    Now::new(
        agentnet_core::Instant::ZERO,
        WallTime::from_unix_millis(1_800_000_000_000),
    )
}

fn provider(i: usize) -> Keypair {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    Keypair::from_seed(seed)
}

/// Words that carry no meaning of their own here.
const STOP: &[&str] = &[
    "the", "and", "for", "from", "into", "about", "with", "this", "that", "these", "those", "are",
    "you", "your", "our", "what", "which", "who", "how", "does", "did", "can", "could", "should",
    "will", "would", "any", "some", "there", "have", "has", "had", "give", "its", "all", "out",
    "not", "but", "was", "get", "use", "one", "each", "per", "via",
];

/// The content words of `text`.
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !STOP.contains(&w.as_str()))
        .collect()
}

fn same_word(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    a == b || (short.chars().count() >= 4 && long.starts_with(short)) || common_prefix(a, b) >= 5
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// (intent, word) for every intent that shares a content word with its capability's name,
/// summary or tags. Empty for a valid set.
pub fn shared_words(set: &Set) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in &set.capabilities {
        let own: BTreeSet<String> = words(&format!(
            "{} {} {}",
            c.capability.replace(['.', '_'], " "),
            c.summary,
            c.tags.join(" ")
        ));
        for i in &c.intents {
            for w in words(i) {
                if own.iter().any(|o| same_word(o, &w)) {
                    out.push((i.clone(), w));
                }
            }
        }
    }
    out
}

/// One intent's result.
#[derive(Clone, Debug, Serialize)]
pub struct PairResult {
    /// The intent.
    pub intent: String,
    /// The capability it asks for.
    pub expected: String,
    /// Its rank among the candidates (1 = first), `None` when not in the first [`K`].
    pub rank: Option<usize>,
    /// What ranked first (empty when nothing passed the similarity floor).
    pub first: String,
}

/// The scores of one encoder on the set.
#[derive(Clone, Debug, Serialize)]
pub struct Scores {
    /// The encoder's id.
    pub encoder: String,
    /// Capabilities in the index.
    pub capabilities: usize,
    /// Intents asked.
    pub pairs: usize,
    /// Share of intents whose capability ranked first, `0..=1`.
    pub top1: f64,
    /// Share within the first five, `0..=1`.
    pub top5: f64,
    /// Mean reciprocal rank over the first five (a miss counts 0).
    pub mrr: f64,
    /// Per intent.
    pub results: Vec<PairResult>,
}

/// Runs the set through the discovery index with `encoder` (see the module docs).
pub fn evaluate(set: &Set, encoder: &dyn SemanticEncoder) -> Scores {
    let now = at();
    let mut index = DiscoveryIndex::new(IndexLimits::default()).expect("default limits");
    for (i, d) in set.descriptors(now).into_iter().enumerate() {
        let emb = encoder.encode(&intent_text(&d));
        let signed = Signed::sign(&provider(i), d).expect("signing a built descriptor");
        index.insert(now, signed, emb);
    }
    let floor = GossipConfig::default().min_similarity;
    let results: Vec<PairResult> = set
        .pairs()
        .map(|(intent, expected)| {
            let found = index.query(
                now,
                &encoder.encode(intent),
                &Requirements::default(),
                floor,
                K,
            );
            PairResult {
                intent: intent.to_owned(),
                expected: expected.to_owned(),
                rank: found
                    .iter()
                    .position(|c| c.descriptor.capability == expected)
                    .map(|p| p + 1),
                first: found
                    .first()
                    .map(|c| c.descriptor.capability.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let n = results.len().max(1) as f64;
    let count = |f: &dyn Fn(usize) -> bool| {
        results.iter().filter(|r| r.rank.is_some_and(f)).count() as f64 / n
    };
    Scores {
        encoder: encoder.id().to_owned(),
        capabilities: set.capabilities.len(),
        pairs: results.len(),
        top1: count(&|r| r == 1),
        top5: count(&|r| r <= K),
        mrr: results
            .iter()
            .map(|r| r.rank.map_or(0.0, |k| 1.0 / k as f64))
            .sum::<f64>()
            / n,
        results,
    }
}
