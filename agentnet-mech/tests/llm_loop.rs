//! The loop driven through the LLM path: scripted answers, malformed ones, timeouts,
//! regressions, stale ids.

use std::time::Duration;

use agentnet_core::{AgentId, Instant, Now, WallTime};
use agentnet_mech::design::DesignError;
use agentnet_mech::evaluate::Scenario;
use agentnet_mech::follower::{Environment, FollowerType};
use agentnet_mech::llm::{LlmDesigner, TEMPLATE_V1};
use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
use agentnet_mech::stackelberg::{DesignedBy, LoopConfig, LoopError, LoopEvent, MechanismLoop};
use proptest::prelude::*;

fn at(ms: u64) -> Now {
    Now::new(Instant::from_millis(ms), WallTime::from_unix_millis(ms))
}

fn naive() -> Mechanism {
    Mechanism::new(
        AgentId::from_bytes([1; 32]),
        "review",
        80 * UNIT,
        [Clause::Payment {
            flat: 60 * UNIT,
            bonus: 0,
        }],
    )
}

fn llm_loop(config: LoopConfig) -> MechanismLoop {
    let mut lp = MechanismLoop::new(config, naive(), Box::new(LlmDesigner::new())).unwrap();
    lp.add_scenario(Scenario {
        name: "mixed".into(),
        population: vec![
            FollowerType::honest(0.5),
            FollowerType::lazy(0.3),
            FollowerType::adversarial(0.2),
        ],
        env: Environment::default(),
    })
    .unwrap();
    lp
}

/// Drain events; return the outstanding request id, if any, and the iteration records.
fn drain(lp: &mut MechanismLoop) -> (Option<u64>, Vec<LoopEvent>) {
    let mut id = None;
    let mut evs = Vec::new();
    while let Some(e) = lp.poll_event() {
        if let LoopEvent::LlmRequest { id: i, prompt, .. } = &e {
            assert_eq!(prompt.template, TEMPLATE_V1);
            assert!(prompt.user.contains("## Violating behaviour"));
            assert!(
                prompt.user.contains("\"additionalProperties\": false"),
                "schema quoted"
            );
            id = Some(*i);
        }
        evs.push(e);
    }
    (id, evs)
}

const GOOD: &str = r#"{"blame":[{"clause":"payment","weight":0.8,"reason":"flat pay rewards shirking"},
  {"clause":"verification","weight":0.6}],
  "clauses":{"payment":{"flat":0,"bonus":80},"quality_threshold":{"min_score":0.5},
  "verification":{"tier":3},"deposit":{"amount":40},"slashing":{"ratio":1.0},
  "deadlines":{"commit_s":60,"execute_s":10800,"settle_s":3600}},
  "rationale":"pay for verified performance"}"#;

#[test]
fn a_valid_answer_is_accepted_and_blames_its_clause() {
    let mut lp = llm_loop(LoopConfig::default());
    lp.handle_timeout(at(0));
    let (id, evs) = drain(&mut lp);
    let id = id.expect("the LLM designer asks");
    let deadline = Instant::from_millis(120_000);
    assert_eq!(lp.poll_timeout(), Some(deadline), "the request's deadline");
    let LoopEvent::LlmRequest { prompt, .. } = &evs[0] else {
        panic!("{evs:?}")
    };
    // The trace names the violator and what it gains.
    assert!(
        prompt
            .user
            .contains("adversarial followers (share 0.20) play shirk/sabotage"),
        "{}",
        prompt.user
    );
    // While the request is outstanding, time alone starts nothing new.
    lp.handle_timeout(at(1));
    assert_eq!((lp.poll_event(), lp.history().len()), (None, 0));
    assert_eq!(lp.poll_timeout(), Some(deadline));
    lp.handle_llm_response(at(10), id, GOOD).unwrap();
    let rec = &lp.history()[0];
    assert!(rec.accepted, "{rec:?}");
    assert_eq!(rec.designed_by, DesignedBy::Designer("llm"));
    assert_eq!(rec.regression_pass_rate, 1.0);
    assert_eq!(
        rec.blamed_clause,
        Some(agentnet_mech::mechanism::ClauseKind::Payment)
    );
    assert!(lp.report().metrics.passes());
    // A stale id is refused and changes nothing.
    assert_eq!(
        lp.handle_llm_response(at(11), id, GOOD),
        Err(LoopError::UnknownRequest(id))
    );
}

