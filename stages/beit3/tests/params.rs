//! Parameter counts of the full-size models equal those of the reference implementation exactly.
//! The models are built lazily: counting allocates none of their weights.

mod common;

use beit3::{Beit3Config, HeadTask, VqaConfig, VqaModel, param_count};
use burn::module::Module;
use common::*;

fn count(encoder: Beit3Config, num_classes: usize) -> usize {
    let config = VqaConfig {
        encoder,
        task: HeadTask::Vqa { num_classes },
    };
    let model = VqaModel::<B>::new(&config, &Default::default()).unwrap();
    param_count::<B, _>(&model)
}

#[test]
fn base_at_480_with_3129_classes_has_228_110_649_parameters() {
    assert_eq!(count(Beit3Config::base(480), 3129), 228_110_649);
}

#[test]
fn large_at_480_with_3129_classes_has_682_985_529_parameters() {
    assert_eq!(count(Beit3Config::large(480), 3129), 682_985_529);
}

#[test]
fn other_reference_sizes_match() {
    assert_eq!(count(Beit3Config::base(384), 3129), 227_861_817);
    assert_eq!(count(Beit3Config::large(384), 3129), 682_653_753);
    assert_eq!(count(Beit3Config::large(768), 3129), 684_423_225);
}

#[test]
fn lazy_count_equals_burn_num_params_of_a_materialised_model() {
    let model = VqaModel::<B>::new(&config("vqa_tiny"), &Default::default()).unwrap();
    assert_eq!(param_count::<B, _>(&model), model.num_params());
    // 99 checkpoint tensors minus the 2 unused mlm_head ones.
    assert_eq!(beit3::params::param_entries::<B, _>(&model).len(), 97);
}

#[test]
fn head_tasks_set_the_number_of_outputs() {
    let base = |task| {
        param_count::<B, _>(
            &VqaModel::<B>::new(
                &VqaConfig {
                    encoder: Beit3Config::base(224),
                    task,
                },
                &Default::default(),
            )
            .unwrap(),
        )
    };
    let (choice, joint) = (base(HeadTask::Choice), base(HeadTask::Joint));
    // Linear(2D, C): 2D + 1 parameters per extra class.
    assert_eq!(joint - choice, 3 * (2 * 768 + 1));
    assert_eq!(
        base(HeadTask::Vqa { num_classes: 3129 }) - choice,
        3128 * (2 * 768 + 1)
    );
}
