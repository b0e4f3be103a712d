//! Summary helpers of gossip_scale: engine diagnostics, per-kind traffic windows, memory, quantiles and the results files.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::report::{self, Series};
use agentnet_core::Signed;
use agentnet_core::descriptor::Topic;
use agentnet_core::sim::{Metrics, Sim};
use agentnet_gossip::{GossipEngine, GossipStats, LogHeader};
use serde_json::{Value, json};

/// Run-A diagnostics gathered from the engines at the end.
#[derive(Debug, Default)]
pub(crate) struct EngineSummary {
    pub(crate) stats: GossipStats,
    pub(crate) mesh: usize,
    pub(crate) headers_held: usize,
    pub(crate) seen: usize,
    pub(crate) queued: usize,
}

pub(crate) fn summarize_engines(sim: &Sim<GossipEngine>, topic: &Topic) -> EngineSummary {
    let mut s = EngineSummary::default();
    for id in sim.node_ids() {
        let Some(e) = sim.engine(id) else { continue };
        let st = e.stats();
        s.stats.headers_received += st.headers_received;
        s.stats.headers_accepted += st.headers_accepted;
        s.stats.duplicates += st.duplicates;
        s.stats.refused += st.refused;
        s.stats.dropped_full += st.dropped_full;
        s.stats.equivocations += st.equivocations;
        let mesh = e.mesh(topic);
        s.mesh += mesh.len();
        s.headers_held += e.header_count();
        s.seen += e.seen_count();
        s.queued += e.queued_transmit_count();
    }
    s
}

pub(crate) fn header_frames_delivered(m: &Metrics) -> u64 {
    m.by_kind.get(&HEADER_KIND).map_or(0, |k| k.delivered)
}

pub(crate) fn link_model(args: &Args) -> String {
    if args.per_frame_latency {
        "every frame's delay uniform in 20..150 ms; no loss, no duplication, no bandwidth limit"
            .into()
    } else {
        format!(
            "each link a base latency uniform in 20..150 ms, plus per-frame jitter uniform in \
             0..={} ms; no loss, no duplication, no bandwidth limit",
            args.jitter_ms
        )
    }
}

/// Per-kind (frames sent, bytes sent, frames delivered) between two snapshots.
pub(crate) fn window(before: &Metrics, after: &Metrics) -> BTreeMap<u16, (u64, u64, u64)> {
    after
        .by_kind
        .iter()
        .map(|(k, m)| {
            let b = before.by_kind.get(k).cloned().unwrap_or_default();
            (
                *k,
                (
                    m.sent - b.sent,
                    m.bytes_sent - b.bytes_sent,
                    m.delivered - b.delivered,
                ),
            )
        })
        .collect()
}

