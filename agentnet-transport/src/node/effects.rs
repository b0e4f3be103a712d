//! Effects that run on their own tasks: the application's handler for `Effect::Execute`
//! (counted for the node's stated load) and the language model for `Effect::Llm`, each
//! bounded by the effect's deadline; the answer comes back to the driver as a `Done`.

use super::driver::{Done, Driver};
use super::*;

impl Driver {
    /// Run the application's handler for an `Execute` effect on its own task, bounded by the
    /// task's deadline; a missing handler, a panic or a timeout fails the task honestly.
    pub(super) fn execute(
        &mut self,
        now: Now,
        id: RequestId,
        task: ExecuteTask,
        input: Bytes,
        deadline: Instant,
    ) {
        let done = self.done.clone();
        // Every Execute ends in one `Done::Executed`, which counts it off again.
        self.load_changed(now, true);
        let Some(handler) = self.handlers.get(&task.capability).cloned() else {
            let _ = done.send(Done::Executed(
                id,
                Executed::Failed(format!("no handler for {}", task.capability)),
            ));
            return;
        };
        let budget = deadline.saturating_duration_since(now.mono);
        tokio::spawn(async move {
            let run = tokio::spawn(handler(task, input));
            let out = match tokio::time::timeout(budget, run).await {
                Ok(Ok(out)) => out,
                Ok(Err(e)) => Executed::Failed(format!("the handler failed: {e}")),
                Err(_) => Executed::Failed("the handler ran past the deadline".into()),
            };
            let _ = done.send(Done::Executed(id, out));
        });
    }

    pub(super) fn ask_model(
        &mut self,
        now: Now,
        id: RequestId,
        prompt: agentnet_core::effect::LlmPrompt,
        deadline: Instant,
    ) {
        let done = self.done.clone();
        let Some(llm) = self.llm.clone() else {
            let _ = done.send(Done::Llm(id, Err("no language model configured".into())));
            return;
        };
        let budget = deadline.saturating_duration_since(now.mono);
        let p = Prompt {
            system: prompt.system,
            user: prompt.user,
            max_tokens: self.cfg.llm_max_tokens,
            temperature: 0.0,
        };
        tokio::spawn(async move {
            let r = llm.complete(&p, budget).await.map_err(|e| e.to_string());
            let _ = done.send(Done::Llm(id, r));
        });
    }
}
