//! Draws a [`Scene`] on an `RgbImage`: flat grey background, filled shapes with edges smoothed by
//! 4x4 supersampling.

use image::{Rgb, RgbImage};

use super::scene::{Object, Scene, Shape};

/// Subsamples per pixel side.
const SUPERSAMPLE: u32 = 4;

/// The scene as a `side` x `side` picture.
pub fn render(scene: &Scene, side: u32) -> RgbImage {
    let grey = scene.background;
    let mut picture = RgbImage::from_pixel(side, side, Rgb([grey, grey, grey]));
    for object in &scene.objects {
        paint(&mut picture, object, side);
    }
    picture
}

fn paint(picture: &mut RgbImage, object: &Object, side: u32) {
    let scale = f64::from(side);
    let (cx, cy) = object.place.centre();
    let centre = (
        (cx + object.offset.0) * scale,
        (cy + object.offset.1) * scale,
    );
    let size = object.size * scale;
    let reach = size.ceil() as i64 + 1;
    let (x0, x1) = (centre.0 as i64 - reach, centre.0 as i64 + reach);
    let (y0, y1) = (centre.1 as i64 - reach, centre.1 as i64 + reach);
    let colour = object.colour.rgb();
    for y in y0.max(0)..=y1.min(i64::from(side) - 1) {
        for x in x0.max(0)..=x1.min(i64::from(side) - 1) {
            let cover = coverage(object.shape, size, x as f64 - centre.0, y as f64 - centre.1);
            if cover > 0.0 {
                let pixel = picture.get_pixel_mut(x as u32, y as u32);
                for (channel, target) in pixel.0.iter_mut().zip(colour) {
                    let blended = f64::from(*channel) * (1.0 - cover) + f64::from(target) * cover;
                    *channel = blended.round() as u8;
                }
            }
        }
    }
}

/// Fraction of the pixel whose top-left corner is (`x`, `y`) relative to the centre that the
/// shape covers.
fn coverage(shape: Shape, size: f64, x: f64, y: f64) -> f64 {
    let step = 1.0 / f64::from(SUPERSAMPLE);
    let mut inside_count = 0;
    for sy in 0..SUPERSAMPLE {
        for sx in 0..SUPERSAMPLE {
            let px = x + (f64::from(sx) + 0.5) * step;
            let py = y + (f64::from(sy) + 0.5) * step;
            if inside(shape, size, px, py) {
                inside_count += 1;
            }
        }
    }
    f64::from(inside_count) / f64::from(SUPERSAMPLE * SUPERSAMPLE)
}

/// Whether the point (`x`, `y`) relative to the centre (y down) is inside a shape of area `size`².
pub fn inside(shape: Shape, size: f64, x: f64, y: f64) -> bool {
    match shape {
        Shape::Circle => {
            let radius = size / std::f64::consts::PI.sqrt();
            x * x + y * y <= radius * radius
        }
        Shape::Square => x.abs() <= size / 2.0 && y.abs() <= size / 2.0,
        Shape::Diamond => x.abs() + y.abs() <= size / std::f64::consts::SQRT_2,
        Shape::Triangle => {
            // Equilateral, pointing up, centroid at the origin: area (3√3/4)·R² = size².
            let radius = size * (4.0 / (3.0 * 3f64.sqrt())).sqrt();
            y >= -radius && y <= radius / 2.0 && x.abs() <= (y + radius) / 3f64.sqrt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counting pixel centres inside each shape gives its area, size².
    #[test]
    fn shapes_of_equal_size_cover_equal_areas() {
        let size = 40.0;
        for shape in Shape::ALL {
            let mut count = 0;
            for y in -60..60 {
                for x in -60..60 {
                    if inside(shape, size, f64::from(x) + 0.5, f64::from(y) + 0.5) {
                        count += 1;
                    }
                }
            }
            let area = f64::from(count);
            assert!(
                (area - size * size).abs() < 0.03 * size * size,
                "{shape:?}: {area}"
            );
        }
    }
}