pub(crate) fn current_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Latency at quantile `q` of an ascending slice (nearest rank), `None` if empty.
pub(crate) fn at_quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub(crate) fn write_outputs(
    dir: &Path,
    gossip: &[f64],
    flood: Option<&[f64]>,
    expected: usize,
    summary: &Value,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(summary)? + "\n",
    )?;
    let fmt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    // Latency CDF on a quantile grid.
    let steps = 1000;
    let mut rows = Vec::new();
    let mut g_pts = Vec::new();
    let mut f_pts = Vec::new();
    for i in 0..=steps {
        let q = f64::from(i) / f64::from(steps);
        let g = at_quantile(gossip, q.max(1e-9));
        let f = flood.and_then(|f| at_quantile(f, q.max(1e-9)));
        rows.push(vec![format!("{q:.3}"), fmt(g), fmt(f)]);
        if let Some(g) = g {
            g_pts.push((g, q));
        }
        if let Some(f) = f {
            f_pts.push((f, q));
        }
    }
    report::write_csv(
        &dir.join("latency_cdf.csv"),
        &["fraction", "gossip_latency_ms", "flood_latency_ms"],
        &rows,
    )?;
    let series = gossip_and_flood(g_pts, flood.is_some().then_some(f_pts));
    report::line_chart(
        &dir.join("latency_cdf.svg"),
        "Header delivery latency (CDF)",
        "latency since publish (ms)",
        "fraction of deliveries",
        &series,
    )?;
    // Coverage against time since publish, on a common grid.
    let max = gossip
        .last()
        .copied()
        .unwrap_or(0.0)
        .max(flood.and_then(|f| f.last().copied()).unwrap_or(0.0));
    let points = 500;
    let expected = expected.max(1) as f64;
    let cov = |xs: &[f64], t: f64| xs.partition_point(|x| *x <= t) as f64 / expected;
    let mut rows = Vec::new();
    let (mut g_pts, mut f_pts) = (Vec::new(), Vec::new());
    for i in 0..=points {
        let t = max * f64::from(i) / f64::from(points);
        let g = cov(gossip, t);
        let f = flood.map(|f| cov(f, t));
        rows.push(vec![format!("{t:.3}"), format!("{g:.6}"), fmt(f)]);
        g_pts.push((t, g));
        if let Some(f) = f {
            f_pts.push((t, f));
        }
    }
    report::write_csv(
        &dir.join("coverage_over_time.csv"),
        &["ms_since_publish", "gossip_coverage", "flood_coverage"],
        &rows,
    )?;
    let series = gossip_and_flood(g_pts, flood.is_some().then_some(f_pts));
    report::line_chart(
        &dir.join("coverage_over_time.svg"),
        "Coverage of (node, header) pairs",
        "time since publish (ms)",
        "fraction delivered",
        &series,
    )?;
    Ok(())
}

