//! Pooled results of the MG-EigenTrust simulation: per-method summaries over seeds, the baselines and the goals.

use super::*;

/// Pooled metrics of one method over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Which method.
    pub method: MethodName,
    /// See the module docs.
    pub attack_success: f64,
    /// See the module docs.
    pub attacker_roi: f64,
    /// See the module docs.
    pub detection_rate: f64,
    /// See the module docs.
    pub false_positive_rate: f64,
    /// See the module docs.
    pub cold_start_reputation: f64,
    /// See the module docs.
    pub control_entries_per_epoch: f64,
    /// Attack success per epoch (after warm-up; 0 before), averaged over seeds.
    pub per_epoch: Vec<f64>,
    /// Fraud proofs verified per seed.
    pub fraud_proofs_per_seed: f64,
    /// Sybil identities per seed.
    pub sybils_per_seed: f64,
    /// The slow defectors' share of `attack_success` (tasks they sabotaged ÷ the same
    /// denominator).
    pub defector_attack_success: f64,
    /// `detection_rate` restricted to slow-defector identities (0 when none sabotaged).
    pub defector_detection_rate: f64,
    /// MG variants: share of unconvicted colluders serving both code topics whose code
    /// generation → code review gate is open at the end.
    pub gate_open_colluders: f64,
    /// MG variants: the same share for honest agents serving both code topics.
    pub gate_open_honest: f64,
}

/// Pool runs of one method.
pub fn summarize(cfg: &ExperimentConfig, method: MethodName, runs: &[RunResult]) -> Summary {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let sum = |f: &dyn Fn(&RunResult) -> f64| runs.iter().map(f).sum::<f64>();
    let sabotaged = sum(&|r| r.sabotaged as f64);
    let per_epoch = (0..cfg.epochs)
        .map(|e| {
            let (t, s) = runs.iter().fold((0u64, 0u64), |acc, r| {
                let (t, s) = r.per_epoch.get(e).copied().unwrap_or((0, 0));
                (acc.0 + t, acc.1 + s)
            });
            ratio(s as f64, t as f64)
        })
        .collect();
    let seeds = runs.len().max(1) as f64;
    Summary {
        method,
        attack_success: ratio(sabotaged, sum(&|r| r.target_tasks as f64)),
        attacker_roi: ratio(
            cfg.gain * sabotaged - sum(&|r| r.burned),
            sum(&|r| r.deposited),
        ),
        detection_rate: ratio(
            sum(&|r| r.defecting_flagged as f64),
            sum(&|r| r.defecting as f64),
        ),
        false_positive_rate: ratio(sum(&|r| r.honest_flagged as f64), sum(&|r| r.honest as f64)),
        cold_start_reputation: sum(&|r| r.cold_start) / seeds,
        control_entries_per_epoch: ratio(
            sum(&|r| r.control_entries.iter().sum::<u64>() as f64),
            sum(&|r| r.control_entries.len() as f64),
        ),
        per_epoch,
        fraud_proofs_per_seed: sum(&|r| r.fraud_proofs as f64) / seeds,
        sybils_per_seed: sum(&|r| r.sybils as f64) / seeds,
        defector_attack_success: ratio(
            sum(&|r| r.defector_sabotaged as f64),
            sum(&|r| r.target_tasks as f64),
        ),
        defector_detection_rate: ratio(
            sum(&|r| r.defectors_flagged as f64),
            sum(&|r| r.defectors as f64),
        ),
        gate_open_colluders: ratio(
            sum(&|r| r.gate_colluders.1 as f64),
            sum(&|r| r.gate_colluders.0 as f64),
        ),
        gate_open_honest: ratio(
            sum(&|r| r.gate_honest.1 as f64),
            sum(&|r| r.gate_honest.0 as f64),
        ),
    }
}

/// The baselines MG must beat by 5×.
pub const BASELINES: [MethodName; 3] = [
    MethodName::Random,
    MethodName::GlobalEigenTrust,
    MethodName::PerTopicEigenTrust,
];

/// The headline goals of one point (issue 14), evaluated on pooled summaries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goals {
    /// MG attack success ≤ 0.03.
    pub attack_success_le_0_03: bool,
    /// MG attack success at least 5× below every baseline's.
    pub five_x_below_every_baseline: bool,
    /// MG attacker ROI < 0.
    pub roi_lt_0: bool,
    /// MG detection ≥ 0.95.
    pub detection_ge_0_95: bool,
    /// MG false positives ≤ 0.10.
    pub false_positives_le_0_10: bool,
    /// The lowest baseline attack success ÷ MG's (∞ when MG's is 0).
    pub lowest_baseline_over_mg: f64,
}

impl Goals {
    /// Evaluate the goals; `None` unless `summaries` holds MG and every baseline.
    pub fn evaluate(summaries: &[Summary]) -> Option<Goals> {
        let by = |m: MethodName| summaries.iter().find(|s| s.method == m);
        let mg = by(MethodName::MgEigenTrust)?;
        let mut lowest = f64::INFINITY;
        for b in BASELINES {
            lowest = lowest.min(by(b)?.attack_success);
        }
        Some(Goals {
            attack_success_le_0_03: mg.attack_success <= 0.03,
            five_x_below_every_baseline: mg.attack_success * 5.0 <= lowest,
            roi_lt_0: mg.attacker_roi < 0.0,
            detection_ge_0_95: mg.detection_rate >= 0.95,
            false_positives_le_0_10: mg.false_positive_rate <= 0.10,
            lowest_baseline_over_mg: if mg.attack_success > 0.0 {
                lowest / mg.attack_success
            } else {
                f64::INFINITY
            },
        })
    }

    /// Whether all five hold.
    pub fn all_met(&self) -> bool {
        self.attack_success_le_0_03
            && self.five_x_below_every_baseline
            && self.roi_lt_0
            && self.detection_ge_0_95
            && self.false_positives_le_0_10
    }
}