#[test]
fn malformed_answers_are_retried_then_the_builtin_designer_takes_over() {
    let mut lp = llm_loop(LoopConfig {
        max_llm_retries: 2,
        ..LoopConfig::default()
    });
    lp.handle_timeout(at(0));
    let before = lp.incumbent().clone();
    for (i, bad) in [
        "no json",
        "{\"blame\":[],\"clauses\":{\"deposit\":{\"amount\":-5}}}",
    ]
    .iter()
    .enumerate()
    {
        let (id, _) = drain(&mut lp);
        lp.handle_llm_response(at(10 + i as u64), id.unwrap(), bad)
            .unwrap();
        assert_eq!(lp.incumbent(), &before, "a refused answer changes nothing");
    }
    // The third attempt times out: the retry budget is spent, so the fallback designs.
    let (id, evs) = drain(&mut lp);
    assert!(id.is_some());
    assert!(evs.iter().any(|e| matches!(
        e,
        LoopEvent::LlmRefused {
            fallback: false,
            ..
        }
    )));
    let deadline = lp.poll_timeout().unwrap();
    lp.handle_timeout(at(deadline.as_micros() / 1000 - 1));
    assert_eq!(lp.poll_timeout(), Some(deadline), "not before the deadline");
    lp.handle_timeout(at(deadline.as_micros() / 1000));
    let (_, evs) = drain(&mut lp);
    assert!(evs.iter().any(|e| matches!(
        e,
        LoopEvent::LlmRefused {
            error: DesignError::Timeout,
            fallback: true,
            ..
        }
    )));
    let rec = &lp.history()[0];
    assert_eq!(rec.designed_by, DesignedBy::Fallback);
    assert_eq!(rec.llm_refusals, 3);
    assert!(
        rec.accepted,
        "the built-in designer improves the naive mechanism"
    );
}

#[test]
fn a_regressing_answer_is_refused() {
    let mut lp = llm_loop(LoopConfig::default());
    lp.handle_timeout(at(0));
    let (id, _) = drain(&mut lp);
    lp.handle_llm_response(at(1), id.unwrap(), GOOD).unwrap();
    assert!(lp.report().metrics.passes());
    // Back to reputation-only checks: adversaries sabotage again.
    lp.handle_timeout(at(2));
    let (id, _) = drain(&mut lp);
    let regress = r#"{"blame":[{"clause":"verification","weight":1}],
        "clauses":{"verification":{"tier":1}}}"#;
    let incumbent = lp.incumbent().clone();
    lp.handle_llm_response(at(3), id.unwrap(), regress).unwrap();
    let rec = &lp.history()[1];
    assert!(!rec.accepted);
    assert!(rec.regression_pass_rate < 1.0);
    assert_eq!(lp.incumbent(), &incumbent);
}

