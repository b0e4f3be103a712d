//! Message and run counters, per message kind and in total, with JSON and CSV export.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::hist::Histogram;

/// Why the simulator dropped a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropCause {
    /// The link model's loss probability.
    Loss,
    /// Sender and receiver were in different partition groups (at send or at arrival).
    Partition,
    /// The receiver was down, or either end crashed while the frame was in flight.
    NodeDown,
    /// There was no such link at send time, or it was disconnected while the frame was in
    /// flight (or the link id named no node).
    NoLink,
}

impl DropCause {
    /// Every cause, in the order used by the exports.
    pub const ALL: [DropCause; 4] = [
        DropCause::Loss,
        DropCause::Partition,
        DropCause::NodeDown,
        DropCause::NoLink,
    ];

    /// A short snake_case name (`loss`, `partition`, `node_down`, `no_link`).
    pub fn name(self) -> &'static str {
        match self {
            DropCause::Loss => "loss",
            DropCause::Partition => "partition",
            DropCause::NodeDown => "node_down",
            DropCause::NoLink => "no_link",
        }
    }
}

/// Counters for one message kind (or for all kinds together).
///
/// Every frame an engine transmits counts once in `sent`; each extra copy made by the link
/// model counts in `duplicated`. Each copy then ends either delivered or dropped, so once
/// nothing is in flight `sent + duplicated == delivered + dropped()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindMetrics {
    /// Frames handed to the simulator by `poll_transmit`.
    pub sent: u64,
    /// Frames (including duplicate copies) passed to `handle_message`.
    pub delivered: u64,
    /// Drops by [`DropCause::Loss`].
    pub dropped_loss: u64,
    /// Drops by [`DropCause::Partition`].
    pub dropped_partition: u64,
    /// Drops by [`DropCause::NodeDown`].
    pub dropped_node_down: u64,
    /// Drops by [`DropCause::NoLink`].
    pub dropped_no_link: u64,
    /// Extra copies made by the link model's duplication.
    pub duplicated: u64,
    /// Payload bytes of the frames counted in `sent`.
    pub bytes_sent: u64,
    /// Payload bytes of the frames counted in `delivered`.
    pub bytes_delivered: u64,
    /// Delivery latency (arrival minus send time) of delivered frames, in microseconds.
    pub latency: Histogram,
}

impl KindMetrics {
    /// Drops for one cause.
    pub fn dropped_by(&self, cause: DropCause) -> u64 {
        match cause {
            DropCause::Loss => self.dropped_loss,
            DropCause::Partition => self.dropped_partition,
            DropCause::NodeDown => self.dropped_node_down,
            DropCause::NoLink => self.dropped_no_link,
        }
    }

    /// Drops for all causes.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_partition + self.dropped_node_down + self.dropped_no_link
    }

    fn drop_counter(&mut self, cause: DropCause) -> &mut u64 {
        match cause {
            DropCause::Loss => &mut self.dropped_loss,
            DropCause::Partition => &mut self.dropped_partition,
            DropCause::NodeDown => &mut self.dropped_node_down,
            DropCause::NoLink => &mut self.dropped_no_link,
        }
    }

    fn write_json(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"sent\":{},\"delivered\":{},\"dropped\":{{\"total\":{}",
            self.sent,
            self.delivered,
            self.dropped()
        );
        for c in DropCause::ALL {
            let _ = write!(out, ",\"{}\":{}", c.name(), self.dropped_by(c));
        }
        let _ = write!(
            out,
            "}},\"duplicated\":{},\"bytes_sent\":{},\"bytes_delivered\":{},\"latency_us\":{{\"count\":{}",
            self.duplicated,
            self.bytes_sent,
            self.bytes_delivered,
            self.latency.count()
        );
        for (name, v) in self.latency_row() {
            match v {
                Some(v) => {
                    let _ = write!(out, ",\"{name}\":{v}");
                }
                None => {
                    let _ = write!(out, ",\"{name}\":null");
                }
            }
        }
        out.push_str("}}");
    }

    fn latency_row(&self) -> [(&'static str, Option<u64>); 6] {
        let h = &self.latency;
        [
            ("min", h.min()),
            ("p50", h.percentile(0.50)),
            ("p90", h.percentile(0.90)),
            ("p95", h.percentile(0.95)),
            ("p99", h.percentile(0.99)),
            ("max", h.max()),
        ]
    }

    fn write_csv_row(&self, label: &str, out: &mut String) {
        let _ = write!(
            out,
            "{label},{},{},{},{},{},{},{},{},{},{}",
            self.sent,
            self.delivered,
            self.dropped_loss,
            self.dropped_partition,
            self.dropped_node_down,
            self.dropped_no_link,
            self.duplicated,
            self.bytes_sent,
            self.bytes_delivered,
            self.latency.count(),
        );
        // Skip `min`: the CSV carries p50, p90, p95, p99 and max.
        for (_, v) in self.latency_row().iter().skip(1) {
            out.push(',');
            if let Some(v) = v {
                let _ = write!(out, "{v}");
            }
        }
        out.push('\n');
    }
}

