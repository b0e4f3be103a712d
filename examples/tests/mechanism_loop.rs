//! The mechanism-generation experiment in-process: both designers reach the goals, and the
//! LLM path really runs (prompts with the schema, refused answers, fallback).

use agentnet_examples::mech_run::{self, DesignerChoice, ScriptedModel};

#[tokio::test]
async fn both_designers_reach_zero_violations_with_low_loss() {
    let builtin = mech_run::run(DesignerChoice::BuiltIn, None, 1, 20, |_| {})
        .await
        .unwrap();
    let model = ScriptedModel::experiment();
    let llm = mech_run::run(DesignerChoice::Llm, Some(&model), 1, 20, |_| {})
        .await
        .unwrap();
    for o in [&builtin, &llm] {
        assert!(o.zero_violation_from().is_some_and(|i| i <= 20), "{o:?}");
        assert!(o.metrics.passes());
        assert!(o.metrics.system_loss <= 0.10, "{:?}", o.metrics);
        assert!(
            o.iterations
                .iter()
                .filter(|r| r.accepted)
                .all(|r| r.regression_pass_rate == 1.0)
        );
        assert_eq!(o.scenarios.len(), 4, "every scheduled scenario joined");
    }
    // The scripted model saw real prompts, and its malformed answers were refused.
    let prompts = model.prompts();
    assert!(prompts.len() >= 10);
    assert!(prompts[0].user.contains("\"additionalProperties\": false"));
    assert!(
        prompts
            .iter()
            .any(|p| p.user.contains("Your previous answer was refused"))
    );
    let refusals: u32 = llm.iterations.iter().map(|r| r.llm_refusals).sum();
    assert!(refusals >= 6, "{refusals}");
    assert!(
        llm.iterations
            .iter()
            .any(|r| r.accepted && r.designed_by.name() == "llm")
    );
}