/// The metrics of both runs, the results files in `args.out` and the summary on stdout.
pub(crate) fn report(args: &Args, runs: Runs) {
    let Runs {
        started,
        n,
        headers,
        edges,
        author_nodes,
        plan,
        setup_secs,
        rss_after_setup,
        end,
        round_marks,
        run_a_secs,
        engines,
        win,
        a_handle_errors,
        a_events_dropped,
        a_delivered_headers,
        a_repeats,
        counts,
        g_per,
        mut gossip_lat,
        fr,
    } = runs;
    // ----- metrics -----
    let expected = n.saturating_sub(1) * headers;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let coverage = ratio(a_delivered_headers as f64, expected as f64);
    gossip_lat.sort_by(f64::total_cmp);
    let p50 = report::quantile(&mut gossip_lat, 0.5);
    let p99 = report::quantile(&mut gossip_lat, 0.99);
    let gmax = gossip_lat.last().copied().unwrap_or(0.0);
    let (hdr_frames, hdr_bytes) = win
        .get(&HEADER_KIND)
        .map_or((0, 0), |(_, bytes, delivered)| (*delivered, *bytes));
    let control_bytes: u64 = win
        .iter()
        .filter(|(k, _)| **k != HEADER_KIND)
        .map(|(_, (_, b, _))| *b)
        .sum();
    let copies = ratio(hdr_frames as f64, (n * headers) as f64);
    let copies_by_round: Vec<f64> = round_marks
        .windows(2)
        .map(|w| ratio((w[1] - w[0]) as f64, (n * author_nodes.len()) as f64))
        .collect();
    let control_ratio = ratio(control_bytes as f64, hdr_bytes as f64);
    let by_kind: serde_json::Map<String, Value> = win
        .iter()
        .map(|(k, (sent, bytes, delivered))| {
            (
                crate::report::kind_label(*k),
                json!({"frames_sent": sent, "bytes_sent": bytes, "frames_delivered": delivered}),
            )
        })
        .collect();

    let mut flood_lat = Vec::new();
    let flood_json = fr.as_ref().map(|fr| {
        flood_lat = fr.deliveries.latencies_ms.clone();
        flood_lat.sort_by(f64::total_cmp);
        let m = fr
            .metrics
            .by_kind
            .get(&HEADER_KIND)
            .cloned()
            .unwrap_or_default();
        json!({
            "coverage": ratio(fr.deliveries.count() as f64, expected as f64),
            "p50_latency_ms": report::quantile(&mut flood_lat, 0.5),
            "p99_latency_ms": report::quantile(&mut flood_lat, 0.99),
            "max_latency_ms": flood_lat.last().copied().unwrap_or(0.0),
            "copies_per_node": ratio(m.delivered as f64, (n * headers) as f64),
            "header_bytes_sent": m.bytes_sent,
            "handle_errors": fr.errors,
            "repeat_deliveries": fr.deliveries.repeats,
            "wall_secs": fr.wall_secs,
            "busy_secs": fr.busy_secs,
        })
    });
    let flood_p99 = flood_json
        .as_ref()
        .and_then(|f| f["p99_latency_ms"].as_f64());
    let p99_ratio = flood_p99.map(|f| ratio(p99, f));
    let peak = report::peak_rss_mb();
    let cfg = args.gossip_config(0);
    let goals = json!({
        "coverage_min_0.999": coverage >= 0.999,
        "p99_max_1.25x_flood": p99_ratio.map(|r| r <= 1.25),
        "copies_per_node_max_2": copies <= 2.0,
        "control_bytes_ratio_max_0.25": control_ratio <= 0.25,
        "peak_rss_max_24_gib": peak.map(|p| p <= 24.0 * 1024.0),
    });
    let diagnostics = json!({
        "engine_stats_sum": {
            "headers_received": engines.stats.headers_received,
            "headers_accepted": engines.stats.headers_accepted,
            "duplicates": engines.stats.duplicates,
            "refused": engines.stats.refused,
            "dropped_full": engines.stats.dropped_full,
            "equivocations": engines.stats.equivocations,
        },
        "mean_mesh_size": engines.mesh as f64 / n.max(1) as f64,
        "headers_held_total": engines.headers_held,
        "seen_entries_total": engines.seen,
        "queued_transmits_at_end": engines.queued,
        "handle_errors": a_handle_errors,
        "sim_events_dropped": a_events_dropped,
        "repeat_header_events": a_repeats,
        // In-memory size of one held header (each engine's per-author log is a BTreeMap of
        // these, whose first leaf node has room for 11).
        "size_of_signed_log_header_bytes": std::mem::size_of::<Signed<LogHeader>>(),
        "event_counts": counts,
    });
    let config = json!({
        "mesh_d": cfg.mesh_d,
        "mesh_d_lo": cfg.mesh_d_lo,
        "mesh_d_hi": cfg.mesh_d_hi,
        "lazy_fanout": cfg.lazy_fanout,
        "lazy_interval_ms": cfg.lazy_interval.as_millis() as u64,
        "iwant_delay_ms": cfg.iwant_delay.as_millis() as u64,
        "anti_entropy_ms": cfg.anti_entropy.as_millis() as u64,
        "heartbeat_ms": cfg.heartbeat.as_millis() as u64,
        "persist_before_publish": cfg.persist_before_publish,
    });
    let summary = json!({
        "nodes": n,
        "edges": edges.len(),
        "degree": args.degree,
        "authors": author_nodes.len(),
        "headers_per_author": args.headers_per_author,
        "headers": headers,
        "seed": args.seed,
        "link_model": link_model(args),
        "warmup_secs": args.warmup_secs,
        "drain_secs": args.drain_secs,
        "virtual_secs": end.as_micros() as f64 / 1e6,
        "coverage": coverage,
        "p50_latency_ms": p50,
        "p99_latency_ms": p99,
        "max_latency_ms": gmax,
        "flood_p99_latency_ms": flood_p99,
        "p99_ratio_vs_flood": p99_ratio,
        "payload_copies_per_node": copies,
        "copies_by_round": copies_by_round,
        "flood_copies_per_node": flood_json.as_ref().map(|f| f["copies_per_node"].clone()),
        "control_bytes_ratio": control_ratio,
        "header_bytes_sent": hdr_bytes,
        "control_bytes_sent": control_bytes,
        "peak_rss_mb": peak,
        "rss_after_gossip_setup_mb": rss_after_setup,
        "setup_wall_secs": setup_secs,
        "run_a_wall_secs": run_a_secs,
        "run_b_wall_secs": fr.as_ref().map(|f| f.wall_secs),
        "total_wall_secs": started.elapsed().as_secs_f64(),
        "goals": goals,
        "flood": flood_json,
        "gossip_window_by_kind": by_kind,
        "gossip_diagnostics": diagnostics,
        "gossip_config": config,
    });
    // Per-header detail, for investigation.
    let f_per = fr.as_ref().map(|f| f.deliveries.per_header());
    let rows: Vec<Vec<String>> = plan
        .iter()
        .enumerate()
        .map(|(h, p)| {
            let g = g_per[h];
            let f = f_per.as_ref().map(|f| f[h]);
            let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
            vec![
                h.to_string(),
                p.author.to_string(),
                p.k.to_string(),
                format!("{:.1}", p.at.as_micros() as f64 / 1e3),
                g.0.to_string(),
                format!("{:.1}", g.1),
                format!("{:.1}", g.2),
                format!("{:.1}", g.3),
                f.map_or(String::new(), |f| f.0.to_string()),
                opt(f.map(|f| f.1)),
                opt(f.map(|f| f.2)),
                opt(f.map(|f| f.3)),
            ]
        })
        .collect();
    let per_header = std::fs::create_dir_all(&args.out).and_then(|_| {
        report::write_csv(
            &args.out.join("per_header.csv"),
            &[
                "header",
                "author",
                "k",
                "published_ms",
                "gossip_deliveries",
                "gossip_p50_ms",
                "gossip_p99_ms",
                "gossip_max_ms",
                "flood_deliveries",
                "flood_p50_ms",
                "flood_p99_ms",
                "flood_max_ms",
            ],
            &rows,
        )
    });
    if let Err(e) = per_header {
        eprintln!("writing per_header.csv: {e}");
    }
    if let Err(e) = write_outputs(
        &args.out,
        &gossip_lat,
        fr.as_ref().map(|_| flood_lat.as_slice()),
        expected,
        &summary,
    ) {
        eprintln!("writing {}: {e}", args.out.display());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("serialise")
        );
    } else {
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        println!(
            "gossip_scale: {n} nodes, {} edges, {headers} headers",
            edges.len()
        );
        println!("  links: {}", link_model(args));
        println!("  coverage                {coverage:.5}   (goal >= 0.999)");
        println!(
            "  p99 latency             {p99:.1} ms (flood {} ms, ratio {}; goal <= 1.25)",
            f(flood_p99),
            p99_ratio.map_or("n/a".into(), |r| format!("{r:.2}"))
        );
        println!("  header copies per node  {copies:.2}   (goal <= 2)");
        let rounds: Vec<String> = copies_by_round.iter().map(|c| format!("{c:.2}")).collect();
        println!("    by round              {}", rounds.join(" "));
        println!("  control bytes ratio     {control_ratio:.3}  (goal <= 0.25)");
        println!("  peak RSS                {} MiB", f(peak));
        println!(
            "  wall: setup {setup_secs:.1}s, run A {run_a_secs:.1}s, run B {} s",
            f(fr.as_ref().map(|f| f.wall_secs))
        );
        println!("  files in {}", args.out.display());
    }
}

/// The chart series of both runs: bodyless gossip, and flooding if run B ran.
fn gossip_and_flood(gossip: Vec<(f64, f64)>, flood: Option<Vec<(f64, f64)>>) -> Vec<Series> {
    let mut series = vec![Series {
        name: "bodyless gossip".into(),
        points: gossip,
    }];
    if let Some(points) = flood {
        series.push(Series {
            name: "flooding".into(),
            points,
        });
    }
    series
}
