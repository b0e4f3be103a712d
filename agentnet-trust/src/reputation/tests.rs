//! Tests of the configuration and of the collusion discount.

use super::collusion::*;
use super::*;

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn out_of_range_config_is_refused_by_name() {
        ReputationConfig::default().validate().unwrap();
        let e = Reputation::new(ReputationConfig {
            bridge_share: 1.5,
            ..ReputationConfig::default()
        })
        .unwrap_err();
        assert!(matches!(e, ReputationError::Config(ref c) if c.field == "bridge_share"));
        let e = ReputationConfig {
            max_topics: 0,
            ..ReputationConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "max_topics");
    }
}

#[cfg(test)]
mod collusion_tests {
    use super::*;
    use proptest::prelude::*;

    type Entry = (u32, f32, f32);
    type Rows = BTreeMap<u32, Vec<Entry>>;

    fn rows(list: &[(u32, &[Entry])]) -> Rows {
        list.iter().map(|(r, e)| (*r, e.to_vec())).collect()
    }

    #[test]
    fn praise_into_a_clique_is_split_and_independent_praise_is_not() {
        // 0, 1, 2 hire each other; voucher 3 praises all three; requester 4 praises 5, 6, 7,
        // which never dealt with each other.
        let r = rows(&[
            (0, &[(1, 5.0, 0.0), (2, 5.0, 0.0)]),
            (1, &[(0, 5.0, 0.0), (2, 5.0, 0.0)]),
            (2, &[(0, 5.0, 0.0), (1, 5.0, 0.0)]),
            (3, &[(0, 5.0, 0.0), (1, 5.0, 0.0), (2, 5.0, 0.0)]),
            (4, &[(5, 5.0, 0.0), (6, 5.0, 0.0), (7, 5.0, 0.0)]),
        ]);
        let d = circle_discounts(&r, &[false; 8], 2.0);
        assert_eq!(d[&3], vec![1.0 / 3.0; 3]);
        assert_eq!(d[&4], vec![1.0; 3]);
        // Inside the clique each member praises two that deal with each other.
        assert_eq!(d[&0], vec![0.5; 2]);
        // The graph keeps each row's total, the removed share going to the sink (index 8).
        let g = discounted_graph(&r, &d, &[false; 8], 2.0).unwrap();
        let row3: Vec<(u32, f32)> = g.row(3).collect();
        assert_eq!(row3.len(), 4);
        assert!((row3[3].1 - 10.0).abs() < 1e-5 && row3[3].0 == 8);
        assert_eq!(g.row(4).count(), 3);
        // A convicted member drops out of the neighbourhoods: 0 and 1 no longer share 2.
        let mut ex = [false; 8];
        ex[2] = true;
        let d = circle_discounts(&r, &ex, 2.0);
        assert_eq!(d[&3][0], 0.5);
        assert_eq!(d[&0][0], 1.0);
    }

    #[test]
    fn complaints_are_not_discounted() {
        let r = rows(&[(0, &[(1, 5.0, 0.0)]), (3, &[(0, 5.0, 0.0), (1, 4.0, 1.0)])]);
        let d = circle_discounts(&r, &[false; 4], 2.0);
        assert_eq!(d[&3], vec![0.5, 0.5]);
        let g = discounted_graph(&r, &d, &[false; 4], 2.0).unwrap();
        // 0: 0.5·5 kept; 1: max(0, 0.5·4 − 2·1) = 0; removed 2.5 + 2 to the sink.
        let row: Vec<(u32, f32)> = g.row(3).collect();
        assert_eq!(row, vec![(0, 2.5), (4, 4.5)]);
    }

    proptest! {
        /// `d_ij` is exactly `1 / (1 + #other providers i praises that praised j or were
        /// praised by j)`, in (0, 1], and the discounted graph keeps every row's total.
        #[test]
        fn discount_matches_its_definition(
            edges in proptest::collection::vec((0u32..8, 0u32..8, 0u8..4, 0u8..2), 0..40),
            convicted in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let mut r: Rows = BTreeMap::new();
            for (a, b, pos, neg) in edges {
                if a != b {
                    r.entry(a).or_default().push((b, f32::from(pos), f32::from(neg)));
                }
            }
            for row in r.values_mut() {
                row.sort_by_key(|e| e.0);
                row.dedup_by_key(|e| e.0);
            }
            let phi = 2.0;
            let praises = |a: u32, b: u32| -> bool {
                !convicted[a as usize] && !convicted[b as usize]
                    && r.get(&a).is_some_and(|row| {
                        row.iter().any(|e| e.0 == b && local_trust(e.1, e.2, phi) > 0.0)
                    })
            };
            let d = circle_discounts(&r, &convicted, phi);
            for (&i, row) in &r {
                for (k, &(j, _, _)) in row.iter().enumerate() {
                    let shared = (0..8)
                        .filter(|&m| m != j && praises(i, m) && (praises(m, j) || praises(j, m)))
                        .count();
                    prop_assert_eq!(d[&i][k], 1.0 / (1 + shared) as f64);
                }
            }
            let g = discounted_graph(&r, &d, &convicted, phi).unwrap();
            for (&i, row) in &r {
                if convicted[i as usize] {
                    prop_assert_eq!(g.row(i).count(), 0);
                    continue;
                }
                let before: f64 = row
                    .iter()
                    .filter(|e| !convicted[e.0 as usize])
                    .map(|e| f64::from(local_trust(e.1, e.2, phi)))
                    .sum();
                let after: f64 = g.row(i).map(|e| f64::from(e.1)).sum();
                prop_assert!((before - after).abs() <= 1e-4 * before.max(1.0));
            }
        }
    }
}
