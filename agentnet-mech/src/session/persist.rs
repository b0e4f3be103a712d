//! Session records: what [`Sessions`] asks its host to store ([`Event::Persist`]) and how a
//! restarted engine takes them back ([`Sessions::restore`]). The rules are in the parent
//! module's docs, "Persistence".
//!
//! The record layout is documented in the parent module ("Persistence"); [`SessionRecord`]
//! below is its serde form.

use super::*;

/// The version byte in front of every session record this build writes and reads.
pub const RECORD_VERSION: u8 = 1;

/// Most refusals a [`RestoreReport`] keeps (the count covers all of them).
pub const MAX_RESTORE_ERRORS: usize = 8;

/// The record of one live session. Field order is the encoding order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRecord {
    offer: Part,
    commit: Option<Part>,
    delegate: Option<Part>,
    deliver: Option<Part>,
    deadline: WallTime,
    delegated_at: Option<WallTime>,
    deliver_by: Option<WallTime>,
    delivered_at: Option<WallTime>,
}

/// A signed message as `[signer, signature, body]`.
#[derive(Serialize, Deserialize)]
struct Part(
    AgentId,
    Signature,
    #[serde(with = "agentnet_core::bytes_serde::bytes")] Bytes,
);

impl<T> From<&Signed<T>> for Part {
    fn from(m: &Signed<T>) -> Self {
        Part(m.signer(), *m.signature(), m.body().clone())
    }
}

/// Why a record was refused by [`Sessions::restore`]. Nothing changed when one is returned.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The record has no bytes (not even its version byte).
    #[error("empty record")]
    Empty,
    /// The record is larger than any record this engine writes (see the module docs,
    /// "Persistence").
    #[error("record of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The record's length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The record was written by a build with another record format.
    #[error("unsupported record version {found} (this build reads {RECORD_VERSION})")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The record, or a message in it, is truncated, over a limit or not a session record.
    #[error("malformed record: {0}")]
    Malformed(WireError),
    /// A signature in the record does not verify, or a message's author is not its signer.
    #[error("the {message} in the record does not verify: {error}")]
    Forged {
        /// Which message (`"OFFER"`, `"COMMIT"`, `"DELEGATE"`, `"DELIVER"`, `"mechanism"`,
        /// `"evidence"`).
        message: &'static str,
        /// Why.
        error: SignedError,
    },
    /// A message in the record fails the checks it passed when it was taken (an invalid
    /// mechanism or topic, a session id not derived from the offer, ...).
    #[error("the {message} in the record is refused: {error}")]
    Refused {
        /// Which message.
        message: &'static str,
        /// Why, as the live engine would have said it.
        error: SessionError,
    },
    /// The offer names this agent neither as requester nor as provider.
    #[error("{0} is not a session of this agent")]
    NotOurs(SessionId),
    /// The messages do not form one session's history (another session's message, a
    /// declining or wrong commitment, a step missing before a later one), or the times do not
    /// match the phase.
    #[error("{id}: inconsistent record: {reason}")]
    Inconsistent {
        /// The session.
        id: SessionId,
        /// What does not fit.
        reason: &'static str,
    },
    /// The delivery's evidence package, checked again against the same window, no longer
    /// verifies (e.g. the attestation verifier changed).
    #[error("{0}: the delivery's evidence no longer verifies")]
    Evidence(SessionId),
    /// A session with this id is already live or has ended (a record given twice).
    #[error("{0} is already known")]
    Duplicate(SessionId),
    /// [`SessionConfig::max_sessions`] sessions are held.
    #[error("session table full ({max})")]
    Full {
        /// The bound.
        max: usize,
    },
}

/// What [`Sessions::restore`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Sessions restored.
    pub restored: usize,
    /// Records refused.
    pub refused: usize,
    /// The first [`MAX_RESTORE_ERRORS`] refusals: the record's index in the input, and why.
    pub errors: Vec<(usize, RestoreError)>,
}

