//! The `synth` stage: determinism, answers that need the image, and a clean conversion.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use common::{answer_texts, run_stage, strings};
use pipeline_api::erase;
use pipeline_stages_visual7w::synth::Colour;
use pipeline_stages_visual7w::{Synth, SynthParams, Visual7w, Visual7wParams};
use serde_json::Value;

fn small(seed: u64) -> SynthParams {
    SynthParams {
        images: 40,
        image_size: 48,
        seed,
        ..SynthParams::default()
    }
}

fn files_below(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        files.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read(&path).unwrap(),
        );
    }
    files
}

#[test]
fn same_seed_same_bytes_other_seed_other_dataset() {
    let first = run_stage(&Synth, &small(3), &[]).unwrap();
    let second = run_stage(&Synth, &small(3), &[]).unwrap();
    let other = run_stage(&Synth, &small(4), &[]).unwrap();
    let json = "dataset_v7w_telling.json";
    assert_eq!(first.bytes(json), second.bytes(json));
    let images = files_below(&first.path("images"));
    assert_eq!(images.len(), 40);
    assert!(images.contains_key("v7w_1.jpg") && images.contains_key("v7w_40.jpg"));
    assert_eq!(images, files_below(&second.path("images")));
    assert_ne!(first.bytes(json), other.bytes(json));
    assert_ne!(images, files_below(&other.path("images")));
    let picture = image::open(first.path("images/v7w_1.jpg")).unwrap();
    assert_eq!((picture.width(), picture.height()), (48, 48));
}

/// The default dataset, converted by `visual7w`.
struct Generated {
    json: Value,
    dir: common::Run,
    tables: common::Run,
}

fn generate_default() -> Generated {
    let dir = run_stage(&Synth, &SynthParams::default(), &[]).unwrap();
    let json_path = dir.path("dataset_v7w_telling.json");
    let images = dir.path("images");
    let params = Visual7wParams {
        seed: 42,
        csv: false,
    };
    let tables = run_stage(
        &Visual7w,
        &params,
        &[("json", &json_path), ("images", &images)],
    )
    .unwrap();
    let json = serde_json::from_slice(&dir.bytes("dataset_v7w_telling.json")).unwrap();
    Generated { json, dir, tables }
}

