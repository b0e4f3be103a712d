//! [`Node::request_by_intent`] on the driver's side, and the provider's half: a bid for an
//! intent whose requester is not linked makes the node dial one of the requester's endpoints
//! (the agent sends the bid once the link is verified).

use super::driver::{Command, Driver};
use super::*;
use crate::agent::IntentRequest;

impl Driver {
    /// `Command::Intent`: wait for the intent's vector (with a remote encoder), then
    /// [`intent_now`](Self::intent_now).
    pub(super) fn intent_command(
        &mut self,
        now: Now,
        req: Box<IntentRequest>,
        reply: oneshot::Sender<Result<RequestHandle, NodeError>>,
    ) {
        if !self.warm(now, &req.task.intent) {
            self.park(now, Command::Intent(req, reply));
            return;
        }
        self.intent_now(now, req, reply);
    }

    /// Fill the endpoints from the listen address and announce the intent.
    pub(super) fn intent_now(
        &mut self,
        now: Now,
        mut req: Box<IntentRequest>,
        reply: oneshot::Sender<Result<RequestHandle, NodeError>>,
    ) {
        if req.endpoints.is_empty()
            && let Some(a) = &self.addr
        {
            req.endpoints.push(a.clone());
        }
        let r = self
            .agent
            .request_by_intent(now, *req)
            .map(|id| self.handle_for(id))
            .map_err(NodeError::from);
        let _ = reply.send(r);
    }

    /// The agent bid on an intent whose requester it has no link to: dial it.
    pub(super) fn dial_requester(&mut self, endpoints: &[String]) {
        for e in endpoints {
            if self.transport.connect(e).is_ok() {
                return;
            }
        }
    }
}

impl Node {
    /// Put `req` to the network as a signed intent, take bids until its bid window closes,
    /// award the task by the auction's score rule (with counter-offers when no bid is within
    /// the budget) and run it through the funnel with the winner, falling back on the next
    /// bids (see [`Agent::request_by_intent`](crate::agent::Agent::request_by_intent)). The
    /// intent carries this node's listen address unless `req.endpoints` names some.
    pub async fn request_by_intent(&self, req: IntentRequest) -> Result<TaskOutcome, NodeError> {
        self.start_request_by_intent(req).await?.outcome().await
    }

    /// As [`request_by_intent`](Self::request_by_intent); the handle yields the stages
    /// (announced, each bid, counter-offers, the award, then the funnel's) and the outcome.
    pub async fn start_request_by_intent(
        &self,
        req: IntentRequest,
    ) -> Result<RequestHandle, NodeError> {
        self.call(|r| Command::Intent(Box::new(req), r)).await?
    }

    /// State this node's load (basis points of capacity) and availability, short-lived
    /// soft state requesters use to skip or defer it
    /// ([`Agent::announce_state`](crate::agent::Agent::announce_state)).
    pub async fn announce_state(
        &self,
        load_bp: u16,
        available: bool,
        queued: u32,
    ) -> Result<usize, NodeError> {
        self.call(|r| Command::State(load_bp, available, queued, r))
            .await?
    }
}