/// The largest record an engine with these limits writes: four messages, each at most a
/// frame, and the times.
pub(super) fn max_record_len(limits: &Limits) -> usize {
    limits.max_frame.saturating_mul(4).saturating_add(1024)
}

/// A monotonic deadline as the wall-clock time it falls on, seen from `now`.
fn to_wall(now: Now, at: Instant) -> WallTime {
    now.wall
        .saturating_add(at.saturating_duration_since(now.mono))
}

/// A wall-clock deadline on this process's monotonic clock, seen from `now`; one that has
/// passed becomes `now.mono`.
fn from_wall(now: Now, at: WallTime) -> Instant {
    now.mono
        .saturating_add(at.saturating_duration_since(now.wall))
}

/// The record of `s` as of `now`.
pub(super) fn encode(s: &Session, now: Now) -> Bytes {
    let (delegated_at, deliver_by, delivered_at) = match &s.state {
        State::Offered | State::Committed => (None, None, None),
        State::Delegated { at, deliver_by, .. } => {
            (Some(*at), Some(to_wall(now, *deliver_by)), None)
        }
        State::Delivered {
            delegated_at,
            delivered_at,
            ..
        } => (Some(*delegated_at), None, Some(*delivered_at)),
    };
    let record = SessionRecord {
        offer: Part::from(&s.offer),
        commit: s.commit.as_ref().map(Part::from),
        delegate: s.delegate.as_ref().map(Part::from),
        deliver: s.deliver.as_ref().map(Part::from),
        deadline: to_wall(now, s.deadline),
        delegated_at,
        deliver_by,
        delivered_at,
    };
    let mut out = vec![RECORD_VERSION];
    // Encoding into memory cannot fail: every field is a plain integer, byte string or array.
    out.extend(frame::encode_cbor(&record).unwrap_or_default());
    Bytes::from(out)
}

