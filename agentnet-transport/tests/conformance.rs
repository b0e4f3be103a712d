//! The transport conformance suite (`agentnet_transport::conformance`) against the in-memory
//! and the TCP + Noise transports, and (feature `libp2p`) the libp2p transport over TCP and QUIC.

use agentnet_core::Keypair;
use agentnet_transport::conformance::{self, TransportFactory};
use agentnet_transport::mem::DEFAULT_MAX_FRAME;
use agentnet_transport::{MemoryNetwork, TcpConfig, TcpTransport, Transport};
use async_trait::async_trait;

/// Each transport a new endpoint of one in-memory network.
struct Memory {
    net: MemoryNetwork,
    made: u32,
}

#[async_trait]
impl TransportFactory for Memory {
    async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport> {
        self.made += 1;
        let name = format!("mem-{}", self.made);
        Box::new(self.net.transport(&name, keys.id()).unwrap())
    }

    fn max_frame(&self) -> usize {
        DEFAULT_MAX_FRAME
    }
}

/// Each transport listening on a fresh loopback port.
struct Tcp {
    cfg: TcpConfig,
}

#[async_trait]
impl TransportFactory for Tcp {
    async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport> {
        let t = TcpTransport::bind(keys, self.cfg.clone(), 1_700_000_000_000)
            .await
            .unwrap();
        Box::new(t)
    }

    fn max_frame(&self) -> usize {
        self.cfg.max_frame
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_transport_keeps_the_contract() {
    let mut memory = Memory {
        net: MemoryNetwork::new(),
        made: 0,
    };
    conformance::run_all(&mut memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_transport_keeps_the_contract() {
    let mut tcp = Tcp {
        cfg: TcpConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..TcpConfig::default()
        },
    };
    conformance::run_all(&mut tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_transport_keeps_the_contract_with_small_frames() {
    // A maximum below one Noise message: the frame checks cross the limit on both sides.
    let mut tcp = Tcp {
        cfg: TcpConfig {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            max_frame: 1000,
            ..TcpConfig::default()
        },
    };
    conformance::frames_whole_and_in_order(&mut tcp).await;
    conformance::oversized_send_fails(&mut tcp).await;
}

/// A transport that breaks one promise: it reports frames it never received twice.
struct Echoing(Box<dyn Transport>);

#[async_trait]
impl Transport for Echoing {
    fn local_id(&self) -> agentnet_core::AgentId {
        self.0.local_id()
    }

    fn local_addr(&self) -> Option<String> {
        self.0.local_addr()
    }

    fn send(
        &self,
        link: agentnet_core::LinkId,
        frame: bytes::Bytes,
    ) -> Result<(), agentnet_transport::TransportError> {
        self.0.send(link, frame.clone())?;
        self.0.send(link, frame)
    }

    fn connect(&self, addr: &str) -> Result<(), agentnet_transport::TransportError> {
        self.0.connect(addr)
    }

    fn close(&self, link: agentnet_core::LinkId) {
        self.0.close(link);
    }

    async fn next_event(&mut self) -> Option<agentnet_transport::TransportEvent> {
        self.0.next_event().await
    }
}

struct Broken(Memory);

#[async_trait]
impl TransportFactory for Broken {
    async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport> {
        Box::new(Echoing(self.0.make(keys).await))
    }

    fn max_frame(&self) -> usize {
        self.0.max_frame()
    }
}

#[tokio::test]
#[should_panic(expected = "transport conformance, promise 6")]
async fn the_suite_fails_a_transport_that_duplicates_frames() {
    let mut broken = Broken(Memory {
        net: MemoryNetwork::new(),
        made: 0,
    });
    conformance::frames_whole_and_in_order(&mut broken).await;
}

/// Each transport a libp2p node on a fresh loopback port (TCP + Noise + Yamux or QUIC).
#[cfg(feature = "libp2p")]
struct Libp2p {
    listen: &'static str,
}

#[cfg(feature = "libp2p")]
#[async_trait]
impl TransportFactory for Libp2p {
    async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport> {
        use agentnet_transport::libp2p::{Libp2pConfig, Libp2pTransport};
        let cfg = Libp2pConfig {
            listen: vec![self.listen.parse().unwrap()],
            ..Libp2pConfig::default()
        };
        Box::new(Libp2pTransport::start(keys, cfg).await.unwrap())
    }

    fn max_frame(&self) -> usize {
        agentnet_transport::libp2p::Libp2pConfig::default().max_frame
    }
}

#[cfg(feature = "libp2p")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libp2p_transport_keeps_the_contract_over_tcp() {
    conformance::run_all(&mut Libp2p {
        listen: "/ip4/127.0.0.1/tcp/0",
    })
    .await;
}

#[cfg(feature = "libp2p")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libp2p_transport_keeps_the_contract_over_quic() {
    conformance::run_all(&mut Libp2p {
        listen: "/ip4/127.0.0.1/udp/0/quic-v1",
    })
    .await;
}
