//! The files the CLI reads: capability descriptor files (TOML or JSON) and canary files
//! (JSON lines).

use super::*;

/// A descriptor file. Its JSON schema (the field docs are the descriptions) is the
/// argument schema of the MCP `announce` tool, which takes the same object.
#[derive(Deserialize, Debug, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct DescriptorFile {
    /// Name of the capability, unique per provider (`text.shout`).
    pub(crate) capability: String,
    /// Topic it is announced in, `/`-separated (`text/transform`).
    pub(crate) topic: String,
    /// What it does, in plain words (requesters' intents are matched against it).
    pub(crate) summary: String,
    /// Keywords.
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    /// Input media types (default `["text/plain"]`).
    #[serde(default)]
    pub(crate) inputs: Vec<String>,
    /// Output media types (default `["text/plain"]`).
    #[serde(default)]
    pub(crate) outputs: Vec<String>,
    /// Lifetime of one announcement, seconds (re-issued before it expires).
    #[serde(default = "default_ttl")]
    pub(crate) ttl_secs: u64,
    /// Strongest effect outside itself: `none` (default), `read_only`, `reversible` or
    /// `irreversible`.
    #[serde(default)]
    #[schemars(schema_with = "side_effects_schema")]
    pub(crate) side_effects: Option<SideEffects>,
    /// Claimed quality of service.
    #[serde(default)]
    pub(crate) qos: QosFile,
}

/// Claimed quality of service; every field optional.
#[derive(Deserialize, Debug, Default, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct QosFile {
    /// Typical latency, milliseconds.
    pub(crate) latency_ms: Option<u32>,
    /// Success rate, basis points (10000 = always).
    pub(crate) success_bp: Option<u16>,
    /// Price per call, micro-units.
    pub(crate) cost_micros: Option<u64>,
    /// Availability, basis points.
    pub(crate) availability_bp: Option<u16>,
    /// Current load, basis points.
    pub(crate) load_bp: Option<u16>,
}

/// `SideEffects` lives in agentnet-core, which does not depend on schemars: its schema is
/// written here, from its serde names.
fn side_effects_schema(_: &mut rmcp::schemars::SchemaGenerator) -> rmcp::schemars::Schema {
    rmcp::schemars::json_schema!({
        "type": ["string", "null"],
        "enum": ["none", "read_only", "reversible", "irreversible", null],
    })
}

pub(crate) fn default_ttl() -> u64 {
    600
}

/// Reads and checks a descriptor file: `.toml` or `.json` only, every field within the
/// bounds peers enforce. Errors name the file and the file's own field names, with the
/// allowed range and its unit, so they can be fixed without reading the source.
pub(crate) fn read_descriptor(path: &Path) -> Result<DescriptorFile, Box<dyn Error>> {
    let at = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {at}: {e}"))?;
    let parsed: DescriptorFile = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str(&text).map_err(|e| {
            // The parser's one-line message, with the line it points at (a missing field
            // points at the start, which says nothing).
            match e.span().filter(|s| s.start > 0) {
                Some(s) => {
                    let before = &text.as_bytes()[..s.start.min(text.len())];
                    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                    format!("{at}, line {line}: {}", e.message())
                }
                None => format!("{at}: {}", e.message()),
            }
        })?,
        Some("json") => serde_json::from_str(&text).map_err(|e| format!("{at}: {e}"))?,
        other => {
            return Err(format!(
                "{at}: unknown descriptor file type {}; use .toml or .json",
                other.map_or_else(|| "(no extension)".to_owned(), |e| format!(".{e}"))
            )
            .into());
        }
    };
    let rules = agentnet_core::descriptor::DescriptorRules::default();
    let (min, max) = (rules.min_ttl.as_secs(), rules.max_ttl.as_secs());
    if !(min..=max).contains(&parsed.ttl_secs) {
        return Err(format!(
            "{at}: ttl_secs = {} is outside {min}..={max} seconds (peers refuse other lifetimes; \
             the node re-announces before it ends)",
            parsed.ttl_secs
        )
        .into());
    }
    build_for(Keypair::from_seed([7; 32]).id(), &parsed)
        .map_err(|e| format!("{at}: {}", file_error(e)))?;
    Ok(parsed)
}