/// Size, version and structure (no allocation before the structure check), then the schema.
fn decode(bytes: &[u8], limits: &Limits) -> Result<SessionRecord, RestoreError> {
    let max = max_record_len(limits);
    if bytes.len() > max {
        return Err(RestoreError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    let (&version, body) = bytes.split_first().ok_or(RestoreError::Empty)?;
    if version != RECORD_VERSION {
        return Err(RestoreError::UnsupportedVersion { found: version });
    }
    frame::decode_cbor(body, limits).map_err(RestoreError::Malformed)
}

/// Verify one message of the record.
fn open_part<T: SignedObject>(
    part: Part,
    limits: &Limits,
    message: &'static str,
) -> Result<Signed<T>, RestoreError> {
    let Part(signer, signature, body) = part;
    Signed::<T>::from_parts(signer, signature, body, limits).map_err(|e| forged(message, e))
}

fn forged(message: &'static str, error: SignedError) -> RestoreError {
    match error {
        SignedError::Wire(w) => RestoreError::Malformed(w),
        error => RestoreError::Forged { message, error },
    }
}

fn refused(message: &'static str, error: SessionError) -> RestoreError {
    match error {
        SessionError::MechanismEnvelope(e) => forged("mechanism", e),
        error => RestoreError::Refused { message, error },
    }
}

/// A session rebuilt from its record, with the event that re-announces what its host owes.
struct Rebuilt {
    id: SessionId,
    session: Session,
    event: Option<Event>,
}

impl Sessions {
    /// Restore one record (the body of [`Sessions::restore`]).
    pub(super) fn restore_record(&mut self, now: Now, bytes: &[u8]) -> Result<(), RestoreError> {
        if self.sessions.len() >= self.config.max_sessions {
            return Err(RestoreError::Full {
                max: self.config.max_sessions,
            });
        }
        let record = decode(bytes, &self.config.limits)?;
        let Rebuilt { id, session, event } = self.rebuild(now, record)?;
        let (deadline, peer) = (session.deadline, session.counterparty());
        self.sessions.insert(
            id,
            Session {
                deadline: Instant::MAX,
                ..session
            },
        );
        self.arm(id, deadline);
        self.unlinked.insert((peer, id));
        if let Some(e) = event {
            self.emit(e);
        }
        Ok(())
    }

    /// Verify the record's messages and rebuild the session they describe.
    fn rebuild(&self, now: Now, r: SessionRecord) -> Result<Rebuilt, RestoreError> {
        let limits = &self.config.limits;
        let offer: Signed<Offer> = open_part(r.offer, limits, "OFFER")?;
        let o = offer.value();
        let id = o.session;
        // The offer's checks on receipt, but freshness: it was fresh when it was taken.
        if o.requester == o.provider {
            return Err(refused("OFFER", SessionError::SelfDealing));
        }
        if id != SessionId::derive(&o.requester, &o.provider, &o.task, o.offered_at) {
            return Err(refused("OFFER", SessionError::BadSessionId(id)));
        }
        let role = if o.requester == self.me {
            Role::Requester
        } else if o.provider == self.me {
            Role::Provider
        } else {
            return Err(RestoreError::NotOurs(id));
        };
        if self.sessions.contains_key(&id) || self.ended.contains(&id) {
            return Err(RestoreError::Duplicate(id));
        }
        Topic::new(o.topic.as_str()).map_err(|e| refused("OFFER", e.into()))?;
        let mechanism =
            open_mechanism(&o.mechanism, limits, o.requester).map_err(|e| refused("OFFER", e))?;
        let inconsistent = |reason| RestoreError::Inconsistent { id, reason };

        let commit: Option<Signed<Commit>> = r
            .commit
            .map(|p| open_part(p, limits, "COMMIT"))
            .transpose()?;
        let delegate: Option<Signed<Delegate>> = r
            .delegate
            .map(|p| open_part(p, limits, "DELEGATE"))
            .transpose()?;
        let deliver: Option<Signed<Deliver>> = r
            .deliver
            .map(|p| open_part(p, limits, "DELIVER"))
            .transpose()?;
        if let Some(c) = &commit {
            if c.session != id || c.provider != o.provider {
                return Err(inconsistent("the commitment belongs to another session"));
            }
            if c.offer != offer.hash() {
                return Err(inconsistent("the commitment answers another offer"));
            }
            if !c.accept || c.deposit != mechanism.deposit() {
                return Err(inconsistent(
                    "the commitment does not accept with the mechanism's deposit",
                ));
            }
        }
        if let Some(d) = &delegate
            && (d.session != id || d.requester != o.requester)
        {
            return Err(inconsistent("the delegation belongs to another session"));
        }
        if let Some(d) = &deliver {
            if d.session != id || d.provider != o.provider {
                return Err(inconsistent("the delivery belongs to another session"));
            }
            if mechanism.tier() == Tier::Evidence && d.evidence.is_none() {
                return Err(inconsistent(
                    "the delivery lacks the evidence its tier requires",
                ));
            }
        }
        let phase = match (&commit, &delegate, &deliver) {
            (None, None, None) => Phase::Offered,
            (Some(_), None, None) => Phase::Committed,
            (Some(_), Some(_), None) => Phase::Delegated,
            (Some(_), Some(_), Some(_)) => Phase::Delivered,
            _ => return Err(inconsistent("a step is missing before a later one")),
        };
        let input = delegate.as_ref().map(|d| d.input_hash);
        let result = deliver.as_ref().map(|d| d.result_hash);
        let times = (r.delegated_at, r.deliver_by, r.delivered_at);
        let state = match (phase, input, result, times) {
            (Phase::Offered, _, _, (None, None, None)) => State::Offered,
            (Phase::Committed, _, _, (None, None, None)) => State::Committed,
            (Phase::Delegated, Some(input), _, (Some(at), Some(deliver_by), None)) => {
                State::Delegated {
                    input,
                    at,
                    deliver_by: from_wall(now, deliver_by),
                }
            }
            (
                Phase::Delivered,
                Some(input),
                Some(result),
                (Some(delegated_at), None, Some(delivered_at)),
            ) => State::Delivered {
                input,
                result,
                evidence: None,
                delegated_at,
                delivered_at,
            },
            _ => return Err(inconsistent("the times do not match the phase")),
        };
        let mut session = Session {
            role,
            requester: o.requester,
            provider: o.provider,
            link: None,
            task: o.task,
            topic: o.topic.clone(),
            offer_hash: offer.hash(),
            offer: offer.clone(),
            commit,
            delegate,
            deliver,
            mechanism_id: mechanism.id(),
            mechanism,
            deadline: from_wall(now, r.deadline),
            state,
        };
        self.check_restored_evidence(id, &mut session)?;
        let event = self.owed(id, &session, now);
        Ok(Rebuilt { id, session, event })
    }

    /// A delivery's evidence, again: the requester re-verifies it against the window it was
    /// verified in when it arrived (and keeps the result); the provider checks its own package
    /// is still its own for this task and result.
    fn check_restored_evidence(&self, id: SessionId, s: &mut Session) -> Result<(), RestoreError> {
        let (
            Some(deliver),
            State::Delivered {
                result,
                delegated_at,
                delivered_at,
                ..
            },
        ) = (&s.deliver, &s.state)
        else {
            return Ok(());
        };
        let Some(envelope) = &deliver.evidence else {
            return Ok(());
        };
        let (result, delegated_at, delivered_at) = (*result, *delegated_at, *delivered_at);
        match s.role {
            Role::Requester => {
                let arrival = Now::new(Instant::ZERO, delivered_at);
                match self.check_evidence(s, envelope, result, delegated_at, arrival) {
                    EvidenceCheck::Verified(v) => {
                        if let State::Delivered { evidence, .. } = &mut s.state {
                            *evidence = Some(v);
                        }
                        Ok(())
                    }
                    _ => Err(RestoreError::Evidence(id)),
                }
            }
            Role::Provider => {
                let p = Signed::<EvidencePackage>::from_envelope(envelope, &self.config.limits)
                    .map_err(|e| forged("evidence", e))?;
                check_own_package(id, &p, self.me, s.task, result)
                    .map_err(|e| refused("DELIVER", e))
            }
        }
    }

    /// The event that asks the host again for the step a restored session waits on, if the
    /// host owes one and its deadline has not passed (the host's answer was not durable; a
    /// passed deadline fires at the next input instead).
    fn owed(&self, id: SessionId, s: &Session, now: Now) -> Option<Event> {
        if s.deadline <= now.mono {
            return None;
        }
        match (s.role, &s.state) {
            (Role::Provider, State::Offered) => Some(Event::Offered {
                id,
                requester: s.requester,
                task: s.task,
                topic: s.topic.clone(),
                description_hash: s.offer.description_hash,
                mechanism: Box::new(s.mechanism.clone()),
                answer_by: s.deadline,
            }),
            (Role::Requester, State::Committed) => Some(Event::Committed {
                id,
                provider: s.provider,
                deposit: s.mechanism.deposit(),
                delegate_by: s.deadline,
            }),
            (
                Role::Provider,
                State::Delegated {
                    input, deliver_by, ..
                },
            ) if *deliver_by > now.mono => Some(Event::Delegated {
                id,
                requester: s.requester,
                task: s.task,
                input_hash: *input,
                deliver_by: *deliver_by,
            }),
            (
                Role::Requester,
                State::Delivered {
                    result, evidence, ..
                },
            ) => Some(Event::Delivered {
                id,
                provider: s.provider,
                result_hash: *result,
                evidence: evidence.clone(),
                grade_by: s.deadline,
            }),
            _ => None,
        }
    }
}
