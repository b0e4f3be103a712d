//! A2A Agent Cards from and to capability descriptors.
//!
//! An [A2A](https://a2a-protocol.org) Agent Card is the JSON document an A2A agent publishes
//! to say who it is, where it is reached and which skills it has. [`card_from_descriptors`]
//! writes one for a provider's capabilities; [`descriptor_specs_from_card`] turns a card's
//! skills back into descriptor *files* (the format `agentnet node --descriptor` and
//! `agentnet serve --descriptor` read). Import makes files rather than descriptors because a
//! descriptor names its provider and travels signed by it: the node that announces the
//! imported files signs them with its own key.
//!
//! # Card format
//!
//! [`AgentCard`] follows the A2A 1.0 specification (`specification/a2a.proto`, JSON names
//! in camelCase). Reading is lenient: unknown fields are ignored, and both the current form
//! (`supportedInterfaces: [{url, protocolBinding, protocolVersion}]`) and the older 0.x form
//! (top-level `url`, `preferredTransport`, `protocolVersion`) are accepted; an older card is
//! read as one interface ([`AgentCard::interfaces`]). Writing produces the current form
//! only: a 1.0 card has no top-level `url`, and strict ProtoJSON readers refuse fields the
//! schema does not name, so adding the older fields "for old clients" would break new ones.
//! Exported cards use the `JSONRPC` binding and protocol version [`PROTOCOL_VERSION`].
//!
//! # Mapping
//!
//! | Descriptor (file)         | A2A card                              | Export (descriptor → card)                                   | Import (card → descriptor file)                                                                 |
//! |---------------------------|---------------------------------------|--------------------------------------------------------------|-------------------------------------------------------------------------------------------------|
//! | `capability`              | `skills[].id`                         | copied                                                       | sanitized ([`capability_from_skill_id`]); an id that cannot become a capability is an error    |
//! | `capability`              | `skills[].name`                       | copied (a descriptor has no display name)                    | lost (only used as the summary when `description` is empty)                                    |
//! | `intent.summary`          | `skills[].description`                | copied                                                       | trimmed, cut to 512 bytes at a character boundary                                               |
//! | `intent.tags`             | `skills[].tags`                       | copied                                                       | lower-cased, whitespace → `-`; empty, over-32-byte and duplicate tags dropped; first 16 kept   |
//! | `topic`                   | `skills[].tags` `agentnet-topic:<t>`  | added as the first tag                                       | taken from the first such tag, else the `default_topic` (`--topic`); neither is an error        |
//! | `io.inputs`               | `skills[].inputModes`                 | copied                                                       | skill modes, else `defaultInputModes`; malformed modes dropped, first 8 kept; none is an error |
//! | `io.outputs`              | `skills[].outputModes`                | copied                                                       | as inputs, with `defaultOutputModes`                                                            |
//! | —                         | `defaultInput/OutputModes`            | the first descriptor's modes                                 | used for skills that list none                                                                  |
//! | —                         | `name`, `description`, `version`      | from options (defaults: `agentnet agent`, a list of the capabilities, `1.0.0`) | lost                                                         |
//! | `endpoints`, `provider`   | `supportedInterfaces[].url`           | lost: the url is the one given (`--url`)                     | lost: the announcing node fills in its own identity                                             |
//! | —                         | `skills[].examples`                   | empty                                                        | lost                                                                                            |
//! | `qos`, `constraints` (price, privacy, jurisdictions, retention, side effects), `trust`, `ttl`, `issued_at`, `io.schema`, `intent.embedding` | — | lost | absent: the file's defaults apply (QoS defaults, `side_effects = "none"`, `ttl_secs = 600`); review them before announcing |
//! | —                         | `capabilities`, `provider`, `securitySchemes`, `signatures`, `iconUrl`, `documentationUrl` | `capabilities` all false, the rest absent | lost                                          |
//!
//! So an export followed by an import keeps, per capability: the capability name, the
//! summary, the tags, the topic and the input/output modes (given they were within the
//! descriptor bounds to begin with, which every valid descriptor is). A2A's extension
//! mechanism (`capabilities.extensions`) could carry QoS, price and trust claims, but they are
//! unsigned claims in a card anyone can copy, so they are not exported.

use agentnet_core::descriptor::{CapabilityDescriptor, Topic, bounds};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The A2A protocol version exported cards declare.
pub const PROTOCOL_VERSION: &str = "1.0";
/// The protocol binding exported cards declare.
pub const PROTOCOL_BINDING: &str = "JSONRPC";
/// The tag prefix that carries a descriptor's topic in a skill's tags.
pub const TOPIC_TAG_PREFIX: &str = "agentnet-topic:";
/// The media type used when neither descriptor nor card names one.
pub const DEFAULT_MODE: &str = "text/plain";

