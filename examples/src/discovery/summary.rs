//! The report: summary numbers of one scheme, and the results files (JSON, CSV, SVG charts).

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::report::{self, Series};
use serde_json::{Value, json};

// =============================================================================================
// Report
// =============================================================================================

/// Header, body (a full descriptor: the gossip `Body` or the flooded descriptor frame) or
/// control.
pub(crate) fn kind_class(k: u16) -> &'static str {
    match k {
        0x0101 => "header",
        0x010d | 0x0001 => "body",
        _ => "control",
    }
}

/// Summary numbers of one scheme.
#[derive(Debug)]
pub(crate) struct Summary {
    pub(crate) success_rate: f64,
    pub(crate) bytes_per_request: f64,
    pub(crate) p95_latency_ms: f64,
    pub(crate) json: Value,
}

pub(crate) fn summarize(r: &RunResult, sc: &Scenario, a: &Args) -> Summary {
    let n_req = r.records.len();
    let successes = r
        .records
        .iter()
        .filter(|x| x.outcome == Outcome::Success)
        .count();
    let success_rate = successes as f64 / n_req.max(1) as f64;
    let mut lat: Vec<f64> = r
        .records
        .iter()
        .filter_map(|x| x.latency_ms.map(|l| l as f64))
        .collect();
    let immediate = lat.iter().filter(|l| **l == 0.0).count();
    let mean = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
    let p50 = report::quantile(&mut lat, 0.5);
    let p95 = report::quantile(&mut lat, 0.95);
    let max = lat.iter().copied().fold(0.0, f64::max);
    let mut all: Vec<f64> = r
        .records
        .iter()
        .map(|x| x.latency_ms.map_or(f64::INFINITY, |l| l as f64))
        .collect();
    let p95_all = report::quantile(&mut all, 0.95);
    let failures: BTreeMap<&str, usize> = Outcome::FAILURES
        .iter()
        .map(|o| {
            (
                o.name(),
                r.records.iter().filter(|x| x.outcome == *o).count(),
            )
        })
        .collect();
    let down = failures["requester_down"];
    let no_provider_at_issue = r.records.iter().filter(|x| x.live_at_issue == 0).count();

    let window_secs = (a.duration_secs - a.warmup_secs) as f64;
    let bytes = r.end.total.bytes_sent - r.start.total.bytes_sent;
    let frames = r.end.total.sent - r.start.total.sent;
    let mut by_kind = serde_json::Map::new();
    let mut by_class: BTreeMap<&str, u64> = BTreeMap::new();
    for (k, m) in &r.end.by_kind {
        let s = r.start.by_kind.get(k).cloned().unwrap_or_default();
        let (f, b) = (m.sent - s.sent, m.bytes_sent - s.bytes_sent);
        *by_class.entry(kind_class(*k)).or_default() += b;
        by_kind.insert(
            crate::report::kind_label(*k),
            json!({
                "frames": f,
                "bytes": b,
                "avg_frame_bytes": b as f64 / f.max(1) as f64,
                "bytes_per_request": b as f64 / n_req.max(1) as f64,
            }),
        );
    }
    let bytes_per_request = bytes as f64 / n_req.max(1) as f64;
    let mut prop = r.propagation.clone();
    let propagation = json!({
        "deliveries": prop.len(),
        "p50_ms": report::quantile(&mut prop, 0.5),
        "p95_ms": report::quantile(&mut prop, 0.95),
        "p99_ms": report::quantile(&mut prop, 0.99),
        "max_ms": prop.iter().copied().fold(0.0, f64::max),
    });
    let latency = json!({
        "p50_latency_ms": p50,
        "p95_latency_ms": p95,
        "mean_latency_ms": mean,
        "max_latency_ms": max,
        "p95_latency_all_ms": p95_all.is_finite().then_some(p95_all),
        "immediate_fraction": immediate as f64 / n_req.max(1) as f64,
    });
    let traffic = json!({
        "window_secs": window_secs,
        "total_bytes": bytes,
        "total_frames": frames,
        "bytes_per_node_per_s": bytes as f64 / f64::from(sc.n) / window_secs,
        "bytes_by_class": by_class,
        "bytes_by_kind": by_kind,
    });
    let json = json!({
        "scheme": r.name,
        "success_rate": success_rate,
        "bytes_per_request": bytes_per_request,
        "p95_latency_ms": p95,
        "messages_per_node_per_s": frames as f64 / f64::from(sc.n) / window_secs,
        "requests": n_req,
        "successes": successes,
        "failures": failures,
        "success_rate_excluding_requester_down":
            successes as f64 / (n_req - down).max(1) as f64,
        "requests_without_live_provider_at_issue": no_provider_at_issue,
        "latency": latency,
        "descriptor_propagation": propagation,
        "traffic": traffic,
        "crashes_whole_run": r.end.crashes,
        "restarts_whole_run": r.end.restarts,
        "engine": r.engine,
        "run_wall_secs": r.wall_secs,
        "trace_hash": r.trace,
    });
    Summary {
        success_rate,
        bytes_per_request,
        p95_latency_ms: p95,
        json,
    }
}

