//! The model's parameters as the checkpoints name them: key, PyTorch-layout shape, count.
//!
//! Shapes are read without initialising anything (`Param::lazy_shape`), so a full-size model
//! built on any backend can be counted and checked against a checkpoint without allocating.

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;

/// One parameter of a Burn module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamEntry {
    /// Its path in the Burn module (`beit3.encoder.layers.0.ffn.a.fc1.weight`).
    pub path: String,
    /// Its key in an official checkpoint (`beit3.encoder.layers.0.ffn.A.fc1.weight`).
    pub key: String,
    /// Its shape in PyTorch layout (Linear weights are `[out, in]`).
    pub shape: Vec<usize>,
}

/// The checkpoint key of a Burn path: experts `a`/`b` → `A`/`B`, `head.{fc1,norm,fc2}` →
/// `head.{0,1,3}`, LayerNorm `gamma`/`beta` → `weight`/`bias`.
pub fn checkpoint_key(path: &str, in_layer_norm: bool) -> String {
    let mut segs: Vec<&str> = path.split('.').collect();
    let last = segs.len() - 1;
    for (i, seg) in segs.iter_mut().enumerate() {
        *seg = match (*seg, i) {
            ("a", _) if i < last => "A",
            ("b", _) if i < last => "B",
            ("fc1", 1) if path.starts_with("head.") => "0",
            ("norm", 1) if path.starts_with("head.") => "1",
            ("fc2", 1) if path.starts_with("head.") => "3",
            ("gamma", _) if i == last && in_layer_norm => "weight",
            ("beta", _) if i == last && in_layer_norm => "bias",
            (s, _) => s,
        };
    }
    segs.join(".")
}

/// The regex remapping from checkpoint keys to Burn paths (LayerNorm names are left to the
/// PyTorch adapter), for `burn_store::KeyRemapper`.
pub const CHECKPOINT_TO_BURN: [(&str, &str); 5] = [
    (r"\.A\.", ".a."),
    (r"\.B\.", ".b."),
    (r"^head\.0\.", "head.fc1."),
    (r"^head\.1\.", "head.norm."),
    (r"^head\.3\.", "head.fc2."),
];

/// The reverse of [`CHECKPOINT_TO_BURN`] (after the PyTorch adapter renamed LayerNorm params).
pub const BURN_TO_CHECKPOINT: [(&str, &str); 5] = [
    (r"\.a\.", ".A."),
    (r"\.b\.", ".B."),
    (r"^head\.fc1\.", "head.0."),
    (r"^head\.norm\.", "head.1."),
    (r"^head\.fc2\.", "head.3."),
];

#[derive(Default)]
struct Collector {
    path: Vec<String>,
    containers: Vec<String>,
    out: Vec<ParamEntry>,
}

impl<B: Backend> ModuleVisitor<B> for Collector {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        self.containers.push(container_type.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
        self.containers.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let module = self
            .containers
            .iter()
            .rev()
            .find(|c| c.starts_with("Struct:"));
        let module = module.map(String::as_str).unwrap_or("");
        let path = self.path.join(".");
        let mut shape = param.lazy_shape().to_vec();
        if module == "Struct:Linear" && path.ends_with(".weight") && shape.len() == 2 {
            shape.reverse();
        }
        let key = checkpoint_key(&path, module == "Struct:LayerNorm");
        self.out.push(ParamEntry { path, key, shape });
    }
}

/// Every float parameter of `module`, in visiting order, without initialising any.
pub fn param_entries<B: Backend, M: Module<B>>(module: &M) -> Vec<ParamEntry> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector.out
}

/// The number of scalar parameters of `module`, without initialising any.
pub fn param_count<B: Backend, M: Module<B>>(module: &M) -> usize {
    param_entries(module)
        .iter()
        .map(|e| e.shape.iter().product::<usize>())
        .sum()
}

/// The layer a parameter belongs to, for layer-wise learning-rate decay (the recipe's
/// `get_layer_id_for_vit`): 0 for the embeddings (text, vision, position table), `i + 1` for
/// encoder layer `i`, and `depth + 1` for everything after the encoder (pooler, head).
pub fn layer_index(path: &str, depth: usize) -> usize {
    let embeddings = [
        "beit3.text_embed.",
        "beit3.vision_embed.",
        "beit3.encoder.embed_positions.",
    ];
    if embeddings.iter().any(|prefix| path.starts_with(prefix)) {
        return 0;
    }
    if let Some(rest) = path.strip_prefix("beit3.encoder.layers.")
        && let Some(Ok(i)) = rest.split('.').next().map(str::parse::<usize>)
    {
        return (i + 1).min(depth + 1);
    }
    depth + 1
}

/// Whether the parameter is part of the task head (`head.`; the pooler is not).
pub fn in_task_head(path: &str) -> bool {
    path.starts_with("head.")
}

/// Whether the recipe exempts the parameter from weight decay: every 1-D parameter (biases,
/// norms), the CLS token and the vision position table.
pub fn exempt_from_weight_decay(path: &str, dims: usize) -> bool {
    dims == 1
        || path.ends_with(".bias")
        || path.ends_with("cls_token")
        || path.ends_with("embed_positions.a.weight")
}
