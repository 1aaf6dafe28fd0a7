//! A dense layer, `x · W + b` then optionally `max(·, 0)`, with `W` and `b`
//! constant: the layers of skl2onnx's MLP exports (`MatMul`, `Add`, `Relu`)
//! and of hand-written ones. tract's matrix product is made for large
//! matrices; on an MLP's (4 or 30 features, 100 hidden units, 1–3 outputs)
//! its packing and tile stores took most of a 1,000-row batch, ~300–400 ns
//! per row against onnxruntime's 140–270 (BENCHMARKS.md).
//!
//! [`fuse`] finds the layers in a typed graph, before tract's optimizer
//! reshapes them (a one-output layer's `W` becomes a vector); every other
//! matrix product stays tract's.

use tract_onnx::{
    tract_core::ops::{
        binary::{BinMiniOp, TypedBinOp},
        einsum::EinSum,
        math::{Add, Max},
    },
    tract_hir::internal::*,
};

/// A layer of `inputs` features to `outputs` values per row.
#[derive(Clone, Debug, PartialEq)]
struct Dense {
    inputs: usize,
    outputs: usize,
    /// A wide layer's `[inputs, stride]`: the graph's `[inputs, outputs]`
    /// with each input's weights padded with zeros to `stride`, a whole
    /// number of vectors, so every output is in a full vector tile. A
    /// narrow layer's `[outputs, inputs]` (see [`Dense::wide`]).
    weights: Vec<f32>,
    stride: usize,
    bias: Vec<f32>,
    relu: bool,
}

impl Eq for Dense {}

/// f32 values in one AVX vector.
const VECTOR: usize = 8;

/// Rows a wide layer computes together. Each weight loaded serves all of
/// them, and their sums are independent chains the CPU overlaps: a row at
/// a time, a tile of 32 outputs has four chains, each waiting on its last
/// multiply-add (the layer of 30 features to 100 outputs took ~270 ns per
/// row that way, ~110 with four rows in tiles of 16 outputs, in a
/// micro-benchmark of the two loops).
const ROWS: usize = 4;

impl Dense {
    /// A wide layer is computed in vector steps across the outputs; a
    /// narrow one (fewer outputs than a vector holds) across rows, as a
    /// linear model is.
    fn wide(outputs: usize) -> bool {
        outputs >= VECTOR
    }

    fn new(w: &Tensor, bias: Option<&Tensor>, relu: bool) -> TractResult<Self> {
        let &[inputs, outputs] = w.shape() else {
            bail!(
                "a dense layer's weights are [inputs, outputs], not {:?}",
                w.shape()
            );
        };
        let plain = w.try_as_plain_ram()?;
        let by_input = plain.as_slice::<f32>()?;
        let (weights, stride) = if Self::wide(outputs) {
            let stride = outputs.next_multiple_of(VECTOR);
            let mut padded = vec![0.0; inputs * stride];
            for (to, from) in padded
                .chunks_exact_mut(stride)
                .zip(by_input.chunks_exact(outputs))
            {
                to[..outputs].copy_from_slice(from);
            }
            (padded, stride)
        } else {
            let by_output = (0..outputs)
                .flat_map(|o| by_input.iter().skip(o).step_by(outputs).copied())
                .collect();
            (by_output, inputs)
        };
        let bias = match bias {
            Some(b) => b.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            None => vec![0.0; outputs],
        };
        Ok(Dense {
            inputs,
            outputs,
            weights,
            stride,
            bias,
            relu,
        })
    }

    /// Writes the layer's values for `rows` into `out`. A value is its
    /// multiply-adds one after another from 0, then its bias: the order of
    /// onnxruntime's GEMM, then its `Add` (see [`super::dot`]).
    fn run(&self, rows: &[f32], out: &mut [f32]) {
        if Self::wide(self.outputs) {
            let mut blocks = rows.chunks_exact(self.inputs * ROWS);
            let mut outs = out.chunks_exact_mut(self.outputs * ROWS);
            // A block's rows turned on their side (`[inputs, ROWS]`), so the
            // values of one input for all of them are side by side. Only a
            // batch of a block or more needs it (not a one-row request).
            let mut side = if blocks.len() > 0 {
                vec![0f32; self.inputs * ROWS]
            } else {
                Vec::new()
            };
            for (block, out) in (&mut blocks).zip(&mut outs) {
                for (r, row) in block.chunks_exact(self.inputs).enumerate() {
                    for (k, x) in row.iter().enumerate() {
                        side[k * ROWS + r] = *x;
                    }
                }
                self.wide_rows::<ROWS>(&side, out, &[16, 8]);
            }
            // The rest (and a one-row request) a row at a time, in wider
            // tiles: eight vectors of sums a row still fit the registers.
            let rest = blocks.remainder().chunks_exact(self.inputs);
            for (row, out) in rest.zip(outs.into_remainder().chunks_exact_mut(self.outputs)) {
                self.wide_rows::<1>(row, out, &[64, 32, 16, 8]);
            }
            for out in out.chunks_exact_mut(self.outputs) {
                for (o, b) in out.iter_mut().zip(&self.bias) {
                    *o += b;
                }
            }
        } else {
            super::linear_rows(rows, self.inputs, &self.weights, &self.bias, out);
        }
        if self.relu {
            out.iter_mut().for_each(|o| *o = o.max(0.0));
        }
    }

