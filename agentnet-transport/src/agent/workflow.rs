//! Workflows: a small DAG of requests in which a step's input is an earlier step's result.
//!
//! [`Agent::workflow`] takes the steps in order; a step names at most one earlier step
//! (`from`) whose result becomes its input, so the graph is acyclic by construction. Steps
//! without `from` start at once (in parallel); a step starts when its source succeeds. Each
//! step is an ordinary [`request`](Agent::request): it runs the whole funnel with its own
//! tier, canaries and fallback, and settles on its own (one settlement per step). A step whose
//! source failed is not run: it ends as skipped, and so do the steps after it. When every
//! step has ended the agent reports one [`AgentEvent::WorkflowCompleted`]: the workflow
//! succeeds when every step did, and its result is the last step's.
//!
//! Bounds: at most [`MAX_STEPS`] steps per workflow, and the workflows running count against
//! [`FunnelConfig::max_requests`](super::FunnelConfig::max_requests) (each has at least one
//! request running), so the table cannot grow past the request table.

use std::collections::BTreeMap;

use agentnet_core::{Now, RequestId};
use bytes::Bytes;

use super::{Agent, AgentError, AgentEvent, TaskOutcome, TaskRequest};

/// Most steps in one workflow.
pub const MAX_STEPS: usize = 16;

/// One step of a [`Workflow`].
#[derive(Clone, Debug)]
pub struct WorkflowStep {
    /// The step's name, unique in its workflow (1..=64 bytes).
    pub name: String,
    /// The request. With `from`, its `input` is replaced by the source step's result.
    pub task: TaskRequest,
    /// The earlier step whose result is this step's input, if any.
    pub from: Option<String>,
}

impl WorkflowStep {
    /// A first step: `task` as given.
    pub fn new(name: impl Into<String>, task: TaskRequest) -> Self {
        WorkflowStep {
            name: name.into(),
            task,
            from: None,
        }
    }

    /// A step fed by the result of the step named `source`.
    #[must_use]
    pub fn from(mut self, source: impl Into<String>) -> Self {
        self.from = Some(source.into());
        self
    }
}

/// Steps in order; see [`Agent::workflow`].
#[derive(Clone, Debug, Default)]
pub struct Workflow {
    /// The steps; a step's `from` names an earlier one.
    pub steps: Vec<WorkflowStep>,
}

/// How one step ended.
#[derive(Clone, Debug, PartialEq)]
pub struct StepOutcome {
    /// The step's name.
    pub name: String,
    /// Its request's outcome; `None` when it was not run (its source failed, or the request
    /// could not start: see `skipped`).
    pub outcome: Option<TaskOutcome>,
    /// Why it was not run, when it was not.
    pub skipped: Option<String>,
}

impl StepOutcome {
    /// The step's result, or why there is none.
    pub fn result(&self) -> Result<&Bytes, String> {
        match (&self.outcome, &self.skipped) {
            (Some(o), _) => o.result.as_ref().map_err(Clone::clone),
            (None, Some(why)) => Err(why.clone()),
            (None, None) => Err("not run".into()),
        }
    }
}

/// The end of a workflow.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowOutcome {
    /// The workflow (the id [`Agent::workflow`] returned).
    pub workflow: RequestId,
    /// The last step's result when every step succeeded; otherwise the first failure.
    pub result: Result<Bytes, String>,
    /// Every step, in the order given.
    pub steps: Vec<StepOutcome>,
}

/// A workflow in progress.
#[derive(Debug)]
pub(super) struct Running {
    steps: Vec<WorkflowStep>,
    ended: Vec<Option<StepOutcome>>,
    /// Request id → step index, for the steps running now.
    running: BTreeMap<RequestId, usize>,
}

/// The agent's workflows, and the step requests that ended since the pump last looked.
#[derive(Debug, Default)]
pub(super) struct Workflows {
    table: BTreeMap<RequestId, Running>,
    /// Request id → workflow, for every step request running.
    by_request: BTreeMap<RequestId, RequestId>,
    ended: Vec<TaskOutcome>,
    /// A step's request is being started: a request can end inside `request` (no
    /// candidate), before its id is known here, so every completion is kept meanwhile.
    starting: bool,
}

impl Workflows {
    /// Keep `outcome` if it ends a workflow step (called as a request completes).
    pub(super) fn on_completed(&mut self, outcome: &TaskOutcome) {
        if self.starting || self.by_request.contains_key(&outcome.request) {
            self.ended.push(outcome.clone());
        }
    }
}

impl Agent {
    /// Run `wf`: steps in order, a step naming at most one earlier step (`from`) whose result
    /// becomes its input, so the graph is acyclic by construction. Steps without `from` start
    /// at once; a step starts when its source succeeds. Each step is an ordinary
    /// [`request`](Self::request) (the whole funnel, its own tier and fallback, its own
    /// settlement); a step whose source failed is skipped, and so are the steps it feeds. The
    /// workflow succeeds when every step did, with the last step's result; otherwise its
    /// result names the first step that failed. At most [`MAX_STEPS`] steps; workflows count
    /// against `funnel.max_requests`. Its end comes as one
    /// [`AgentEvent::WorkflowCompleted`] with the returned id; each step's request also
    /// reports its own progress and completion as a request does.
    pub fn workflow(&mut self, now: Now, wf: Workflow) -> Result<RequestId, AgentError> {
        self.tick(now);
        check(&wf)?;
        if self.requests.len() + self.workflows.table.len() >= self.config.funnel.max_requests {
            return Err(AgentError::TooManyRequests(self.requests.len()));
        }
        let id = self.next_request_id();
        let n = wf.steps.len();
        self.workflows.table.insert(
            id,
            Running {
                steps: wf.steps,
                ended: vec![None; n],
                running: BTreeMap::new(),
            },
        );
        let first: Vec<usize> = (0..n)
            .filter(|&i| self.workflows.table[&id].steps[i].from.is_none())
            .collect();
        for i in first {
            self.start_step(now, id, i, None);
        }
        self.settle_workflows(now);
        self.pump(now);
        Ok(id)
    }