pub(crate) fn write_outputs(
    dir: &Path,
    results: &Value,
    runs: &[&RunResult],
    sc: &Scenario,
    a: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(results)? + "\n",
    )?;
    let mut rows = Vec::new();
    for r in runs {
        for (i, x) in r.records.iter().enumerate() {
            let f = &sc.fams[x.family];
            rows.push(vec![
                r.name.to_string(),
                i.to_string(),
                x.issue_ms.to_string(),
                x.node.0.to_string(),
                sc.topics[f.topic].as_str().to_string(),
                f.f.cap.to_string(),
                x.outcome.name().to_string(),
                x.latency_ms.map(|l| l.to_string()).unwrap_or_default(),
                x.live_at_issue.to_string(),
                x.polls.to_string(),
            ]);
        }
    }
    report::write_csv(
        &dir.join("requests.csv"),
        &[
            "scheme",
            "request",
            "issue_ms",
            "node",
            "topic",
            "capability",
            "outcome",
            "latency_ms",
            "live_providers_at_issue",
            "polls",
        ],
        &rows,
    )?;
    let bars: Vec<(&str, f64)> = runs
        .iter()
        .map(|r| {
            let bytes = r.end.total.bytes_sent - r.start.total.bytes_sent;
            (r.name, bytes as f64 / r.records.len().max(1) as f64)
        })
        .collect();
    report::bar_chart(
        &dir.join("bytes_per_request.svg"),
        &format!(
            "Bytes per discovery request ({} nodes, churn {})",
            sc.n, a.churn
        ),
        "bytes sent / request",
        &bars,
    )?;
    // Latency CDF over all requests (failures never reach 1).
    let mut series = Vec::new();
    let mut cdf_rows = Vec::new();
    for r in runs {
        let n = r.records.len().max(1) as f64;
        let mut lat: Vec<u64> = r.records.iter().filter_map(|x| x.latency_ms).collect();
        lat.sort_unstable();
        let mut points = Vec::new();
        let mut i = 0;
        while i < lat.len() {
            let v = lat[i];
            while i < lat.len() && lat[i] == v {
                i += 1;
            }
            points.push((v as f64, i as f64 / n));
        }
        let last = points.last().map_or(0.0, |p| p.1);
        points.push((a.timeout_ms as f64, last));
        for (x, y) in &points {
            cdf_rows.push(vec![r.name.to_string(), x.to_string(), y.to_string()]);
        }
        series.push(Series {
            name: r.name.to_string(),
            points,
        });
    }
    report::write_csv(
        &dir.join("latency_cdf.csv"),
        &["scheme", "latency_ms", "fraction_of_requests"],
        &cdf_rows,
    )?;
    report::line_chart(
        &dir.join("latency_cdf.svg"),
        "Discovery latency CDF (all requests; failures never arrive)",
        "latency (ms)",
        "fraction of requests answered",
        &series,
    )?;
    Ok(())
}
