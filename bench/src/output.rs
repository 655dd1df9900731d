//! The lines `cargo xtask bench` reads: `PERF {...}`, `PERF-INFO {...}`,
//! `PERF-END {...}` and `PERF-ERROR <text>`, each JSON object on one line.

use std::fmt::Write as _;

/// One measured value of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// "unicast", "rtt" or "fanout".
    pub shape: &'static str,
    /// "throughput", "median", "p99", "total", "per-subscriber" or
    /// "publisher-cpu".
    pub metric: &'static str,
    /// Payload bytes.
    pub size: usize,
    /// Subscribers (1 except for fan-out).
    pub subscribers: usize,
    /// The implementation measured ("ipcon", "raw-netlink", ...).
    pub implementation: &'static str,
    /// Round number, from 1: the implementations of one configuration
    /// measured back to back (one A/B pair per round).
    pub run: u32,
    /// 1, or 2 for the rounds of a configuration measured again because
    /// its ratios were too spread (those replace the first ones).
    pub attempt: u32,
    /// The value, in `unit`.
    pub value: f64,
    /// "msg/s", "us" or "us/msg".
    pub unit: &'static str,
    /// Messages (round trips for rtt) sent.
    pub sent: u64,
    /// Messages (round trips) received.
    pub received: u64,
    /// Messages neither received nor reported to the sender as an error
    /// (for fan-out: the subscribers' reported `missed` counts).
    pub lost: u64,
}

impl Measurement {
    /// The `PERF {...}` line.
    pub fn line(&self) -> String {
        let mut s = String::from("PERF {");
        let _ = write!(
            s,
            "\"shape\":{},\"metric\":{},\"size\":{},\"subscribers\":{},\"impl\":{},\"run\":{},\
             \"attempt\":{},\"value\":{},\"unit\":{},\"sent\":{},\"received\":{},\"lost\":{}}}",
            json_string(self.shape),
            json_string(self.metric),
            self.size,
            self.subscribers,
            json_string(self.implementation),
            self.run,
            self.attempt,
            json_number(self.value),
            json_string(self.unit),
            self.sent,
            self.received,
            self.lost,
        );
        s
    }
}

/// The `PERF-INFO {...}` line for one piece of context.
pub fn info_line(key: &str, value: &str) -> String {
    format!(
        "PERF-INFO {{\"key\":{},\"value\":{}}}",
        json_string(key),
        json_string(value)
    )
}

/// The closing `PERF-END {...}` line.
pub fn end_line(runs: u32, measurements: usize) -> String {
    format!("PERF-END {{\"runs\":{runs},\"measurements\":{measurements}}}")
}

/// The `PERF-ERROR <text>` line (one line even if `text` has several).
pub fn error_line(text: &str) -> String {
    format!("PERF-ERROR {}", text.replace('\n', " | "))
}

/// A JSON number: fixed three decimals (JSON has no NaN or infinity; a
/// value that is not finite is a bug upstream, printed as 0).
fn json_number(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.3}")
    } else {
        "0".to_string()
    }
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", u32::from(c));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_is_one_line_of_json_with_the_agreed_keys() {
        let m = Measurement {
            shape: "unicast",
            metric: "throughput",
            size: 64,
            subscribers: 1,
            implementation: "ipcon",
            run: 1,
            attempt: 1,
            value: 51234.5,
            unit: "msg/s",
            sent: 20000,
            received: 20000,
            lost: 0,
        };
        assert_eq!(
            m.line(),
            "PERF {\"shape\":\"unicast\",\"metric\":\"throughput\",\"size\":64,\"subscribers\":1,\
             \"impl\":\"ipcon\",\"run\":1,\"attempt\":1,\"value\":51234.500,\"unit\":\"msg/s\",\"sent\":20000,\
             \"received\":20000,\"lost\":0}"
        );
        let broken = Measurement {
            value: f64::INFINITY,
            ..m
        };
        assert!(broken.line().contains("\"value\":0,"));
    }

    #[test]
    fn info_end_and_error_lines() {
        assert_eq!(
            info_line("kernel", "6.1.0 \"x\"\n"),
            "PERF-INFO {\"key\":\"kernel\",\"value\":\"6.1.0 \\\"x\\\"\\n\"}"
        );
        assert_eq!(json_string("\u{1}"), "\"\\u0001\"");
        assert_eq!(end_line(3, 72), "PERF-END {\"runs\":3,\"measurements\":72}");
        assert_eq!(error_line("a\nb"), "PERF-ERROR a | b");
    }
}
