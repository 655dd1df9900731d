//! How often a process waited: its voluntary context switches.
//!
//! On one CPU a receiver that blocks once per message costs two context
//! switches per message; one that drains a queue of many costs two per
//! batch. Reported next to the throughput, this tells which of the two a
//! measurement saw.

/// Voluntary context switches of this process so far (its threads'
/// blocking waits); `None` where `/proc` does not say.
pub fn voluntary_switches() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_voluntary(&status)
}

fn parse_voluntary(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_line() {
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t5\n";
        assert_eq!(parse_voluntary(status), Some(1234));
        assert_eq!(parse_voluntary("Name:\tx\n"), None);
        // This process has the line (Linux).
        assert!(voluntary_switches().is_some());
    }
}
