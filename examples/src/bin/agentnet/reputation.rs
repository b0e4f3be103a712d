//! `agentnet reputation`: the scores a stopped node's data directory holds.

use super::*;

pub(crate) async fn run_reputation(
    net: Net,
    data_dir: PathBuf,
    topic: Option<String>,
    json: bool,
) -> Result<(), Box<dyn Error>> {
    if !data_dir
        .join(agentnet_transport::store::STORE_FILE)
        .exists()
    {
        return Err(format!("{} holds no agentnet node", data_dir.display()).into());
    }
    let topic = topic
        .map(|t| Topic::new(&t).map_err(|e| format!("--topic {t}: {e}")))
        .transpose()?;
    let node = start_node(Start {
        net: &net,
        data_dir: Some(&data_dir),
        interest: InterestProfile::none(),
        config: NodeConfig {
            agent: agent_config(),
            ..NodeConfig::default()
        },
        lie: false,
    })
    .await?;
    let table: Vec<_> = node
        .reputation_table()
        .await?
        .into_iter()
        .filter(|(t, ..)| topic.as_ref().is_none_or(|want| want == t))
        .collect();
    if json {
        let rows: Vec<_> = table
            .iter()
            .map(|(t, a, s, c)| {
                serde_json::json!({"topic": t.as_str(), "agent": a.to_string(), "score": s, "convicted": c})
            })
            .collect();
        let out = serde_json::json!({"agent": node.id().to_string(), "scores": rows});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("reputation as {} sees it:", node.id());
        for (t, a, s, c) in &table {
            println!(
                "  {:<24} {a}  {s:.4}{}",
                t.as_str(),
                if *c { "  convicted" } else { "" }
            );
        }
        if table.is_empty() {
            println!("  (nothing recorded)");
        }
    }
    node.shutdown().await?;
    Ok(())
}
