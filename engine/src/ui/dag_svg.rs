//! The stage graph as SVG: laid out by `layout-rs` (layered, with few edge crossings), drawn here
//! so that each stage is a link with its status in `class` and `data-status`, and the instances of
//! a matrix stage sit in one dashed frame named after it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use layout::core::base::Orientation;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::page::{escape, stage_href};
use super::view::StageView;

/// The graph of `stages`, `selected` outlined.
pub fn render(stages: &[StageView], selected: Option<usize>) -> String {
    if stages.is_empty() {
        return String::new();
    }
    let (boxes, edges) = lay_out(stages);
    draw(stages, &boxes, &edges, selected)
}

/// Each stage's box (top left, bottom right) and the edges.
fn lay_out(stages: &[StageView]) -> (Vec<(Point, Point)>, EdgeRecorder) {
    let orientation = Orientation::LeftToRight;
    let mut graph = VisualGraph::new(orientation);
    let handles: Vec<_> = stages
        .iter()
        .map(|stage| {
            let width = 7.5 * stage.name.chars().count().max(6) as f64 + 24.0;
            let size = Point::new(width, 40.0);
            let shape = ShapeKind::new_box(&stage.name);
            graph.add_node(Element::create(
                shape,
                StyleAttr::simple(),
                orientation,
                size,
            ))
        })
        .collect();
    for (index, stage) in stages.iter().enumerate() {
        for &up in &stage.upstream {
            graph.add_edge(Arrow::simple(""), handles[up], handles[index]);
        }
    }
    let mut edges = EdgeRecorder::default();
    graph.do_it(false, false, false, &mut edges);
    let boxes = handles.iter().map(|&h| graph.pos(h).bbox(false)).collect();
    (boxes, edges)
}

fn draw(
    stages: &[StageView],
    boxes: &[(Point, Point)],
    edges: &EdgeRecorder,
    selected: Option<usize>,
) -> String {
    let groups = matrix_groups(stages, boxes);
    let (x, y, width, height) = view_box(boxes, &groups, edges);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="dag" viewBox="{x:.0} {y:.0} {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="stage graph">"#
    );
    svg.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>"#);
    for (name, (a, b)) in &groups {
        let count = stages
            .iter()
            .filter(|s| base_name(&s.name) == Some(name.as_str()))
            .count();
        let _ = write!(
            svg,
            r#"<g class="matrix" data-matrix="{name}"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="8"/><text x="{:.1}" y="{:.1}">{name} ×{count}</text></g>"#,
            a.x,
            a.y,
            b.x - a.x,
            b.y - a.y,
            a.x + 6.0,
            a.y - 4.0,
            name = escape(name),
        );
    }
    for path in &edges.paths {
        let _ = write!(
            svg,
            r#"<path class="edge" d="{path}" marker-end="url(#arrow)"/>"#
        );
    }
    for (index, (stage, area)) in stages.iter().zip(boxes).enumerate() {
        svg.push_str(&node(index, stage, area, selected == Some(index)));
    }
    svg.push_str("</svg>");
    svg
}

/// The area (x, y, width, height) that holds every box, frame and edge, with a margin.
fn view_box(
    boxes: &[(Point, Point)],
    groups: &BTreeMap<String, (Point, Point)>,
    edges: &EdgeRecorder,
) -> (f64, f64, f64, f64) {
    let (mut low, mut high) = (
        Point::new(f64::MAX, f64::MAX),
        Point::new(f64::MIN, f64::MIN),
    );
    // Long edges pass through points of their own, outside every box.
    let edge_points = edges.points.iter().map(|p| (*p, *p));
    let areas = boxes.iter().copied().chain(groups.values().copied());
    for (a, b) in areas.chain(edge_points) {
        low = Point::new(low.x.min(a.x), low.y.min(a.y));
        high = Point::new(high.x.max(b.x), high.y.max(b.y));
    }
    let margin = 12.0;
    let (x, y) = (low.x - margin, low.y - margin - 14.0);
    (x, y, high.x - x + margin, high.y - y + margin)
}

/// One stage: a link to its page around its box, name and status.
fn node(index: usize, stage: &StageView, (a, b): &(Point, Point), selected: bool) -> String {
    let word = stage.shown.word();
    let outline = if selected { " selected" } else { "" };
    let middle = (a.x + b.x) / 2.0;
    format!(
        r#"<a href="{href}"><g class="stage {word}{outline}" id="stage-{index}" data-stage="{name}" data-status="{word}"><title>{name}: {described}</title><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="5"/><text class="name" x="{middle:.1}" y="{:.1}">{name}</text><text class="state" x="{middle:.1}" y="{:.1}">{word}</text></g></a>"#,
        a.x,
        a.y,
        b.x - a.x,
        b.y - a.y,
        a.y + 17.0,
        a.y + 32.0,
        href = stage_href(&stage.name),
        name = escape(&stage.name),
        described = escape(&stage.described),
    )
}

