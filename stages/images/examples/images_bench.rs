//! Benchmark driver for benches/images (not a test):
//!
//! `images_bench pack DIR OUT SIZE THREADS` runs the real `images` stage on every image of DIR
//! with THREADS cpus and prints `images=N seconds=T`.
//! `images_bench dump DIR OUT SIZE COUNT` writes, for the first COUNT images in sorted order, the
//! resized pixels of three resamplers as packed files OUT/{ours,image_catmullrom,fir_catmullrom}.u8
//! (all from the same decoded pixels) and the decoded pixels (OUT/decoded.u8), so that a script can
//! compare each with PIL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fast_image_resize as fir;
use pipeline_api::{CancelToken, SilentProgress, StageContext};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| {
        args.get(i)
            .unwrap_or_else(|| panic!("usage: see the file's doc"))
            .as_str()
    };
    let number = |i: usize| arg(i).parse::<u32>().expect("a number");
    match arg(0) {
        "pack" => pack(
            Path::new(arg(1)),
            Path::new(arg(2)),
            number(3),
            number(4) as usize,
        ),
        "dump" => dump(
            Path::new(arg(1)),
            Path::new(arg(2)),
            number(3),
            number(4) as usize,
        ),
        other => panic!("unknown command {other}: pack or dump"),
    }
}

fn pack(dir: &Path, out: &Path, size: u32, threads: usize) {
    let kinds = pipeline_stages_images::stages();
    let params = toml::Value::Table(toml::toml! { size = size });
    let stage = kinds[0].prepare(params).expect("valid params");
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    let inputs = BTreeMap::from([("images".to_string(), vec![dir.to_path_buf()])]);
    let (cancel, mut log) = (CancelToken::new(), Vec::<u8>::new());
    let mut ctx = StageContext {
        stage: "images",
        root: out,
        inputs: &inputs,
        out_dir: out,
        gpus: &[],
        cpus: threads,
        progress: &SilentProgress,
        cancel: &cancel,
        log: &mut log,
    };
    let start = Instant::now();
    stage.run(&mut ctx).expect("the stage runs");
    let seconds = start.elapsed().as_secs_f64();
    let packed = pipeline_formats::PackedImages::open(out).unwrap();
    println!("images={} seconds={seconds:.3}", packed.len());
}

fn dump(dir: &Path, out: &Path, size: u32, count: usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    std::fs::create_dir_all(out).unwrap();
    let mut outputs: [(&str, Vec<u8>); 4] = [
        ("ours", vec![]),
        ("image_catmullrom", vec![]),
        ("fir_catmullrom", vec![]),
        ("decoded", vec![]),
    ];
    let side = size as usize;
    for file in files.iter().take(count) {
        let rgb = pipeline_stages_images::decode_rgb(file).unwrap();
        let (w, h) = (rgb.width, rgb.height);
        outputs[3].1.extend(&rgb.pixels);
        outputs[0].1.extend(pipeline_formats::resize::resize_rgb(
            &rgb.pixels,
            w as usize,
            h as usize,
            side,
            side,
        ));
        let buffer = image::RgbImage::from_raw(w, h, rgb.pixels.clone()).unwrap();
        let resized =
            image::imageops::resize(&buffer, size, size, image::imageops::FilterType::CatmullRom);
        outputs[1].1.extend(resized.as_raw());
        let src = fir::images::Image::from_vec_u8(w, h, rgb.pixels, fir::PixelType::U8x3).unwrap();
        let mut dst = fir::images::Image::new(size, size, fir::PixelType::U8x3);
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
        fir::Resizer::new()
            .resize(&src, &mut dst, &options)
            .unwrap();
        outputs[2].1.extend(dst.buffer());
    }
    for (name, bytes) in &outputs {
        std::fs::write(out.join(format!("{name}.u8")), bytes).unwrap();
    }
}
