//! The capability table of the gossip_discovery experiment, loaded from
//! `examples/data/discovery_families.tsv` (topics × capability families × summary, tags and the
//! paraphrase a requester types).

use std::sync::LazyLock;

/// One capability family: what providers announce and how a requester asks for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family {
    pub(crate) cap: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) tags: [&'static str; 2],
    pub(crate) query: &'static str,
}

#[derive(Debug)]
pub(crate) struct TopicRow {
    pub(crate) name: &'static str,
    pub(crate) families: [Family; 8],
}

/// The table's source: one family per line, tab-separated (topic, capability, summary, tag,
/// tag, paraphrase), grouped by topic in table order; `#` lines are comments.
const TABLE_TSV: &str = include_str!("../../data/discovery_families.tsv");

/// Topics × capability families × (summary, tags, the paraphrase a requester types), parsed
/// once from [`TABLE_TSV`].
pub(crate) static TABLE: LazyLock<Vec<TopicRow>> = LazyLock::new(|| parse_table(TABLE_TSV));

fn parse_table(text: &'static str) -> Vec<TopicRow> {
    let mut rows: Vec<(&'static str, Vec<Family>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&'static str> = line.split('\t').collect();
        let [name, cap, summary, tag0, tag1, query] = f[..] else {
            panic!("discovery_families.tsv: expected 6 tab-separated fields in {line:?}");
        };
        let family = Family {
            cap,
            summary,
            tags: [tag0, tag1],
            query,
        };
        match rows.last_mut() {
            Some((n, fams)) if *n == name => fams.push(family),
            _ => rows.push((name, vec![family])),
        }
    }
    rows.into_iter()
        .map(|(name, fams)| TopicRow {
            name,
            families: fams.try_into().unwrap_or_else(|v: Vec<Family>| {
                panic!(
                    "discovery_families.tsv: topic {name} has {} families, not 8",
                    v.len()
                )
            }),
        })
        .collect()
}

/// The text the engines embed for a family's descriptors (what `intent_text` gives).
pub(crate) fn family_intent(f: &Family) -> String {
    let mut s = f.summary.to_string();
    for t in f.tags {
        s.push(' ');
        s.push_str(t);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_four_topics_of_eight_distinct_families() {
        assert_eq!(TABLE.len(), 4);
        let names: Vec<&str> = TABLE.iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "creative/image",
                "text/translate",
                "data/analysis",
                "dev/code"
            ]
        );
        let mut caps: Vec<&str> = TABLE
            .iter()
            .flat_map(|r| r.families.iter().map(|f| f.cap))
            .collect();
        assert_eq!(caps[0], "image.generate");
        caps.sort_unstable();
        caps.dedup();
        assert_eq!(caps.len(), 32);
    }
}
