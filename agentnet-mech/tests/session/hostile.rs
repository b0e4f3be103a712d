//! Hostile input: malformed and forged frames get typed errors, offers are checked before they
//! are stored, commands check role and phase; plus the fuzz properties over arbitrary bytes.

use super::*;

#[test]
fn hostile_frames_get_typed_errors_and_the_session_survives() {
    let (mut req, mut prov) = (engine(alice()), engine(bob()));
    let id = req
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    let offer_frame = drain_frames(&mut req).pop().unwrap();
    prov.handle_message(at_ms(0), LINK, offer_frame.clone())
        .unwrap();
    prov.accept(at_ms(10), id).unwrap();
    let commit = drain_frames(&mut prov).pop().unwrap();
    let offer_hash = Signed::<Offer>::from_frame(&offer_frame, &Limits::default())
        .unwrap()
        .hash();
    let good = |deposit, offer| Commit {
        session: id,
        provider: bob().id(),
        offer,
        accept: true,
        deposit,
    };
    let now = at_ms(11);
    let mut send = |f: Bytes| req.handle_message(now, LinkId(99), f);

    // Malformed and oversized.
    assert!(matches!(
        send(Bytes::new()),
        Err(SessionError::Wire(WireError::TruncatedHeader { .. }))
    ));
    assert!(matches!(
        send(Bytes::from_static(&[0xff; 10])),
        Err(SessionError::Wire(WireError::UnsupportedVersion { .. }))
    ));
    let mut huge = commit.to_vec();
    huge.resize(70_000, 0);
    assert!(matches!(
        send(Bytes::from(huge)),
        Err(SessionError::Wire(WireError::FrameTooLarge { .. }))
    ));
    assert!(matches!(
        send(frame_from_payload(MessageKind(0x0399), &[0xa0])),
        Err(SessionError::Wire(WireError::UnknownKind(0x0399)))
    ));
    assert!(matches!(
        send(frame_from_payload(wire::COMMIT, &[0x83, 0x01])),
        Err(SessionError::Wire(WireError::LengthExceedsInput { .. }))
    ));
    assert!(matches!(
        send(frame_from_payload(wire::COMMIT, &[0xa0])),
        Err(SessionError::Wire(WireError::Schema(_)))
    ));
    // Forged: a flipped signature bit; a body naming Bob signed by Mallory.
    let mut flipped = commit.to_vec();
    flipped[50] ^= 1;
    assert!(matches!(
        send(Bytes::from(flipped)),
        Err(SessionError::Signed(SignedError::BadSignature(_)))
    ));
    assert!(matches!(
        send(forged(&good(DEPOSIT, offer_hash), &mallory())),
        Err(SessionError::Signed(SignedError::SignerMismatch { .. }))
    ));
    // Validly signed, but by someone other than the counterparty.
    let by_mallory = Commit {
        provider: mallory().id(),
        ..good(DEPOSIT, offer_hash)
    };
    assert_eq!(
        send(sign_frame(&mallory(), by_mallory)),
        Err(SessionError::WrongSender {
            id,
            expected: bob().id(),
            got: mallory().id()
        })
    );
    // Unknown session; wrong content; wrong role; too early.
    let stranger = SessionId(Hash([9; 32]));
    assert_eq!(
        send(sign_frame(
            &bob(),
            Commit {
                session: stranger,
                ..good(DEPOSIT, offer_hash)
            }
        )),
        Err(SessionError::UnknownSession(stranger))
    );
    assert_eq!(
        send(sign_frame(&bob(), good(DEPOSIT - 1, offer_hash))),
        Err(SessionError::WrongDeposit {
            id,
            expected: DEPOSIT,
            got: DEPOSIT - 1
        })
    );
    assert!(matches!(
        send(sign_frame(&bob(), good(DEPOSIT, Hash([0; 32])))),
        Err(SessionError::OfferMismatch { .. })
    ));
    assert!(matches!(
        send(sign_frame(
            &bob(),
            Delegate {
                session: id,
                requester: bob().id(),
                input_hash: input()
            }
        )),
        Err(SessionError::WrongRole {
            role: Role::Requester,
            ..
        })
    ));
    let early = Deliver {
        session: id,
        provider: bob().id(),
        result_hash: result(),
        evidence: None,
    };
    assert_eq!(
        send(sign_frame(&bob(), early)),
        Err(SessionError::OutOfOrder {
            id,
            what: "DELIVER",
            phase: Phase::Offered
        })
    );

    // None of it touched the session: the real commitment is accepted, once.
    assert_eq!(send(commit.clone()), Ok(()));
    assert_eq!(
        send(commit),
        Err(SessionError::Replayed {
            id,
            what: "COMMIT",
            phase: Phase::Committed
        })
    );
    let ev = drain_events(&mut req);
    assert!(
        matches!(
            ev[..],
            [Event::Committed {
                deposit: DEPOSIT,
                ..
            }]
        ),
        "{ev:?}"
    );
    // Replies go where the counterparty last spoke from (link 99), never by identity.
    assert_eq!(req.session(&id).unwrap().link, Some(LinkId(99)));
    drain_events(&mut prov);

    // Provider side: a replayed offer and delegation are refused.
    assert!(matches!(
        prov.handle_message(at_ms(12), LINK, offer_frame),
        Err(SessionError::Replayed { what: "OFFER", .. })
    ));
    req.delegate(at_ms(20), id, input()).unwrap();
    let delegation = drain_frames(&mut req).pop().unwrap();
    prov.handle_message(at_ms(20), LINK, delegation.clone())
        .unwrap();
    assert!(matches!(
        prov.handle_message(at_ms(21), LINK, delegation),
        Err(SessionError::Replayed {
            what: "DELEGATE",
            ..
        })
    ));

    // ... and the session still completes.
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    let delivery = drain_frames(&mut prov).pop().unwrap();
    req.handle_message(at_ms(100), LINK, delivery.clone())
        .unwrap();
    assert!(matches!(
        req.handle_message(at_ms(101), LINK, delivery),
        Err(SessionError::Replayed {
            what: "DELIVER",
            ..
        })
    ));
    assert_eq!(
        req.grade(at_ms(200), id, Grade::new(800_000, false)),
        Ok(Outcome::Accepted)
    );
    let statement = drain_frames(&mut req).pop().unwrap();
    prov.handle_message(at_ms(201), LINK, statement.clone())
        .unwrap();
    assert_eq!(
        amounts(settlement(&drain_events(&mut prov))),
        (FLAT + BONUS, DEPOSIT, 0)
    );
    // A replayed statement after the end.
    assert_eq!(
        prov.handle_message(at_ms(202), LINK, statement),
        Err(SessionError::Ended(id))
    );
}

