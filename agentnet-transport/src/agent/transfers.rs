//! The payload plane's transfers: sealed chunks sent, received, reassembled and re-sent on
//! request, handed to the provider or requester side when complete.

use agentnet_core::wire::{Limits, encode_frame};
use agentnet_core::{LinkId, Now};
use agentnet_mech::session::SessionId;
use bytes::Bytes;

use super::wire::{self, Chunk, Direction, Resend};
use super::{Agent, AgentError};

impl Agent {
    // =========================================================================================
    // Internals: payloads
    // =========================================================================================

    pub(super) fn send_chunks(
        &mut self,
        session: SessionId,
        direction: Direction,
        link: LinkId,
        chunks: &[Bytes],
    ) {
        let count = chunks.len() as u32;
        for (i, data) in chunks.iter().enumerate() {
            let chunk = Chunk {
                session,
                direction,
                index: i as u32,
                count,
                data: data.clone(),
            };
            if let Ok(frame) = encode_frame(wire::CHUNK, &chunk) {
                self.send(link, frame);
            }
        }
    }

    pub(super) fn on_chunk(
        &mut self,
        now: Now,
        from: LinkId,
        chunk: Chunk,
    ) -> Result<(), AgentError> {
        let key = (chunk.session, chunk.direction);
        let inc = self
            .incoming
            .get_mut(&key)
            .ok_or(AgentError::UnknownTransfer {
                session: chunk.session,
                direction: chunk.direction,
            })?;
        if self.links.get(&from).and_then(|l| l.peer) != Some(inc.peer) {
            return Err(AgentError::UnknownTransfer {
                session: chunk.session,
                direction: chunk.direction,
            });
        }
        inc.add(
            &self.config.payload,
            chunk.index,
            chunk.count,
            chunk.data,
            now.mono,
        )?;
        self.try_finish_checked(now, chunk.session, chunk.direction)
    }

    pub(super) fn try_finish(&mut self, now: Now, id: SessionId, direction: Direction) {
        let _ = self.try_finish_checked(now, id, direction);
    }

    fn try_finish_checked(
        &mut self,
        now: Now,
        id: SessionId,
        direction: Direction,
    ) -> Result<(), AgentError> {
        let Some(inc) = self.incoming.get_mut(&(id, direction)) else {
            return Ok(());
        };
        if inc.done.is_some() {
            return Ok(());
        }
        let secret = self.keys.x25519();
        let Some(bytes) = inc.finish(secret, &id, direction)? else {
            return Ok(());
        };
        match direction {
            Direction::Input => self.on_input(id, bytes),
            Direction::Result => self.on_result(now, id, bytes),
        }
        Ok(())
    }

    pub(super) fn limits_for_payload(&self) -> Limits {
        Limits {
            max_frame: self.config.payload.max_payload + 1024,
            max_bytes_len: self.config.payload.max_payload,
            ..self.limits
        }
    }

    pub(super) fn on_resend(&mut self, from: LinkId, r: Resend) -> Result<(), AgentError> {
        let key = (r.session, r.direction);
        let out = self.outgoing.get(&key).ok_or(AgentError::UnknownTransfer {
            session: r.session,
            direction: r.direction,
        })?;
        if self.links.get(&from).and_then(|l| l.peer) != Some(out.peer) {
            return Err(AgentError::UnknownTransfer {
                session: r.session,
                direction: r.direction,
            });
        }
        let count = out.chunks.len() as u32;
        let wanted: Vec<u32> = if r.missing.is_empty() {
            (0..count).collect()
        } else {
            r.missing
                .iter()
                .copied()
                .filter(|i| *i < count)
                .take(256)
                .collect()
        };
        let frames: Vec<Bytes> = wanted
            .into_iter()
            .filter_map(|i| {
                encode_frame(
                    wire::CHUNK,
                    &Chunk {
                        session: r.session,
                        direction: r.direction,
                        index: i,
                        count,
                        data: out.chunks[i as usize].clone(),
                    },
                )
                .ok()
            })
            .collect();
        for f in frames {
            self.send(from, f);
        }
        Ok(())
    }
}
