//! Arbitrary frames into a live `Agent` (every plane's router, the link handshake, the payload
//! plane): never a panic, and the agent keeps answering afterwards.
#![no_main]

use agentnet_core::{Engine, Instant, Keypair, LinkId, Now, WallTime};
use agentnet_transport::agent::{Agent, AgentConfig};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut now = Now::new(Instant::from_secs(1), WallTime::from_unix_millis(1_800_000_000_000));
    let Ok(mut agent) = Agent::new(Keypair::from_seed([1; 32]), AgentConfig::seeded([2; 32]), now)
    else {
        return;
    };
    agent.handle_link_up(now, LinkId(1));
    agent.handle_link_up(now, LinkId(2));
    let mut rest = data;
    while let [len, link, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        let (frame, next) = tail.split_at(n);
        // Most inputs should reach a plane's decoder: give them a valid version byte.
        let mut f = vec![1u8];
        f.extend_from_slice(frame);
        let _ = agent.handle_message(now, LinkId(u64::from(link % 3)), Bytes::from(f));
        now = now.advance(core::time::Duration::from_millis(u64::from(*len)));
        agent.handle_timeout(now);
        while agent.poll_transmit().is_some() {}
        while agent.poll_event().is_some() {}
        while agent.poll_effect().is_some() {}
        rest = next;
    }
    agent.handle_link_down(now, LinkId(1));
});