/// Everything the simulator counts. Message counters are kept per frame kind (as read by
/// [`SimConfig::classify`](super::SimConfig::classify)) and in total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// All kinds together.
    pub total: KindMetrics,
    /// Per frame kind, in ascending kind order.
    pub by_kind: BTreeMap<u16, KindMetrics>,
    /// `handle_timeout` calls made.
    pub timers_fired: u64,
    /// `handle_message` calls that returned `Err`.
    pub handle_errors: u64,
    /// Engine events kept for [`Sim::drain_events`](super::Sim::drain_events).
    pub events_recorded: u64,
    /// Engine events discarded because the record was full
    /// ([`SimConfig::max_events`](super::SimConfig::max_events)).
    pub events_dropped: u64,
    /// Node crashes (explicit, scheduled or by churn).
    pub crashes: u64,
    /// Node restarts (explicit, scheduled or by churn).
    pub restarts: u64,
    /// Scheduled faults applied.
    pub faults_applied: u64,
    /// Scheduled faults that could not be applied (unknown node, restart without a factory,
    /// crash of a node already down, ...).
    pub faults_failed: u64,
}

impl Metrics {
    #[inline]
    fn both(&mut self, kind: u16, f: impl Fn(&mut KindMetrics)) {
        f(&mut self.total);
        f(self.by_kind.entry(kind).or_default());
    }

    #[inline]
    pub(crate) fn on_sent(&mut self, kind: u16, bytes: usize) {
        self.both(kind, |m| {
            m.sent += 1;
            m.bytes_sent += bytes as u64;
        });
    }

    #[inline]
    pub(crate) fn on_duplicate(&mut self, kind: u16) {
        self.both(kind, |m| m.duplicated += 1);
    }

    #[inline]
    pub(crate) fn on_drop(&mut self, kind: u16, cause: DropCause) {
        self.both(kind, |m| *m.drop_counter(cause) += 1);
    }

    #[inline]
    pub(crate) fn on_delivered(&mut self, kind: u16, bytes: usize, latency_micros: u64) {
        self.both(kind, |m| {
            m.delivered += 1;
            m.bytes_delivered += bytes as u64;
            m.latency.record(latency_micros);
        });
    }

