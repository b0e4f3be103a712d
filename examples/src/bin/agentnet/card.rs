//! `agentnet card`: A2A Agent Cards from descriptor files (`export`) and descriptor files
//! from a card's skills (`import`). The mapping is documented in `agentnet_examples::a2a`.

use super::*;
use agentnet_examples::a2a::{self, AgentCard, CardOptions, DescriptorSpec};
use clap::Args;

/// `agentnet card` sub-commands.
#[derive(Subcommand, Debug)]
pub(crate) enum CardCmd {
    /// Write an A2A Agent Card (JSON, A2A 1.0 form) with one skill per descriptor file.
    #[command(
        after_help = "Example:\n  agentnet card export --descriptor image.toml \
        --descriptor translate.json --url https://agent.example.com/a2a --name \"Studio\" \
        --out card.json"
    )]
    Export(ExportArgs),
    /// Write one descriptor file (JSON) per skill of an A2A Agent Card and print their
    /// paths; announce them with `agentnet node --descriptor` or `agentnet serve
    /// --descriptor`. Accepts the A2A 1.0 form (`supportedInterfaces`) and the older one
    /// (top-level `url`).
    #[command(
        after_help = "Example:\n  agentnet card import card.json --topic tools/recipes \
        --out-dir ./descriptors"
    )]
    Import(ImportArgs),
}

/// Arguments of `agentnet card export`.
#[derive(Args, Debug)]
pub(crate) struct ExportArgs {
    /// Descriptor files to describe (TOML or JSON; repeatable; one skill each).
    #[arg(long, required = true)]
    descriptor: Vec<PathBuf>,
    /// The agent's A2A endpoint URL.
    #[arg(long)]
    url: String,
    /// Agent name (default `agentnet agent`).
    #[arg(long)]
    name: Option<String>,
    /// Agent description (default: a list of the capabilities).
    #[arg(long)]
    description: Option<String>,
    /// Agent version (default `1.0.0`).
    #[arg(long)]
    version: Option<String>,
    /// Write the card here instead of to stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `agentnet card import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// The Agent Card (JSON).
    card: PathBuf,
    /// Topic for skills without an `agentnet-topic:<topic>` tag.
    #[arg(long)]
    topic: Option<String>,
    /// Directory for the descriptor files (created if missing; existing files are not
    /// overwritten).
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
}

/// The identity descriptor files are checked against: the bounds do not depend on it.
fn check_id() -> agentnet_core::AgentId {
    Keypair::from_seed([7; 32]).id()
}

pub(crate) fn run_card(cmd: CardCmd) -> Result<(), Box<dyn Error>> {
    match cmd {
        CardCmd::Export(a) => export(a),
        CardCmd::Import(a) => import(a),
    }
}

fn export(a: ExportArgs) -> Result<(), Box<dyn Error>> {
    let mut specs = Vec::new();
    for p in &a.descriptor {
        let f = read_descriptor(p)?;
        let d = build_for(check_id(), &f).map_err(|e| format!("{}: {e}", p.display()))?;
        specs.push(DescriptorSpec::from_descriptor(&d));
    }
    let card = a2a::card_from_descriptors(
        &specs,
        &CardOptions {
            url: a.url,
            name: a.name,
            description: a.description,
            version: a.version,
        },
    )
    .map_err(|e| e.to_string())?;
    let json = card.to_json();
    match a.out {
        Some(p) => std::fs::write(&p, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?,
        None => println!("{json}"),
    }
    Ok(())
}

fn import(a: ImportArgs) -> Result<(), Box<dyn Error>> {
    let text = std::fs::read_to_string(&a.card)
        .map_err(|e| format!("cannot read {}: {e}", a.card.display()))?;
    let card = AgentCard::from_json(&text).map_err(|e| format!("{}: {e}", a.card.display()))?;
    let specs = a2a::descriptor_specs_from_card(&card, a.topic.as_deref())
        .map_err(|e| format!("{}: {e}", a.card.display()))?;
    // Every file is written to a scratch directory and read back the way `--descriptor`
    // reads it before any lands in the output directory: all skills import, or none.
    let scratch = tempfile::tempdir()?;
    let mut ready = Vec::new();
    for (skill, spec) in card.skills.iter().zip(&specs) {
        let name = format!("{}.json", spec.capability);
        let tmp = scratch.path().join(&name);
        std::fs::write(&tmp, spec.to_json() + "\n")?;
        read_descriptor(&tmp)
            .and_then(|f| build_for(check_id(), &f))
            .map_err(|e| format!("skill {:?}: not a valid descriptor: {e}", skill.id))?;
        let dest = a.out_dir.join(&name);
        if dest.exists() {
            return Err(format!(
                "skill {:?}: {} exists already; not overwritten",
                skill.id,
                dest.display()
            )
            .into());
        }
        ready.push((tmp, dest));
    }
    std::fs::create_dir_all(&a.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", a.out_dir.display()))?;
    for (tmp, dest) in ready {
        std::fs::copy(&tmp, &dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
        println!("{}", dest.display());
    }
    Ok(())
}
