//! Drop path: identity at inference, per-sample drop and rescale under autodiff.

use beit3::drop_path::DropPath;
use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;

type B = NdArray<f32>;

#[test]
fn drop_path_is_identity_without_autodiff() {
    let x = Tensor::<B, 3>::ones([8, 3, 4], &Default::default());
    let y = DropPath::new(0.5).forward(x.clone());
    assert_eq!(y.into_data(), x.into_data());
}

#[test]
fn drop_path_drops_whole_samples_and_rescales_under_autodiff() {
    let device = Default::default();
    <Autodiff<B> as Backend>::seed(&device, 7);
    let x = Tensor::<Autodiff<B>, 3>::ones([64, 3, 4], &device);
    let y: Vec<f32> = DropPath::new(0.5).forward(x).into_data().to_vec().unwrap();
    let mut dropped = 0;
    for sample in y.chunks(12) {
        // Every token of a sample shares the same fate: all 0 or all 1/(1-p) = 2.
        assert!(sample.iter().all(|v| *v == sample[0]), "{sample:?}");
        assert!(sample[0] == 0.0 || sample[0] == 2.0, "{}", sample[0]);
        dropped += (sample[0] == 0.0) as usize;
    }
    assert!(dropped > 0 && dropped < 64, "{dropped} of 64 dropped");
}