    /// `R` rows of a wide layer, before the bias, in tiles of outputs (the
    /// sizes in `tiles`, largest first, the last one `VECTOR`) whose sums
    /// stay in vector registers through all the inputs. `side` holds the
    /// rows on their side: `[inputs, R]`.
    #[inline(always)]
    fn wide_rows<const R: usize>(&self, side: &[f32], out: &mut [f32], tiles: &[usize]) {
        let mut first = 0;
        for &tile in tiles {
            while first + tile <= self.stride {
                match tile {
                    64 => self.store(self.tile::<R, 64>(side, first), first, out),
                    32 => self.store(self.tile::<R, 32>(side, first), first, out),
                    16 => self.store(self.tile::<R, 16>(side, first), first, out),
                    _ => self.store(self.tile::<R, VECTOR>(side, first), first, out),
                }
                first += tile;
            }
        }
    }

    /// Outputs `first..first + T` of `R` rows, before the bias. Returned,
    /// not written out here: writing part of the sums (the padding is not
    /// written) from inside made the compiler keep them in memory, not in
    /// registers, and take each multiply-add one value at a time (~10×
    /// slower).
    #[inline(always)]
    fn tile<const R: usize, const T: usize>(&self, side: &[f32], first: usize) -> [[f32; T]; R] {
        let mut sums = [[0f32; T]; R];
        for (w, xs) in self
            .weights
            .chunks_exact(self.stride)
            .zip(side.chunks_exact(R))
        {
            let w = &w[first..first + T];
            for (sums, x) in sums.iter_mut().zip(xs) {
                for (sum, w) in sums.iter_mut().zip(w) {
                    *sum = x.mul_add(*w, *sum);
                }
            }
        }
        sums
    }

    /// Writes a tile's sums for outputs `first..` into the rows of `out`,
    /// without the padding.
    fn store<const R: usize, const T: usize>(
        &self,
        sums: [[f32; T]; R],
        first: usize,
        out: &mut [f32],
    ) {
        let kept = T.min(self.outputs - first);
        for (sums, out) in sums.iter().zip(out.chunks_exact_mut(self.outputs)) {
            out[first..first + kept].copy_from_slice(&sums[..kept]);
        }
    }
}

impl Op for Dense {
    fn name(&self) -> StaticName {
        "Sepal.Dense".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Dense {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, columns] = input.shape() else {
            bail!(
                "a dense layer's input is {:?}, expected [N, features]",
                input.shape()
            );
        };
        ensure!(
            columns == self.inputs,
            "the layer takes {} features, its input has {columns}",
            self.inputs
        );
        let mut out = Tensor::zero::<f32>(&[n, self.outputs])?;
        self.run(
            input.try_as_plain_ram()?.as_slice::<f32>()?,
            out.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        );
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Dense {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact([
            inputs[0].shape[0].clone(),
            self.outputs.to_dim()
        ])))
    }

    as_op!();
}

/// Replaces, in `model`, each f32 matrix product `[N, inputs] · W` with a
/// constant `W`, and the constant bias `Add` and the `max(·, 0)` that
/// follow it if any, with one [`Dense`] layer.
pub fn fuse(model: &mut TypedModel) -> TractResult<()> {
    while let Some(patch) = next_layer(model)? {
        patch.apply(model)?;
    }
    Ok(())
}

fn next_layer(model: &TypedModel) -> TractResult<Option<TypedModelPatch>> {
    let matmul = AxesMapping::for_numpy_matmul(2, false, false, false)?;
    for node in model.nodes() {
        let Some(product) = node.op_as::<EinSum>() else {
            continue;
        };
        let [x, w] = node.inputs[..] else { continue };
        let x_fact = model.outlet_fact(x)?;
        let w_fact = model.outlet_fact(w)?;
        let Some(weights) = w_fact.konst.as_ref() else {
            continue;
        };
        if product.axes != matmul
            || product.operating_dt != f32::datum_type()
            || product.q_params.is_some()
            || x_fact.datum_type != f32::datum_type()
            || x_fact.rank() != 2
            || weights.datum_type() != f32::datum_type()
        {
            continue;
        }
        let outputs = weights.shape()[1];
        let mut end = OutletId::new(node.id, 0);
        let bias = follower_const::<Add>(model, end)?
            .filter(|(_, b)| b.len() == outputs && b.shape().last() == Some(&outputs));
        if let Some((add, _)) = &bias {
            end = *add;
        }
        let relu = follower_const::<Max>(model, end)?.filter(|(_, zero)| {
            zero.len() == 1
                && zero
                    .try_as_plain_ram()
                    .and_then(|p| Ok(p.as_slice::<f32>()?[0] == 0.0))
                    .unwrap_or(false)
        });
        if let Some((max, _)) = &relu {
            end = *max;
        }
        let layer = Dense::new(weights, bias.as_ref().map(|(_, b)| &**b), relu.is_some())?;
        let mut patch = TypedModelPatch::new("Sepal.Dense");
        let x = patch.tap_model(model, x)?;
        let out = patch.wire_node(&node.name, layer, &[x])?[0];
        patch.shunt_outside(model, end, out)?;
        return Ok(Some(patch));
    }
    Ok(None)
}

