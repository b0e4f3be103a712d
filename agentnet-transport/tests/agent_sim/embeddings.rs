//! Agents whose encoder is a model outside them (`RemoteEncoder`), in the simulator: the
//! embedding calls are effects the host answers, and discovery and the funnel rank by the
//! model's vectors. Deterministic: the model is a function.

use agentnet_core::semantic::{RemoteEncoder, RemoteEncoderLimits};
use agentnet_transport::agent::sim::EmbedFn;

use super::*;

/// Words standing for one concept each; everything else counts a little, hashed.
const CONCEPTS: &[&[&str]] = &[
    &["image", "picture", "draw", "photo", "illustration"],
    &["translate", "translation", "spanish", "french", "languages"],
];

fn concept_model() -> EmbedFn {
    Box::new(|texts: &[String]| {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.0f32; 16];
                for w in t
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                {
                    let w = w.to_lowercase();
                    match CONCEPTS.iter().position(|c| c.contains(&w.as_str())) {
                        Some(c) => v[c] += 1.0,
                        None => v[2 + w.len() % 14] += 0.2,
                    }
                }
                v
            })
            .collect())
    })
}

/// Two providers (images, translation) and a requester using `model` through a remote
/// encoder; returns the world and the requester's index.
fn world(run: u8, model: EmbedFn) -> (World, usize) {
    let mut sim = Sim::new(SimConfig::seeded(u64::from(run) + 7));
    let now = sim.now();
    let mut ids = Vec::new();
    for (i, (cap, summary)) in [
        ("image.generate", "Generate an image from a text prompt"),
        ("text.translate", "Translate text between languages"),
    ]
    .into_iter()
    .enumerate()
    {
        let s = seed(i as u8 + 1, run);
        let agent = Agent::new(Keypair::from_seed(s), config(s), now).unwrap();
        let id = sim.add_node(SimHost::new(agent, Some(upper())));
        let d = CapabilityDescriptor::builder(Keypair::from_seed(s).id(), cap, TOPIC, summary)
            .ttl(Duration::from_secs(600))
            .build(now)
            .unwrap();
        sim.command(id, |h, now| {
            h.agent_mut().serve(now, d, ServePolicy::default())
        })
        .expect("up")
        .expect("serve");
        ids.push(id);
    }
    let s = seed(9, run);
    let enc = RemoteEncoder::new("concept-model-v1", 16, RemoteEncoderLimits::default()).unwrap();
    let agent = Agent::with_encoder(Keypair::from_seed(s), config(s), now, Box::new(enc)).unwrap();
    let id = sim.add_node(SimHost::new(agent, None).with_embedder(model));
    follow(&mut sim, id, TOPIC);
    ids.push(id);
    (linked(sim, ids), 2)
}

fn discover(w: &mut World, who: usize, intent: &str) -> Vec<String> {
    let id = w.ids[who];
    let now = w.sim.now();
    w.sim
        .engine(id)
        .expect("up")
        .agent()
        .discover(now, intent, &Default::default(), 5)
        .into_iter()
        .map(|c| c.descriptor.capability.clone())
        .collect()
}

#[test]
fn discovery_and_the_funnel_rank_by_the_models_vectors() {
    let (mut w, r) = world(1, concept_model());
    let intent = "draw a picture of a cat";
    let ready = w
        .sim
        .command(w.ids[r], |h, now| {
            h.agent_mut().prepare_embedding(now, intent)
        })
        .expect("up");
    assert!(!ready, "a new text has no vector until the model answers");
    w.sim.run_for(Duration::from_millis(100));
    let host = w.sim.engine(w.ids[r]).expect("up");
    assert!(host.agent().embedding_ready(intent));
    assert!(!host.agent().embedding_in_flight());
    assert_eq!(discover(&mut w, r, intent), vec!["image.generate"]);
    let found = discover(&mut w, r, "Translate text between languages");
    assert_eq!(found.first().map(String::as_str), Some("text.translate"));

    let o = request(
        &mut w,
        r,
        TaskRequest::new(intent, Bytes::from_static(b"a cat")),
    );
    assert_eq!(o.result, Ok(Bytes::from_static(b"A CAT")));
    assert_eq!(
        o.provider,
        Some(id_of(&w, 0)),
        "the image provider did the work"
    );
}

#[test]
fn a_failing_model_leaves_nothing_in_flight_and_ranks_nothing_it_cannot_judge() {
    let (mut w, r) = world(2, Box::new(|_: &[String]| Err("model down".into())));
    let intent = "draw a picture of a cat";
    w.sim
        .command(w.ids[r], |h, now| {
            h.agent_mut().prepare_embedding(now, intent)
        })
        .expect("up");
    w.sim.run_for(Duration::from_millis(100));
    let host = w.sim.engine(w.ids[r]).expect("up");
    assert!(!host.agent().embedding_ready(intent));
    assert!(
        !host.agent().embedding_in_flight(),
        "failed calls are given up, not leaked"
    );
    assert!(discover(&mut w, r, intent).is_empty());
}
