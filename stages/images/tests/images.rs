//! The `images` stage end to end through `pipeline_api`: packing, the index, determinism, colour
//! conversion, table selection and bad images.

mod common;

use std::path::{Path, PathBuf};

use common::{photo, run_images, run_images_with, save_jpeg};
use image::DynamicImage;
use pipeline_formats::PackedImages;
use pipeline_stages_images::load_resized;

/// A folder of three JPEGs of different shapes (one in a sub-folder) and one PNG.
fn dataset(root: &Path) -> PathBuf {
    let images = root.join("images");
    save_jpeg(
        &DynamicImage::ImageRgb8(photo(50, 37, 1)),
        &images.join("v7w_2.jpg"),
    );
    save_jpeg(
        &DynamicImage::ImageRgb8(photo(40, 64, 2)),
        &images.join("v7w_10.jpg"),
    );
    save_jpeg(
        &DynamicImage::ImageRgb8(photo(64, 48, 3)),
        &images.join("more/v7w_1.jpeg"),
    );
    photo(33, 21, 4).save(images.join("v7w_3.png")).unwrap();
    std::fs::write(images.join("notes.txt"), "not an image").unwrap();
    images
}

#[test]
fn packs_every_image_and_get_returns_its_resized_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let images = dataset(tmp.path());
    let out = tmp.path().join("out");
    run_images("size = 24", &[("images", vec![images.clone()])], &out, 2).unwrap();

    let packed = PackedImages::open(&out).unwrap();
    assert_eq!(packed.len(), 4);
    assert_eq!(packed.size(), 24);
    assert_eq!(
        std::fs::metadata(out.join("images.u8")).unwrap().len(),
        4 * 24 * 24 * 3
    );
    let order = ["more/v7w_1.jpeg", "v7w_10.jpg", "v7w_2.jpg", "v7w_3.png"];
    for (row, key) in order.iter().enumerate() {
        assert_eq!(packed.row_of(key), Some(row), "{key}");
        let expected = load_resized(&images.join(key), 24).unwrap();
        assert_eq!(packed.get(key).unwrap(), expected.as_slice(), "{key}");
        assert_eq!(packed.row(row), expected.as_slice());
    }
    assert_eq!(packed.get("notes.txt"), None);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(
        (meta["size"].as_u64(), meta["count"].as_u64()),
        (Some(24), Some(4))
    );
    assert_eq!(
        (meta["layout"].as_str(), meta["dtype"].as_str()),
        (Some("NHWC"), Some("u8"))
    );
}

#[test]
fn output_is_byte_identical_across_runs_and_thread_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let images = dataset(tmp.path());
    let outputs: Vec<PathBuf> = [1, 2, 3, 1]
        .iter()
        .enumerate()
        .map(|(run, cpus)| {
            let out = tmp.path().join(format!("out{run}"));
            run_images(
                "size = 17",
                &[("images", vec![images.clone()])],
                &out,
                *cpus,
            )
            .unwrap();
            out
        })
        .collect();
    for name in ["images.u8", "index.json", "meta.json", "report.json"] {
        let first = std::fs::read(outputs[0].join(name)).unwrap();
        for out in &outputs[1..] {
            assert_eq!(
                std::fs::read(out.join(name)).unwrap(),
                first,
                "{name} differs in {}",
                out.display()
            );
        }
    }
}

#[test]
fn png_with_alpha_drops_alpha_and_grey_jpeg_becomes_rgb() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    // Opaque red where alpha is 0: PIL's convert('RGB') keeps the colour, it does not blend.
    let rgba = image::RgbaImage::from_fn(20, 10, |x, _| image::Rgba([200, 10, 30, (x * 12) as u8]));
    rgba.save(images.join("a.png")).unwrap();
    let grey = image::GrayImage::from_fn(30, 20, |x, y| image::Luma([(x * 8 + y) as u8]));
    save_jpeg(&DynamicImage::ImageLuma8(grey), &images.join("g.jpg"));
    let out = tmp.path().join("out");
    run_images("size = 8", &[("images", vec![images])], &out, 1).unwrap();

    let packed = PackedImages::open(&out).unwrap();
    assert!(
        packed
            .get("a.png")
            .unwrap()
            .chunks(3)
            .all(|p| p == [200, 10, 30])
    );
    let grey_pixels = packed.get("g.jpg").unwrap();
    assert!(
        grey_pixels.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]),
        "grey must replicate"
    );
    assert!(grey_pixels.chunks(3).any(|p| p[0] > 100) && grey_pixels.chunks(3).any(|p| p[0] < 100));
}

#[test]
fn tables_select_only_referenced_images() {
    let tmp = tempfile::tempdir().unwrap();
    let images = dataset(tmp.path());
    let csv = tmp.path().join("train.csv");
    std::fs::write(
        &csv,
        "ID,img_path,Question\nT1,v7w_2.jpg,\"Who, here?\"\nT2,v7w_2.jpg,b\nT3,v7w_3.png,c\n",
    )
    .unwrap();
    let list = tmp.path().join("extra.txt");
    std::fs::write(&list, "more/v7w_1.jpeg\n").unwrap();
    let out = tmp.path().join("out");
    run_images(
        "size = 12",
        &[("images", vec![images]), ("tables", vec![csv, list])],
        &out,
        2,
    )
    .unwrap();
    let packed = PackedImages::open(&out).unwrap();
    assert_eq!(packed.len(), 3);
    assert_eq!(packed.row_of("more/v7w_1.jpeg"), Some(0));
    assert_eq!(packed.row_of("v7w_2.jpg"), Some(1));
    assert_eq!(packed.row_of("v7w_3.png"), Some(2));
    assert_eq!(packed.row_of("v7w_10.jpg"), None);
}

