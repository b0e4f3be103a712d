//! A2A Agent Cards and capability descriptors: export → import keeps the fields the mapping
//! says it keeps; hand-written cards in the A2A 1.0 form and the older single-`url` form
//! import; malformed cards, cards without skills and skills whose id cannot become a
//! capability give readable errors.

use agentnet_core::descriptor::CapabilityDescriptor;
use agentnet_core::{Instant, Keypair, Now, WallTime};
use agentnet_examples::a2a::{
    AgentCard, CardError, CardOptions, DescriptorSpec, card_from_descriptors,
    descriptor_specs_from_card,
};

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn now() -> Now {
    Now::new(
        Instant::from_millis(0),
        WallTime::from_unix_millis(1_800_000_000_000),
    )
}

/// A descriptor from a spec, as a node would build it: checks every bound.
fn build(spec: &DescriptorSpec) -> CapabilityDescriptor {
    let id = Keypair::from_seed([3; 32]).id();
    CapabilityDescriptor::builder(
        id,
        spec.capability.as_str(),
        &spec.topic,
        spec.summary.as_str(),
    )
    .tags(spec.tags.iter().map(String::as_str))
    .modes(spec.inputs.clone(), spec.outputs.clone())
    .build(now())
    .unwrap_or_else(|e| panic!("{}: {e}", spec.capability))
}

fn descriptors() -> Vec<CapabilityDescriptor> {
    let id = Keypair::from_seed([1; 32]).id();
    vec![
        CapabilityDescriptor::builder(
            id,
            "image.generate",
            "creative/image",
            "Generate an image from a text prompt",
        )
        .tags(["image", "art"])
        .modes(["text/plain"], ["image/png", "image/jpeg"])
        .build(now())
        .unwrap(),
        CapabilityDescriptor::builder(
            id,
            "text.translate",
            "language/translation",
            "Translate a document into another language",
        )
        .tags(["translation", "french", "german"])
        .modes(["text/plain", "application/pdf"], ["text/plain"])
        .build(now())
        .unwrap(),
    ]
}

#[test]
fn export_then_import_keeps_the_mapped_fields() {
    let specs: Vec<DescriptorSpec> = descriptors()
        .iter()
        .map(DescriptorSpec::from_descriptor)
        .collect();
    let card = card_from_descriptors(
        &specs,
        &CardOptions {
            url: "https://agent.example.com/a2a".into(),
            name: Some("Studio".into()),
            ..CardOptions::default()
        },
    )
    .unwrap();
    let json = card.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The current form only, with the spec's required fields.
    assert_eq!(
        v["supportedInterfaces"][0]["url"],
        "https://agent.example.com/a2a"
    );
    assert_eq!(v["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
    assert_eq!(v["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert!(v.get("url").is_none() && v.get("protocolVersion").is_none());
    for field in [
        "name",
        "description",
        "version",
        "capabilities",
        "defaultInputModes",
        "defaultOutputModes",
        "skills",
    ] {
        assert!(v.get(field).is_some(), "{field} missing from {json}");
    }
    assert_eq!(v["name"], "Studio");
    assert_eq!(v["skills"][0]["id"], "image.generate");
    assert_eq!(v["skills"][1]["outputModes"][0], "text/plain");

    let back = descriptor_specs_from_card(&AgentCard::from_json(&json).unwrap(), None).unwrap();
    assert_eq!(back, specs);
    for (spec, orig) in back.iter().zip(descriptors()) {
        let d = build(spec);
        assert_eq!(d.capability, orig.capability);
        assert_eq!(d.topic, orig.topic);
        assert_eq!(d.intent.summary, orig.intent.summary);
        assert_eq!(d.intent.tags, orig.intent.tags);
        assert_eq!(d.io.inputs, orig.io.inputs);
        assert_eq!(d.io.outputs, orig.io.outputs);
    }
}

#[test]
fn a_hand_written_current_card_imports() {
    let card = AgentCard::from_json(&fixture("a2a_card_v1.json")).unwrap();
    assert_eq!(card.interfaces().len(), 2);
    assert_eq!(
        card.interfaces()[0].url,
        "https://recipes.example.com/a2a/v1"
    );
    // Without a default topic the skill lacking an `agentnet-topic:` tag is refused, by id.
    let err = descriptor_specs_from_card(&card, None).unwrap_err();
    assert!(
        matches!(&err, CardError::Skill { skill, .. } if skill == "meal-plan"),
        "{err}"
    );
    assert!(err.to_string().contains("--topic"), "{err}");

    let specs = descriptor_specs_from_card(&card, Some("food/planning")).unwrap();
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0].capability, "recipe-finder");
    assert_eq!(specs[0].topic, "food/recipes");
    assert_eq!(specs[0].tags, ["recipes", "cooking"]);
    assert_eq!(
        specs[0].summary,
        "Finds recipes that use the ingredients you have at hand."
    );
    assert_eq!(specs[0].inputs, ["text/plain"]);
    assert_eq!(specs[0].outputs, ["text/plain", "application/json"]);
    assert_eq!(specs[1].capability, "meal-plan");
    assert_eq!(specs[1].topic, "food/planning");
    assert_eq!(specs[1].tags, ["planning", "meal-plan"]);
    assert_eq!(specs[1].inputs, ["text/plain", "application/json"]);
    assert_eq!(specs[1].outputs, ["application/pdf"]);
    specs.iter().for_each(|s| {
        build(s);
    });
}

#[test]
fn an_older_card_with_a_top_level_url_imports() {
    let card = AgentCard::from_json(&fixture("a2a_card_v0.json")).unwrap();
    let i = card.interfaces();
    assert_eq!(i.len(), 1);
    assert_eq!(i[0].url, "https://currency.example.com/a2a");
    assert_eq!(i[0].protocol_binding, "JSONRPC");
    assert_eq!(i[0].protocol_version, "0.3.0");
    let specs = descriptor_specs_from_card(&card, Some("finance/fx")).unwrap();
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].capability, "convert_currency");
    assert_eq!(specs[0].tags, ["currency", "finance", "exchange-rates"]);
    build(&specs[0]);
}

#[test]
fn bad_cards_give_readable_errors() {
    let err = AgentCard::from_json(&fixture("a2a_card_malformed.json")).unwrap_err();
    assert!(matches!(err, CardError::Malformed(_)));
    assert!(err.to_string().starts_with("malformed agent card"), "{err}");

    let card = AgentCard::from_json(&fixture("a2a_card_no_skills.json")).unwrap();
    let err = descriptor_specs_from_card(&card, Some("misc")).unwrap_err();
    assert_eq!(err, CardError::NoSkills);
    assert_eq!(err.to_string(), "the agent card has no skills");

    let card = AgentCard::from_json(&fixture("a2a_card_bad_skill.json")).unwrap();
    let err = descriptor_specs_from_card(&card, Some("misc")).unwrap_err();
    assert!(
        matches!(&err, CardError::Skill { skill, .. } if skill == "★★★"),
        "{err}"
    );
    assert!(
        err.to_string().contains("no ASCII letter or digit"),
        "{err}"
    );

    // A topic tag that is not a topic names the skill too.
    let mut card = AgentCard::from_json(&fixture("a2a_card_v0.json")).unwrap();
    card.skills[0]
        .tags
        .push("agentnet-topic:Not A Topic".into());
    let err = descriptor_specs_from_card(&card, None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("skill \"convert_currency\": topic"),
        "{err}"
    );
}
