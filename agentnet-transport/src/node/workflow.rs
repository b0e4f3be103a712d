//! [`Node::workflow`] on the driver's side: a workflow waits, like a request, for its
//! steps' intents to have vectors (with a remote encoder) and for links to the candidates
//! of its steps this node has no route to yet, then runs in the agent
//! ([`Agent::workflow`](crate::agent::Agent::workflow)); its end is handed to the caller.

use super::driver::{Command, Driver, Start};
use super::*;
use crate::agent::{Workflow, WorkflowOutcome};

/// What the caller of [`Node::workflow`] waits on.
pub(super) type WorkflowReply =
    oneshot::Sender<Result<oneshot::Receiver<WorkflowOutcome>, NodeError>>;

impl Driver {
    /// `Command::Workflow`: warm every step's intent, dial the steps' candidates, start.
    pub(super) fn workflow_command(&mut self, now: Now, wf: Box<Workflow>, reply: WorkflowReply) {
        let intents: Vec<String> = wf.steps.iter().map(|s| s.task.intent.clone()).collect();
        let mut ready = true;
        for i in &intents {
            ready &= self.warm(now, i);
        }
        if !ready {
            self.park(now, Command::Workflow(wf, reply));
            return;
        }
        self.workflow_now(now, wf, reply);
    }

    /// Dial what the steps need, then start (at once if nothing is missing).
    pub(super) fn workflow_now(&mut self, now: Now, wf: Box<Workflow>, reply: WorkflowReply) {
        let mut wanted = Vec::new();
        for s in &wf.steps {
            for a in self.dial_candidates(now, &s.task) {
                if !wanted.contains(&a) {
                    wanted.push(a);
                }
            }
        }
        self.after_dials(now, wanted, Start::Workflow(wf, reply));
    }

    pub(super) fn start_workflow(&mut self, now: Now, wf: Workflow, reply: WorkflowReply) {
        let r = match self.agent.workflow(now, wf) {
            Ok(id) => {
                let (tx, rx) = oneshot::channel();
                self.workflow_waiters.insert(id, tx);
                Ok(rx)
            }
            Err(e) => Err(NodeError::from(e)),
        };
        let _ = reply.send(r);
    }

    /// The agent reported a workflow's end.
    pub(super) fn workflow_completed(&mut self, o: &WorkflowOutcome) {
        if let Some(tx) = self.workflow_waiters.remove(&o.workflow) {
            let _ = tx.send(o.clone());
        }
    }
}
