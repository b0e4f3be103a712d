//! Workflows in the simulator: two steps, a step's input the previous step's result.

use agentnet_transport::agent::{Workflow, WorkflowOutcome, WorkflowStep};

use super::*;

/// Run `wf` at node `who` until it ends.
fn run_workflow(w: &mut World, who: usize, wf: Workflow) -> WorkflowOutcome {
    let id = w
        .sim
        .command(w.ids[who], |h, now| h.agent_mut().workflow(now, wf))
        .expect("up")
        .expect("workflow starts");
    for _ in 0..1200 {
        w.sim.run_for(Duration::from_millis(100));
        for (_, node, e) in w.sim.drain_events() {
            if node == w.ids[who]
                && let AgentEvent::WorkflowCompleted(o) = e
                && o.workflow == id
            {
                return *o;
            }
        }
    }
    panic!("workflow did not end");
}

/// Step 1 meets the attractive liar first, catches it with a canary and falls back to the
/// honest provider; step 2 runs on step 1's result. One outcome, both steps paid.
#[test]
fn a_two_step_workflow_survives_a_cheat_in_step_one() {
    let mut w = lure_world(31);
    let (liar, honest) = (id_of(&w, 1), id_of(&w, 2));
    let wf = Workflow {
        steps: vec![
            WorkflowStep::new("draft", canary_task(&b"a haiku"[..], &b"c1"[..])),
            WorkflowStep::new("polish", canary_task(&b"(replaced)"[..], &b"c2"[..])).from("draft"),
        ],
    };
    let o = run_workflow(&mut w, 0, wf);
    assert_eq!(o.result.as_deref(), Ok(&b"A HAIKU"[..]), "{o:?}");
    let draft = o.steps[0].outcome.as_ref().expect("draft ran");
    assert_eq!(draft.attempts[0].provider, liar, "{draft:?}");
    assert_eq!(draft.attempts[0].verdict, Verdict::CanaryFailed);
    assert_eq!(draft.provider, Some(honest));
    assert!(draft.payment > 0, "step 1 settled");
    let polish = o.steps[1].outcome.as_ref().expect("polish ran");
    assert_eq!(polish.result.as_deref(), Ok(&b"A HAIKU"[..]));
    assert!(polish.payment > 0, "step 2 settled");
}

/// Step 2 has no provider: the workflow ends with a defined failure naming it, step 1 is
/// settled, and a step fed by step 2 is skipped with the reason.
#[test]
fn a_step_without_a_provider_ends_the_workflow_with_step_one_settled() {
    let mut w = solo(32);
    let mut nobody = TaskRequest::new("translate this into klingon", &b"x"[..]);
    nobody.requirements.topic = Some(Topic::new("nobody/serves").unwrap());
    let wf = Workflow {
        steps: vec![
            WorkflowStep::new("draft", TaskRequest::new("summarize my text", &b"abc"[..])),
            WorkflowStep::new("translate", nobody).from("draft"),
            WorkflowStep::new("publish", TaskRequest::new("summarize my text", &b""[..]))
                .from("translate"),
        ],
    };
    let o = run_workflow(&mut w, 0, wf);
    let why = o.result.clone().expect_err("the workflow fails");
    assert!(why.starts_with("step \"translate\""), "{why}");
    let draft = o.steps[0].outcome.as_ref().expect("draft ran");
    assert_eq!(draft.result.as_deref(), Ok(&b"ABC"[..]));
    assert!(draft.payment > 0, "step 1 settled");
    assert!(
        o.steps[1]
            .outcome
            .as_ref()
            .is_some_and(|t| t.result.is_err())
    );
    assert!(o.steps[2].outcome.is_none());
    assert!(
        o.steps[2]
            .skipped
            .as_deref()
            .is_some_and(|s| s.contains("\"translate\"")),
        "{:?}",
        o.steps[2]
    );
}

#[test]
fn malformed_workflows_are_refused() {
    let mut w = solo(33);
    let t = || TaskRequest::new("summarize my text", &b"abc"[..]);
    let cases = [
        Workflow { steps: vec![] },
        Workflow {
            steps: vec![
                WorkflowStep::new("a", t()).from("b"),
                WorkflowStep::new("b", t()),
            ],
        },
        Workflow {
            steps: vec![WorkflowStep::new("a", t()), WorkflowStep::new("a", t())],
        },
        Workflow {
            steps: (0..17)
                .map(|i| WorkflowStep::new(format!("s{i}"), t()))
                .collect(),
        },
    ];
    for wf in cases {
        let r = w
            .sim
            .command(w.ids[0], |h, now| h.agent_mut().workflow(now, wf))
            .expect("up");
        assert!(r.is_err(), "{r:?}");
    }
}