#[test]
fn a_transport_failure_counts_as_a_refusal() {
    let mut lp = llm_loop(LoopConfig {
        max_llm_retries: 0,
        llm_timeout: Duration::from_secs(5),
        ..LoopConfig::default()
    });
    lp.handle_timeout(at(0));
    let (id, _) = drain(&mut lp);
    lp.handle_llm_failure(at(1), id.unwrap(), "connection refused")
        .unwrap();
    assert_eq!(lp.history()[0].designed_by, DesignedBy::Fallback);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever the model says, nothing panics, and a mechanism is accepted only if it is
    /// valid, regresses nowhere and lowers the objective.
    #[test]
    fn arbitrary_answers_never_panic_and_never_regress(
        answers in prop::collection::vec(
            prop_oneof![
                ".{0,200}",
                (0.0f64..100.0, 0.0f64..100.0, 0.0f64..1.2, 0u8..5, -10.0f64..200.0).prop_map(
                    |(f, b, t, tier, d)| format!(
                        r#"{{"blame":[{{"clause":"payment","weight":0.5}}],"clauses":{{"payment":{{"flat":{f},"bonus":{b}}},"quality_threshold":{{"min_score":{t}}},"verification":{{"tier":{tier}}},"deposit":{{"amount":{d}}},"slashing":{{"ratio":1}}}}}}"#
                    )
                ),
            ],
            1..12,
        )
    ) {
        let mut lp = llm_loop(LoopConfig { max_iterations: 6, ..LoopConfig::default() });
        let mut t = 0;
        let mut answers = answers.into_iter();
        while !lp.is_finished() {
            // Spurious while a request is outstanding; otherwise runs the due iteration.
            lp.handle_timeout(at(t));
            let (id, _) = drain(&mut lp);
            t += 1;
            if let Some(id) = id {
                match answers.next() {
                    Some(a) => lp.handle_llm_response(at(t), id, &a).unwrap(),
                    None => lp.handle_llm_failure(at(t), id, "script ended").unwrap(),
                }
            }
        }
        for r in lp.history() {
            if r.accepted {
                prop_assert_eq!(r.regression_pass_rate, 1.0);
                prop_assert!(r.candidate.is_some());
                // One scenario: no regression means the violation did not grow.
                prop_assert!(r.after.violation() <= r.before.violation() + 1e-9);
            } else {
                prop_assert_eq!(r.after, r.before);
            }
        }
        prop_assert!(lp.incumbent().validate().is_ok());
    }
}

#[test]
fn iterations_are_deadlines_paced_by_the_interval() {
    let mut lp = MechanismLoop::new(
        LoopConfig {
            iteration_interval: Duration::from_secs(60),
            max_iterations: 3,
            ..LoopConfig::default()
        },
        naive(),
        Box::new(agentnet_mech::design::BuiltInDesigner::new()),
    )
    .unwrap();
    // Nothing to evaluate against: no deadline, and time does nothing.
    assert_eq!(lp.poll_timeout(), None);
    lp.handle_timeout(at(5));
    assert_eq!((lp.poll_event(), lp.history().len()), (None, 0));
    let mixed = || Scenario {
        name: "mixed".into(),
        population: vec![FollowerType::honest(0.5), FollowerType::adversarial(0.5)],
        env: Environment::default(),
    };
    lp.add_scenario(mixed()).unwrap();
    // The first iteration is due at once; the next one an interval after it ended.
    assert!(lp.poll_timeout().is_some_and(|t| t <= at(5).mono));
    lp.handle_timeout(at(10));
    assert_eq!(lp.history().len(), 1);
    assert_eq!(lp.poll_timeout(), Some(Instant::from_millis(60_010)));
    lp.handle_timeout(at(60_009));
    assert_eq!(lp.history().len(), 1, "early calls do nothing");
    // One iteration per call, even when the call is late.
    lp.handle_timeout(at(500_000));
    assert_eq!(lp.history().len(), 2);
    assert_eq!(lp.poll_timeout(), Some(Instant::from_millis(560_000)));
    lp.handle_timeout(at(560_000));
    assert!(lp.is_finished());
    assert_eq!(lp.poll_timeout(), None, "the budget is spent");
    let evs: Vec<_> = std::iter::from_fn(|| lp.poll_event()).collect();
    assert!(matches!(
        evs.last(),
        Some(LoopEvent::Finished { iterations: 3, .. })
    ));
    // A new scenario does not resume a loop whose budget is spent.
    lp.add_scenario(mixed()).unwrap();
    assert_eq!(lp.poll_timeout(), None);
}