/// A descriptor error in the words of the file: its field names, units and rules.
fn file_error(e: Box<dyn Error>) -> String {
    use agentnet_core::descriptor::DescriptorError as D;
    let Some(d) = e.downcast_ref::<D>() else {
        return e.to_string();
    };
    let field = |f: &str| {
        match f {
            "intent.summary" => "summary",
            "intent.tags" => "tags",
            "io.inputs" => "inputs",
            "io.outputs" => "outputs",
            "io.modes" => "inputs/outputs",
            "ttl_ms" => "ttl_secs",
            other => other,
        }
        .to_owned()
    };
    match d {
        D::Missing(f) => format!("{} is empty; it is required", field(f)),
        D::TooLong { field: f, len, max } => {
            format!("{} is {len} bytes long; at most {max} bytes", field(f))
        }
        D::TooMany { field: f, len, max } => {
            format!("{} has {len} entries; at most {max}", field(f))
        }
        D::OutOfRange {
            field: f,
            value,
            min,
            max,
        } => {
            let unit = if f.ends_with("_bp") {
                " basis points (10000 = 100 %)"
            } else {
                ""
            };
            format!("{} = {value} is outside {min}..={max}{unit}", field(f))
        }
        D::Malformed { field: f, value } => {
            let rule = match *f {
                "capability" => "lower-case letters, digits, '.', '_' and '-'",
                "intent.tags" => "lower-case letters, digits and '-', no spaces",
                "io.modes" => "media types such as text/plain",
                _ => "see the descriptor format in agentnet --help",
            };
            format!("{} {value:?} is malformed: use {rule}", field(f))
        }
        D::InvalidTopic(t) => format!(
            "topic {t:?} is not a topic: 1 to 8 segments separated by '/', each of lower-case \
             letters, digits, '_' and '-', at most 128 bytes in all"
        ),
        other => other.to_string(),
    }
}

pub(crate) fn build(
    node: &Node,
    f: &DescriptorFile,
) -> Result<CapabilityDescriptor, Box<dyn Error>> {
    build_for(node.id(), f)
}

/// The descriptor a file makes for `provider` (unsigned; checked against every bound).
pub(crate) fn build_for(
    provider: agentnet_core::AgentId,
    f: &DescriptorFile,
) -> Result<CapabilityDescriptor, Box<dyn Error>> {
    // What the file leaves out stays unknown: no value is claimed for the author.
    let qos = QosVector {
        latency_ms: f.qos.latency_ms,
        success_bp: f.qos.success_bp,
        cost_micros: f.qos.cost_micros,
        availability_bp: f.qos.availability_bp,
        load_bp: f.qos.load_bp,
    };
    let constraints = Constraints {
        side_effects: f.side_effects.unwrap_or(SideEffects::None),
        ..Constraints::default()
    };
    let mut b = CapabilityDescriptor::builder(
        provider,
        f.capability.as_str(),
        &f.topic,
        f.summary.as_str(),
    )
    .tags(f.tags.iter().map(String::as_str))
    .qos(qos)
    .constraints(constraints)
    .ttl(Duration::from_secs(f.ttl_secs));
    if !f.inputs.is_empty() || !f.outputs.is_empty() {
        let or_text = |m: &[String]| {
            if m.is_empty() {
                vec!["text/plain".to_owned()]
            } else {
                m.to_vec()
            }
        };
        b = b.modes(or_text(&f.inputs), or_text(&f.outputs));
    }
    Ok(b.build(SystemClock::new().now())?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CanaryLine {
    pub(crate) input: String,
    pub(crate) expected: String,
}

pub(crate) fn read_canaries(path: &Path) -> Result<Vec<CanaryCase>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let c: CanaryLine = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
        out.push(CanaryCase::new(c.input, c.expected).ignoring_trailing_newline());
    }
    Ok(out)
}
