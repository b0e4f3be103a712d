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

/// A hello proof answers one challenge: a peer that presents a real key's signature made for
/// another challenge (as a recorded hello would be) is refused and never linked; the same
/// client answering the challenge it was given is linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_hello_is_refused() {
    use agentnet_core::hash::domain::HELLO_PROOF;
    use agentnet_transport::TransportEvent;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let mut server =
        UnixTransport::new(&Keypair::from_seed([1; 32]), SystemClock::new().now().wall);
    server.listen(&path).unwrap();
    let client = Keypair::from_seed([2; 32]);
    async fn frame(s: &mut UnixStream) -> Vec<u8> {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        let mut b = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut b).await.unwrap();
        b
    }
    async fn send(s: &mut UnixStream, b: &[u8]) {
        s.write_all(&(b.len() as u32).to_be_bytes()).await.unwrap();
        s.write_all(b).await.unwrap();
    }
    // Connect by hand; answer `challenge` (the server's, or another) with a real signature.
    let attempt = |answer_the_real_one: bool| {
        let (path, client) = (path.clone(), Keypair::from_seed(*client.seed()));
        async move {
            let mut s = UnixStream::connect(&path).await.unwrap();
            let challenge = frame(&mut s).await;
            send(&mut s, &[9u8; 32]).await;
            let signed = if answer_the_real_one {
                challenge
            } else {
                vec![0u8; 32]
            };
            let msg = [&signed[..], client.id().as_bytes(), &7u64.to_be_bytes()].concat();
            let sig = client.sign_bytes(HELLO_PROOF, &msg);
            let proof = [
                &7u64.to_be_bytes()[..],
                client.id().as_bytes(),
                sig.as_bytes(),
            ]
            .concat();
            send(&mut s, &proof).await;
            let _ = frame(&mut s).await; // the server's own proof
            s
        }
    };
    let _replayed = attempt(false).await;
    let ev = tokio::time::timeout(Duration::from_secs(5), server.next_event())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&ev, TransportEvent::Refused { reason, .. } if reason.contains("does not verify")),
        "{ev:?}"
    );
    let _fresh = attempt(true).await;
    let ev = tokio::time::timeout(Duration::from_secs(5), server.next_event())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&ev, TransportEvent::LinkUp(info) if info.peer == client.id()),
        "{ev:?}"
    );
}
