//! The pooler and head: reference initialisation for a pretrained backbone, and the three tasks.

mod common;

use beit3::init::trunc_normal;
use beit3::{HeadTask, LoadOptions, VqaModel, load_checkpoint};
use burn::prelude::*;
use common::*;

fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec().unwrap()
}

#[test]
fn trunc_normal_is_bounded_by_std_with_the_truncated_spread() {
    let device = Default::default();
    B::seed(&device, 3);
    let v = values(trunc_normal::<B, 2>([400, 250], 0.02, &device));
    assert!(
        v.iter().all(|x| x.abs() <= 0.02),
        "a value outside [-0.02, 0.02]"
    );
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt();
    // A standard normal truncated to [-1, 1] has standard deviation 0.5396.
    assert!(mean.abs() < 2e-4, "mean {mean}");
    assert!((std / 0.02 - 0.5396).abs() < 0.01, "std {std}");
}

#[test]
fn pretrained_checkpoint_leaves_the_head_with_the_reference_init() {
    let device = Default::default();
    let mut model = VqaModel::<B>::new(&config("interp"), &device).unwrap();
    let src = fixtures().join("interp/checkpoint_src.pth");
    load_checkpoint(&mut model, &src, &LoadOptions::default()).unwrap();
    for (name, linear) in [
        ("pooler.dense", &model.pooler.dense),
        ("head.0", &model.head.fc1),
        ("head.3", &model.head.fc2),
    ] {
        let w = values(linear.weight.val());
        assert!(
            w.iter().all(|x| x.abs() <= 0.02) && w.iter().any(|x| *x != 0.0),
            "{name}.weight"
        );
        let b = values(linear.bias.as_ref().unwrap().val());
        assert!(b.iter().all(|x| *x == 0.0), "{name}.bias");
    }
    for (name, norm) in [
        ("pooler.norm", &model.pooler.norm),
        ("head.1", &model.head.norm),
    ] {
        assert!(
            values(norm.gamma.val()).iter().all(|x| *x == 1.0),
            "{name}.weight"
        );
        assert!(
            values(norm.beta.as_ref().unwrap().val())
                .iter()
                .all(|x| *x == 0.0),
            "{name}.bias"
        );
    }
}

fn forward(task: HeadTask, image: usize, text: usize) -> [usize; 2] {
    let device = Default::default();
    let mut config = config("vqa_tiny");
    config.task = task;
    let model = VqaModel::<B>::new(&config, &device).unwrap();
    let image = Tensor::<B, 4>::zeros([2, 3, image, image], &device);
    let question = Tensor::<B, 2, Int>::ones([2, text], &device);
    let padding = Tensor::<B, 2, Int>::zeros([2, text], &device).bool();
    model.forward(image, question, padding).dims()
}

#[test]
fn each_task_gives_its_number_of_outputs() {
    assert_eq!(forward(HeadTask::Choice, 32, 5), [2, 1]);
    assert_eq!(forward(HeadTask::Joint, 32, 5), [2, 4]);
    assert_eq!(forward(HeadTask::Vqa { num_classes: 9 }, 32, 18), [2, 9]);
}

#[test]
#[should_panic(expected = "the model expects 32x32")]
fn wrong_image_size_panics_with_the_expected_size() {
    forward(HeadTask::Joint, 40, 5);
}

#[test]
#[should_panic(expected = "the text position table allows 18")]
fn question_longer_than_the_position_table_panics() {
    forward(HeadTask::Joint, 32, 19);
}
