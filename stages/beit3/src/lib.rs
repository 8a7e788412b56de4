//! BEiT-3 for visual question answering, in Burn, generic over the backend.
//!
//! The multiway encoder (vision expert A, text expert B, joint attention), the VQA pooler and
//! head, the loader for the official PyTorch checkpoints (with the 224 → S position-table
//! interpolation), Burn-format and safetensors saving, and an exact parameter count.
//!
//! The model is BEiT-3 (Wang et al., "Image as a Foreign Language: BEiT Pretraining for All
//! Vision and Vision-Language Tasks", arXiv:2208.10442). The layout follows the upstream
//! implementation: torchscale's `BEiT3` for the multiway backbone and microsoft/unilm's
//! `beit3/modeling_finetune.py` (`BEiT3ForVisualQuestionAnswering`) for the pooler and head, so
//! module field names are the official checkpoints' key names. Parity with that code is tested
//! against fixtures made by `tests/fixtures/beit3/make_fixtures.py`.
//!
//! ```no_run
//! use beit3::{Beit3Config, HeadTask, LoadOptions, VqaConfig, VqaModel, load_checkpoint};
//! use burn::backend::NdArray;
//! use burn::prelude::*;
//!
//! type B = NdArray<f32>;
//! let config = VqaConfig { encoder: Beit3Config::base(480), task: HeadTask::Joint };
//! let mut model = VqaModel::<B>::new(&config, &Default::default())?;
//! // A pretrained 224-px file: the position table is interpolated, the head keeps its init.
//! let report = load_checkpoint(&mut model, "beit3_base_patch16_224.pth".as_ref(), &LoadOptions::default())?;
//! println!("{} tensors, unused {:?}", report.applied, report.unused);
//! let device = Default::default();
//! let image = Tensor::<B, 4>::zeros([1, 3, 480, 480], &device);
//! let question = Tensor::<B, 2, Int>::from_data([[0, 100, 2, 1]], &device);
//! let padding = question.clone().equal_elem(1); // `true` = padding
//! let logits = model.forward(image, question, padding); // [1, 4]
//! # Ok::<(), beit3::LoadError>(())
//! ```

pub mod activation;
pub mod attention;
pub mod backbone;
pub mod config;
pub mod drop_path;
pub mod embed;
pub mod encoder;
pub mod error;
pub mod ffn;
pub mod flash;
pub mod graph_lock;
pub mod head;
pub mod init;
pub mod interp;
pub mod layer;
pub mod loader;
pub mod loss;
pub mod model;
pub mod multiway;
pub mod params;
pub mod persist;
pub mod precision;
pub mod torch_file;

pub use backbone::Beit3;
pub use config::{Beit3Config, Preset, VqaConfig};
pub use error::{ConfigError, LoadError};
pub use graph_lock::one_graph_at_a_time;
pub use head::HeadTask;
pub use loader::{LoadOptions, LoadReport, load_checkpoint, load_vqa};
pub use model::{VqaModel, VqaOutput};
pub use params::param_count;
