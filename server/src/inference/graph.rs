//! An ONNX file made runnable: read with Sepal's operators, its input fixed
//! to f32 `[N, features]`, pruned to the outputs Sepal reads, and optimized
//! into two plans, one for any number of rows and one made for a single
//! row (the request path, where tract picks kernels for the known shape).
//! Before tract optimizes them, Sepal's passes put its own dense layers,
//! softmaxes and top-k selections in place of tract's (`ops::dense`,
//! `ops::softmax`, `ops::top_k`).

use std::{
    cell::RefCell,
    sync::Arc,
    time::{Duration, Instant},
};

use tract_onnx::{
    prelude::*,
    tract_hir::{infer::Factoid, internal::*},
};

use super::ops;

/// Why an ONNX file cannot be run as asked.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// tract (or one of Sepal's operators) refused the graph.
    #[error("{0}")]
    Onnx(String),
    /// The graph is not what its description says.
    #[error("{0}")]
    Mismatch(String),
}

fn onnx_error(e: TractError) -> GraphError {
    GraphError::Onnx(format!("{e:#}"))
}

/// A graph ready to run on rows of `width` features.
pub struct Graph {
    width: usize,
    /// For `[N, width]` input, any N.
    batch: Arc<TypedRunnableModel>,
    /// For `[1, width]`.
    single: Arc<TypedRunnableModel>,
    /// The batch plan's time per row, measured once at load: a batch is
    /// split across threads only when its rows take long enough in all to
    /// pay for the hand-over.
    row_cost: Duration,
    /// Whether an operator keeps state from one run to the next (the `Scan`
    /// of a k-nearest-neighbours export): such a plan gets a new state for
    /// each row, or a row's answer would depend on the rows before it.
    stateful: bool,
}

/// A batch is split only into parts of at least this many rows.
const ROWS_PER_THREAD: usize = 128;

/// ... and only when it would take at least this long on one thread (see
/// docs/models.md, "Speed": on this project's VMs a pool thread that slept
/// is slow to wake). Measured again on 2026-12-03 (`/tmp` micro-benchmark,
/// a loop alone against halved with `rayon::in_place_scope`, medians of
/// 300, 5 ms pauses between runs): 170 µs of work took 224 µs split, 1.2 ms
/// took 1.28 ms; back to back, 430 µs took 263 µs split.
const SPLIT_FROM: Duration = Duration::from_micros(400);

/// Rows of zeros timed at load to learn a batch's cost per row.
const PROBE_ROWS: usize = 256;

thread_local! {
    /// What one-row runs on this thread reuse (for the last graph it ran):
    /// the scratch state, whose making costs about a fifth of a one-row
    /// run and which serves one run at a time, and the input tensor.
    static SINGLE_ROW: RefCell<KeptSingleRow> = const { RefCell::new(KeptSingleRow(None)) };
}

struct SingleRow {
    state: TypedSimpleState,
    /// `[1, width]`. tract lets go of a run's inputs when the run ends,
    /// so the next run refills this tensor in place instead of allocating one.
    input: Arc<Tensor>,
}

/// Kept until its thread ends. Dropping a state tells tract's ops to free
/// their scratch space in tract's own thread-locals, which may be gone
/// already when the thread ends (a panic, then an abort); so at thread end
/// it is forgotten instead: one state, one input and one reference to its
/// plan per ended thread. Sepal predicts on the runtime's worker threads,
/// which live as long as the server.
struct KeptSingleRow(Option<SingleRow>);

impl Drop for KeptSingleRow {
    fn drop(&mut self) {
        std::mem::forget(self.0.take());
    }
}

