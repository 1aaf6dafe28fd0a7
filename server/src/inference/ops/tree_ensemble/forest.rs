//! The trees of a `TreeEnsembleClassifier` or `TreeEnsembleRegressor`, laid
//! out for walking one row through all of them: every split in one flat
//! array of 16-byte nodes (four to a cache line, children by index), every
//! leaf's weights in flat arrays beside it. Nothing is allocated per row.

use std::collections::HashMap;

use tract_onnx::tract_hir::internal::*;

use super::split::{Comparison, NAN_TRUE, goes_true, made_for_comparison};

/// A reference to a split (an index into `Forest::nodes`) or, with this bit
/// set, to a leaf (an index into the leaves).
const LEAF: u32 = 1 << 31;

/// How many trees a row walks at once (or rows a tree, in a one-tree
/// forest). Eight walks overlap more of their waits on memory than four:
/// a 1,000-row batch of the suite's random-forest regressor took ~2.3 µs
/// per row with four, ~1.6 with eight; its decision-tree regressor ~23 and
/// ~16 ns (one thread, `/tmp` micro-benchmarks of this walk on the suite's
/// trees; shallow gradient-boosted trees lost ~14% with eight).
pub const LANES: usize = 8;

/// The leaves a row reaches, one per tree in tree order: walked when asked
/// for, or found already (a one-tree forest walks rows `LANES` at a time).
#[derive(Clone, Copy)]
pub enum Reached<'a> {
    Walk(&'a Forest, &'a [f32]),
    Leaf(usize),
}

impl Reached<'_> {
    #[inline(always)]
    pub fn for_each(self, mut at_leaf: impl FnMut(usize)) {
        match self {
            Reached::Walk(forest, row) => forest.for_each_leaf(row, at_leaf),
            Reached::Leaf(leaf) => at_leaf(leaf),
        }
    }
}

/// One split.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    /// The feature it reads, and [`NAN_TRUE`].
    feature: u32,
    threshold: f32,
    /// Where a value goes: `[false, true]`.
    children: [u32; 2],
}

/// The leaves' weights: one value each when the ensemble has one output
/// (onnxruntime then takes each leaf's first weight), else a list of
/// (output, weight) per leaf.
#[derive(Clone, Debug, PartialEq)]
pub enum Leaves {
    One(Vec<f32>),
    Many {
        /// Leaf `i`'s weights are at `start[i]..start[i + 1]`.
        start: Vec<u32>,
        output: Vec<u32>,
        weight: Vec<f32>,
    },
}

/// The ONNX attributes that describe the trees, read as they are.
pub struct Attributes<'a> {
    pub tree_ids: Vec<i64>,
    pub node_ids: Vec<i64>,
    pub features: Vec<i64>,
    pub modes: Vec<&'a str>,
    pub values: Vec<f32>,
    pub true_ids: Vec<i64>,
    pub false_ids: Vec<i64>,
    pub missing_tracks_true: Vec<bool>,
    /// Per weight: its tree, its node, which output it adds to, how much.
    pub weight_trees: Vec<i64>,
    pub weight_nodes: Vec<i64>,
    pub weight_outputs: Vec<i64>,
    pub weights: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Forest {
    /// Each tree's root, in the order the trees are listed.
    roots: Vec<u32>,
    nodes: Vec<Node>,
    /// The comparison of every split when they all share one (the usual
    /// case: scikit-learn's `≤`, XGBoost's and LightGBM's `<`), so the walk
    /// is made for it and has no per-node dispatch.
    shared: Option<Comparison>,
    /// Per split, when they do not.
    comparisons: Vec<Comparison>,
    pub leaves: Leaves,
    /// One more than the largest feature index a split reads.
    pub width: usize,
}

