//! The example Unix-socket transport (`agentnet_examples::unix`): the transport conformance
//! suite, and nodes over it (one link from a socket pair, one through a listening socket path).

use std::time::Duration;

use agentnet_core::Keypair;
use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_examples::unix::UnixTransport;
use agentnet_gossip::{Event as GossipEvent, InterestProfile, Requirements};
use agentnet_transport::conformance::{self, TransportFactory};
use agentnet_transport::host::Clock;
use agentnet_transport::{Node, NodeConfig, NodeEvent, SystemClock, Transport};
use async_trait::async_trait;

/// Each transport listening on a fresh socket path in one directory.
struct Unix {
    dir: tempfile::TempDir,
    made: u32,
}

#[async_trait]
impl TransportFactory for Unix {
    async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport> {
        self.made += 1;
        let t = UnixTransport::new(keys, SystemClock::new().now().wall);
        let path = self.dir.path().join(format!("{}.sock", self.made));
        t.listen(&path).unwrap();
        Box::new(t)
    }

    fn max_frame(&self) -> usize {
        agentnet_examples::unix::MAX_FRAME
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_transport_keeps_the_contract() {
    let mut unix = Unix {
        dir: tempfile::tempdir().unwrap(),
        made: 0,
    };
    conformance::run_all(&mut unix).await;
}

async fn wait(node: &mut Node, pred: impl Fn(&NodeEvent) -> bool) {
    let ok = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(e) = node.next_event().await {
            if pred(&e) {
                return;
            }
        }
    })
    .await;
    assert!(ok.is_ok(), "event did not come");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_talk_over_a_custom_transport() {
    let now = SystemClock::new().now();
    let (ka, kb, kc) = (
        Keypair::from_seed([1; 32]),
        Keypair::from_seed([2; 32]),
        Keypair::from_seed([3; 32]),
    );
    let (ta, tb) = (
        UnixTransport::new(&ka, now.wall),
        UnixTransport::new(&kb, now.wall),
    );
    let (sa, sb) = tokio::net::UnixStream::pair().unwrap();
    ta.attach(sa, "pair".into(), true);
    tb.attach(sb, "pair".into(), false);
    // A third node reaches b through a socket path.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.sock");
    tb.listen(&path).unwrap();
    let tc = UnixTransport::new(&kc, now.wall);
    let topic = Topic::new("language/translation").unwrap();
    let node = |keys: Keypair, t: UnixTransport, bootstrap: Vec<String>, interest| {
        Node::builder()
            .ephemeral_identity(keys)
            .transport(t)
            .interest(interest)
            .config(NodeConfig {
                bootstrap,
                topics: vec![topic.clone()],
                ..NodeConfig::default()
            })
            .start()
    };
    let a = node(ka, ta, vec![], InterestProfile::none()).await.unwrap();
    let mut b = node(kb, tb, vec![], InterestProfile::none()).await.unwrap();
    let mut c = node(
        kc,
        tc,
        vec![path.to_string_lossy().into_owned()],
        InterestProfile::everything(),
    )
    .await
    .unwrap();
    wait(
        &mut c,
        |e| matches!(e, NodeEvent::LinkUp(l) if l.peer == b.id()),
    )
    .await;
    wait(
        &mut b,
        |e| matches!(e, NodeEvent::LinkUp(l) if l.peer == c.id()),
    )
    .await;
    assert_eq!(b.peers().await.unwrap().len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let d = CapabilityDescriptor::builder(
        a.id(),
        "text.translate",
        topic.as_str(),
        "Translate documents between English and French",
    )
    .ttl(Duration::from_secs(300))
    .build(SystemClock::new().now())
    .unwrap();
    a.announce(d).await.unwrap();
    // a → b (socket pair) → c (socket path): c pulls the body through b.
    wait(&mut c, |e| {
        matches!(e, NodeEvent::Gossip(GossipEvent::Descriptor(_)))
    })
    .await;
    let found = c
        .discover("French translation", Requirements::default(), 3)
        .await
        .unwrap();
    assert_eq!(found[0].descriptor.provider, a.id());
    a.shutdown().await.unwrap();
    wait(&mut b, |e| matches!(e, NodeEvent::LinkDown { .. })).await;
    b.shutdown().await.unwrap();
    c.shutdown().await.unwrap();
}