impl Graph {
    /// Reads `bytes`, whose one input is named `input` and takes `width`
    /// features per row, and keeps the outputs named in `outputs`, in that
    /// order.
    pub fn load(
        bytes: &[u8],
        input: &str,
        width: usize,
        outputs: &[&str],
    ) -> Result<Self, GraphError> {
        let mut model = ops::onnx()
            .model_for_read(&mut &*bytes)
            .map_err(onnx_error)?;
        check_input(&model, input, width)?;
        let selected = outputs
            .iter()
            .map(|name| {
                model.find_outlet_label(name).ok_or_else(|| {
                    let known: Vec<_> = model
                        .output_outlets()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|o| model.outlet_label(*o))
                        .collect();
                    GraphError::Mismatch(format!(
                        "no output named `{name}` (outputs: {})",
                        known.join(", ")
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        model.select_output_outlets(&selected).map_err(onnx_error)?;
        // Exports may leave the batch size (skl2onnx: even its name) open;
        // tract needs it named.
        let n = model.sym("N").to_dim();
        let plan = |rows: TDim| -> Result<Arc<TypedRunnableModel>, GraphError> {
            model
                .clone()
                .with_input_fact(0, f32::fact([rows, width.to_dim()]).into())
                .and_then(|m| m.into_typed())
                .and_then(|mut m| {
                    ops::dense::fuse(&mut m)?;
                    ops::softmax::replace(&mut m)?;
                    ops::top_k::replace(&mut m)?;
                    m.into_optimized()
                })
                .and_then(|m| m.into_runnable())
                .map_err(onnx_error)
        };
        let batch = plan(n)?;
        let single = plan(1.to_dim())?;
        let stateful = single
            .spawn()
            .map_err(onnx_error)?
            .op_states
            .iter()
            .any(Option::is_some);
        let row_cost = probe(&batch, width);
        Ok(Graph {
            width,
            batch,
            single,
            row_cost,
            stateful,
        })
    }

    /// The plan's output facts for `[N, width]` input.
    pub fn output_facts(&self) -> Result<Vec<TypedFact>, GraphError> {
        let model = self.batch.model();
        model
            .output_outlets()
            .and_then(|outlets| {
                outlets
                    .iter()
                    .map(|o| model.outlet_fact(*o).cloned())
                    .collect()
            })
            .map_err(onnx_error)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Runs the graph on `rows` of `width` values each; one row takes the
    /// single-row plan. A long batch is split across the machine's cores,
    /// as onnxruntime splits its work, and the parts' outputs are put back
    /// together in row order.
    pub fn run<'r>(
        &self,
        mut rows: impl ExactSizeIterator<Item = &'r [f32]>,
    ) -> TractResult<TVec<TValue>> {
        let n = rows.len();
        if n == 1 {
            let row = rows.next().context("one row was announced")?;
            return self.run_single_row(row);
        }
        let alone = self.row_cost * u32::try_from(n).unwrap_or(u32::MAX);
        let threads = if alone < SPLIT_FROM {
            1
        } else {
            rayon::current_num_threads().min(n / ROWS_PER_THREAD).max(1)
        };
        if threads == 1 {
            return self.batch.run(tvec!(self.input(rows, n)?.into()));
        }
        let rows: Vec<&[f32]> = rows.collect();
        // Each part's input is filled by the thread that runs it.
        let run_part = |part: &[&[f32]]| {
            let input = self.input(part.iter().copied(), part.len())?;
            self.batch.run(tvec!(input.into()))
        };
        let parts: Vec<&[&[f32]]> = rows.chunks(n.div_ceil(threads)).collect();
        let mut answers: Vec<Option<TractResult<TVec<TValue>>>> =
            parts.iter().map(|_| None).collect();
        // This thread runs the first part while rayon's pool (started once,
        // no thread started per batch) runs the others, so the work starts
        // without waiting for a pool thread to wake.
        rayon::in_place_scope(|scope| {
            let mut jobs = parts.into_iter().zip(&mut answers);
            let here = jobs.next();
            for (part, answer) in jobs {
                scope.spawn(move |_| *answer = Some(run_part(part)));
            }
            if let Some((part, answer)) = here {
                *answer = Some(run_part(part));
            }
        });
        let answers = answers
            .into_iter()
            .map(|answer| answer.context("every part of the batch ran")?)
            .collect::<TractResult<Vec<_>>>()?;
        (0..answers[0].len())
            .map(|output| {
                let parts: Vec<&Tensor> = answers.iter().map(|a| &*a[output]).collect();
                Ok(Tensor::stack_tensors(0, &parts)?.into_tvalue())
            })
            .collect()
    }

    /// The `[n, width]` input tensor of `rows`, filled in place.
    fn input<'r>(&self, rows: impl Iterator<Item = &'r [f32]>, n: usize) -> TractResult<Tensor> {
        let mut input = Tensor::zero::<f32>(&[n, self.width])?;
        {
            let mut plain = input.try_as_plain_ram_mut()?;
            let cells = plain.as_slice_mut::<f32>()?;
            for (row, cells) in rows.zip(cells.chunks_exact_mut(self.width)) {
                ensure!(
                    row.len() == self.width,
                    "a row has {} values, the model takes {}",
                    row.len(),
                    self.width
                );
                cells.copy_from_slice(row);
            }
        }
        Ok(input)
    }

    /// Runs the single-row plan with this thread's kept state and input. A
    /// state whose run failed is dropped, so a failure cannot leave a
    /// half-run state behind.
    fn run_single_row(&self, values: &[f32]) -> TractResult<TVec<TValue>> {
        ensure!(
            values.len() == self.width,
            "a row has {} values, the model takes {}",
            values.len(),
            self.width
        );
        if self.stateful {
            return self
                .single
                .run(tvec!(Tensor::from_shape(&[1, self.width], values)?.into()));
        }
        SINGLE_ROW.with_borrow_mut(|slot| {
            // Used in place: a state is a few hundred bytes, and moving it out
            // and back showed up in the profile of a one-row run.
            let kept = match &mut slot.0 {
                Some(kept) if Arc::ptr_eq(kept.state.plan(), &self.single) => kept,
                other => other.insert(SingleRow {
                    state: self.single.spawn()?,
                    input: Arc::new(Tensor::zero::<f32>(&[1, values.len()])?),
                }),
            };
            // Only this thread holds the input between runs, so this copies nothing.
            Arc::make_mut(&mut kept.input)
                .try_as_plain_ram_mut()?
                .as_slice_mut::<f32>()?
                .copy_from_slice(values);
            let outputs = kept.state.run(tvec!(kept.input.clone().into_tvalue()));
            if outputs.is_err() {
                slot.0 = None;
            }
            outputs
        })
    }
}

/// The batch plan's time per row, on rows of zeros (the fastest of three
/// runs); zero, so never split, if it cannot run on them.
fn probe(batch: &Arc<TypedRunnableModel>, width: usize) -> Duration {
    let Ok(zeros) = Tensor::zero::<f32>(&[PROBE_ROWS, width]) else {
        return Duration::ZERO;
    };
    (0..3)
        .map(|_| {
            let start = Instant::now();
            match batch.run(tvec!(zeros.clone().into())) {
                Ok(_) => start.elapsed() / PROBE_ROWS as u32,
                Err(_) => Duration::ZERO,
            }
        })
        .min()
        .unwrap_or(Duration::ZERO)
}

/// Checks that the graph has one input, named `name`, which can be f32
/// `[N, width]`.
fn check_input(model: &InferenceModel, name: &str, width: usize) -> Result<(), GraphError> {
    let inputs = model.input_outlets().map_err(onnx_error)?;
    let [input] = inputs else {
        return Err(GraphError::Mismatch(format!(
            "expected one input, found {}",
            inputs.len()
        )));
    };
    let actual = &model.node(input.node).name;
    if actual != name {
        return Err(GraphError::Mismatch(format!(
            "input is named `{actual}`, expected `{name}`"
        )));
    }
    let fact = model.input_fact(0).map_err(onnx_error)?;
    let datum_type = fact.datum_type.concretize();
    let rank = fact.shape.rank().concretize();
    let columns = fact.shape.dims().nth(1).and_then(|d| d.concretize());
    if width == 0
        || datum_type.is_some_and(|t| t != f32::datum_type())
        || rank.is_some_and(|r| r != 2)
        || columns.is_some_and(|c| c.to_i64().ok() != i64::try_from(width).ok())
    {
        return Err(GraphError::Mismatch(format!(
            "input is {fact:?}, expected f32 [N, {width}] with N ≥ 1"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_knn_export_picks_neighbours_with_sepals_operators_and_no_transpose() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/suite/binary_knn_plain/model.onnx"
        );
        let bytes = std::fs::read(path).expect("the suite's k-NN");
        let graph = Graph::load(&bytes, "X", 30, &["label", "probabilities"]).expect("loads");
        let ops: Vec<_> = graph
            .batch
            .model()
            .nodes()
            .iter()
            .map(|n| n.op.name().to_string())
            .collect();
        for op in ["Sepal.SquaredDistances", "Sepal.TopK"] {
            assert!(ops.iter().any(|o| o == op), "{op} in {ops:?}");
        }
        // The distances come out `[N, M]` as the top-k reads them: the
        // scan's `[M, N]` and the export's transpose cancel out.
        assert!(
            !ops.iter().any(|o| o.contains("Axis") || o == "Topk"),
            "{ops:?}"
        );
    }
}
