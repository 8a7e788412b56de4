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

/// The fine-tuning recipe's parameter groups read module paths: every tensor of base lands in the
/// layer of its place in the model (embeddings 0, encoder layer i at i + 1, pooler and head at
/// depth + 1), and only 1-D tensors, the CLS token and the vision position table skip decay.
#[test]
fn parameter_groups_follow_the_model_layout() {
    use beit3::params::{exempt_from_weight_decay, in_task_head, layer_index, param_entries};
    let config = VqaConfig {
        encoder: Beit3Config::base(480),
        task: HeadTask::Vqa { num_classes: 3129 },
    };
    let depth = config.encoder.depth;
    let model = VqaModel::<B>::new(&config, &Default::default()).unwrap();
    let entries = param_entries::<B, _>(&model);
    let mut per_layer = vec![0usize; depth + 2];
    for entry in &entries {
        let layer = layer_index(&entry.path, depth);
        per_layer[layer] += 1;
        if entry.path.contains("_embed.") || entry.path.contains("embed_positions.") {
            assert_eq!(layer, 0, "{}", entry.path);
        }
        if in_task_head(&entry.path) || entry.path.starts_with("pooler.") {
            assert_eq!(layer, depth + 1, "{}", entry.path);
        }
        let matrix = entry.shape.len() > 1;
        let special =
            entry.path.ends_with("cls_token") || entry.path.contains("embed_positions.a.");
        assert_eq!(
            exempt_from_weight_decay(&entry.path, entry.shape.len()),
            !matrix || special,
            "{}",
            entry.path
        );
    }
    assert!(
        per_layer[1] > 0 && per_layer[1..=depth].iter().all(|&n| n == per_layer[1]),
        "{per_layer:?}"
    );
    assert!(
        per_layer[0] >= 4 && per_layer[depth + 1] >= 4,
        "{per_layer:?}"
    );
    assert!(entries.iter().any(|e| in_task_head(&e.path)));
}