/// A dataset with one good image and a truncated, a corrupt and (through a table) a missing one.
fn broken_dataset(root: &Path) -> (PathBuf, PathBuf) {
    let images = root.join("images");
    save_jpeg(
        &DynamicImage::ImageRgb8(photo(40, 30, 5)),
        &images.join("good.jpg"),
    );
    let whole = std::fs::read(images.join("good.jpg")).unwrap();
    std::fs::write(images.join("cut.jpg"), &whole[..whole.len() / 2]).unwrap();
    let mut corrupt = whole.clone();
    corrupt[20..300].fill(0x55);
    std::fs::write(images.join("corrupt.jpg"), corrupt).unwrap();
    let list = root.join("wanted.txt");
    std::fs::write(&list, "good.jpg\ncut.jpg\ncorrupt.jpg\ngone.jpg\n").unwrap();
    (images, list)
}

#[test]
fn bad_images_fail_with_their_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (images, list) = broken_dataset(tmp.path());
    for bad in ["cut.jpg", "corrupt.jpg", "gone.jpg"] {
        let only = tmp.path().join(format!("{bad}.txt"));
        std::fs::write(&only, format!("good.jpg\n{bad}\n")).unwrap();
        let out = tmp.path().join(format!("out-{bad}"));
        let error = run_images(
            "size = 8",
            &[("images", vec![images.clone()]), ("tables", vec![only])],
            &out,
            2,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(&format!("image `{bad}`")) && error.contains("on_error"),
            "{error}"
        );
        assert!(
            error.contains(&images.join(bad).display().to_string()),
            "{error}"
        );
    }
    let error = run_images(
        "size = 8",
        &[("images", vec![images]), ("tables", vec![list])],
        &tmp.path().join("o"),
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("corrupt.jpg"),
        "the first bad image in order is named: {error}"
    );
}

#[test]
fn skip_mode_packs_the_rest_and_reports_each_skipped_image() {
    let tmp = tempfile::tempdir().unwrap();
    let (images, list) = broken_dataset(tmp.path());
    let out = tmp.path().join("out");
    let inputs = [("images", vec![images.clone()]), ("tables", vec![list])];
    let log = run_images("size = 8\non_error = \"skip\"", &inputs, &out, 2).unwrap();
    let packed = PackedImages::open(&out).unwrap();
    // good.jpg sorts last: its row moved down over the three holes.
    assert_eq!((packed.len(), packed.row_of("good.jpg")), (1, Some(0)));
    assert_eq!(
        packed.row(0),
        load_resized(&images.join("good.jpg"), 8)
            .unwrap()
            .as_slice()
    );
    assert_eq!(
        std::fs::metadata(out.join("images.u8")).unwrap().len(),
        8 * 8 * 3
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let skipped: Vec<(&str, &str)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["img_path"].as_str().unwrap(),
                s["error"].as_str().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = skipped.iter().map(|s| s.0).collect();
    assert_eq!(names, ["corrupt.jpg", "cut.jpg", "gone.jpg"]);
    assert!(skipped[1].1.contains("truncated"), "{:?}", skipped[1]);
    assert!(skipped[2].1.contains("missing"), "{:?}", skipped[2]);
    for name in names {
        assert!(log.contains(&format!("skipped image `{name}`")), "{log}");
    }
    let again = tmp.path().join("again");
    run_images("size = 8\non_error = \"skip\"", &inputs, &again, 1).unwrap();
    for name in ["images.u8", "index.json", "report.json"] {
        let (first, second) = (out.join(name), again.join(name));
        assert_eq!(
            std::fs::read(first).unwrap(),
            std::fs::read(second).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn bad_params_and_empty_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("empty");
    std::fs::create_dir_all(&images).unwrap();
    let out = tmp.path().join("out");
    let error = run_images("size = 8", &[("images", vec![images.clone()])], &out, 1)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no .jpg") && error.contains("empty"),
        "{error}"
    );
    let error = run_images("size = 0", &[("images", vec![images.clone()])], &out, 1)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("size:"), "{error}");
    let error = run_images(
        "size = 8\non_error = \"ignore\"",
        &[("images", vec![images])],
        &out,
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("on_error"), "{error}");
}

#[test]
fn a_cancelled_run_stops_with_cancelled() {
    let tmp = tempfile::tempdir().unwrap();
    let images = dataset(tmp.path());
    let cancel = pipeline_api::CancelToken::new();
    cancel.cancel();
    let result = run_images_with(
        "size = 8",
        &[("images", vec![images])],
        &tmp.path().join("out"),
        2,
        &cancel,
    );
    assert!(
        matches!(result, Err(pipeline_api::StageError::Cancelled)),
        "{result:?}"
    );
}
