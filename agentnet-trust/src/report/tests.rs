//! Tests of signed reports, the builder, the book and their persistence.

use super::*;
use agentnet_core::Keypair;

#[test]
fn out_of_range_configs_are_refused_by_name() {
    let e = ReportBuilder::new(SalienceConfig {
        full_every: 0,
        ..SalienceConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.field, "full_every");
    let e = ReportBuilder::new(SalienceConfig {
        min_change: f64::NAN,
        ..SalienceConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.field, "min_change");
    let e = ReportBook::new(ReportBookConfig {
        max_reporters: 0,
        ..ReportBookConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.field, "max_reporters");
    let e = ReportBook::new(ReportBookConfig {
        half_life: Duration::ZERO,
        ..ReportBookConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.field, "half_life");
    SalienceConfig::ALWAYS_FULL.validate().unwrap();
}

fn t0() -> WallTime {
    WallTime::from_unix_millis(0)
}

fn tally(pos: f64, neg: f64) -> Tally {
    Tally {
        pos,
        neg,
        at: WallTime::from_unix_millis(0),
    }
}

#[test]
fn only_salient_changes_travel_and_the_receiver_reconstructs_the_row() {
    let kp = Keypair::from_seed([1; 32]);
    let peers: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
    let topic = Topic::new("code/review").unwrap();
    let mut b = ReportBuilder::new(SalienceConfig::default()).unwrap();
    let mut book = ReportBook::default();
    let row1: Vec<_> = peers.iter().map(|p| (*p, tally(4.0, 0.0))).collect();
    let r1 = b.next_report(&kp, &topic, &row1, t0()).unwrap().unwrap();
    assert_eq!(r1.base, None);
    assert_eq!(book.apply(&r1).unwrap(), 4);
    // A tiny drift is not salient.
    let mut row2 = row1.clone();
    row2[0].1 = tally(4.1, 0.0);
    assert!(b.next_report(&kp, &topic, &row2, t0()).unwrap().is_none());
    // One failure is.
    row2[1].1 = tally(4.0, 2.0);
    let r2 = b.next_report(&kp, &topic, &row2, t0()).unwrap().unwrap();
    assert_eq!(r2.base, Some(1));
    assert_eq!(r2.entries.len(), 1);
    book.apply(&r2).unwrap();
    let held = book.rows(&topic).next().unwrap().1;
    let e = held.entries[&peers[1]];
    assert_eq!((e.pos, e.neg), (4.0, 2.0));
    // A delta whose base we missed marks the row stale until the next full report.
    row2.pop();
    let r3 = b.next_report(&kp, &topic, &row2, t0()).unwrap().unwrap();
    let mut other = ReportBook::default();
    other.apply(&r1).unwrap();
    assert!(matches!(other.apply(&r3), Err(ReportError::Gap { .. })));
    book.apply(&r3).unwrap();
    assert!(
        !book
            .rows(&topic)
            .next()
            .unwrap()
            .1
            .entries
            .contains_key(&peers[3])
    );
    // Replays are stale.
    assert!(matches!(book.apply(&r3), Err(ReportError::Stale { .. })));
}

#[test]
fn decay_alone_sends_nothing_and_receivers_age_entries_themselves() {
    let kp = Keypair::from_seed([1; 32]);
    let p = Keypair::from_seed([2; 32]).id();
    let topic = Topic::new("code/review").unwrap();
    let half_life = Duration::from_secs(100);
    let mut b = ReportBuilder::new(SalienceConfig {
        half_life,
        ..Default::default()
    })
    .unwrap();
    let mut book = ReportBook::new(ReportBookConfig {
        half_life,
        ..Default::default()
    })
    .unwrap();
    let at = |s: u64| WallTime::from_unix_millis(s * 1000);
    let r1 = b
        .next_report(&kp, &topic, &[(p, tally(8.0, 0.0))], at(0))
        .unwrap()
        .unwrap();
    book.apply(&r1).unwrap();
    // 100 s later the ledger holds 4.0: exactly what the receiver computes by itself.
    let aged = Tally {
        pos: 4.0,
        neg: 0.0,
        at: at(100),
    };
    assert!(
        b.next_report(&kp, &topic, &[(p, aged)], at(100))
            .unwrap()
            .is_none()
    );
    let row = book.row_at(&topic, &kp.id(), at(100));
    assert!((row[0].1 - 4.0).abs() < 1e-4);
    // A new outcome on top of the decayed value is news.
    let fresh = Tally {
        pos: 5.0,
        neg: 1.0,
        at: at(100),
    };
    let r2 = b
        .next_report(&kp, &topic, &[(p, fresh)], at(100))
        .unwrap()
        .unwrap();
    assert_eq!(r2.base, Some(1));
    book.apply(&r2).unwrap();
    assert_eq!(book.row_at(&topic, &kp.id(), at(100))[0], (p, 5.0, 1.0));
    // Forcing a full report resends the row.
    b.force_full(&topic);
    let r3 = b
        .next_report(&kp, &topic, &[(p, fresh)], at(100))
        .unwrap()
        .unwrap();
    assert_eq!(r3.base, None);
}

#[test]
fn malformed_reports_are_refused() {
    let kp = Keypair::from_seed([1; 32]);
    let p = Keypair::from_seed([2; 32]).id();
    let topic = Topic::new("t").unwrap();
    let bad = |entries: Vec<ReportEntry>, seq, base| TrustReport {
        reporter: kp.id(),
        topic: topic.clone(),
        seq,
        at: t0(),
        base,
        entries,
    };
    let e = |peer, pos| ReportEntry { peer, pos, neg: 0 };
    for r in [
        bad(vec![], 0, None),
        bad(vec![], 2, Some(2)),
        bad(vec![e(p, 0)], 1, None),
        bad(vec![e(p, 1000), e(p, 1000)], 1, None),
        bad(vec![e(kp.id(), 1000)], 1, None),
    ] {
        let s = Signed::sign(&kp, r).unwrap();
        assert!(ReportBook::default().apply(&s).is_err());
    }
}

// ----- persistence ----------------------------------------------------------------------

fn at(s: u64) -> WallTime {
    WallTime::from_unix_millis(s * 1000)
}

fn t(pos: f64, neg: f64, s: u64) -> Tally {
    Tally {
        pos,
        neg,
        at: at(s),
    }
}

/// A builder that reported on two topics (full, then a delta; the second topic with a
/// full report forced next), the book that applied every report, and the reports.
fn reported() -> (ReportBuilder, ReportBook, Vec<Signed<TrustReport>>) {
    let kp = Keypair::from_seed([1; 32]);
    let p: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
    let (code, art) = (
        Topic::new("code/review").unwrap(),
        Topic::new("art").unwrap(),
    );
    let mut b = ReportBuilder::new(SalienceConfig::default()).unwrap();
    let mut book = ReportBook::default();
    let mut sent = Vec::new();
    let rows = [
        (
            &code,
            vec![(p[0], t(4.0, 0.0, 0)), (p[1], t(1.5, 0.25, 0))],
            0,
        ),
        (&art, vec![(p[2], t(2.0, 0.0, 1))], 1),
        (
            &code,
            vec![(p[0], t(4.0, 3.0, 10)), (p[2], t(1.0, 0.0, 10))],
            10,
        ),
    ];
    for (topic, row, s) in rows {
        let r = b.next_report(&kp, topic, &row, at(s)).unwrap().unwrap();
        book.apply(&r).unwrap();
        sent.push(r);
    }
    assert_eq!(sent[2].base, Some(1), "a delta");
    b.force_full(&art);
    (b, book, sent)
}

#[test]
fn a_full_topic_keeps_reporters_with_weight_and_weightless_keys_take_turns() {
    let topic = Topic::new("code/review").unwrap();
    let peer = Keypair::from_seed([200; 32]).id();
    let report = |seed: u8, s: u64| {
        let mut b = ReportBuilder::new(SalienceConfig::default()).unwrap();
        let kp = Keypair::from_seed([seed; 32]);
        b.next_report(&kp, &topic, &[(peer, t(1.0, 0.0, s))], at(s))
            .unwrap()
            .unwrap()
    };
    let mut book = ReportBook::new(ReportBookConfig {
        max_reporters: 3,
        ..ReportBookConfig::default()
    })
    .unwrap();
    // Two reporters with standing and one without fill the topic.
    book.apply_weighted(&report(1, 1), 0.2).unwrap();
    book.apply_weighted(&report(2, 2), 0.1).unwrap();
    book.apply(&report(3, 3)).unwrap();
    // A flood of weightless keys: each takes the weightless place in turn, never one
    // of the weighted reporters'.
    for seed in 10..60 {
        book.apply(&report(seed, u64::from(seed))).unwrap();
    }
    let held: Vec<AgentId> = book.rows(&topic).map(|(r, _)| *r).collect();
    assert_eq!(held.len(), 3);
    for seed in [1, 2, 59] {
        assert!(
            held.contains(&Keypair::from_seed([seed; 32]).id()),
            "{seed}"
        );
    }
    // A newcomer weighing more than the lightest takes its place; one weighing less than
    // every held reporter is refused.
    book.apply_weighted(&report(70, 70), 0.15).unwrap();
    assert!(
        !book
            .rows(&topic)
            .any(|(r, _)| *r == Keypair::from_seed([59; 32]).id())
    );
    assert!(matches!(
        book.apply_weighted(&report(71, 71), 0.05),
        Err(ReportError::Full)
    ));
    assert_eq!(book.rows(&topic).count(), 3);
}

#[test]
fn a_restored_builder_makes_the_report_it_would_have_made() {
    let kp = Keypair::from_seed([1; 32]);
    let p: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
    let (code, art) = (
        Topic::new("code/review").unwrap(),
        Topic::new("art").unwrap(),
    );
    let (mut b, mut book, _) = reported();
    let records = b.export();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r[0] == REPORT_RECORD_VERSION));
    let mut restored = ReportBuilder::new(SalienceConfig::default()).unwrap();
    assert_eq!(restored.restore(records.clone()), Ok(2));
    // Deterministic: the restored state exports the same bytes.
    assert_eq!(restored.export(), records);
    // The next delta in "code" (one more failure for p[1], p[2] gone), decayed inputs.
    let row = [(p[0], t(3.9, 2.9, 20)), (p[1], t(1.0, 2.0, 20))];
    let next = b.next_report(&kp, &code, &row, at(20)).unwrap();
    let again = restored.next_report(&kp, &code, &row, at(20)).unwrap();
    let (next, again) = (next.unwrap(), again.unwrap());
    assert_eq!(next.to_frame(), again.to_frame());
    assert_eq!((again.seq, again.base), (3, Some(2)));
    // Receivers take it: not stale, on top of the report they hold.
    assert!(book.apply(&again).is_ok());
    // The forced full report in "art" survives the restart too.
    let row = [(p[2], t(2.0, 0.0, 30))];
    let next = b.next_report(&kp, &art, &row, at(30)).unwrap().unwrap();
    let again = restored
        .next_report(&kp, &art, &row, at(30))
        .unwrap()
        .unwrap();
    assert_eq!(next.to_frame(), again.to_frame());
    assert_eq!(again.base, None);
    // Nothing salient: nothing on either side.
    let row = [(p[2], t(2.0, 0.0, 30))];
    assert!(b.next_report(&kp, &art, &row, at(30)).unwrap().is_none());
    assert!(
        restored
            .next_report(&kp, &art, &row, at(30))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_restored_book_keeps_the_rows_and_takes_the_next_delta() {
    let kp = Keypair::from_seed([1; 32]);
    let p: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
    let code = Topic::new("code/review").unwrap();
    let (mut b, book, sent) = reported();
    let records = book.export();
    assert_eq!(records.len(), 2);
    let mut restored = ReportBook::default();
    assert_eq!(restored.restore(records.clone()), Ok(2));
    assert_eq!(restored.export(), records);
    for topic in [&code, &Topic::new("art").unwrap()] {
        let a: Vec<_> = book.rows(topic).collect();
        let b: Vec<_> = restored.rows(topic).collect();
        assert_eq!(a, b);
        assert_eq!(
            book.row_at(topic, &kp.id(), at(1000)),
            restored.row_at(topic, &kp.id(), at(1000))
        );
    }
    // Replays are still stale; the next delta applies.
    assert!(matches!(
        restored.apply(&sent[2]),
        Err(ReportError::Stale { seq: 2, have: 2 })
    ));
    let row = [(p[0], t(1.0, 9.0, 20))];
    let next = b.next_report(&kp, &code, &row, at(20)).unwrap().unwrap();
    assert_eq!(next.base, Some(2));
    assert!(restored.apply(&next).is_ok());
    // An empty book exports nothing and restores from nothing.
    assert!(ReportBook::default().export().is_empty());
    assert_eq!(ReportBook::default().restore(Vec::new()), Ok(0));
}

#[test]
fn bad_report_records_are_refused_and_change_nothing() {
    let (b, book, _) = reported();
    let (good_b, good_book) = (b.export(), book.export());
    let refused = |records: Vec<Bytes>| {
        let mut fresh = ReportBuilder::default();
        let r = fresh.restore(records);
        assert!(fresh.export().is_empty(), "all or nothing");
        r.unwrap_err()
    };
    let refused_book = |records: Vec<Bytes>| {
        let mut fresh = ReportBook::new(ReportBookConfig {
            max_reporters: 1,
            ..Default::default()
        })
        .unwrap();
        let r = fresh.restore(records);
        assert!(fresh.export().is_empty(), "all or nothing");
        r.unwrap_err()
    };
    let err = |index, error| ReportRestoreError { index, error };
    // Garbage, truncation, versions, sizes.
    assert_eq!(
        refused(vec![good_b[0].clone(), Bytes::new()]),
        err(1, RecordError::Empty)
    );
    let mut v = good_b[0].to_vec();
    v[0] = 9;
    assert_eq!(
        refused(vec![Bytes::from(v)]),
        err(0, RecordError::UnsupportedVersion { found: 9 })
    );
    for cut in 1..good_b[0].len() {
        assert!(matches!(
            refused(vec![good_b[0].slice(..cut)]).error,
            RecordError::Malformed(_)
        ));
    }
    for cut in 1..good_book[0].len() {
        assert!(matches!(
            refused_book(vec![good_book[0].slice(..cut)]).error,
            RecordError::Malformed(_)
        ));
    }
    let huge = Bytes::from(vec![REPORT_RECORD_VERSION; MAX_REPORT_RECORD_LEN + 1]);
    assert!(matches!(
        refused(vec![huge]).error,
        RecordError::TooLarge { .. }
    ));
    // A book record is not a builder record, nor the other way round.
    assert!(matches!(
        refused(vec![good_book[0].clone()]).error,
        RecordError::Malformed(WireError::Schema(_))
    ));
    assert!(matches!(
        refused_book(vec![good_b[0].clone()]).error,
        RecordError::Malformed(WireError::Schema(_))
    ));
    // Duplicates and bounds.
    assert_eq!(
        refused(vec![good_b[0].clone(), good_b[0].clone()]),
        err(1, RecordError::Duplicate)
    );
    let row = |reporter| {
        encode_record(&BookRecord {
            topic: Topic::new("t").unwrap(),
            reporter,
            seq: 1,
            at: at(5),
            stale: false,
            entries: vec![],
        })
    };
    let (r1, r2) = (AgentId::from_bytes([5; 32]), AgentId::from_bytes([6; 32]));
    assert_eq!(
        refused_book(vec![row(r1), row(r2)]),
        err(1, RecordError::Full)
    );
    assert_eq!(
        refused_book(vec![row(r1), row(r1)]),
        err(1, RecordError::Duplicate)
    );
    let mut held = book.clone();
    assert_eq!(
        held.restore(vec![good_book[1].clone()]),
        Err(err(0, RecordError::Duplicate))
    );
    // Well-formed, impossible contents.
    #[derive(Serialize)]
    struct BadTopic {
        topic: String,
        seq: u64,
        at: WallTime,
        force_full: bool,
        believed: Vec<HeldEntry>,
    }
    let (p, q) = (AgentId::from_bytes([7; 32]), AgentId::from_bytes([8; 32]));
    let topic = Topic::new("t").unwrap();
    let builder = |seq, believed: Vec<HeldEntry>| {
        encode_record(&BuilderRecord {
            topic: topic.clone(),
            seq,
            at: at(5),
            force_full: false,
            believed,
        })
    };
    for (record, why) in [
        (builder(0, vec![]), "seq starts at 1"),
        (
            builder(
                1,
                vec![HeldEntry(q, 1, 0, at(1)), HeldEntry(p, 1, 0, at(1))],
            ),
            "entries not sorted by peer",
        ),
        (builder(1, vec![HeldEntry(p, 0, 0, at(1))]), "zero entry"),
        (
            builder(1, vec![HeldEntry(p, 1, 0, at(6))]),
            "entry dated after the record",
        ),
    ] {
        assert_eq!(refused(vec![record]), err(0, RecordError::Invalid(why)));
    }
    // A topic that breaks the topic rule does not even decode.
    let bad_topic = encode_record(&BadTopic {
        topic: "Not A Topic".into(),
        seq: 1,
        at: at(5),
        force_full: false,
        believed: vec![],
    });
    assert!(matches!(
        refused(vec![bad_topic]),
        ReportRestoreError {
            index: 0,
            error: RecordError::Malformed(_)
        }
    ));
    let self_report = encode_record(&BookRecord {
        topic: topic.clone(),
        reporter: p,
        seq: 1,
        at: at(5),
        stale: false,
        entries: vec![HeldEntry(p, 1, 0, at(5))],
    });
    assert_eq!(
        refused_book(vec![self_report]),
        err(0, RecordError::Invalid("self-report"))
    );
}

#[test]
fn a_row_cannot_grow_past_the_entry_bound() {
    let kp = Keypair::from_seed([1; 32]);
    let topic = Topic::new("t").unwrap();
    let id = |i: u16| {
        let mut b = [0u8; 32];
        b[..2].copy_from_slice(&i.to_be_bytes());
        AgentId::from_bytes(b)
    };
    let entries: Vec<ReportEntry> = (0..MAX_REPORT_ENTRIES as u16)
        .map(|i| ReportEntry {
            peer: id(i + 10),
            pos: 1000,
            neg: 0,
        })
        .collect();
    let report = |seq, base, entries| TrustReport {
        reporter: kp.id(),
        topic: topic.clone(),
        seq,
        at: t0(),
        base,
        entries,
    };
    let mut book = ReportBook::default();
    book.apply(&Signed::sign(&kp, report(1, None, entries)).unwrap())
        .unwrap();
    let grow = vec![ReportEntry {
        peer: id(1),
        pos: 1000,
        neg: 0,
    }];
    let delta = Signed::sign(&kp, report(2, Some(1), grow)).unwrap();
    assert!(matches!(book.apply(&delta), Err(ReportError::Malformed(_))));
    // Swapping one peer for another keeps the row within the bound.
    let swap = vec![
        ReportEntry {
            peer: id(1),
            pos: 1000,
            neg: 0,
        },
        ReportEntry {
            peer: id(10),
            pos: 0,
            neg: 0,
        },
    ];
    let delta = Signed::sign(&kp, report(2, Some(1), swap)).unwrap();
    assert!(book.apply(&delta).is_ok());
    // The full row exports and restores within the record limits.
    let records = book.export();
    assert_eq!(ReportBook::default().restore(records), Ok(1));
}
