//! The TCP link protocol without sockets (`agentnet_transport::tcp::fuzzing`): the real
//! Noise XX handshake between two fixed identities through a man in the middle that flips or
//! replaces bytes of its three messages, and, after a real handshake, the record codec (the
//! link writer's sealing, the reader's message split, open and frame split) on fuzzer frames,
//! raw authenticated plaintext and flipped wire bytes. Asserts: never a panic; an untouched
//! handshake authenticates both sides to the right ids with the same handshake hash, and a
//! tampered one never completes on both sides; untouched frames arrive exactly (or the link
//! stops at the first frame above the limit); and whatever arrives after tampering is a
//! prefix of what was sent — the codec never delivers a forged frame.
#![no_main]

use agentnet_transport::tcp::fuzzing::{self, HandshakeEdit, LinkSend};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Edit {
    Flip { msg: u8, at: u16, mask: u8 },
    Replace { msg: u8, bytes: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
enum Out {
    Frame(Vec<u8>),
    Plain(Vec<u8>),
    Seal,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Handshake(Vec<Edit>),
    Link {
        sends: Vec<Out>,
        edits: Vec<(u16, u8)>,
        max_frame: u16,
    },
}

fuzz_target!(|input: Input| {
    match input {
        Input::Handshake(edits) => {
            let edits: Vec<HandshakeEdit> = edits
                .into_iter()
                .take(8)
                .map(|e| match e {
                    Edit::Flip { msg, at, mask } => HandshakeEdit::Flip {
                        msg: msg % 3,
                        at: usize::from(at),
                        mask,
                    },
                    Edit::Replace { msg, bytes } => HandshakeEdit::Replace {
                        msg: msg % 3,
                        bytes,
                    },
                })
                .collect();
            let run = fuzzing::handshake(&edits);
            let (dialer, acceptor) = fuzzing::identities();
            if !run.tampered {
                assert_eq!(run.initiator, Ok(acceptor), "{run:?}");
                assert_eq!(run.responder, Ok(dialer), "{run:?}");
                assert!(run.same_hash);
            }
            if let (Ok(a), Ok(b)) = (&run.initiator, &run.responder) {
                assert!(
                    !run.tampered || (*a == acceptor && *b == dialer && run.same_hash),
                    "{run:?}"
                );
            }
        }
        Input::Link {
            sends,
            edits,
            max_frame,
        } => {
            let sends: Vec<LinkSend> = sends
                .into_iter()
                .take(32)
                .map(|s| match s {
                    Out::Frame(f) => LinkSend::Frame(f),
                    Out::Plain(p) => LinkSend::Plain(p),
                    Out::Seal => LinkSend::Seal,
                })
                .collect();
            let edits: Vec<(usize, u8)> = edits
                .into_iter()
                .take(8)
                .map(|(a, m)| (usize::from(a), m))
                .collect();
            let max_frame = usize::from(max_frame);
            let run = fuzzing::link(&sends, &edits, max_frame);
            if run.frames_only {
                // Authenticity: only frames that were sent, in order.
                assert!(run.delivered.len() <= run.sent.len());
                assert_eq!(run.delivered[..], run.sent[..run.delivered.len()]);
                if !run.tampered {
                    let fits = run.sent.iter().take_while(|f| f.len() <= max_frame).count();
                    assert_eq!(run.delivered.len(), fits, "{:?}", run.error);
                    assert_eq!(run.error.is_some(), fits < run.sent.len());
                }
            }
            assert!(run.delivered.iter().all(|f| f.len() <= max_frame));
        }
    }
});
