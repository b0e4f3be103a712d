//! Multi-node simulations of the production gossip engine on `agentnet_core::sim`.

mod common;

use std::time::Duration;

use agentnet_core::sim::{LinkModel, NodeId};
use common::*;

#[test]
fn headers_cover_every_node_with_loss() {
    let link =
        LinkModel::uniform(Duration::from_millis(20), Duration::from_millis(150)).with_loss(0.05);
    let mut net = Net::new(60, 4, 7, link, &["creative/image"]);
    net.run(Duration::from_secs(3));
    let t = topic("creative/image");
    let authors: Vec<NodeId> = (0..10).map(|i| NodeId(i * 6)).collect();
    for (i, a) in authors.iter().enumerate() {
        net.publish(
            *a,
            &format!("cap.n{i}"),
            "creative/image",
            "generate images from text",
            Duration::from_secs(60),
        );
    }
    net.run(Duration::from_secs(10));
    for a in &authors {
        let h = net.holders(&t, &agent(*a), 1);
        assert_eq!(
            h.len(),
            60,
            "author {a:?}: {} of 60 hold the header",
            h.len()
        );
    }
}
