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

pub(crate) fn read_descriptor(path: &Path) -> Result<DescriptorFile, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let parsed: DescriptorFile = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    Ok(parsed)
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
    let d = QosVector::default();
    let qos = QosVector {
        latency_ms: f.qos.latency_ms.unwrap_or(d.latency_ms),
        success_bp: f.qos.success_bp.unwrap_or(d.success_bp),
        cost_micros: f.qos.cost_micros.unwrap_or(d.cost_micros),
        availability_bp: f.qos.availability_bp.unwrap_or(d.availability_bp),
        load_bp: f.qos.load_bp.unwrap_or(d.load_bp),
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
