//! Reporting helpers for the experiments: CSV files, SVG charts, progress lines on stderr and
//! peak memory.

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

/// Write `rows` under `header` as CSV (fields must not contain commas or quotes).
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut s = header.join(",");
    s.push('\n');
    for r in rows {
        let _ = writeln!(s, "{}", r.join(","));
    }
    std::fs::write(path, s)
}

/// One named line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn bounds(series: &[Series]) -> (f64, f64, f64, f64) {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    // The y axis starts at 0, or below it when a value is negative (an ROI).
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.08 };
    (x0, x1, y0 * 1.08, y1)
}

/// An SVG line chart (800×480) of `series`.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x0, x1, y0, y1) = bounds(series);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(legend_corner(series, (x0, x1, y0, y1)))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The upper corner whose area (the outer 40% of the width, the top 45% of the height) holds
/// fewer data points, so the legend hides as little of the lines as possible.
fn legend_corner(series: &[Series], (x0, x1, y0, y1): (f64, f64, f64, f64)) -> SeriesLabelPosition {
    let (w, h) = (x1 - x0, y1 - y0);
    let high = |y: f64| y >= y1 - 0.45 * h;
    let points = series.iter().flat_map(|s| s.points.iter());
    let left = points
        .clone()
        .filter(|(x, y)| *x <= x0 + 0.4 * w && high(*y))
        .count();
    let right = points
        .filter(|(x, y)| *x >= x1 - 0.4 * w && high(*y))
        .count();
    if right < left {
        SeriesLabelPosition::UpperRight
    } else {
        SeriesLabelPosition::UpperLeft
    }
}

/// An SVG bar chart (640×420): one bar per (label, value).
pub fn bar_chart(
    path: &Path,
    title: &str,
    y_label: &str,
    bars: &[(&str, f64)],
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (640, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let n = bars.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.to_string()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n + 1)
        .x_label_formatter(&|x| {
            let i = (*x - 0.5).round();
            if (*x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(y_label)
        .draw()?;
    for (i, (label, v)) in bars.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.2, 0.0), (x + 0.8, *v)],
            c.filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{label}: {}", short(*v)),
            (x + 0.2, *v + top * 0.02),
            ("sans-serif", 14),
        )))?;
    }
    root.present()?;
    Ok(())
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Progress on stderr. On a terminal, a bar (label, bar, units done of the total, percent,
/// elapsed time and estimate, the latest note) redrawn in place; otherwise (a log file, a
/// pipe, CI) one line per `step` percent, so logs stay readable.
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: u64,
    next_pct: u64,
    step: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Progress of `total` units, reported every `step` percent (lines) or continuously (a
    /// bar, when stderr is a terminal).
    pub fn new(label: &str, total: u64, step: u64) -> Self {
        use std::io::IsTerminal;
        let target = if std::io::stderr().is_terminal() {
            Some(indicatif::ProgressDrawTarget::stderr())
        } else {
            None
        };
        Self::with_target(label, total, step, target)
    }

    /// As [`new`](Self::new), drawing a bar on `target` if given, else printing lines.
    pub fn with_target(
        label: &str,
        total: u64,
        step: u64,
        target: Option<indicatif::ProgressDrawTarget>,
    ) -> Self {
        let total = total.max(1);
        let bar = target.map(|t| {
            let style = indicatif::ProgressStyle::with_template(
                "[{prefix}] {wide_bar} {pos}/{len} {percent:>3}% {elapsed_precise} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            let bar = indicatif::ProgressBar::with_draw_target(Some(total), t);
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar
        });
        Progress {
            label: label.to_string(),
            total,
            next_pct: 0,
            step: step.clamp(1, 100),
            bar,
        }
    }

    /// `done` units are complete; `note` is appended to the line (or shown after the bar).
    pub fn update(&mut self, done: u64, note: &str) {
        let done = done.min(self.total);
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(note.to_string());
            if done == self.total {
                bar.finish();
            }
            return;
        }
        let pct = done * 100 / self.total;
        if pct >= self.next_pct {
            eprintln!("[{}] {pct:>3}% {note}", self.label);
            self.next_pct = (pct / self.step + 1) * self.step;
        }
    }

    /// Units done so far as the bar shows them (`None` when printing lines).
    pub fn position(&self) -> Option<u64> {
        self.bar.as_ref().map(indicatif::ProgressBar::position)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // A run that ends early leaves its last state on the terminal, not a half-drawn bar.
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.abandon();
        }
    }
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The median of `xs` (the mean of the two middle values for an even count); NaN for an
/// empty slice. What every benchmark reports as its central value over repetitions.
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The `q`-quantile (0..=1) of `xs` by nearest rank; 0 for an empty slice.
pub fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
    xs[rank - 1]
}

/// A frame kind's label in experiment output: its registered name (`"header"`, `"ihave"`,
/// `"descriptor"`, ...; [`agentnet_core::wire::kinds`]), otherwise the kind in hex
/// (`"0x7f01"`).
pub fn kind_label(k: u16) -> String {
    agentnet_core::wire::MessageKind(k).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_tracks_the_units_done_and_ends_full() {
        let hidden = Some(indicatif::ProgressDrawTarget::hidden());
        let mut p = Progress::with_target("t", 10, 10, hidden);
        p.update(3, "three");
        assert_eq!(p.position(), Some(3));
        p.update(99, "past the end");
        assert_eq!(p.position(), Some(10), "clamped to the total");
        let lines = Progress::with_target("t", 10, 10, None);
        assert_eq!(lines.position(), None, "lines when there is no terminal");
    }
}
