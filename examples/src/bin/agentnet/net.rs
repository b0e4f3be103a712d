//! The transport a command's node runs over (`--transport tcp|libp2p` and the libp2p-only
//! flags) and the one start-up path every command's node goes through.

use super::*;

use agentnet_core::semantic::RemoteEncoderLimits;
use agentnet_transport::Embedder;
use agentnet_transport::libp2p::{Libp2pConfig, Libp2pTransport, parse_addr};
use agentnet_transport::llm::{OpenAiConfig, OpenAiEmbeddings};

/// Which transport a node runs over.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TransportKind {
    /// Noise XX over TCP; addresses are `host:port`.
    #[default]
    Tcp,
    /// rust-libp2p: TCP + Noise + Yamux and QUIC, Kademlia discovery, relays and hole
    /// punching; addresses are multiaddrs (`/ip4/1.2.3.4/tcp/7100/p2p/12D3…`) or `host:port`.
    Libp2p,
}

/// `--transport`, shared by every command that starts a node.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct TransportArg {
    /// Transport: `tcp` (addresses `host:port`) or `libp2p` (addresses are multiaddrs such as
    /// `/ip4/0.0.0.0/tcp/7100` or `/ip4/0.0.0.0/udp/7100/quic-v1`, or `host:port`; a
    /// node's address is printed with its `/p2p/<peer id>`). All peers of one network use
    /// the same transport.
    #[arg(long, value_enum, default_value_t = TransportKind::Tcp)]
    pub(crate) transport: TransportKind,
}

/// `--embeddings-url` and `--embeddings-model`, for commands whose node ranks intents.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct EmbedArgs {
    /// Match intents by meaning with an embedding model: the API root of an
    /// OpenAI-compatible server (`http://127.0.0.1:8081/v1`) whose `/embeddings` embeds
    /// descriptors and intents. Default: the built-in lexical encoder, which matches words,
    /// not meaning.
    #[arg(long, value_name = "URL")]
    pub(crate) embeddings_url: Option<String>,
    /// The embedding model's name on that server.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "embeddings_url"
    )]
    pub(crate) embeddings_model: String,
}

/// Flags only `--transport libp2p` takes, for commands that run a long-lived node.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct Libp2pArgs {
    /// libp2p only: listen through this relay too (`/…/p2p/<relay peer id>` of a node run
    /// with `--relay-server`), to be reachable from behind a NAT (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub(crate) relay: Vec<String>,
    /// libp2p only: serve as a relay for nodes behind NATs (for a publicly reachable node).
    #[arg(long)]
    pub(crate) relay_server: bool,
    /// libp2p only: an address others reach this node at (a public IP or a forwarded port),
    /// announced to peers and printed as the node's address (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub(crate) external: Vec<String>,
}

/// Where and how a node joins the network.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub(crate) transport: TransportKind,
    /// `--listen`: `host:port` for TCP; a multiaddr or `host:port` for libp2p.
    pub(crate) listen: String,
    pub(crate) bootstrap: Vec<String>,
    pub(crate) libp2p: Libp2pArgs,
    /// A short-lived client (discover, request, reputation): with libp2p it stays a
    /// Kademlia client, so peers do not keep it in their routing tables after it exits.
    pub(crate) client: bool,
    /// `--embeddings-url` and `--embeddings-model`.
    pub(crate) embeddings: Option<(String, String)>,
}

impl Net {
    /// A long-lived node listening at `listen`.
    pub(crate) fn server(
        transport: TransportKind,
        listen: String,
        bootstrap: Vec<String>,
        libp2p: Libp2pArgs,
    ) -> Net {
        Net {
            transport,
            listen,
            bootstrap,
            libp2p,
            client: false,
            embeddings: None,
        }
    }

    /// The same, embedding with the model `--embeddings-url` names, if any.
    pub(crate) fn embeddings(mut self, t: &EmbedArgs) -> Net {
        self.embeddings = t
            .embeddings_url
            .clone()
            .map(|u| (u, t.embeddings_model.clone()));
        self
    }

    /// A short-lived client listening on loopback at any free port.
    pub(crate) fn client(transport: TransportKind, bootstrap: Vec<String>) -> Net {
        let listen = match transport {
            TransportKind::Tcp => "127.0.0.1:0",
            TransportKind::Libp2p => "/ip4/127.0.0.1/tcp/0",
        };
        Net {
            transport,
            listen: listen.to_string(),
            bootstrap,
            libp2p: Libp2pArgs::default(),
            client: true,
            embeddings: None,
        }
    }
}

/// A checked transport configuration.
#[derive(Debug)]
enum Chosen {
    Tcp(TcpConfig),
    Libp2p(Libp2pConfig),
}