/// When `outlet` goes only to an f32 binary operator `B` whose other input
/// is constant: that operator's output and the constant.
fn follower_const<B: BinMiniOp>(
    model: &TypedModel,
    outlet: OutletId,
) -> TractResult<Option<(OutletId, Arc<Tensor>)>> {
    let [next] = model.outlet_successors(outlet) else {
        return Ok(None);
    };
    if model.output_outlets()?.contains(&outlet) {
        return Ok(None);
    }
    let node = model.node(next.node);
    let Some(binary) = node.op_as::<TypedBinOp>() else {
        return Ok(None);
    };
    if !binary.0.is::<B>() || binary.1.is_some() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let other = node.inputs[1 - next.slot];
    let constant = model.outlet_fact(other)?.konst.clone();
    Ok(constant
        .filter(|c| c.datum_type() == f32::datum_type())
        .map(|c| (OutletId::new(node.id, 0), c)))
}

#[cfg(test)]
mod tests {
    use tract_onnx::prelude::*;

    use super::*;

    /// Values that are not round, from a seed.
    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.7361).sin()).collect()
    }

    #[test]
    fn every_width_adds_in_onnxruntimes_order() {
        // 42 rows: blocks of the wide and the narrow layers' rows, and rests.
        let (inputs, n) = (30, 42);
        let rows = values(n * inputs, 1.0);
        for outputs in [1, 3, 8, 37, 100, 130] {
            let w = Tensor::from_shape(&[inputs, outputs], &values(inputs * outputs, 2.0))
                .expect("weights");
            let b = tensor1(&values(outputs, 3.0));
            let layer = Dense::new(&w, Some(&b), true).expect("a layer");
            let mut out = vec![0.0; n * outputs];
            layer.run(&rows, &mut out);
            let by_input = values(inputs * outputs, 2.0);
            let bias = values(outputs, 3.0);
            for (r, row) in rows.chunks_exact(inputs).enumerate() {
                for j in 0..outputs {
                    let sum = row.iter().enumerate().fold(0.0f32, |sum, (k, x)| {
                        x.mul_add(by_input[k * outputs + j], sum)
                    });
                    let expected = (sum + bias[j]).max(0.0);
                    assert_eq!(
                        out[r * outputs + j],
                        expected,
                        "{outputs} outputs, row {r}, output {j}"
                    );
                }
            }
        }
    }

    /// The suite's binary MLP, typed for `[N, 30]` rows.
    fn binary_mlp() -> TypedModel {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/suite/binary_mlp_plain/model.onnx"
        );
        let model = crate::inference::ops::onnx()
            .model_for_path(path)
            .expect("the suite's MLP reads");
        let n = model.sym("N").to_dim();
        model
            .with_input_fact(0, f32::fact([n, 30.to_dim()]).into())
            .and_then(|m| m.into_typed())
            .expect("the suite's MLP types")
    }

    #[test]
    fn an_mlp_exports_layers_become_dense_layers_with_the_same_answers() {
        let plain = binary_mlp();
        let mut fused = plain.clone();
        fuse(&mut fused).expect("fuses");
        let count =
            |m: &TypedModel, name: &str| m.nodes().iter().filter(|n| n.op.name() == name).count();
        assert_eq!(count(&plain, "EinSum"), 2);
        assert_eq!(count(&fused, "EinSum"), 0);
        assert_eq!(count(&fused, "Sepal.Dense"), 2);
        // The bias additions and the ReLU went into the layers.
        assert_eq!(count(&fused, "Max"), 0);

        let rows = Tensor::from_shape(&[4, 30], &values(120, 4.0)).expect("rows");
        let run = |m: TypedModel| {
            m.into_optimized()
                .and_then(|m| m.into_runnable())
                .and_then(|p| p.run(tvec!(rows.clone().into())))
                .expect("runs")
        };
        let (before, after) = (run(plain), run(fused));
        let probabilities = |o: &TVec<TValue>| {
            o[1].try_as_plain_ram()
                .and_then(|p| Ok(p.as_slice::<f32>()?.to_vec()))
                .expect("f32")
        };
        for (b, a) in probabilities(&before).iter().zip(probabilities(&after)) {
            assert!((b - a).abs() < 1e-6, "{b} against {a}");
        }
    }
}
