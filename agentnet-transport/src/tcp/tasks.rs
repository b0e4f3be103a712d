//! The connection tasks: the accept loop and each inbound handshake, one outbound dial, and
//! the redial loop of a persistent (bootstrap) address.

use super::*;

pub(super) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    events: mpsc::Sender<TransportEvent>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            () = stopped(&mut stop) => return,
            r = listener.accept() => r,
        };
        let (stream, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "tcp accept failed");
                tokio::select! {
                    () = stopped(&mut stop) => return,
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                }
            }
        };
        match shared.admit_inbound(remote.ip()) {
            Ok((slot, ticket)) => {
                let task = inbound(
                    Arc::clone(&shared),
                    stream,
                    remote,
                    slot,
                    ticket,
                    events.clone(),
                    stop.clone(),
                );
                shared.runtime.spawn(task);
            }
            Err(reason) => {
                drop(stream);
                tracing::warn!(%remote, %reason, "tcp connection refused");
                // Never stall accepting on a slow consumer: a refusal that does not fit the
                // event queue is only logged.
                let ev = TransportEvent::Refused {
                    remote: remote.to_string(),
                    reason,
                };
                if events.try_send(ev).is_err() {
                    tracing::warn!(%remote, "event queue full; refusal not reported");
                }
            }
        }
    }
}

async fn inbound(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    remote: SocketAddr,
    slot: Slot,
    ticket: InboundTicket,
    events: mpsc::Sender<TransportEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let timeout = shared.cfg.handshake_timeout;
    let InboundTicket {
        mut evicted,
        activity,
    } = ticket;
    let result = tokio::select! {
        () = stopped(&mut stop) => return,
        _ = &mut evicted => {
            drop((stream, slot));
            let reason = "evicted during the handshake to make room for another inbound connection";
            refuse(&events, remote.to_string(), reason.into()).await;
            return;
        }
        r = tokio::time::timeout(timeout, handshake::respond(&mut stream, &shared.local)) => r,
    };
    match result {
        Ok(Ok(est)) => {
            let link = (stream, remote.to_string(), est);
            run_link(shared, link, false, slot, Some(activity), events).await;
        }
        Ok(Err(e)) => {
            drop((stream, slot));
            refuse(&events, remote.to_string(), e.to_string()).await;
        }
        Err(_) => {
            drop((stream, slot));
            let reason = format!("handshake timed out after {timeout:?}");
            refuse(&events, remote.to_string(), reason).await;
        }
    }
}

/// Dial `target` once and run the link to its end.
pub(super) async fn dial(
    shared: Arc<Shared>,
    target: String,
    events: mpsc::Sender<TransportEvent>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let slot = match shared.admit_outbound() {
        Ok(s) => s,
        Err(reason) => {
            refuse(&events, target, reason).await;
            return Outcome::Failed;
        }
    };
    let timeout = shared.cfg.handshake_timeout;
    let connected = tokio::select! {
        () = stopped(&mut stop) => return Outcome::Failed,
        r = tokio::time::timeout(timeout, TcpStream::connect(super::socket_part(&target))) => r,
    };
    let mut stream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            drop(slot);
            refuse(&events, target, format!("connect failed: {e}")).await;
            return Outcome::Failed;
        }
        Err(_) => {
            drop(slot);
            refuse(
                &events,
                target,
                format!("connect timed out after {timeout:?}"),
            )
            .await;
            return Outcome::Failed;
        }
    };
    let _ = stream.set_nodelay(true);
    // The address as dialed (a host name stays a host name): what the caller knows this
    // link by (the `LinkInfo::remote` contract for outbound links).
    let remote = target.clone();
    let result = tokio::select! {
        () = stopped(&mut stop) => return Outcome::Failed,
        r = tokio::time::timeout(timeout, handshake::initiate(&mut stream, &shared.local)) => r,
    };
    match result {
        Ok(Ok(est)) => run_link(shared, (stream, remote, est), true, slot, None, events).await,
        Ok(Err(e)) => {
            drop((stream, slot));
            refuse(&events, remote, e.to_string()).await;
            Outcome::Failed
        }
        Err(_) => {
            drop((stream, slot));
            let reason = format!("handshake timed out after {timeout:?}");
            refuse(&events, remote, reason).await;
            Outcome::Failed
        }
    }
}

pub(super) async fn persistent_dialer(
    shared: Arc<Shared>,
    target: String,
    events: mpsc::Sender<TransportEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let cfg = shared.cfg.clone();
    let mut delay = cfg.backoff_initial;
    loop {
        if shared.is_shut_down() || !shared.lock().persistent.contains(&target) {
            return;
        }
        match dial(
            Arc::clone(&shared),
            target.clone(),
            events.clone(),
            stop.clone(),
        )
        .await
        {
            Outcome::Failed => {}
            Outcome::Ran(up) => {
                if up >= cfg.backoff_max {
                    delay = cfg.backoff_initial;
                }
            }
            Outcome::Duplicate(peer) => {
                // Already linked to this peer: wait for that link to go, then dial at once.
                loop {
                    let gone = shared.link_gone.notified();
                    tokio::pin!(gone);
                    gone.as_mut().enable();
                    if !shared.lock().by_peer.contains_key(&peer) {
                        break;
                    }
                    tokio::select! {
                        () = stopped(&mut stop) => return,
                        () = &mut gone => {}
                    }
                }
                delay = cfg.backoff_initial;
                continue;
            }
        }
        tokio::select! {
            () = stopped(&mut stop) => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(cfg.backoff_max);
    }
}
