//! Summaries of round-trip samples.

/// The median of `samples` (the mean of the two middle values for an even
/// count); `None` when empty. Sorts `samples`.
pub fn median(samples: &mut [u64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let mid = samples.len() / 2;
    Some(if samples.len() % 2 == 1 {
        samples[mid] as f64
    } else {
        (samples[mid - 1] as f64 + samples[mid] as f64) / 2.0
    })
}

/// The `pct`-th percentile of `samples` by the nearest-rank method: the
/// smallest sample that at least `pct` % of the samples do not exceed;
/// `None` when empty. Sorts `samples`.
pub fn percentile(samples: &mut [u64], pct: f64) -> Option<u64> {
    if samples.is_empty() || !(0.0..=100.0).contains(&pct) {
        return None;
    }
    samples.sort_unstable();
    let rank = (pct / 100.0 * samples.len() as f64).ceil() as usize;
    Some(samples[rank.clamp(1, samples.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&mut [7]), Some(7.0));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn p99_by_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut samples, 99.0), Some(99));
        assert_eq!(percentile(&mut samples, 100.0), Some(100));
        assert_eq!(percentile(&mut samples, 50.0), Some(50));
        assert_eq!(percentile(&mut samples, 0.0), Some(1));
        // 1000 samples: the 990th smallest.
        let mut more: Vec<u64> = (0..1000).collect();
        assert_eq!(percentile(&mut more, 99.0), Some(989));
        // Few samples: p99 is the largest.
        assert_eq!(percentile(&mut [3, 9, 1], 99.0), Some(9));
        assert_eq!(percentile(&mut [], 99.0), None);
        assert_eq!(percentile(&mut [1], 101.0), None);
    }
}