#[test]
fn offers_are_checked_before_anything_is_stored() {
    let mut prov = engine(bob());
    let a = alice();
    let offer =
        |requester: &Keypair, provider: AgentId, offered_at: WallTime, mech: &Signed<Mechanism>| {
            let session = SessionId::derive(&requester.id(), &provider, &task_id(1), offered_at);
            Offer {
                session,
                requester: requester.id(),
                provider,
                task: task_id(1),
                topic: Topic::new("code/review").unwrap(),
                description_hash: Hash([1; 32]),
                offered_at,
                mechanism: Bytes::from(mech.to_envelope()),
            }
        };
    let mech = signed_rules(Tier::Reputation);
    let now = at_ms(10_000);
    let mut send = |f: Bytes| prov.handle_message(now, LINK, f);

    assert_eq!(
        send(sign_frame(
            &a,
            offer(&a, mallory().id(), wall_ms(10_000), &mech)
        )),
        Err(SessionError::NotAddressedToUs(mallory().id()))
    );
    let mut bad_id = offer(&a, bob().id(), wall_ms(10_000), &mech);
    bad_id.task = task_id(2);
    assert!(matches!(
        send(sign_frame(&a, bad_id)),
        Err(SessionError::BadSessionId(_))
    ));
    assert_eq!(
        send(sign_frame(
            &a,
            offer(&a, bob().id(), wall_ms(10_000 + 60_000), &mech)
        )),
        Err(SessionError::FromTheFuture { ahead_ms: 60_000 })
    );
    assert_eq!(
        send(sign_frame(
            &a,
            offer(&a, bob().id(), wall_ms(10_000 - COMMIT_MS - 7), &mech)
        )),
        Err(SessionError::StaleOffer { late_ms: 7 })
    );
    // Mallory offers under Alice's rules: the requester must be the leader.
    let m = mallory();
    assert_eq!(
        send(sign_frame(
            &m,
            offer(&m, bob().id(), wall_ms(10_000), &mech)
        )),
        Err(SessionError::NotLeader {
            requester: m.id(),
            leader: a.id()
        })
    );
    // A tampered mechanism envelope.
    let mut tampered = offer(&a, bob().id(), wall_ms(10_000), &mech);
    let mut env = tampered.mechanism.to_vec();
    let last = env.len() - 1;
    env[last] ^= 1;
    tampered.mechanism = Bytes::from(env);
    assert!(matches!(
        send(sign_frame(&a, tampered)),
        Err(SessionError::MechanismEnvelope(_))
    ));
    // An invalid mechanism, validly signed.
    let mut broke = rules(Tier::Reputation);
    broke.budget = 1;
    let broke = Signed::sign(&a, broke).unwrap();
    assert!(matches!(
        send(sign_frame(
            &a,
            offer(&a, bob().id(), wall_ms(10_000), &broke)
        )),
        Err(SessionError::Mechanism(_))
    ));
    // An invalid topic, validly signed: it does not even decode (a `Topic` is checked when
    // decoded).
    let good = offer(&a, bob().id(), wall_ms(10_000), &mech);
    let text = good.topic.as_str().to_string();
    let mut body = encode_cbor(&good).unwrap();
    let at = body
        .windows(text.len())
        .position(|w| w == text.as_bytes())
        .unwrap();
    body[at] = body[at].to_ascii_uppercase();
    let sig = a.sign_bytes(<Offer as SignedObject>::CONTEXT, &body);
    let env = encode_cbor(&(a.id(), sig, ciborium::Value::Bytes(body))).unwrap();
    let frame = frame_from_payload(<Offer as SignedObject>::KIND, &env);
    let r = send(frame);
    assert!(
        matches!(r, Err(SessionError::Wire(WireError::Schema(ref e))) if e.contains("invalid topic")),
        "{r:?}"
    );
    assert!(prov.is_empty());
    assert!(drain_events(&mut prov).is_empty());

    // The genuine offer is accepted.
    prov.handle_message(
        now,
        LINK,
        sign_frame(&a, offer(&a, bob().id(), wall_ms(10_000), &mech)),
    )
    .unwrap();
    assert_eq!(prov.len(), 1);
}