fn qa_pairs(json: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    json["images"].as_array().unwrap().iter().flat_map(|image| {
        image["qa_pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(move |qa| (image, qa))
    })
}

/// Accuracy of choosing, for each row of `eval`, the option with the highest count in `counts`
/// under `key(row)` (ties go to the earliest letter, which the shuffle makes random).
fn prior_accuracy(
    train: &polars::prelude::DataFrame,
    eval: &[&polars::prelude::DataFrame],
    key: &dyn Fn(&str) -> String,
) -> f64 {
    let mut counts: HashMap<(String, String), u32> = HashMap::new();
    let questions = strings(train, "Question");
    for (question, answer) in questions.iter().zip(answer_texts(train)) {
        *counts
            .entry((key(question.as_deref().unwrap()), answer))
            .or_default() += 1;
    }
    let (mut right, mut total) = (0, 0);
    for frame in eval {
        let options: Vec<Vec<Option<String>>> = ["A", "B", "C", "D"]
            .iter()
            .map(|c| strings(frame, c))
            .collect();
        for (row, (question, answer)) in strings(frame, "Question")
            .iter()
            .zip(answer_texts(frame))
            .enumerate()
        {
            let key = key(question.as_deref().unwrap());
            let score = |letter: usize| {
                let option = options[letter][row].clone().unwrap();
                counts.get(&(key.clone(), option)).copied().unwrap_or(0)
            };
            let best = (0..4).fold(0, |best, letter| {
                if score(letter) > score(best) {
                    letter
                } else {
                    best
                }
            });
            right += usize::from(options[best][row].as_deref() == Some(answer.as_str()));
            total += 1;
        }
    }
    right as f64 / total as f64
}

#[test]
fn text_alone_does_not_beat_chance() {
    let generated = generate_default();
    let report = generated.tables.json("report.json");
    let kept: u64 = ["train", "val", "test"]
        .iter()
        .map(|s| report["kept"][s].as_u64().unwrap())
        .sum();
    assert!(
        kept >= 2300,
        "the default set should hold about 2,400 questions: {kept}"
    );

    let train = generated.tables.frame("train.parquet");
    let val = generated.tables.frame("val.parquet");
    let test = generated.tables.frame("test.parquet");
    let per_question = prior_accuracy(&train, &[&val, &test], &|question| question.to_string());
    let answer_only = prior_accuracy(&train, &[&val, &test], &|_| String::new());
    let on_train = prior_accuracy(&train, &[&train], &|question| question.to_string());
    for (name, accuracy) in [
        ("majority per question", per_question),
        ("answer prior", answer_only),
        ("on train", on_train),
    ] {
        eprintln!("text-only baseline, {name}: {accuracy:.3}");
        assert!(
            (0.19..0.31).contains(&accuracy),
            "{name} baseline: {accuracy:.3}"
        );
    }
}

#[test]
fn every_question_text_has_each_answer_equally_often_per_split() {
    let generated = generate_default();
    let mut counts: BTreeMap<(String, String), BTreeMap<String, u32>> = BTreeMap::new();
    let mut candidates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (image, qa) in qa_pairs(&generated.json) {
        let text = qa["question"].as_str().unwrap().to_string();
        let answer = qa["answer"].as_str().unwrap().to_string();
        let split = image["split"].as_str().unwrap().to_string();
        *counts
            .entry((split, text.clone()))
            .or_default()
            .entry(answer.clone())
            .or_default() += 1;
        let options = candidates.entry(text).or_default();
        options.insert(answer);
        options.extend(
            qa["multiple_choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string()),
        );
    }
    assert!(
        candidates.len() >= 30,
        "only {} question texts",
        candidates.len()
    );
    for ((split, text), answers) in &counts {
        let per_candidate: Vec<u32> = candidates[text]
            .iter()
            .map(|c| answers.get(c).copied().unwrap_or(0))
            .collect();
        let (low, high) = (
            per_candidate.iter().min().unwrap(),
            per_candidate.iter().max().unwrap(),
        );
        assert!(
            high - low <= 1,
            "{split} `{text}`: {answers:?} over {:?}",
            candidates[text]
        );
    }
}

#[test]
fn where_answers_match_the_pixels() {
    let generated = generate_default();
    let places = [
        ("On the left.", (0.2, 0.5)),
        ("On the right.", (0.8, 0.5)),
        ("At the top.", (0.5, 0.2)),
        ("At the bottom.", (0.5, 0.8)),
    ];
    let mut checked = 0;
    for (image, qa) in qa_pairs(&generated.json) {
        let question = qa["question"].as_str().unwrap();
        let Some(colour_shape) = question
            .strip_prefix("Where is the ")
            .filter(|_| !question.contains("largest"))
        else {
            continue;
        };
        let colour = Colour::ALL
            .iter()
            .find(|c| colour_shape.starts_with(c.name()))
            .unwrap();
        let (_, (fx, fy)) = places
            .iter()
            .find(|(answer, _)| *answer == qa["answer"])
            .unwrap();
        let file = generated
            .dir
            .path("images")
            .join(image["filename"].as_str().unwrap());
        let picture = image::open(file).unwrap().to_rgb8();
        let side = f64::from(picture.width());
        let pixel = picture.get_pixel((fx * side) as u32, (fy * side) as u32).0;
        let nearest = Colour::ALL.iter().min_by_key(|c| {
            c.rgb()
                .iter()
                .zip(pixel)
                .map(|(a, b)| (i32::from(*a) - i32::from(b)).pow(2))
                .sum::<i32>()
        });
        assert_eq!(
            nearest,
            Some(colour),
            "{question} {} in {}: pixel {pixel:?}",
            qa["answer"],
            image["filename"]
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} where-questions");
}

#[test]
fn synth_output_converts_without_drops() {
    let generated = generate_default();
    let report = generated.tables.json("report.json");
    let questions = qa_pairs(&generated.json).count() as u64;
    assert_eq!(report["qa_pairs"], questions);
    assert_eq!(report["images"], 600);
    assert!(
        report["dropped"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 0),
        "{report}"
    );
    let mut per_split: HashMap<&str, u64> = HashMap::new();
    for (image, _) in qa_pairs(&generated.json) {
        *per_split
            .entry(image["split"].as_str().unwrap())
            .or_default() += 1;
    }
    for split in ["train", "val", "test"] {
        assert_eq!(report["kept"][split], per_split[split], "{split}");
    }
    let images: u64 = generated.json["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["split"] == "val")
        .count() as u64;
    assert_eq!(images, 90, "15% of 600 images in val");
    let types = &report["types"]["train"];
    for qa_type in ["what", "where", "how"] {
        assert!(types[qa_type].as_u64().unwrap() > 100, "{types}");
    }
}

#[test]
fn parameters_are_checked() {
    let kind = erase(Synth);
    assert_eq!(
        kind.prepare(toml::Value::Table(toml::Table::new()))
            .unwrap()
            .outputs(),
        ["dataset_v7w_telling.json", "images/"]
    );
    let error = kind
        .prepare(toml::toml! { images = 0 }.into())
        .err()
        .unwrap();
    assert_eq!(error.path, "images");
    let error = kind
        .prepare(
            toml::toml! { val_fraction = 0.6
            test_fraction = 0.6 }
            .into(),
        )
        .err()
        .unwrap();
    assert_eq!(error.path, "test_fraction");
    let error = kind
        .prepare(toml::toml! { image_px = 64 }.into())
        .err()
        .unwrap();
    assert!(
        error.message.contains("unknown field `image_px`"),
        "{error:?}"
    );
}

#[test]
fn objects_per_scene_follow_the_parameter() {
    let count = |objects: [usize; 2]| -> BTreeSet<usize> {
        let params = SynthParams {
            objects,
            ..small(5)
        };
        pipeline_stages_visual7w::synth::plan(&params.spec())
            .iter()
            .map(|image| image.scene.objects.len())
            .collect()
    };
    assert_eq!(count([1, 1]), BTreeSet::from([1]));
    assert_eq!(count([2, 4]), BTreeSet::from([2, 3, 4]));
    assert_eq!(count([3, 3]), BTreeSet::from([3]));
    let error = erase(Synth)
        .prepare(toml::toml! { objects = [0, 2] }.into())
        .err()
        .unwrap();
    assert_eq!(error.path, "objects");
}

#[test]
fn question_kinds_and_object_scale_follow_the_parameters() {
    use pipeline_stages_visual7w::synth::{Family, plan};
    let base = || SynthParams {
        objects: [1, 1],
        ..small(5)
    };
    let colours_only = SynthParams {
        questions: vec![Family::Colours],
        ..base()
    };
    let images = plan(&colours_only.spec());
    let families: BTreeSet<String> = images
        .iter()
        .flat_map(|image| &image.questions)
        .map(|q| format!("{:?}", q.question.family))
        .collect();
    assert_eq!(families, BTreeSet::from([format!("{:?}", Family::Colours)]));
    let all: BTreeSet<String> = plan(&base().spec())
        .iter()
        .flat_map(|image| &image.questions)
        .map(|q| format!("{:?}", q.question.family))
        .collect();
    assert!(all.len() >= 3, "the default asks every kind: {all:?}");
    // The same seed draws the same scenes; the scale only multiplies the sizes.
    let sizes = |scale: f64| -> Vec<f64> {
        let params = SynthParams {
            object_scale: scale,
            ..base()
        };
        plan(&params.spec())
            .iter()
            .map(|image| image.scene.objects[0].size)
            .collect()
    };
    let (plain, tripled) = (sizes(1.0), sizes(3.0));
    for (a, b) in plain.iter().zip(&tripled) {
        assert!((b - 3.0 * a).abs() < 1e-12, "{a} x 3 != {b}");
    }
    for bad in [
        toml::toml! { object_scale = 4.0 },
        toml::toml! { questions = [] },
        toml::toml! { questions = ["colour"] },
    ] {
        assert!(erase(Synth).prepare(bad.clone().into()).is_err(), "{bad}");
    }
}