/// Check the flags against the transport and build its configuration.
fn choose(net: &Net) -> Result<Chosen, Box<dyn Error>> {
    match net.transport {
        TransportKind::Tcp => {
            let p = &net.libp2p;
            let used = [
                ("--relay", !p.relay.is_empty()),
                ("--relay-server", p.relay_server),
                ("--external", !p.external.is_empty()),
            ];
            if let Some((flag, _)) = used.iter().find(|(_, on)| *on) {
                return Err(format!("{flag} needs --transport libp2p").into());
            }
            let listen = net
                .listen
                .parse()
                .map_err(|e| format!("--listen {}: {e}", net.listen))?;
            // An address that can never be dialed is an error now, not a redial forever.
            for b in &net.bootstrap {
                agentnet_transport::tcp::check_address(b).map_err(|_| {
                    format!("--bootstrap {b}: expected host:port, such as 127.0.0.1:7000")
                })?;
            }
            Ok(Chosen::Tcp(TcpConfig {
                listen: Some(listen),
                ..TcpConfig::default()
            }))
        }
        TransportKind::Libp2p => {
            let parse_all = |flag: &str, addrs: &[String]| {
                addrs
                    .iter()
                    .map(|a| parse_addr(a).map_err(|e| format!("{flag}: {e}")))
                    .collect::<Result<Vec<_>, _>>()
            };
            let listen = parse_all("--listen", std::slice::from_ref(&net.listen))?;
            // Checked here for a clear message; the node dials the strings as given.
            parse_all("--bootstrap", &net.bootstrap)?;
            Ok(Chosen::Libp2p(Libp2pConfig {
                listen,
                relays: parse_all("--relay", &net.libp2p.relay)?,
                external_addrs: parse_all("--external", &net.libp2p.external)?,
                relay_server: net.libp2p.relay_server,
                kad_server: !net.client,
                ..Libp2pConfig::default()
            }))
        }
    }
}

/// What a command's node is started with besides its transport.
pub(crate) struct Start<'a> {
    pub(crate) net: &'a Net,
    /// Where the node keeps its identity and state (default: nothing on disk).
    pub(crate) data_dir: Option<&'a Path>,
    pub(crate) interest: InterestProfile,
    /// Node settings; `bootstrap` is taken from `net`.
    pub(crate) config: NodeConfig,
    /// Deliver evidence that contradicts its own receipts (`serve --lie-with-receipts`).
    pub(crate) lie: bool,
}

/// Start a node over the transport `s.net` names.
pub(crate) async fn start_node(s: Start<'_>) -> Result<Node, Box<dyn Error>> {
    let chosen = choose(s.net)?;
    let mut builder = Node::builder().interest(s.interest).config(NodeConfig {
        bootstrap: s.net.bootstrap.clone(),
        ..s.config
    });
    if let Some(d) = s.data_dir {
        builder = builder.data_dir(d);
    }
    if let Some((url, model)) = &s.net.embeddings {
        // Asked once for its dimension, so a wrong URL or model fails here, by name.
        let m = OpenAiEmbeddings::probe(OpenAiConfig::new(url, model), Duration::from_secs(30))
            .await
            .map_err(|e| format!("--embeddings-url {url} (model {model}): {e}"))?;
        tracing::info!(encoder = m.id(), "intents are embedded by {url}");
        builder = builder.embedder(Arc::new(m), RemoteEncoderLimits::default());
    }
    builder = match (chosen, s.lie) {
        (Chosen::Tcp(cfg), false) => builder.tcp(cfg),
        (Chosen::Libp2p(cfg), false) => builder.libp2p(cfg),
        (Chosen::Tcp(cfg), true) => builder.transport_with(move |k: &Keypair, now: Now| {
            let keys = Keypair::from_seed(*k.seed());
            async move {
                let t = TcpTransport::bind(&keys, cfg, now.wall.as_unix_millis())
                    .await
                    .map_err(NodeError::from)?;
                Ok(Lying::new(t, &keys, Arc::new(AtomicBool::new(true))))
            }
        }),
        (Chosen::Libp2p(cfg), true) => builder.transport_with(move |k: &Keypair, _: Now| {
            let keys = Keypair::from_seed(*k.seed());
            async move {
                let t = Libp2pTransport::start(&keys, cfg)
                    .await
                    .map_err(NodeError::from)?;
                Ok(Lying::new(t, &keys, Arc::new(AtomicBool::new(true))))
            }
        }),
    };
    Ok(builder.start().await?)
}