/// An A2A Agent Card (the fields this mapping reads or writes; others are ignored on read).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCard {
    /// Human-readable name of the agent.
    #[serde(default)]
    pub name: String,
    /// Human-readable description of the agent.
    #[serde(default)]
    pub description: String,
    /// Where and how the agent is reached; the first entry is preferred (A2A 1.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_interfaces: Vec<AgentInterface>,
    /// Older (0.x) cards: the preferred endpoint. Read, never written.
    #[serde(default, skip_serializing)]
    pub url: Option<String>,
    /// Older (0.x) cards: the transport of `url`. Read, never written.
    #[serde(default, skip_serializing)]
    pub preferred_transport: Option<String>,
    /// Older (0.x) cards: the protocol version. Read, never written.
    #[serde(default, skip_serializing)]
    pub protocol_version: Option<String>,
    /// The organisation behind the agent, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<AgentProvider>,
    /// The agent's version.
    #[serde(default)]
    pub version: String,
    /// Documentation URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// Optional A2A features the agent supports.
    #[serde(default)]
    pub capabilities: AgentCapabilities,
    /// Media types accepted by skills that name none.
    #[serde(default)]
    pub default_input_modes: Vec<String>,
    /// Media types produced by skills that name none.
    #[serde(default)]
    pub default_output_modes: Vec<String>,
    /// The agent's skills.
    #[serde(default)]
    pub skills: Vec<AgentSkill>,
    /// Icon URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

/// One way to reach an agent: URL, protocol binding and protocol version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentInterface {
    /// Endpoint URL (or `host:port` for gRPC).
    #[serde(default)]
    pub url: String,
    /// `JSONRPC`, `GRPC`, `HTTP+JSON` or a binding URI.
    #[serde(default)]
    pub protocol_binding: String,
    /// A2A protocol version served there (`1.0`).
    #[serde(default)]
    pub protocol_version: String,
}

/// The organisation that provides an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentProvider {
    /// The organisation's name.
    #[serde(default)]
    pub organization: String,
    /// The organisation's URL.
    #[serde(default)]
    pub url: String,
}

/// Optional A2A features (streaming, push notifications, extended card).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCapabilities {
    /// Streams responses.
    #[serde(default)]
    pub streaming: bool,
    /// Sends push notifications.
    #[serde(default)]
    pub push_notifications: bool,
    /// Offers an extended card to authenticated clients.
    #[serde(default)]
    pub extended_agent_card: bool,
}

/// One skill of an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSkill {
    /// Unique identifier of the skill.
    #[serde(default)]
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// What the skill does.
    #[serde(default)]
    pub description: String,
    /// Keywords.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Example prompts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Accepted media types (overrides the card's defaults).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_modes: Vec<String>,
    /// Produced media types (overrides the card's defaults).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_modes: Vec<String>,
}

impl AgentCard {
    /// Parse a card from JSON (either form; unknown fields ignored).
    pub fn from_json(text: &str) -> Result<AgentCard, CardError> {
        serde_json::from_str(text).map_err(|e| CardError::Malformed(e.to_string()))
    }

    /// The card as pretty-printed JSON (current form).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a card always serializes")
    }

    /// The card's interfaces: `supportedInterfaces`, or for an older card the one made of
    /// its top-level `url`, `preferredTransport` (default `JSONRPC`) and `protocolVersion`.
    pub fn interfaces(&self) -> Vec<AgentInterface> {
        if !self.supported_interfaces.is_empty() {
            return self.supported_interfaces.clone();
        }
        match &self.url {
            Some(url) => vec![AgentInterface {
                url: url.clone(),
                protocol_binding: self
                    .preferred_transport
                    .clone()
                    .unwrap_or_else(|| PROTOCOL_BINDING.into()),
                protocol_version: self.protocol_version.clone().unwrap_or_default(),
            }],
            None => Vec::new(),
        }
    }
}

/// The content of one descriptor file, as the CLI reads it (`--descriptor`): the fields the
/// card mapping reaches. Serialized as JSON it is a valid descriptor file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptorSpec {
    /// Capability name (`image.generate`).
    pub capability: String,
    /// Topic (`creative/image`).
    pub topic: String,
    /// Intent summary.
    pub summary: String,
    /// Intent tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Input media types (empty: `text/plain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Output media types (empty: `text/plain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
}