    /// Start step `i` of workflow `wf` (with `input` from its source, if any).
    fn start_step(&mut self, now: Now, wf: RequestId, i: usize, input: Option<Bytes>) {
        let Some(mut task) = self
            .workflows
            .table
            .get(&wf)
            .map(|r| r.steps[i].task.clone())
        else {
            return;
        };
        if let Some(input) = input {
            task.input = input;
        }
        self.workflows.starting = true;
        let started = self.request(now, task);
        self.workflows.starting = false;
        match started {
            Ok(rid) => {
                self.workflows.by_request.insert(rid, wf);
                if let Some(r) = self.workflows.table.get_mut(&wf) {
                    r.running.insert(rid, i);
                }
            }
            Err(e) => self.skip(wf, i, format!("could not start: {e}")),
        }
    }

    /// Mark step `i` (and every step fed by it, transitively) as not run.
    fn skip(&mut self, wf: RequestId, i: usize, why: String) {
        let Some(r) = self.workflows.table.get_mut(&wf) else {
            return;
        };
        let name = r.steps[i].name.clone();
        r.ended[i] = Some(StepOutcome {
            name: name.clone(),
            outcome: None,
            skipped: Some(why),
        });
        let fed: Vec<usize> = (i + 1..r.steps.len())
            .filter(|&j| r.steps[j].from.as_deref() == Some(name.as_str()))
            .collect();
        for j in fed {
            self.skip(wf, j, format!("its input, step {name:?}, has no result"));
        }
    }

    /// Hand step results on, start what they feed, and report workflows that ended (run by
    /// the pump, which has the time the next steps start at).
    pub(super) fn settle_workflows(&mut self, now: Now) {
        // Called again by the pump inside a step's `request`: the caller settles afterwards
        // (the new request's id is not known yet, so its outcome must not be handled now).
        if self.workflows.starting {
            return;
        }
        loop {
            let ended = std::mem::take(&mut self.workflows.ended);
            if ended.is_empty() {
                break;
            }
            for o in ended {
                let Some(wf) = self.workflows.by_request.remove(&o.request) else {
                    continue;
                };
                let Some(r) = self.workflows.table.get_mut(&wf) else {
                    continue;
                };
                let Some(i) = r.running.remove(&o.request) else {
                    continue;
                };
                let name = r.steps[i].name.clone();
                let result = o.result.clone();
                r.ended[i] = Some(StepOutcome {
                    name: name.clone(),
                    outcome: Some(o),
                    skipped: None,
                });
                let fed: Vec<usize> = (i + 1..r.steps.len())
                    .filter(|&j| r.steps[j].from.as_deref() == Some(name.as_str()))
                    .collect();
                for j in fed {
                    match &result {
                        Ok(bytes) => self.start_step(now, wf, j, Some(bytes.clone())),
                        Err(why) => {
                            self.skip(wf, j, format!("its input, step {name:?}, failed: {why}"))
                        }
                    }
                }
            }
        }
        let done: Vec<RequestId> = self
            .workflows
            .table
            .iter()
            .filter(|(_, r)| r.ended.iter().all(Option::is_some))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            let Some(r) = self.workflows.table.remove(&id) else {
                continue;
            };
            let steps: Vec<StepOutcome> = r.ended.into_iter().flatten().collect();
            let result = match steps.iter().find_map(|s| s.result().err().map(|e| (s, e))) {
                Some((s, why)) => Err(format!("step {:?}: {why}", s.name)),
                None => steps
                    .last()
                    .and_then(|s| s.result().ok().cloned())
                    .ok_or_else(|| "no steps".to_string()),
            };
            self.event(AgentEvent::WorkflowCompleted(Box::new(WorkflowOutcome {
                workflow: id,
                result,
                steps,
            })));
        }
    }
}

/// Names unique and 1..=64 bytes, `from` naming an earlier step, 1..=[`MAX_STEPS`] steps.
fn check(wf: &Workflow) -> Result<(), AgentError> {
    let bad = |why: String| Err(AgentError::BadRequest(why));
    if wf.steps.is_empty() || wf.steps.len() > MAX_STEPS {
        return bad(format!(
            "a workflow has 1..={MAX_STEPS} steps, not {}",
            wf.steps.len()
        ));
    }
    for (i, s) in wf.steps.iter().enumerate() {
        if s.name.is_empty() || s.name.len() > 64 {
            return bad(format!("step {i}: a name of 1..=64 bytes"));
        }
        if wf.steps[..i].iter().any(|e| e.name == s.name) {
            return bad(format!("step {:?} is named twice", s.name));
        }
        if let Some(f) = &s.from
            && !wf.steps[..i].iter().any(|e| &e.name == f)
        {
            return bad(format!(
                "step {:?}: from {f:?} does not name an earlier step",
                s.name
            ));
        }
    }
    Ok(())
}