/// The frame around each matrix stage's instances (`train[seed=1]`, `train[seed=2]`: `train`).
fn matrix_groups(
    stages: &[StageView],
    boxes: &[(Point, Point)],
) -> BTreeMap<String, (Point, Point)> {
    let mut groups: BTreeMap<String, (Point, Point)> = BTreeMap::new();
    for (stage, (a, b)) in stages.iter().zip(boxes) {
        let Some(base) = base_name(&stage.name) else {
            continue;
        };
        let pad = 6.0;
        let (a, b) = (
            Point::new(a.x - pad, a.y - pad),
            Point::new(b.x + pad, b.y + pad),
        );
        groups
            .entry(base.to_string())
            .and_modify(|(low, high)| {
                *low = Point::new(low.x.min(a.x), low.y.min(a.y));
                *high = Point::new(high.x.max(b.x), high.y.max(b.y));
            })
            .or_insert((a, b));
    }
    groups
}

fn base_name(name: &str) -> Option<&str> {
    name.find('[').map(|at| &name[..at])
}

/// Keeps the edges the layout draws (as SVG path data, and the points they pass), and nothing
/// else.
#[derive(Default)]
struct EdgeRecorder {
    paths: Vec<String>,
    points: Vec<Point>,
}

impl RenderBackend for EdgeRecorder {
    fn draw_rect(
        &mut self,
        _: Point,
        _: Point,
        _: &StyleAttr,
        _: Option<String>,
        _: Option<ClipHandle>,
    ) {
    }

    fn draw_line(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}

    fn draw_circle(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}

    fn draw_text(&mut self, _: Point, _: &str, _: &StyleAttr) {}

    /// `path`: the exit vector of the first point, then the entry vector of each next one, as
    /// (point, control point): a cubic Bézier through them.
    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        _: bool,
        _: (bool, bool),
        _: &StyleAttr,
        _: Option<String>,
        _: &str,
    ) {
        let [(start, exit), (control, end), rest @ ..] = path else {
            return;
        };
        self.points.extend(path.iter().flat_map(|(a, b)| [*a, *b]));
        let mut d = format!(
            "M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
            start.x, start.y, exit.x, exit.y, control.x, control.y, end.x, end.y
        );
        for (control, point) in rest {
            let _ = write!(
                d,
                " S {:.1} {:.1}, {:.1} {:.1}",
                control.x, control.y, point.x, point.y
            );
        }
        self.paths.push(d);
    }

    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::view::Shown;

    fn stage(name: &str, upstream: Vec<usize>, shown: Shown) -> StageView {
        let mut stage = StageView::new(name, "exec", upstream);
        stage.shown = shown;
        stage
    }

    #[test]
    fn every_stage_is_a_box_with_its_status_and_matrix_instances_share_a_frame() {
        let stages = vec![
            stage("data", vec![], Shown::Cached),
            stage("train[seed=1]", vec![0], Shown::Running),
            stage("train[seed=2]", vec![0], Shown::Stale),
            stage("ensemble<&>", vec![1, 2], Shown::Failed),
        ];
        let svg = render(&stages, Some(1));
        for (index, stage) in stages.iter().enumerate() {
            let status = format!(
                r#"id="stage-{index}" data-stage="{}" data-status="{}""#,
                escape(&stage.name),
                stage.shown.word()
            );
            assert!(svg.contains(&status), "{status} in {svg}");
        }
        assert_eq!(svg.matches(r#"class="edge""#).count(), 4);
        assert_eq!(svg.matches(r#"data-matrix="train""#).count(), 1);
        assert!(svg.contains("train ×2"));
        assert!(svg.contains("stage running selected"));
        assert!(!svg.contains("ensemble<&>"), "names are escaped");
        let (boxes, edges) = lay_out(&stages);
        // The picture holds every box and every point an edge passes.
        let view_box: Vec<f64> = svg
            .split("viewBox=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        let inside = |p: &Point| {
            p.x >= view_box[0]
                && p.y >= view_box[1]
                && p.x <= view_box[0] + view_box[2]
                && p.y <= view_box[1] + view_box[3]
        };
        assert!(
            edges.points.iter().all(inside),
            "{view_box:?} {:?}",
            edges.points
        );
        assert!(
            boxes.iter().all(|(a, b)| inside(a) && inside(b)),
            "{view_box:?} {boxes:?}"
        );
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let apart = a.1.x <= b.0.x || b.1.x <= a.0.x || a.1.y <= b.0.y || b.1.y <= a.0.y;
                assert!(apart, "boxes overlap: {boxes:?}");
            }
        }
        // Left to right: a stage sits right of what it reads.
        assert!(
            boxes[0].1.x <= boxes[1].0.x && boxes[1].1.x <= boxes[3].0.x,
            "{boxes:?}"
        );
    }
}
