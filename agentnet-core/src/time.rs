//! Time as values: the engines never read a clock.
//!
//! Every input to an engine carries a [`Now`]: a monotonic [`Instant`] used for deadlines,
//! timeouts and rate limits, and a [`WallTime`] used for anything that is signed and compared
//! across machines (issued-at stamps, expiry). The host reads its clocks once per call and passes
//! both; the simulator advances both together, so simulated runs are consistent.
//!
//! Both are plain `u64` counts, so they are `Copy`, totally ordered, cheap to hash and encode,
//! and arithmetic on them saturates instead of panicking.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

use serde::{Deserialize, Serialize};

/// A point on a monotonic clock, in **microseconds** since an epoch the host picks (process
/// start, simulation start). Only differences between instants of the same host mean anything;
/// instants never go on the wire.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The epoch of the host's monotonic clock.
    pub const ZERO: Instant = Instant(0);
    /// The largest representable instant; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// An instant `millis` milliseconds after the epoch (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000))
    }

    /// An instant `secs` seconds after the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(1_000_000))
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::MAX`].
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        Instant(self.0.saturating_add(duration_micros(d)))
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    #[must_use]
    pub fn saturating_sub(self, d: Duration) -> Self {
        Instant(self.0.saturating_sub(duration_micros(d)))
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Wall-clock time in **milliseconds since the Unix epoch** (UTC). This is what signed objects
/// carry (issued-at, expiry) and what freshness is judged by, so it must be comparable across
/// machines; engines allow a configurable skew window when they compare a peer's stamp with
/// their own.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WallTime(u64);

impl WallTime {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: WallTime = WallTime(0);

    /// `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        WallTime(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        WallTime(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, saturating at the epoch.
    #[must_use]
    pub fn saturating_sub(self, d: Duration) -> Self {
        WallTime(self.0.saturating_sub(duration_millis(d)))
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: WallTime) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Debug for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unix:{}.{:03}", self.0 / 1_000, self.0 % 1_000)
    }
}

impl Add<Duration> for WallTime {
    type Output = WallTime;
    fn add(self, rhs: Duration) -> WallTime {
        self.saturating_add(rhs)
    }
}

/// The one time value every engine input carries: the host's monotonic and wall clocks read
/// together. Hosts build it once per call (`Now::new(mono, wall)`); the simulator advances both
/// fields by the same amount so virtual runs stay consistent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Now {
    /// Monotonic time: deadlines, timeouts, rate limits.
    pub mono: Instant,
    /// Wall-clock time: issued-at stamps and expiry of signed objects.
    pub wall: WallTime,
}

impl Now {
    /// Both clocks read together.
    pub const fn new(mono: Instant, wall: WallTime) -> Self {
        Now { mono, wall }
    }

    /// Both clocks moved forward by `d` (saturating).
    #[must_use]
    pub fn advance(self, d: Duration) -> Self {
        Now {
            mono: self.mono + d,
            wall: self.wall + d,
        }
    }

    /// The `Now` at monotonic instant `mono`, keeping the offset between the two clocks.
    /// Used by drivers that only track the monotonic clock (the simulator, timer wheels).
    #[must_use]
    pub fn at(self, mono: Instant) -> Self {
        if mono >= self.mono {
            self.advance(mono - self.mono)
        } else {
            let back = self.mono - mono;
            Now {
                mono,
                wall: self.wall.saturating_sub(back),
            }
        }
    }
}

fn duration_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_arithmetic_saturates() {
        let t = Instant::from_secs(2);
        assert_eq!(
            t + Duration::from_millis(1),
            Instant::from_micros(2_001_000)
        );
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_secs(2));
        assert_eq!(
            Instant::ZERO.saturating_sub(Duration::from_secs(1)),
            Instant::ZERO
        );
    }

    #[test]
    fn now_advances_both_clocks() {
        let n = Now::new(
            Instant::from_secs(1),
            WallTime::from_unix_millis(1_700_000_000_000),
        );
        let m = n.advance(Duration::from_millis(250));
        assert_eq!(m.mono, Instant::from_micros(1_250_000));
        assert_eq!(m.wall.as_unix_millis(), 1_700_000_000_250);
        assert_eq!(
            n.at(Instant::from_secs(3)).wall.as_unix_millis(),
            1_700_000_002_000
        );
        assert_eq!(m.at(Instant::from_secs(1)), n);
    }

    #[test]
    fn wall_time_is_transparent_on_the_wire() {
        let mut buf = Vec::new();
        ciborium::into_writer(&WallTime::from_unix_millis(5), &mut buf).unwrap();
        assert_eq!(buf, vec![0x05]);
    }
}