    /// The counters as one JSON object:
    ///
    /// ```text
    /// {"total":{K},"by_kind":{"<kind>":{K},...},"timers_fired":n,"handle_errors":n,
    ///  "events_recorded":n,"events_dropped":n,"crashes":n,"restarts":n,
    ///  "faults_applied":n,"faults_failed":n}
    /// ```
    ///
    /// where each `{K}` is
    /// `{"sent","delivered","dropped":{"total","loss","partition","node_down","no_link"},
    /// "duplicated","bytes_sent","bytes_delivered","latency_us":{"count","min","p50","p90",
    /// "p95","p99","max"}}`; latency figures are `null` when nothing was delivered.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512 + 400 * self.by_kind.len());
        out.push_str("{\"total\":");
        self.total.write_json(&mut out);
        out.push_str(",\"by_kind\":{");
        for (i, (kind, m)) in self.by_kind.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{kind}\":");
            m.write_json(&mut out);
        }
        let _ = write!(
            out,
            "}},\"timers_fired\":{},\"handle_errors\":{},\"events_recorded\":{},\"events_dropped\":{},\"crashes\":{},\"restarts\":{},\"faults_applied\":{},\"faults_failed\":{}}}",
            self.timers_fired,
            self.handle_errors,
            self.events_recorded,
            self.events_dropped,
            self.crashes,
            self.restarts,
            self.faults_applied,
            self.faults_failed
        );
        out
    }

    /// The message counters as CSV: a header line ([`Metrics::CSV_HEADER`]), then a `total`
    /// row, then one row per kind in ascending order. Empty latency cells mean no deliveries.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(256 + 96 * (self.by_kind.len() + 1));
        out.push_str(Self::CSV_HEADER);
        out.push('\n');
        self.total.write_csv_row("total", &mut out);
        for (kind, m) in &self.by_kind {
            m.write_csv_row(&kind.to_string(), &mut out);
        }
        out
    }

    /// The header line of [`to_csv`](Self::to_csv) (16 columns).
    pub const CSV_HEADER: &'static str = "kind,sent,delivered,dropped_loss,dropped_partition,dropped_node_down,dropped_no_link,duplicated,bytes_sent,bytes_delivered,latency_count,latency_p50_us,latency_p90_us,latency_p95_us,latency_p99_us,latency_max_us";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metrics {
        let mut m = Metrics::default();
        m.on_sent(1, 10);
        m.on_sent(1, 10);
        m.on_sent(7, 3);
        m.on_duplicate(1);
        m.on_delivered(1, 10, 1_000);
        m.on_delivered(1, 10, 3_000);
        m.on_drop(1, DropCause::Loss);
        m.on_drop(7, DropCause::Partition);
        m.timers_fired = 4;
        m
    }

    #[test]
    fn counters_add_up() {
        let m = sample();
        assert_eq!(m.total.sent, 3);
        assert_eq!(m.total.bytes_sent, 23);
        assert_eq!(
            m.total.sent + m.total.duplicated,
            m.total.delivered + m.total.dropped()
        );
        let k1 = &m.by_kind[&1];
        assert_eq!(
            (k1.sent, k1.delivered, k1.duplicated, k1.dropped_loss),
            (2, 2, 1, 1)
        );
        assert_eq!(k1.latency.max(), Some(3_000));
        assert_eq!(m.by_kind[&7].dropped_by(DropCause::Partition), 1);
    }

    #[test]
    fn json_shape() {
        let m = sample();
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).expect("valid JSON");
        assert_eq!(v["total"]["sent"], 3);
        assert_eq!(v["total"]["dropped"]["total"], 2);
        assert_eq!(v["total"]["dropped"]["loss"], 1);
        let p50 = v["by_kind"]["1"]["latency_us"]["p50"]
            .as_u64()
            .expect("p50");
        assert!((1_000..1_063).contains(&p50), "{p50}");
        assert_eq!(v["by_kind"]["1"]["latency_us"]["max"], 3_000);
        assert!(v["by_kind"]["7"]["latency_us"]["p99"].is_null());
        assert_eq!(v["timers_fired"], 4);
        let empty: serde_json::Value =
            serde_json::from_str(&Metrics::default().to_json()).expect("valid JSON");
        assert_eq!(empty["by_kind"], serde_json::json!({}));
    }

    #[test]
    fn csv_shape() {
        let csv = sample().to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], Metrics::CSV_HEADER);
        let cols = lines[0].split(',').count();
        assert_eq!(cols, 16);
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        assert!(lines[1].starts_with("total,3,2,1,1,0,0,1,23,20,2,"));
        assert!(lines[2].starts_with("1,"));
        assert!(lines[3].starts_with("7,1,0,0,1,0,0,0,3,0,0,,"));
    }
}
