//! Line charts of a stage's metrics as SVG: one chart per name before the `/` (`loss/train` and
//! `loss/validation` share the chart `loss`), steps along x.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::page::escape;

const WIDTH: f64 = 460.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 42.0;
/// A series: its name within the chart and its (step, value) points.
type Line<'a> = (&'a str, &'a [(u64, f64)]);

const COLOURS: [&str; 6] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
];

/// The charts of `series` (metric name to (step, value) points), in name order.
pub fn render(series: &BTreeMap<String, Vec<(u64, f64)>>) -> String {
    let mut charts: BTreeMap<&str, Vec<Line<'_>>> = BTreeMap::new();
    for (name, points) in series {
        let (chart, line) = name.split_once('/').unwrap_or((name, name));
        charts.entry(chart).or_default().push((line, points));
    }
    charts
        .into_iter()
        .map(|(title, lines)| chart(title, &lines))
        .collect()
}

/// The range of the points: steps along x, values along y.
struct Scale {
    x0: u64,
    x1: u64,
    y0: f64,
    y1: f64,
}

impl Scale {
    fn of(lines: &[Line<'_>]) -> Option<Scale> {
        let points = lines.iter().flat_map(|(_, points)| points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (u64::MAX, 0u64, f64::MAX, f64::MIN);
        for &(step, value) in points.filter(|(_, v)| v.is_finite()) {
            (x0, x1) = (x0.min(step), x1.max(step));
            (y0, y1) = (y0.min(value), y1.max(value));
        }
        if x0 > x1 {
            return None;
        }
        if (y1 - y0).abs() < 1e-12 {
            (y0, y1) = (y0 - 0.5, y1 + 0.5);
        }
        Some(Scale { x0, x1, y0, y1 })
    }

    /// Where a point is drawn.
    fn at(&self, step: u64, value: f64) -> (f64, f64) {
        let x_span = (self.x1 - self.x0).max(1) as f64;
        let x = LEFT + (step - self.x0) as f64 / x_span * (WIDTH - LEFT - RIGHT);
        let y = TOP + (self.y1 - value) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM);
        (x, y)
    }
}

fn chart(title: &str, lines: &[Line<'_>]) -> String {
    let Some(scale) = Scale::of(lines) else {
        return String::new();
    };
    let title = escape(title);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{title}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}"><text class="title" x="{LEFT}" y="16">{title}</text>"#
    );
    let (bottom, right) = (HEIGHT - BOTTOM, WIDTH - RIGHT);
    let _ = write!(
        svg,
        r#"<path class="axis" d="M {LEFT} {TOP} L {LEFT} {bottom} L {right} {bottom}"/><text class="tick" x="{:.0}" y="{:.0}" text-anchor="end">{}</text><text class="tick" x="{:.0}" y="{:.0}" text-anchor="end">{}</text><text class="tick" x="{LEFT}" y="{:.0}">{}</text><text class="tick" x="{right}" y="{:.0}" text-anchor="end">{}</text><text class="tick" x="{:.0}" y="{:.0}" text-anchor="middle">step</text>"#,
        LEFT - 4.0,
        TOP + 4.0,
        number(scale.y1),
        LEFT - 4.0,
        bottom,
        number(scale.y0),
        bottom + 14.0,
        scale.x0,
        bottom + 14.0,
        scale.x1,
        (LEFT + right) / 2.0,
        bottom + 14.0,
    );
    for (n, line) in lines.iter().enumerate() {
        svg.push_str(&series(n, line, &scale));
    }
    svg.push_str("</svg>");
    svg
}

/// The `n`-th line of a chart, with its legend.
fn series(n: usize, (name, points): &Line<'_>, scale: &Scale) -> String {
    let colour = COLOURS[n % COLOURS.len()];
    let drawn: Vec<(f64, f64)> = points
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|&(step, value)| scale.at(step, value))
        .collect();
    let shape = match drawn.as_slice() {
        [(x, y)] => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#),
        _ => {
            let coordinates: Vec<String> = drawn
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            format!(
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                coordinates.join(" ")
            )
        }
    };
    let legend_x = LEFT + 8.0 + 130.0 * n as f64;
    format!(
        r#"<g class="series" data-series="{name}">{shape}<rect x="{legend_x:.0}" y="{:.0}" width="10" height="10" fill="{colour}"/><text class="legend" x="{:.0}" y="{:.0}">{name} ({} points)</text></g>"#,
        HEIGHT - 14.0,
        legend_x + 14.0,
        HEIGHT - 5.0,
        points.len(),
        name = escape(name),
    )
}

fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_sharing_a_prefix_share_a_chart() {
        let mut series = BTreeMap::new();
        series.insert("loss/train".to_string(), vec![(1, 1.5), (2, 1.0), (3, 0.5)]);
        series.insert("loss/validation".to_string(), vec![(3, 0.75)]);
        series.insert("accuracy/train".to_string(), vec![(1, 0.25), (3, 0.75)]);
        let svg = render(&series);
        assert_eq!(svg.matches("<svg").count(), 2);
        assert!(svg.contains(r#"data-chart="loss""#) && svg.contains(r#"data-chart="accuracy""#));
        assert!(svg.contains("train (3 points)") && svg.contains("validation (1 points)"));
        // The highest loss is at the top of the plot area, the lowest at its bottom.
        assert!(svg.contains(&format!("{LEFT:.1},{TOP:.1}")), "{svg}");
        assert_eq!(render(&BTreeMap::new()), "");
    }
}