impl DescriptorSpec {
    /// The mapped fields of a (built) descriptor.
    pub fn from_descriptor(d: &CapabilityDescriptor) -> DescriptorSpec {
        DescriptorSpec {
            capability: d.capability.clone(),
            topic: d.topic.as_str().to_owned(),
            summary: d.intent.summary.clone(),
            tags: d.intent.tags.clone(),
            inputs: d.io.inputs.clone(),
            outputs: d.io.outputs.clone(),
        }
    }

    /// The descriptor file text (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a descriptor spec always serializes")
    }

    fn inputs_or_default(&self) -> Vec<String> {
        or_default_mode(&self.inputs)
    }

    fn outputs_or_default(&self) -> Vec<String> {
        or_default_mode(&self.outputs)
    }
}

fn or_default_mode(m: &[String]) -> Vec<String> {
    if m.is_empty() {
        vec![DEFAULT_MODE.into()]
    } else {
        m.to_vec()
    }
}

/// Card-level fields a descriptor does not hold.
#[derive(Clone, Debug, Default)]
pub struct CardOptions {
    /// The agent's A2A endpoint URL (required).
    pub url: String,
    /// Agent name (default `agentnet agent`).
    pub name: Option<String>,
    /// Agent description (default: a list of the capabilities).
    pub description: Option<String>,
    /// Agent version (default `1.0.0`).
    pub version: Option<String>,
}

/// Why a card could not be made or read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CardError {
    /// The card is not valid JSON of the card's shape.
    #[error("malformed agent card: {0}")]
    Malformed(String),
    /// The card has no skills, so there is nothing to import.
    #[error("the agent card has no skills")]
    NoSkills,
    /// Export was given no descriptors.
    #[error("no descriptors to export")]
    NoDescriptors,
    /// Export was given an empty URL.
    #[error("the agent card needs a url")]
    NoUrl,
    /// A skill (named by its id) could not become a descriptor file.
    #[error("skill {skill:?}: {reason}")]
    Skill {
        /// The skill's id as the card gives it.
        skill: String,
        /// What is wrong, in words.
        reason: String,
    },
}

fn skill_err(skill: &str, reason: impl Into<String>) -> CardError {
    CardError::Skill {
        skill: skill.to_owned(),
        reason: reason.into(),
    }
}

/// Write an Agent Card for `descs` (one skill per descriptor, in order).
pub fn card_from_descriptors(
    descs: &[DescriptorSpec],
    opts: &CardOptions,
) -> Result<AgentCard, CardError> {
    let first = descs.first().ok_or(CardError::NoDescriptors)?;
    if opts.url.trim().is_empty() {
        return Err(CardError::NoUrl);
    }
    let names: Vec<&str> = descs.iter().map(|d| d.capability.as_str()).collect();
    let skills = descs
        .iter()
        .map(|d| {
            // The topic tag comes first: on import the first topic tag wins.
            let mut tags = vec![format!("{TOPIC_TAG_PREFIX}{}", d.topic)];
            tags.extend(d.tags.iter().cloned());
            AgentSkill {
                id: d.capability.clone(),
                name: d.capability.clone(),
                description: d.summary.clone(),
                tags,
                examples: Vec::new(),
                input_modes: d.inputs_or_default(),
                output_modes: d.outputs_or_default(),
            }
        })
        .collect();
    Ok(AgentCard {
        name: opts.name.clone().unwrap_or_else(|| "agentnet agent".into()),
        description: opts
            .description
            .clone()
            .unwrap_or_else(|| format!("agentnet provider of: {}", names.join(", "))),
        supported_interfaces: vec![AgentInterface {
            url: opts.url.clone(),
            protocol_binding: PROTOCOL_BINDING.into(),
            protocol_version: PROTOCOL_VERSION.into(),
        }],
        version: opts.version.clone().unwrap_or_else(|| "1.0.0".into()),
        capabilities: AgentCapabilities::default(),
        default_input_modes: first.inputs_or_default(),
        default_output_modes: first.outputs_or_default(),
        skills,
        ..AgentCard::default()
    })
}

