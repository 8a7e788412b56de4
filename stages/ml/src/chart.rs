//! `accuracy_by_type.png`: one bar per question type and one for all questions, each labelled
//! with its accuracy and question count, over a red line at chance level (25 %).
//!
//! Drawn with [`pipeline_formats::canvas`].

use std::path::Path;

use pipeline_api::StageError;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordu32};
use plotters::prelude::*;

use crate::metrics::{Metrics, Tally, percent};
use pipeline_formats::canvas::{FONT, draw_png};

/// The chart's size in pixels.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;
/// Room below the chart for the note on the chance line.
const FOOTER: u32 = 28;
/// The y axis goes a little past 100 % so that a full bar's label stays inside the plot.
const TOP: f64 = 108.0;
const BAR: RGBColor = RGBColor(70, 120, 190);
const BAR_ALL: RGBColor = RGBColor(30, 60, 110);
const CHANCE_LINE: RGBColor = RGBColor(200, 40, 40);

/// Draws the chart of `metrics` and writes it as a PNG at `path`.
pub fn write_chart(metrics: &Metrics, path: &Path) -> Result<(), StageError> {
    draw_png(WIDTH, HEIGHT, path, |pixels| draw(metrics, pixels))
}

/// The bars, in order: the six types, then all questions.
fn bars(metrics: &Metrics) -> Vec<(String, Tally)> {
    let mut bars: Vec<(String, Tally)> = metrics
        .types()
        .map(|(name, tally)| (name.to_string(), tally))
        .collect();
    bars.push(("all".to_string(), metrics.overall));
    bars
}

fn draw(metrics: &Metrics, pixels: &mut [u8]) -> Result<(), Box<dyn std::error::Error>> {
    let bars = bars(metrics);
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, footer) = root.split_vertically(HEIGHT - FOOTER);
    let title = format!("Accuracy by question type: {}", shorten(&metrics.model, 60));
    let last = bars.len() as u32 - 1;
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((0u32..last).into_segmented(), 0f64..TOP)?;
    draw_axes(&mut chart, &bars)?;
    for (index, (name, tally)) in bars.iter().enumerate() {
        draw_bar(&mut chart, index as u32, name == "all", *tally)?;
    }
    draw_chance(&mut chart, metrics.chance * 100.0)?;
    let note = format!(
        "Red line: chance level ({}). n: questions of each type.",
        percent(Some(metrics.chance))
    );
    let note_style = TextStyle::from((FONT, 15).into_font()).color(&CHANCE_LINE);
    footer.draw_text(&note, &note_style, (16, 4))?;
    root.present()?;
    Ok(())
}

/// The axes, the horizontal grid, and each bar's name and question count under it.
fn draw_axes(
    chart: &mut Chart<'_, '_>,
    bars: &[(String, Tally)],
) -> Result<(), Box<dyn std::error::Error>> {
    let label = |value: &SegmentValue<u32>| match value {
        SegmentValue::CenterOf(index) => bars
            .get(*index as usize)
            .map(|(name, tally)| format!("{name} (n={})", tally.total))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let percent_label = |v: &f64| {
        if *v <= 100.0 {
            format!("{v:.0}")
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("accuracy (%)")
        .x_labels(bars.len())
        .x_label_formatter(&label)
        .y_label_formatter(&percent_label)
        .light_line_style(WHITE)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;
    Ok(())
}

/// A red line across the plot at `chance` percent.
fn draw_chance(chart: &mut Chart<'_, '_>, chance: f64) -> Result<(), Box<dyn std::error::Error>> {
    let line = [
        (SegmentValue::Exact(0), chance),
        (SegmentValue::Last, chance),
    ];
    chart.draw_series(std::iter::once(PathElement::new(
        line,
        CHANCE_LINE.stroke_width(2),
    )))?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<SegmentedCoord<RangedCoordu32>, RangedCoordf64>,
>;

/// One bar with its accuracy written above it ("no questions" for an empty type).
fn draw_bar(
    chart: &mut Chart<'_, '_>,
    index: u32,
    all: bool,
    tally: Tally,
) -> Result<(), Box<dyn std::error::Error>> {
    let style = TextStyle::from((FONT, 16).into_font()).color(&BLACK).pos(
        plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        ),
    );
    let Some(accuracy) = tally.accuracy else {
        let text = Text::new("no questions", (SegmentValue::CenterOf(index), 1.0), style);
        chart.draw_series(std::iter::once(text))?;
        return Ok(());
    };
    let height = accuracy * 100.0;
    let color = if all { BAR_ALL } else { BAR };
    let corners = [
        (SegmentValue::Exact(index), 0.0),
        (SegmentValue::Exact(index + 1), height),
    ];
    let mut bar = Rectangle::new(corners, color.filled());
    bar.set_margin(0, 0, 14, 14);
    chart.draw_series(std::iter::once(bar))?;
    let text = format!("{:.1}%", height);
    chart.draw_series(std::iter::once(Text::new(
        text,
        (SegmentValue::CenterOf(index), height + 1.0),
        style,
    )))?;
    Ok(())
}

/// At most `limit` characters of `text`, with an ellipsis when cut.
fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    text.chars()
        .take(limit - 1)
        .chain(std::iter::once('…'))
        .collect()
}