#[test]
fn commands_check_role_and_phase() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    assert!(matches!(
        req.accept(at_ms(30), id),
        Err(SessionError::WrongRole {
            role: Role::Requester,
            what: "accept",
            ..
        })
    ));
    assert!(matches!(
        prov.grade(at_ms(30), id, Grade::new(1, true)),
        Err(SessionError::WrongRole {
            role: Role::Provider,
            ..
        })
    ));
    assert!(matches!(
        req.grade(at_ms(30), id, Grade::new(1, true)),
        Err(SessionError::WrongPhase {
            phase: Phase::Delegated,
            ..
        })
    ));
    assert!(matches!(
        req.delegate(at_ms(30), id, input()),
        Err(SessionError::WrongPhase { .. })
    ));
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    assert_eq!(
        req.grade(at_ms(110), id, Grade::new(1_000_001, true)),
        Err(SessionError::InvalidScore(1_000_001))
    );
    assert_eq!(
        req.offer(
            at_ms(0),
            alice().id(),
            LINK,
            task(2),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::SelfDealing)
    );
    // Bob cannot offer under Alice's mechanism.
    assert!(matches!(
        prov.offer(
            at_ms(0),
            alice().id(),
            LINK,
            task(2),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::NotLeader { .. })
    ));
    assert_eq!(
        req.offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::DuplicateSession(id))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic, and an engine with live sessions in every phase stays
    /// consistent: every refused frame leaves the sessions as they were.
    #[test]
    fn arbitrary_bytes_never_panic(
        raw in proptest::collection::vec(any::<u8>(), 0..600),
        kind in 0x0300u16..0x0308,
        framed in any::<bool>(),
    ) {
        let (mut req, mut prov, id) = delegated(Tier::Evidence);
        let payload = if framed {
            frame_from_payload(MessageKind(kind), &raw)
        } else {
            Bytes::from(raw)
        };
        let before = (req.session(&id), prov.session(&id));
        let r1 = req.handle_message(at_ms(30), LINK, payload.clone());
        let r2 = prov.handle_message(at_ms(30), LINK, payload);
        if r1.is_err() {
            prop_assert_eq!(&req.session(&id), &before.0);
        }
        if r2.is_err() {
            prop_assert_eq!(&prov.session(&id), &before.1);
        }
    }

    /// Every single-byte corruption of a genuine delivery is refused or harmless; never a panic.
    #[test]
    fn corrupted_deliveries_never_panic(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (mut req, mut prov, id) = delegated(Tier::Evidence);
        prov.deliver(at_ms(100), id, result(), Some(honest_package(task_id(1), result()))).unwrap();
        let mut f = drain_frames(&mut prov).pop().unwrap().to_vec();
        let i = pos.index(f.len());
        f[i] ^= 1 << bit;
        let _ = req.handle_message(at_ms(100), LINK, Bytes::from(f));
        while req.poll_event().is_some() {}
        prop_assert!(req.len() <= 1);
    }
}
