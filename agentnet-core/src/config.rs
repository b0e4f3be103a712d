//! The one rule for engine configurations: **a typed error at construction, never silent
//! clamping.**
//!
//! Every config struct in agentnet documents a range for each bounded field. Its
//! `validate(&self) -> Result<(), ConfigError>` checks exactly those ranges, and the engine
//! constructor calls it and returns the [`ConfigError`] naming the first field out of range.
//! A value is never quietly raised or lowered into its range: a host that asked for something
//! impossible learns so when it builds the engine, not later from surprising behaviour.

use core::fmt::Debug;
use core::ops::RangeInclusive;

use thiserror::Error;

/// A configuration field outside its documented range.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{field} = {value} is outside {range}")]
pub struct ConfigError {
    /// The field, as written in the config (nested fields as `outer.inner`).
    pub field: &'static str,
    /// The value given, formatted with `Debug`.
    pub value: String,
    /// The documented range, e.g. `"1..=32"` or `"50 ms..=60 s"`.
    pub range: &'static str,
}

impl ConfigError {
    /// The error for `field` holding `value`, documented as `range`.
    pub fn new(field: &'static str, value: impl Debug, range: &'static str) -> Self {
        ConfigError {
            field,
            value: format!("{value:?}"),
            range,
        }
    }
}

/// Check that `value` lies in the inclusive range `bounds` (documented as `range`).
///
/// Values that do not compare (a NaN float) are refused too.
///
/// ```
/// use agentnet_core::config::check_range;
///
/// assert!(check_range("mesh_d", 6usize, 1..=32, "1..=32").is_ok());
/// let e = check_range("mesh_d", 0usize, 1..=32, "1..=32").unwrap_err();
/// assert_eq!(e.field, "mesh_d");
/// assert_eq!(e.to_string(), "mesh_d = 0 is outside 1..=32");
/// assert!(check_range("ratio", f64::NAN, 0.0..=1.0, "0..=1").is_err());
/// ```
pub fn check_range<T: PartialOrd + Debug>(
    field: &'static str,
    value: T,
    bounds: RangeInclusive<T>,
    range: &'static str,
) -> Result<(), ConfigError> {
    if bounds.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(field, value, range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn inclusive_bounds_and_message() {
        assert!(check_range("x", 1u32, 1..=3, "1..=3").is_ok());
        assert!(check_range("x", 3u32, 1..=3, "1..=3").is_ok());
        let e = check_range("x", 4u32, 1..=3, "1..=3").unwrap_err();
        assert_eq!(
            e,
            ConfigError {
                field: "x",
                value: "4".into(),
                range: "1..=3"
            }
        );
        let ms = Duration::from_millis;
        let e = check_range("t", ms(5), ms(10)..=ms(20), "10 ms..=20 ms").unwrap_err();
        assert_eq!(e.to_string(), "t = 5ms is outside 10 ms..=20 ms");
        assert!(check_range("f", f64::INFINITY, 0.0..=1.0, "0..=1").is_err());
    }
}