/// The capability name a skill id becomes: ASCII lower-cased, every run of characters
/// outside `[a-z0-9._-]` replaced by one `-`, leading and trailing `.`/`-` removed. An id
/// that leaves no letter or digit, or more than 64 bytes, is refused (it is not cut: two
/// long ids could become one capability).
pub fn capability_from_skill_id(id: &str) -> Result<String, String> {
    let mut out = String::new();
    for c in id.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(|c| c == '.' || c == '-').to_owned();
    if !out.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return Err("the id has no ASCII letter or digit to make a capability name of".into());
    }
    if out.len() > bounds::NAME_MAX {
        return Err(format!(
            "the id makes a capability name of {} bytes; at most {} fit",
            out.len(),
            bounds::NAME_MAX
        ));
    }
    Ok(out)
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn clean_modes(skill: &[String], defaults: &[String]) -> Vec<String> {
    let src = if skill.is_empty() { defaults } else { skill };
    let mut out: Vec<String> = Vec::new();
    for m in src {
        let m = m.trim();
        if m.is_empty()
            || m.len() > bounds::MODE_LEN_MAX
            || m.chars().any(|c| c.is_whitespace() || c.is_control())
            || out.iter().any(|o| o == m)
        {
            continue;
        }
        out.push(m.to_owned());
        if out.len() == bounds::MODES_MAX {
            break;
        }
    }
    out
}

/// Turn a card's skills into descriptor files, one per skill, in order. Skills whose tags
/// carry no `agentnet-topic:` tag take `default_topic`. See the module docs for the rules.
pub fn descriptor_specs_from_card(
    card: &AgentCard,
    default_topic: Option<&str>,
) -> Result<Vec<DescriptorSpec>, CardError> {
    if card.skills.is_empty() {
        return Err(CardError::NoSkills);
    }
    let mut out: Vec<DescriptorSpec> = Vec::new();
    for s in &card.skills {
        let capability = capability_from_skill_id(&s.id).map_err(|r| skill_err(&s.id, r))?;
        if out.iter().any(|d| d.capability == capability) {
            return Err(skill_err(
                &s.id,
                format!("capability {capability:?} is already made by an earlier skill"),
            ));
        }
        let mut topic = None;
        let mut tags: Vec<String> = Vec::new();
        for t in &s.tags {
            if let Some(rest) = t.trim().strip_prefix(TOPIC_TAG_PREFIX) {
                topic.get_or_insert_with(|| rest.to_owned());
                continue;
            }
            let t: String = t
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .map(|c| if c.is_whitespace() { '-' } else { c })
                .flat_map(char::to_lowercase)
                .collect();
            if t.is_empty()
                || t.len() > bounds::TAG_LEN_MAX
                || t.chars().any(char::is_uppercase)
                || tags.contains(&t)
                || tags.len() == bounds::TAGS_MAX
            {
                continue;
            }
            tags.push(t);
        }
        let topic = match topic.or_else(|| default_topic.map(str::to_owned)) {
            Some(t) => Topic::new(t.clone())
                .map_err(|e| skill_err(&s.id, format!("topic {t:?}: {e}")))?
                .as_str()
                .to_owned(),
            None => {
                return Err(skill_err(
                    &s.id,
                    format!(
                        "no topic: the skill has no {TOPIC_TAG_PREFIX} tag; give a default topic (--topic)"
                    ),
                ));
            }
        };
        let text = if s.description.trim().is_empty() {
            s.name.trim()
        } else {
            s.description.trim()
        };
        let summary = cut(text, bounds::SUMMARY_MAX);
        if summary.trim().is_empty() {
            return Err(skill_err(&s.id, "neither a description nor a name"));
        }
        let inputs = clean_modes(&s.input_modes, &card.default_input_modes);
        let outputs = clean_modes(&s.output_modes, &card.default_output_modes);
        if inputs.is_empty() || outputs.is_empty() {
            return Err(skill_err(
                &s.id,
                "no usable input or output mode (neither the skill nor the card's defaults name a media type)",
            ));
        }
        out.push(DescriptorSpec {
            capability,
            topic,
            summary,
            tags,
            inputs,
            outputs,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_ids_become_capabilities() {
        assert_eq!(
            capability_from_skill_id("Recipe Finder").unwrap(),
            "recipe-finder"
        );
        assert_eq!(
            capability_from_skill_id("image.generate").unwrap(),
            "image.generate"
        );
        assert_eq!(capability_from_skill_id(" .a/b. ").unwrap(), "a-b");
        assert!(capability_from_skill_id("日本語").is_err());
        assert!(capability_from_skill_id(&"a".repeat(65)).is_err());
    }

    #[test]
    fn long_summaries_are_cut_on_a_char_boundary() {
        let s = "é".repeat(400);
        let c = cut(&s, bounds::SUMMARY_MAX);
        assert!(c.len() <= bounds::SUMMARY_MAX && s.starts_with(&c));
    }
}
