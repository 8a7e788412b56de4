//! Which backends have the fused attention, by type. Model code is generic over any `Backend` and
//! cannot ask a trait of it that CPU backends lack, so the backends that have one are registered
//! at run time by code that names them (the trainer's device setup, a test), and the attention
//! looks its backend up here: no entry, the decomposed attention.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use burn::prelude::*;

use super::{FlashAttention, flash_attention};

/// q, k, v and the key padding mask of one backend.
type Inputs<B> = (Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 2, Bool>);
/// [`flash_attention`] of one backend, its types erased.
type Erased = fn(Box<dyn Any>) -> Box<dyn Any>;

fn table() -> &'static RwLock<HashMap<TypeId, Erased>> {
    static TABLE: OnceLock<RwLock<HashMap<TypeId, Erased>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// The attention of backend `B` is the fused one from now on (where its model enables it).
pub fn register<B: FlashAttention>() {
    table()
        .write()
        .expect("flash registry")
        .insert(TypeId::of::<B>(), call::<B>);
}

fn call<B: FlashAttention>(inputs: Box<dyn Any>) -> Box<dyn Any> {
    let (q, k, v, key_pad) = *inputs
        .downcast::<Inputs<B>>()
        .expect("inputs of the backend the entry was registered for");
    Box::new(flash_attention(q, k, v, key_pad))
}

/// The fused attention when `B` is registered (see [`flash_attention`]); the inputs back
/// otherwise.
pub fn fused<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    key_pad: Tensor<B, 2, Bool>,
) -> Result<Tensor<B, 4>, Inputs<B>> {
    let entry = table()
        .read()
        .expect("flash registry")
        .get(&TypeId::of::<B>())
        .copied();
    let Some(call) = entry else {
        return Err((q, k, v, key_pad));
    };
    let out = call(Box::new((q, k, v, key_pad)));
    Ok(*out
        .downcast::<Tensor<B, 4>>()
        .expect("the output of the backend the entry was registered for"))
}
