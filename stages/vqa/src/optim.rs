//! The optimizer of the BEiT-3 recipe: AdamW with parameter groups (layer-wise learning-rate
//! decay, a larger learning rate for the task head, no weight decay on biases, norms, the CLS
//! token and the vision position table) and clipping by the global gradient norm.
//!
//! Burn has no parameter groups: each group's gradients are moved into their own
//! [`GradientsParams`] and stepped with the group's learning rate, through one AdamW for the
//! decayed parameters and one without decay. Groups are found from parameter *paths*, which
//! survive a checkpoint reload, unlike parameter ids.

use beit3::params::{exempt_from_weight_decay, in_task_head, layer_index};
use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

/// How parameters are grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRule {
    /// Number of encoder layers L.
    pub depth: usize,
    /// Layer-wise decay: layer `i` (0 = embeddings, L + 1 = pooler and head) gets `decay^(L+1-i)`.
    pub layer_decay: f64,
    /// Multiplier for parameters under `head.` (20 in the recipe; the pooler is not included).
    pub head_lr_scale: f64,
}

impl GroupRule {
    /// `(learning-rate multiplier, weight decay applies)` of the parameter at `path` with `dims`
    /// dimensions.
    pub fn group(&self, path: &str, dims: usize) -> (f64, bool) {
        let layer = layer_index(path, self.depth);
        let mut scale = self.layer_decay.powi((self.depth + 1 - layer) as i32);
        if in_task_head(path) {
            scale *= self.head_lr_scale;
        }
        (scale, !exempt_from_weight_decay(path, dims))
    }
}

/// AdamW hyper-parameters shared by every group.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamWSettings {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub weight_decay: f32,
}

/// AdamW over parameter groups.
pub struct GroupedAdamW<M: AutodiffModule<B>, B: AutodiffBackend> {
    rule: GroupRule,
    decayed: OptimizerAdaptor<AdamW, M, B>,
    not_decayed: OptimizerAdaptor<AdamW, M, B>,
}

/// What a checkpoint keeps of the optimizer: the moments of both AdamWs.
pub type GroupedRecord<M, B> = (
    <OptimizerAdaptor<AdamW, M, B> as Optimizer<M, B>>::Record,
    <OptimizerAdaptor<AdamW, M, B> as Optimizer<M, B>>::Record,
);

impl<M: AutodiffModule<B>, B: AutodiffBackend> GroupedAdamW<M, B> {
    pub fn new(rule: GroupRule, settings: &AdamWSettings) -> Self {
        let config = AdamWConfig::new()
            .with_beta_1(settings.beta_1)
            .with_beta_2(settings.beta_2)
            .with_epsilon(settings.epsilon);
        Self {
            rule,
            decayed: config
                .clone()
                .with_weight_decay(settings.weight_decay)
                .init(),
            not_decayed: config.with_weight_decay(0.0).init(),
        }
    }

    /// One update with base learning rate `lr`: each group is stepped with `lr` times its scale.
    pub fn step(&mut self, lr: f64, mut module: M, mut grads: GradientsParams) -> M {
        let mut splitter = Splitter {
            rule: &self.rule,
            stack: Vec::new(),
            from: &mut grads,
            groups: Vec::new(),
        };
        module.visit(&mut splitter);
        for ((scale, decay), group) in splitter.groups {
            let optimizer = if decay {
                &mut self.decayed
            } else {
                &mut self.not_decayed
            };
            module = optimizer.step(lr * scale, module, group);
        }
        module
    }

    pub fn to_record(&self) -> GroupedRecord<M, B> {
        (self.decayed.to_record(), self.not_decayed.to_record())
    }

    pub fn load_record(self, record: GroupedRecord<M, B>) -> Self {
        Self {
            rule: self.rule,
            decayed: self.decayed.load_record(record.0),
            not_decayed: self.not_decayed.load_record(record.1),
        }
    }
}

/// Moves each parameter's gradient into the group its path belongs to.
struct Splitter<'a> {
    rule: &'a GroupRule,
    stack: Vec<String>,
    from: &'a mut GradientsParams,
    groups: Vec<((f64, bool), GradientsParams)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Splitter<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.stack.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(grad) = self.from.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        let key = self.rule.group(&self.stack.join("."), D);
        let index = match self.groups.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                self.groups.push((key, GradientsParams::new()));
                self.groups.len() - 1
            }
        };
        self.groups[index]
            .1
            .register::<B::InnerBackend, D>(param.id, grad);
    }
}

