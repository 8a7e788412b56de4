//! `curves.png`: training loss per step with the epochs' validation loss (left), and training and
//! validation accuracy per epoch (right).

use std::path::Path;

use pipeline_api::StageError;
use pipeline_formats::canvas::{FONT, draw_png};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::history::History;

pub const CURVES_PNG: &str = "curves.png";
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 480;
const TRAIN: RGBColor = RGBColor(70, 120, 190);
const VAL: RGBColor = RGBColor(220, 110, 30);

/// Draws `history` into `path`.
pub fn write_curves(history: &History, title: &str, path: &Path) -> Result<(), StageError> {
    draw_png(WIDTH, HEIGHT, path, |pixels| {
        let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, (FONT, 20))?;
        let (left, right) = root.split_horizontally(WIDTH / 2);
        draw_loss(history, &left)?;
        draw_accuracy(history, &right)?;
        root.present()?;
        Ok(())
    })
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One panel: axes over `x` and `y` with a caption and the x axis named.
fn panel<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &str,
) -> DrawResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(52)
        .caption(caption, (FONT, 16))
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .label_style((FONT, 13))
        .draw()?;
    Ok(chart)
}

/// The legend of the series drawn with a label.
fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> DrawResult<()> {
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// Steps at which each epoch ended (x positions of the epoch points on the step axis).
fn epoch_end_steps(history: &History) -> Vec<f64> {
    history
        .epochs
        .iter()
        .map(|e| {
            history
                .steps
                .iter()
                .filter(|s| s.epoch <= e.epoch)
                .map(|s| s.step)
                .max()
                .unwrap_or(0) as f64
        })
        .collect()
}

fn draw_loss(history: &History, area: &Area<'_>) -> DrawResult<()> {
    let steps: Vec<(f64, f64)> = history
        .steps
        .iter()
        .map(|s| (s.step as f64, s.loss))
        .collect();
    let ends = epoch_end_steps(history);
    let val: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .zip(&ends)
        .filter_map(|(e, &x)| e.val_loss.map(|v| (x, v)))
        .collect();
    let x_max = steps.last().map_or(1.0, |p| p.0).max(1.0);
    let y_max = steps.iter().chain(&val).map(|p| p.1).fold(0.1, f64::max) * 1.05;
    let mut chart = panel(area, "loss", 0.0..x_max, 0.0..y_max, "optimizer step")?;
    chart
        .draw_series(LineSeries::new(steps, TRAIN.stroke_width(1)))?
        .label("train (per step)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], TRAIN));
    chart
        .draw_series(LineSeries::new(val.clone(), VAL.stroke_width(2)))?
        .label("val (per epoch)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], VAL));
    chart.draw_series(val.iter().map(|&p| Circle::new(p, 4, VAL.filled())))?;
    draw_legend(&mut chart)
}

fn draw_accuracy(history: &History, area: &Area<'_>) -> DrawResult<()> {
    let train: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .map(|e| (e.epoch as f64, e.train_accuracy * 100.0))
        .collect();
    let val: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .filter_map(|e| e.val_accuracy.map(|v| (e.epoch as f64, v * 100.0)))
        .collect();
    let x_max = history.epochs.len().max(1) as f64 + 0.5;
    let mut chart = panel(area, "accuracy (%)", 0.5..x_max, 0.0..100.0, "epoch")?;
    for (points, color, name) in [(train, TRAIN, "train"), (val, VAL, "val")] {
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart.draw_series(LineSeries::new(
        [(0.5, 25.0), (x_max, 25.0)],
        RGBColor(200, 40, 40),
    ))?;
    draw_legend(&mut chart)
}
