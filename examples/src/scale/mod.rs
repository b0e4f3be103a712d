//! The gossip_scale experiment (bodyless gossip against plain flooding on the same topology):
//! its command line, scenario, the two runs and the summary. The `gossip_scale` binary
//! documents the experiment, parses the command line and calls [`experiment`].

mod args;
mod run;
mod scenario;
mod summary;

use std::time::Duration;

pub use args::Args;

use run::*;
use scenario::*;
use summary::*;

/// The one topic everybody subscribes to.
pub(crate) const TOPIC: &str = "bench/scale";
/// Gap between an author's consecutive headers (plus a random offset within it).
pub(crate) const SPACING: Duration = Duration::from_secs(2);
/// Lifetime of the published descriptors (and so of their headers).
pub(crate) const TTL: Duration = Duration::from_secs(60);
/// Virtual time between event drains.
pub(crate) const DRAIN_STEP: Duration = Duration::from_millis(100);
/// Frame kind of a signed log header.
pub(crate) const HEADER_KIND: u16 = 0x0101;

/// Run the whole experiment: setup, run A (gossip) with run B (flooding) fed to a second
/// thread, then the metrics, the results files in `args.out` and the summary on stdout.
pub fn experiment(args: Args) {
    let runs = run::run_both(&args);
    summary::report(&args, runs);
}
