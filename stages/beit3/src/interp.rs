//! Resolution change of the vision position table, exactly as unilm's
//! `load_model_and_may_interpolate`: the first 3 rows are kept, the patch grid is resized with
//! PyTorch's bicubic (A = -0.75, `align_corners=False`, no antialias, clamped border taps).

/// Rows of table A kept verbatim: the two unused rows and the CLS position.
pub const KEPT_ROWS: usize = 3;

/// PyTorch's cubic convolution coefficient.
const A: f64 = -0.75;

/// The cubic kernel for |x| ≤ 1.
fn near(x: f64) -> f64 {
    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
}

/// The cubic kernel for 1 < |x| < 2.
fn far(x: f64) -> f64 {
    ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
}

/// For each output index: the 4 source taps (clamped) and their weights.
fn axis_taps(n_in: usize, n_out: usize) -> Vec<([usize; 4], [f64; 4])> {
    let scale = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|o| {
            let src = (o as f64 + 0.5) * scale - 0.5;
            let i0 = src.floor();
            let t = src - i0;
            let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
            let clamp = |k: i64| (i0 as i64 + k).clamp(0, n_in as i64 - 1) as usize;
            ([clamp(-1), clamp(0), clamp(1), clamp(2)], weights)
        })
        .collect()
}

/// Bicubic resize of a row-major `grid_in × grid_in` grid of `dim`-vectors to `grid_out × grid_out`.
///
/// # Shapes
/// `grid`: [grid_in², dim] flattened → [grid_out², dim] flattened.
pub fn bicubic_resize(grid: &[f32], grid_in: usize, grid_out: usize, dim: usize) -> Vec<f32> {
    assert_eq!(
        grid.len(),
        grid_in * grid_in * dim,
        "grid is not {grid_in}x{grid_in}x{dim}"
    );
    let taps = axis_taps(grid_in, grid_out);
    // Along the width: [grid_in, grid_out, dim].
    let mut wide = vec![0f64; grid_in * grid_out * dim];
    for y in 0..grid_in {
        for (ox, (idx, w)) in taps.iter().enumerate() {
            let out = &mut wide[(y * grid_out + ox) * dim..][..dim];
            for k in 0..4 {
                let row = &grid[(y * grid_in + idx[k]) * dim..][..dim];
                out.iter_mut()
                    .zip(row)
                    .for_each(|(o, &v)| *o += w[k] * v as f64);
            }
        }
    }
    // Along the height: [grid_out, grid_out, dim].
    let mut result = vec![0f32; grid_out * grid_out * dim];
    for (oy, (idx, w)) in taps.iter().enumerate() {
        for ox in 0..grid_out {
            let out = &mut result[(oy * grid_out + ox) * dim..][..dim];
            for (d, o) in out.iter_mut().enumerate() {
                let v: f64 = (0..4)
                    .map(|k| w[k] * wide[(idx[k] * grid_out + ox) * dim + d])
                    .sum();
                *o = v as f32;
            }
        }
    }
    result
}

/// The side of a square grid of `n` cells, if `n` is a perfect square.
pub fn square_side(n: usize) -> Option<usize> {
    let side = (n as f64).sqrt().round() as usize;
    (side * side == n).then_some(side)
}

/// Interpolates a vision position table of `rows` rows to `new_rows` rows (both 3 + a square).
///
/// # Shapes
/// `table`: [rows, dim] flattened → [new_rows, dim] flattened.
pub fn interpolate_position_table(
    table: &[f32],
    rows: usize,
    new_rows: usize,
    dim: usize,
) -> Result<Vec<f32>, String> {
    let side = |r: usize| {
        r.checked_sub(KEPT_ROWS)
            .and_then(square_side)
            .ok_or_else(|| format!("{r} rows is not {KEPT_ROWS} plus a square number of patches"))
    };
    let (g_in, g_out) = (side(rows)?, side(new_rows)?);
    if table.len() != rows * dim {
        return Err(format!(
            "table has {} values, expected {rows}x{dim}",
            table.len()
        ));
    }
    let (kept, grid) = table.split_at(KEPT_ROWS * dim);
    let mut out = kept.to_vec();
    out.extend(bicubic_resize(grid, g_in, g_out, dim));
    Ok(out)
}
