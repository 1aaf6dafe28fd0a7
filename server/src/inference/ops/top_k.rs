//! The `k` smallest (or largest) values of each f32 row `[N, M]` and their
//! indices, best first: how a k-nearest-neighbours export picks its
//! neighbours from the distances to all `M` training rows. tract's `TopK`
//! sorts each whole row (through a strided view, into a new vector) to keep
//! `k` of it; here one pass over the row keeps the best `k` so far, and most
//! values are turned away by one comparison with the `k`-th.
//!
//! Equal values keep their order in the row (the lower index first), as the
//! ONNX specification asks. NaN counts as the worst value either way, so it
//! is picked only when a row has fewer than `k` numbers.
//!
//! [`replace`] swaps tract's `TopK` over the last axis of f32 rows with a
//! constant `k` for this one; any other stays tract's.

use tract_onnx::{tract_core::ops::array::Topk, tract_hir::internal::*};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowsTopK {
    k: usize,
    largest: bool,
}

impl RowsTopK {
    /// Whether `a` goes before `b`.
    fn better(&self, a: f32, b: f32) -> bool {
        let before = if self.largest { a > b } else { a < b };
        before || (b.is_nan() && !a.is_nan())
    }

    /// Writes the best `k` of `row`, best first, into `values` and `indices`.
    fn row(&self, row: &[f32], values: &mut [f32], indices: &mut [i64]) {
        let mut kept = 0;
        for (index, &x) in row.iter().enumerate() {
            if kept == self.k && !self.better(x, values[kept - 1]) {
                continue;
            }
            // After every kept value that is as good as `x`.
            let at = values[..kept]
                .iter()
                .position(|&v| self.better(x, v))
                .unwrap_or(kept);
            let end = (kept + 1).min(self.k);
            values.copy_within(at..end - 1, at + 1);
            indices.copy_within(at..end - 1, at + 1);
            values[at] = x;
            indices[at] = index as i64;
            kept = end;
        }
    }
}

impl Op for RowsTopK {
    fn name(&self) -> StaticName {
        "Sepal.TopK".into()
    }

    op_as_typed_op!();
}

impl EvalOp for RowsTopK {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let &[n, m] = input.shape() else {
            bail!("TopK's input is {:?}, expected [N, M]", input.shape());
        };
        ensure!(
            self.k <= m,
            "TopK asks for the best {} of rows of {m} values",
            self.k
        );
        let mut values = Tensor::zero::<f32>(&[n, self.k])?;
        let mut indices = Tensor::zero::<i64>(&[n, self.k])?;
        if self.k > 0 {
            let input = input.try_as_plain_ram()?;
            let mut v = values.try_as_plain_ram_mut()?;
            let mut i = indices.try_as_plain_ram_mut()?;
            for ((row, values), indices) in input
                .as_slice::<f32>()?
                .chunks_exact(m)
                .zip(v.as_slice_mut::<f32>()?.chunks_exact_mut(self.k))
                .zip(i.as_slice_mut::<i64>()?.chunks_exact_mut(self.k))
            {
                self.row(row, values, indices);
            }
        }
        Ok(tvec!(values.into_tvalue(), indices.into_tvalue()))
    }
}

impl TypedOp for RowsTopK {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        Ok(tvec!(
            f32::fact([n.clone(), self.k.to_dim()]),
            i64::fact([n, self.k.to_dim()])
        ))
    }

    as_op!();
}

/// Replaces, in `model`, each `TopK` over the last axis of f32 rows `[N, M]`
/// whose `k` is a constant with Sepal's.
pub fn replace(model: &mut TypedModel) -> TractResult<()> {
    let mut found = Vec::new();
    for node in model.nodes() {
        let Some(top_k) = node.op_as::<Topk>() else {
            continue;
        };
        let [rows, k] = node.inputs[..] else { continue };
        let rows = model.outlet_fact(rows)?;
        let k = model.outlet_fact(k)?.konst.as_ref().and_then(|k| {
            let k = k.cast_to_scalar::<i64>().ok()?;
            usize::try_from(k).ok()
        });
        if let Some(k) = k
            && top_k.axis == 1
            && rows.rank() == 2
            && rows.datum_type == f32::datum_type()
        {
            found.push((node.id, top_k.largest, k));
        }
    }
    for (id, largest, k) in found {
        let node = model.node(id);
        TypedModelPatch::replace_single_op(
            model,
            node,
            &node.inputs[..1],
            RowsTopK { k, largest },
        )?
        .apply(model)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(k: usize, largest: bool, row: &[f32]) -> (Vec<f32>, Vec<i64>) {
        let (mut values, mut indices) = (vec![0.0; k], vec![0; k]);
        RowsTopK { k, largest }.row(row, &mut values, &mut indices);
        (values, indices)
    }

    #[test]
    fn keeps_the_best_k_in_order_ties_by_index() {
        let row = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
        assert_eq!(top(3, false, &row), (vec![1.0, 1.0, 2.0], vec![1, 3, 6]));
        assert_eq!(
            top(4, true, &row),
            (vec![9.0, 6.0, 5.0, 5.0], vec![5, 7, 4, 8])
        );
        assert_eq!(top(1, false, &row), (vec![1.0], vec![1]));
        assert_eq!(top(10, false, &row).1, vec![1, 3, 6, 0, 9, 2, 4, 8, 7, 5]);
    }

    #[test]
    fn nan_is_worst_either_way() {
        let nan = f32::NAN;
        let row = [nan, 2.0, nan, 1.0];
        for largest in [false, true] {
            let (values, indices) = top(3, largest, &row);
            assert_eq!(&indices[..2], if largest { [1, 3] } else { [3, 1] });
            assert!(values[2].is_nan());
            assert_eq!(indices[2], 0);
        }
    }

    #[test]
    fn agrees_with_a_full_stable_sort() {
        // Values with many ties, from a seed.
        let row: Vec<f32> = (0..200).map(|i| ((i * 37 % 101) / 7) as f32).collect();
        for largest in [false, true] {
            let mut sorted: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
            sorted.sort_by(|a, b| {
                let order = a.1.total_cmp(&b.1);
                if largest { order.reverse() } else { order }
            });
            for k in [1, 5, 17, 200] {
                let expected: Vec<i64> = sorted[..k].iter().map(|&(i, _)| i as i64).collect();
                assert_eq!(
                    top(k, largest, &row).1,
                    expected,
                    "k {k}, largest {largest}"
                );
            }
        }
    }
}