impl Forest {
    /// Builds the forest from its attributes; `outputs` is the number of
    /// classes or targets the leaves add to.
    pub fn build(a: &Attributes<'_>, outputs: usize) -> TractResult<Self> {
        let n = a.node_ids.len();
        for (name, len) in [
            ("nodes_treeids", a.tree_ids.len()),
            ("nodes_featureids", a.features.len()),
            ("nodes_modes", a.modes.len()),
            ("nodes_values", a.values.len()),
            ("nodes_truenodeids", a.true_ids.len()),
            ("nodes_falsenodeids", a.false_ids.len()),
        ] {
            ensure!(len == n, "{name} has {len} values for {n} nodes");
        }
        ensure!(n > 0, "the ensemble has no nodes");
        ensure!(
            a.missing_tracks_true.is_empty() || a.missing_tracks_true.len() == n,
            "nodes_missing_value_tracks_true has {} values for {n} nodes",
            a.missing_tracks_true.len()
        );
        let w = a.weights.len();
        for (name, len) in [
            ("treeids", a.weight_trees.len()),
            ("nodeids", a.weight_nodes.len()),
            ("ids", a.weight_outputs.len()),
        ] {
            ensure!(
                len == w,
                "the leaves' {name} has {len} values for {w} weights"
            );
        }

        // Position of each (tree, node) in the attribute lists.
        let mut position = HashMap::with_capacity(n);
        for i in 0..n {
            if position.insert((a.tree_ids[i], a.node_ids[i]), i).is_some() {
                bail!(
                    "node {} of tree {} is listed twice",
                    a.node_ids[i],
                    a.tree_ids[i]
                );
            }
        }
        // Each tree's root is its first listed node, as onnxruntime takes it.
        let mut roots_at = Vec::new();
        for i in 0..n {
            if i == 0 || a.tree_ids[i] != a.tree_ids[i - 1] {
                roots_at.push(i);
            }
        }

        // Leaves get their weights in attribute order (onnxruntime sorts
        // them stably by tree and node, which keeps that order per leaf).
        let mut leaf_weights: HashMap<usize, Vec<(u32, f32)>> = HashMap::new();
        for k in 0..w {
            let at = *position
                .get(&(a.weight_trees[k], a.weight_nodes[k]))
                .ok_or_else(|| {
                    format_err!(
                        "a weight names node {} of tree {}, which does not exist",
                        a.weight_nodes[k],
                        a.weight_trees[k]
                    )
                })?;
            let output = u32::try_from(a.weight_outputs[k])
                .ok()
                .filter(|&o| (o as usize) < outputs);
            let output = output.ok_or_else(|| {
                format_err!(
                    "a weight adds to output {}, the ensemble has {outputs}",
                    a.weight_outputs[k]
                )
            })?;
            leaf_weights
                .entry(at)
                .or_default()
                .push((output, a.weights[k]));
        }

        let mut forest = Forest {
            roots: Vec::with_capacity(roots_at.len()),
            nodes: Vec::new(),
            shared: None,
            comparisons: Vec::new(),
            leaves: if outputs == 1 {
                Leaves::One(Vec::new())
            } else {
                Leaves::Many {
                    start: vec![0],
                    output: Vec::new(),
                    weight: Vec::new(),
                }
            },
            width: 0,
        };
        // Lays each tree out depth first from its root, so a walk mostly
        // moves forward in memory.
        let mut seen = vec![false; n];
        for &root in &roots_at {
            let tree = a.tree_ids[root];
            let reference = forest.lay_out(a, &position, &leaf_weights, &mut seen, tree, root)?;
            forest.roots.push(reference);
        }
        forest.shared = match forest.comparisons.split_first() {
            Some((first, rest)) if rest.iter().all(|c| c == first) => Some(*first),
            _ => None,
        };
        if forest.shared.is_some() {
            forest.comparisons = Vec::new();
        }
        Ok(forest)
    }

