//! The fan-out scaling plot `cargo xtask bench` writes: deliveries per
//! second (all subscribers together) against the number of subscribers,
//! one line per implementation, as a standalone SVG.
//!
//! Hand-written SVG: a few polylines, axes and labels are less code than a
//! plotting crate's dependencies, and the file stays readable text.

use std::fmt::Write as _;

/// One implementation's line: (subscribers, value) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(u32, f64)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// Distinct colours (and dash patterns, for black-and-white prints).
const STYLES: &[(&str, &str)] = &[
    ("#1f77b4", ""),
    ("#d62728", "6,3"),
    ("#2ca02c", "2,3"),
    ("#ff7f0e", "8,3,2,3"),
    ("#9467bd", "4,4"),
    ("#8c564b", "1,2"),
    ("#17becf", "10,2"),
];

/// A round axis maximum at or above `value`: 1, 2 or 5 times a power of 10.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * power)
        .find(|&ceiling| ceiling >= value)
        .unwrap_or(10.0 * power)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The plot: x is the subscriber count on a log2 scale, y linear from 0.
pub fn fanout_svg(title: &str, y_label: &str, series: &[Series]) -> String {
    let xs: Vec<u32> = {
        let mut xs: Vec<u32> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        xs.sort_unstable();
        xs.dedup();
        xs
    };
    let (x_min, x_max) = match (xs.first(), xs.last()) {
        (Some(&low), Some(&high)) if high > low => (f64::from(low).log2(), f64::from(high).log2()),
        (Some(&only), _) => (f64::from(only).log2() - 1.0, f64::from(only).log2() + 1.0),
        _ => (0.0, 1.0),
    };
    let y_max = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x_at = |subs: u32| LEFT + (f64::from(subs).log2() - x_min) / (x_max - x_min) * plot_w;
    let y_at = |value: f64| TOP + plot_h - value / y_max * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        svg,
        "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>",
        LEFT + plot_w / 2.0,
        escape(title)
    );
    // Horizontal grid lines and y labels at fifths of the axis.
    for step in 0..=5 {
        let value = y_max * f64::from(step) / 5.0;
        let y = y_at(value);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            value_label(value)
        );
    }
    for &subs in &xs {
        let x = x_at(subs);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>\n\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{subs}</text>",
            TOP + plot_h,
            TOP + plot_h + 16.0
        );
    }
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" \
         stroke=\"#444\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">subscribers</text>\n\
         <text x=\"16\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">{}</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    for (index, line) in series.iter().enumerate() {
        let (colour, dash) = STYLES[index % STYLES.len()];
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(" stroke-dasharray=\"{dash}\"")
        };
        let points: Vec<String> = line
            .points
            .iter()
            .map(|&(subs, value)| format!("{:.1},{:.1}", x_at(subs), y_at(value)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
            points.join(" ")
        );
        for &(subs, value) in &line.points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                x_at(subs),
                y_at(value)
            );
        }
        let legend_y = TOP + 10.0 + 20.0 * index as f64;
        let legend_x = LEFT + plot_w + 14.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{legend_x:.1}\" y1=\"{legend_y:.1}\" x2=\"{:.1}\" y2=\"{legend_y:.1}\" \
             stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            legend_x + 24.0,
            legend_x + 30.0,
            legend_y + 4.0,
            escape(&line.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// "120k", "1.5M", "800".
fn value_label(value: f64) -> String {
    if value >= 1e6 {
        format!("{}M", trim(value / 1e6))
    } else if value >= 1e3 {
        format!("{}k", trim(value / 1e3))
    } else {
        trim(value)
    }
}

fn trim(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(130_000.0), 200_000.0);
        assert_eq!(nice_ceiling(480.0), 500.0);
        assert_eq!(nice_ceiling(501.0), 1000.0);
        assert_eq!(value_label(120_000.0), "120k");
        assert_eq!(value_label(1_500_000.0), "1.5M");
        assert_eq!(value_label(40.0), "40");
    }

    #[test]
    fn one_polyline_per_implementation_on_a_log_axis() {
        let series = vec![
            Series {
                name: "ipcon".into(),
                points: vec![(1, 100.0), (4, 200.0), (16, 400.0), (64, 800.0)],
            },
            Series {
                name: "uds <loop>".into(),
                points: vec![(1, 100.0), (64, 100.0)],
            },
        ];
        let svg = fanout_svg("fan-out", "deliveries/s", &series);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("uds &lt;loop&gt;"));
        // log2: 1, 4, 16, 64 are evenly spaced; the top of the axis is 1000.
        let first = svg.lines().find(|l| l.starts_with("<polyline")).unwrap();
        let xs: Vec<f64> = first
            .split("points=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches("\"/>")
            .split(' ')
            .map(|p| p.split(',').next().unwrap().parse().unwrap())
            .collect();
        let gaps: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (g - gaps[0]).abs() < 0.2), "{gaps:?}");
        assert!(svg.contains(">1k</text>"));
    }
}