/// Scales all gradients so that their global L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`: every gradient times `min(1, max_norm / (norm + 1e-6))`, exactly 1 below
/// `max_norm`); returns the norm before clipping, `[1]`, or `None` when there are no gradients.
///
/// Nothing is read back to the host: the norm and the factor stay on the device, so a GPU's queue
/// does not stall on every step.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: Option<f64>,
) -> Option<Tensor<B::InnerBackend, 1>> {
    let mut norm = NormVisitor::<B::InnerBackend> { grads, sum: None };
    module.visit(&mut norm);
    let total = norm.sum?.sqrt();
    if let Some(max_norm) = max_norm {
        let wanted = Tensor::<B::InnerBackend, 1>::full([1], max_norm, &total.device());
        let factor = wanted.div(total.clone().add_scalar(1e-6)).clamp_max(1.0);
        module.visit(&mut ScaleVisitor { grads, factor });
    }
    Some(total)
}

struct NormVisitor<'a, IB: Backend> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<IB, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for NormVisitor<'_, B::InnerBackend> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let squares = grad.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squares,
                None => squares,
            });
        }
    }
}

struct ScaleVisitor<'a, IB: Backend> {
    grads: &'a mut GradientsParams,
    /// `[1]`, broadcast over each gradient.
    factor: Tensor<IB, 1>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for ScaleVisitor<'_, B::InnerBackend> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let factor = self.factor.clone().reshape([1; D]);
            self.grads
                .register::<B::InnerBackend, D>(param.id, grad.mul(factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Autodiff;
    use burn::nn::{Linear, LinearConfig};
    use burn_ndarray::NdArray;

    use super::*;

    type B = Autodiff<NdArray>;
    type IB = NdArray;

    /// A 2x2 linear layer whose gradients are weight = [[3, 0], [0, 0]], bias = [0, 4]: norm 5.
    fn layer_and_grads() -> (Linear<B>, GradientsParams) {
        let device = Default::default();
        let layer = LinearConfig::new(2, 2).init::<B>(&device);
        let mut grads = GradientsParams::new();
        let weight = Tensor::<IB, 2>::from_floats([[3.0, 0.0], [0.0, 0.0]], &device);
        let bias = Tensor::<IB, 1>::from_floats([0.0, 4.0], &device);
        grads.register::<IB, 2>(layer.weight.id, weight);
        grads.register::<IB, 1>(layer.bias.as_ref().unwrap().id, bias);
        (layer, grads)
    }

    fn values(layer: &Linear<B>, grads: &GradientsParams) -> Vec<f32> {
        let weight = grads.get::<IB, 2>(layer.weight.id).unwrap();
        let bias = grads.get::<IB, 1>(layer.bias.as_ref().unwrap().id).unwrap();
        let mut all = weight.into_data().to_vec::<f32>().unwrap();
        all.extend(bias.into_data().to_vec::<f32>().unwrap());
        all
    }

    fn clip(max_norm: Option<f64>) -> (f32, Vec<f32>) {
        let (layer, mut grads) = layer_and_grads();
        let norm = clip_global_norm::<B, _>(&layer, &mut grads, max_norm).unwrap();
        (norm.into_scalar(), values(&layer, &grads))
    }

    #[test]
    fn the_norm_is_the_global_l2_norm_before_clipping() {
        for max_norm in [None, Some(10.0), Some(1.0)] {
            assert_eq!(clip(max_norm).0, 5.0, "max_norm {max_norm:?}");
        }
    }

    /// The factor `min(1, max_norm / (norm + 1e-6))` is exactly 1 below `max_norm`: the gradients
    /// are unchanged to the bit; above it they are scaled to norm `max_norm`.
    #[test]
    fn the_factor_applies_only_above_max_norm() {
        let unclipped = [3.0, 0.0, 0.0, 0.0, 0.0, 4.0];
        assert_eq!(clip(None).1, unclipped);
        assert_eq!(clip(Some(10.0)).1, unclipped);
        let (_, clipped) = clip(Some(2.5));
        let factor = (2.5 / (5.0 + 1e-6)) as f32;
        for (got, want) in clipped.iter().zip(unclipped) {
            assert!((got - want * factor).abs() <= 1e-7, "{clipped:?}");
        }
        let norm = clipped.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 2.5).abs() < 1e-5, "clipped norm {norm}");
    }

    #[test]
    fn no_gradients_give_no_norm() {
        let device = Default::default();
        let layer = LinearConfig::new(2, 2).init::<B>(&device);
        let mut grads = GradientsParams::new();
        assert!(clip_global_norm::<B, _>(&layer, &mut grads, Some(1.0)).is_none());
    }
}
