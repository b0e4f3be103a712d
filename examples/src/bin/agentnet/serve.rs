//! `agentnet serve`: run a node that offers one capability by running a command per task.

use super::*;

pub(crate) struct ServeArgs {
    pub(crate) net: Net,
    pub(crate) descriptors: Vec<PathBuf>,
    pub(crate) data_dir: PathBuf,
    pub(crate) exec: String,
    pub(crate) exec_timeout: Duration,
    pub(crate) seconds: Option<u64>,
    pub(crate) lie: bool,
}

/// Run `cmd` with `sh -c`, `input` on stdin; stdout is the result.
pub(crate) async fn exec(
    cmd: &str,
    task: &ExecuteTask,
    input: &[u8],
    timeout: Duration,
) -> Executed {
    use tokio::io::AsyncWriteExt;
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("AGENTNET_CAPABILITY", &task.capability)
        .env("AGENTNET_TOPIC", task.topic.as_str())
        .env("AGENTNET_INTENT", &task.intent)
        .env("AGENTNET_REQUESTER", task.requester.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Executed::Failed(format!("cannot start {cmd:?}: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let input = input.to_vec();
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
    }
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => Executed::Failed(format!("{cmd:?} ran past {timeout:?}")),
        Ok(Err(e)) => Executed::Failed(format!("{cmd:?}: {e}")),
        Ok(Ok(out)) if !out.status.success() => {
            Executed::Failed(format!("{cmd:?} exited with {}", out.status))
        }
        Ok(Ok(out)) => Executed::Done {
            result: Bytes::from(out.stdout),
            tools: Vec::new(),
        },
    }
}

pub(crate) async fn run_serve(a: ServeArgs) -> Result<(), Box<dyn Error>> {
    let files = a
        .descriptors
        .iter()
        .map(|p| read_descriptor(p))
        .collect::<Result<Vec<_>, _>>()?;
    let node = start_node(Start {
        net: &a.net,
        data_dir: Some(&a.data_dir),
        interest: InterestProfile::none(),
        config: NodeConfig {
            agent: agent_config(),
            follow_peer_topics: true,
            ..NodeConfig::default()
        },
        lie: a.lie,
    })
    .await?;
    print_listening(&node);
    for f in &files {
        let cmd = a.exec.clone();
        let timeout = a.exec_timeout;
        node.serve(build(&node, f)?, move |task, input| {
            let cmd = cmd.clone();
            async move { exec(&cmd, &task, &input, timeout).await }
        })
        .await?;
        println!("serving {} in {}", f.capability, f.topic);
    }
    run_until_stopped(node, a.seconds).await
}
