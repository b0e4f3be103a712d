//! `agentnet workflow`: run a small DAG of requests from a TOML file, a step's input being an
//! earlier step's result.

use super::*;

use agentnet_transport::agent::{Workflow, WorkflowStep};

/// The `workflow` command's arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct WorkflowArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// Longest wait for every step's candidates before the workflow starts, in seconds.
    #[arg(long, default_value_t = 10)]
    pub(crate) wait_secs: u64,
    /// Print one JSON object: `outcome`, `result` (the last step's) and `steps` (each with
    /// `name`, `provider`, `outcome`, `result`).
    #[arg(long)]
    pub(crate) json: bool,
    /// The workflow file (TOML; see `agentnet workflow --help`).
    pub(crate) file: PathBuf,
}

/// The workflow file format, printed by `agentnet workflow --help`.
pub(crate) const WORKFLOW_FORMAT: &str = r#"The workflow file lists steps in order; a step's input is a file (for a first step) or the
result of an earlier step (`from`):

  [[step]]
  name = "draft"
  intent = "write a haiku about the sea"
  input = "in.txt"            # a file, relative to the workflow file
  [[step]]
  name = "polish"
  intent = "proofread this text"
  from = "draft"              # the result of an earlier step
  tier = "auto"               # optional: auto, 1, 2 or 3

Each step runs the whole funnel (its own tier and fallback) and settles on its own. A step
whose input step failed is skipped. The exit status is 0 when every step succeeded.

Example:
  agentnet workflow --bootstrap 127.0.0.1:7000 --json pipeline.toml"#;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct WorkflowFile {
    step: Vec<StepFile>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    intent: String,
    input: Option<PathBuf>,
    from: Option<String>,
    #[serde(default = "auto")]
    tier: String,
}

fn auto() -> String {
    "auto".into()
}

/// Reads and checks the file before anything starts.
fn read_workflow(path: &Path) -> Result<Workflow, Box<dyn Error>> {
    let at = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {at}: {e}"))?;
    let file: WorkflowFile = toml::from_str(&text).map_err(|e| format!("{at}: {}", e.message()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut steps = Vec::new();
    for s in file.step {
        let input = match (&s.input, &s.from) {
            (Some(_), Some(_)) => {
                return Err(format!("{at}: step {:?} has both input and from", s.name).into());
            }
            (Some(f), None) => {
                let p = dir.join(f);
                Bytes::from(
                    std::fs::read(&p)
                        .map_err(|e| format!("{at}: step {:?}: {}: {e}", s.name, p.display()))?,
                )
            }
            (None, _) => Bytes::new(),
        };
        let task = task_request(&s.intent, input, &s.tier, 0.0)
            .map_err(|e| format!("{at}: step {:?}: {e}", s.name))?;
        // The same rules the agent applies, checked before a node starts.
        if steps.iter().any(|e: &WorkflowStep| e.name == s.name) {
            return Err(format!("{at}: step {:?} is named twice", s.name).into());
        }
        if let Some(f) = &s.from
            && !steps.iter().any(|e: &WorkflowStep| &e.name == f)
        {
            return Err(format!(
                "{at}: step {:?}: from {f:?} does not name an earlier step",
                s.name
            )
            .into());
        }
        let mut step = WorkflowStep::new(s.name, task);
        step.from = s.from;
        steps.push(step);
    }
    Ok(Workflow { steps })
}

pub(crate) async fn run_workflow(a: WorkflowArgs) -> Result<bool, Box<dyn Error>> {
    let wf = read_workflow(&a.file)?;
    let node = start_requester(&a.client, agent_config()).await?;
    let until = WallClock::now() + Duration::from_secs(a.wait_secs);
    for s in &wf.steps {
        await_candidates(&node, &s.task.intent, &s.task.requirements, until, None).await?;
    }
    let o = match node.workflow(wf).await {
        Ok(o) => o,
        Err(e) => {
            node.shutdown().await?;
            return Err(e.into());
        }
    };
    let ok = o.result.is_ok();
    let text = |r: Result<&Bytes, String>| r.map(|b| String::from_utf8_lossy(b).to_string());
    if a.json {
        let steps: Vec<serde_json::Value> = o
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "provider": s.outcome.as_ref().and_then(|t| t.provider).map(|p| p.to_string()),
                    "outcome": match s.result() { Ok(_) => "success".to_string(), Err(e) => e },
                    "result": text(s.result()).unwrap_or_default(),
                })
            })
            .collect();
        let out = serde_json::json!({
            "outcome": match &o.result { Ok(_) => "success".to_string(), Err(e) => e.clone() },
            "result": o.result.as_ref().map(|b| String::from_utf8_lossy(b).to_string()).unwrap_or_default(),
            "steps": steps,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for s in &o.steps {
            match text(s.result()) {
                Ok(r) => println!("{}: {}", s.name, printable(&r, false)),
                Err(e) => println!("{}: failed: {}", s.name, printable(&e, false)),
            }
        }
        match &o.result {
            Ok(r) => println!("success:\n{}", printable(&String::from_utf8_lossy(r), true)),
            Err(e) => println!("failed: {}", printable(e, false)),
        }
    }
    node.shutdown().await?;
    Ok(ok)
}