    /// Appends the subtree at attribute position `at` and returns its reference.
    fn lay_out(
        &mut self,
        a: &Attributes<'_>,
        position: &HashMap<(i64, i64), usize>,
        weights: &HashMap<usize, Vec<(u32, f32)>>,
        seen: &mut [bool],
        tree: i64,
        at: usize,
    ) -> TractResult<u32> {
        // A node reached twice would make the walk loop or share a subtree.
        ensure!(
            !std::mem::replace(&mut seen[at], true),
            "node {} of tree {tree} is reached twice",
            a.node_ids[at]
        );
        if a.modes[at] == "LEAF" {
            return self.add_leaf(weights.get(&at).map_or(&[][..], Vec::as_slice));
        }
        let nan_true = a.missing_tracks_true.get(at).copied().unwrap_or(false);
        let comparison = Comparison::parse(a.modes[at])?;
        let feature = u32::try_from(a.features[at]).ok().filter(|&f| f < NAN_TRUE);
        let feature = feature.ok_or_else(|| {
            format_err!(
                "node {} of tree {tree} reads feature {}",
                a.node_ids[at],
                a.features[at]
            )
        })?;
        self.width = self.width.max(feature as usize + 1);
        let index = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i < LEAF)
            .ok_or_else(|| format_err!("too many nodes"))?;
        self.nodes.push(Node {
            feature: if nan_true {
                feature | NAN_TRUE
            } else {
                feature
            },
            threshold: a.values[at],
            children: [0, 0],
        });
        self.comparisons.push(comparison);
        let child = |id: i64| {
            position.get(&(tree, id)).copied().ok_or_else(|| {
                format_err!(
                    "node {} of tree {tree} has a child {id} that does not exist",
                    a.node_ids[at]
                )
            })
        };
        let (true_at, false_at) = (child(a.true_ids[at])?, child(a.false_ids[at])?);
        let false_child = self.lay_out(a, position, weights, seen, tree, false_at)?;
        let true_child = self.lay_out(a, position, weights, seen, tree, true_at)?;
        self.nodes[index as usize].children = [false_child, true_child];
        Ok(index)
    }

    fn add_leaf(&mut self, weights: &[(u32, f32)]) -> TractResult<u32> {
        let index = match &mut self.leaves {
            Leaves::One(values) => {
                values.push(weights.first().map_or(0.0, |&(_, w)| w));
                values.len() - 1
            }
            Leaves::Many {
                start,
                output,
                weight,
            } => {
                output.extend(weights.iter().map(|&(o, _)| o));
                weight.extend(weights.iter().map(|&(_, w)| w));
                start.push(u32::try_from(weight.len())?);
                start.len() - 2
            }
        };
        u32::try_from(index)
            .ok()
            .filter(|&i| i < LEAF)
            .map(|i| i | LEAF)
            .ok_or_else(|| format_err!("too many leaves"))
    }

    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Calls `at_leaf` with the leaf `row` reaches in each tree, in tree order.
    #[inline]
    pub fn for_each_leaf(&self, row: &[f32], at_leaf: impl FnMut(usize)) {
        made_for_comparison!(self, walk(row, at_leaf))
    }

    /// The leaf each of `LANES` rows reaches in the first tree, the rows
    /// walked together (their loads overlap, as trees' do in `walk`): what
    /// a one-tree forest does with a batch.
    #[inline]
    pub fn first_tree_leaves(&self, rows: &[f32], columns: usize) -> [usize; LANES] {
        made_for_comparison!(self, walk_rows(rows, columns))
    }

    /// `rows` holds `LANES` rows of `columns` values. Each lane's row is
    /// found from its number, not kept: eight row references and eight
    /// positions did not fit the registers.
    #[inline(always)]
    fn walk_rows(
        &self,
        rows: &[f32],
        columns: usize,
        holds: impl Fn(usize, f32, f32) -> bool,
    ) -> [usize; LANES] {
        let mut at = [self.roots[0]; LANES];
        while at.iter().any(|&a| a & LEAF == 0) {
            for (lane, a) in at.iter_mut().enumerate() {
                if *a & LEAF == 0 {
                    *a = self.step(*a, &rows[lane * columns..], &holds);
                }
            }
        }
        at.map(|a| (a & !LEAF) as usize)
    }

    /// Where `row` goes from the split `at`; `holds` is the split's
    /// comparison.
    #[inline(always)]
    fn step(&self, at: u32, row: &[f32], holds: &impl Fn(usize, f32, f32) -> bool) -> u32 {
        let node = &self.nodes[at as usize];
        let x = row[(node.feature & !NAN_TRUE) as usize];
        let true_child = goes_true(
            holds(at as usize, x, node.threshold),
            node.feature & NAN_TRUE != 0,
            x,
        );
        node.children[usize::from(true_child)]
    }

    #[inline(always)]
    fn walk(
        &self,
        row: &[f32],
        mut at_leaf: impl FnMut(usize),
        holds: impl Fn(usize, f32, f32) -> bool,
    ) {
        let step = |at: u32| self.step(at, row, &holds);
        // LANES trees at a time: their walks do not depend on each other,
        // so the CPU overlaps their loads instead of waiting for each node.
        for group in self.roots.chunks(LANES) {
            // Lanes past the last tree start at a leaf, so they never move.
            let mut at = [LEAF; LANES];
            at[..group.len()].copy_from_slice(group);
            while at.iter().any(|&a| a & LEAF == 0) {
                for a in &mut at {
                    if *a & LEAF == 0 {
                        *a = step(*a);
                    }
                }
            }
            // In tree order, so sums add up as onnxruntime's do.
            at[..group.len()]
                .iter()
                .for_each(|&a| at_leaf((a & !LEAF) as usize));
        }
    }
}
