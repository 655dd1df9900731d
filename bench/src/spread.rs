//! How far the per-round ratios of a pair of implementations scatter.
//!
//! Shared as a file with `cargo xtask bench` (xtask includes it with
//! `#[path]`): the program decides with it which configurations to measure
//! again, xtask which ratios to mark unreliable, and both must agree.

/// Half the interquartile range of `values` over their median (quartiles
/// interpolated between the sorted values): the "±" of a ratio. One wild
/// round out of five does not move it. `None` for fewer than two values or
/// a median of zero.
pub fn spread(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let at = q * (sorted.len() - 1) as f64;
        let (low, high) = (at.floor() as usize, at.ceil() as usize);
        sorted[low] + (sorted[high] - sorted[low]) * (at - low as f64)
    };
    let median = quantile(0.5).abs();
    (median > 0.0).then(|| (quantile(0.75) - quantile(0.25)) / 2.0 / median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_the_interquartile_range_over_the_median() {
        assert_eq!(spread(&[1.0]), None);
        assert_eq!(spread(&[0.0, 0.0, 0.0]), None);
        // Quartiles 0.9 and 1.1 around 1.0: ±10 %.
        let s = spread(&[1.2, 0.9, 1.0, 1.1, 0.5]).unwrap();
        assert!((s - 0.1).abs() < 1e-12, "{s}");
        // One wild round out of five does not widen it.
        let s = spread(&[1.0, 1.0, 1.01, 0.99, 9.0]).unwrap();
        assert!(s < 0.011, "{s}");
    }
}