/// The flags of the commands that run a short-lived requester node (request, mcp, a2a,
/// workflow).
#[derive(clap::Args, Debug)]
pub(crate) struct ClientArgs {
    #[command(flatten)]
    pub(crate) transport: TransportArg,
    #[command(flatten)]
    pub(crate) embed: EmbedArgs,
    /// Peers to join through (repeatable): `host:port`, or with `--transport libp2p` a
    /// multiaddr such as a node's printed `/ip4/…/tcp/…/p2p/<peer id>`.
    #[arg(long, required = true)]
    pub(crate) bootstrap: Vec<String>,
    /// Keep this node's identity, ledger and reputation here (default: throwaway).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
}

/// Start a short-lived requester node (request, mcp, a2a, workflow): a client over the
/// chosen transport that joins through `--bootstrap`, pulls every descriptor and follows
/// its peers' topics.
pub(crate) async fn start_requester(
    c: &ClientArgs,
    agent: AgentConfig,
) -> Result<Node, Box<dyn Error>> {
    let net = Net::client(c.transport.transport, c.bootstrap.clone()).embeddings(&c.embed);
    start_node(Start {
        net: &net,
        data_dir: c.data_dir.as_deref(),
        interest: InterestProfile::everything(),
        config: NodeConfig {
            agent,
            follow_peer_topics: true,
            ..NodeConfig::default()
        },
        lie: false,
    })
    .await
}

/// The first line a long-lived node prints: `listening <address> as <did:key>`.
pub(crate) fn print_listening(node: &Node) {
    println!(
        "listening {} as {}",
        node.local_addr().unwrap_or("-"),
        node.id()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn libp2p(listen: &str, bootstrap: &[&str]) -> Net {
        Net::server(
            TransportKind::Libp2p,
            listen.into(),
            bootstrap.iter().map(|s| s.to_string()).collect(),
            Libp2pArgs::default(),
        )
    }

    fn err(net: &Net) -> String {
        choose(net).unwrap_err().to_string()
    }

    #[test]
    fn libp2p_takes_multiaddrs_and_host_port() {
        let net = libp2p(
            "/ip4/0.0.0.0/udp/7100/quic-v1",
            &["/ip4/127.0.0.1/tcp/7000", "127.0.0.1:7001"],
        );
        let Ok(Chosen::Libp2p(cfg)) = choose(&net) else {
            panic!("libp2p config")
        };
        assert_eq!(cfg.listen[0].to_string(), "/ip4/0.0.0.0/udp/7100/quic-v1");
        assert!(cfg.kad_server);
        let Ok(Chosen::Libp2p(cfg)) = choose(&libp2p("127.0.0.1:0", &[])) else {
            panic!("libp2p config")
        };
        assert_eq!(cfg.listen[0].to_string(), "/ip4/127.0.0.1/tcp/0");
        let client = Net::client(TransportKind::Libp2p, vec![]);
        let Ok(Chosen::Libp2p(cfg)) = choose(&client) else {
            panic!("libp2p config")
        };
        assert_eq!(cfg.listen[0].to_string(), "/ip4/127.0.0.1/tcp/0");
        assert!(!cfg.kad_server);
    }

    #[test]
    fn bad_addresses_name_their_flag() {
        assert!(err(&libp2p("/ip4/0.0.0.0/tcp/x", &[])).starts_with("--listen"));
        assert!(err(&libp2p("127.0.0.1:0", &["/nonsense/1"])).starts_with("--bootstrap"));
        let mut net = libp2p("127.0.0.1:0", &[]);
        net.libp2p.relay = vec!["relay".into()];
        assert!(err(&net).starts_with("--relay"));
        let tcp = Net::server(
            TransportKind::Tcp,
            "/ip4/127.0.0.1/tcp/0".into(),
            vec![],
            Libp2pArgs::default(),
        );
        assert!(err(&tcp).starts_with("--listen"));
    }

    #[test]
    fn libp2p_flags_need_libp2p() {
        for (args, flag) in [
            (
                Libp2pArgs {
                    relay: vec!["/ip4/1.2.3.4/tcp/1".into()],
                    ..Libp2pArgs::default()
                },
                "--relay ",
            ),
            (
                Libp2pArgs {
                    relay_server: true,
                    ..Libp2pArgs::default()
                },
                "--relay-server ",
            ),
            (
                Libp2pArgs {
                    external: vec!["1.2.3.4:7000".into()],
                    ..Libp2pArgs::default()
                },
                "--external ",
            ),
        ] {
            let net = Net::server(TransportKind::Tcp, "127.0.0.1:0".into(), vec![], args);
            let e = err(&net);
            assert!(
                e.starts_with(flag) && e.ends_with("needs --transport libp2p"),
                "{e}"
            );
        }
    }
}
