//! The trees of a `TreeEnsembleClassifier` or `TreeEnsembleRegressor`, laid
//! out for walking one row through all of them: every split in one flat
//! array of 16-byte nodes (four to a cache line, children by index), every
//! leaf's weights in flat arrays beside it. Nothing is allocated per row.

use std::collections::HashMap;

use tract_onnx::tract_hir::internal::*;

/// A reference to a split (an index into `Forest::nodes`) or, with this bit
/// set, to a leaf (an index into the leaves).
const LEAF: u32 = 1 << 31;

/// How many trees a row walks at once (or rows a tree, in a one-tree
/// forest).
pub const LANES: usize = 4;

/// How a split sends a value to its "true" child: the ONNX `nodes_modes`
/// rule, and whether a missing value (NaN) goes there too
/// (`nodes_missing_value_tracks_true`). Without that flag NaN goes where
/// the comparison with NaN sends it: the false child, but for `!=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Leq { nan_true: bool },
    Lt { nan_true: bool },
    Gte { nan_true: bool },
    Gt { nan_true: bool },
    Eq { nan_true: bool },
    Neq,
}

impl Rule {
    /// The rule of `mode` (a `nodes_modes` value other than `LEAF`).
    fn parse(mode: &str, nan_true: bool) -> TractResult<Self> {
        Ok(match mode {
            "BRANCH_LEQ" => Rule::Leq { nan_true },
            "BRANCH_LT" => Rule::Lt { nan_true },
            "BRANCH_GTE" => Rule::Gte { nan_true },
            "BRANCH_GT" => Rule::Gt { nan_true },
            "BRANCH_EQ" => Rule::Eq { nan_true },
            "BRANCH_NEQ" => Rule::Neq,
            other => bail!(
                "node mode `{other}` is not one of BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, \
                 BRANCH_GT, BRANCH_EQ, BRANCH_NEQ, LEAF"
            ),
        })
    }

    /// Whether `x` goes to the true child of a split at `threshold`. Each
    /// "or NaN" form is the negation of the opposite comparison, which is
    /// true for NaN: one comparison, no separate test (so the negations
    /// that clippy would rewrite are the point).
    #[allow(clippy::neg_cmp_op_on_partial_ord, clippy::double_comparisons)]
    #[inline(always)]
    fn holds(self, x: f32, threshold: f32) -> bool {
        match self {
            Rule::Leq { nan_true: false } => x <= threshold,
            Rule::Leq { nan_true: true } => !(x > threshold),
            Rule::Lt { nan_true: false } => x < threshold,
            Rule::Lt { nan_true: true } => !(x >= threshold),
            Rule::Gte { nan_true: false } => x >= threshold,
            Rule::Gte { nan_true: true } => !(x < threshold),
            Rule::Gt { nan_true: false } => x > threshold,
            Rule::Gt { nan_true: true } => !(x <= threshold),
            Rule::Eq { nan_true: false } => x == threshold,
            Rule::Eq { nan_true: true } => !(x < threshold || x > threshold),
            Rule::Neq => x != threshold,
        }
    }
}

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
    /// The rule of every split when they all share one (the usual case),
    /// so the walk needs no per-node dispatch.
    shared_rule: Option<Rule>,
    /// Per split, when they do not.
    rules: Vec<Rule>,
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
            shared_rule: None,
            rules: Vec::new(),
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
        forest.shared_rule = match forest.rules.split_first() {
            Some((first, rest)) if rest.iter().all(|r| r == first) => Some(*first),
            _ => None,
        };
        if forest.shared_rule.is_some() {
            forest.rules = Vec::new();
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
        let rule = Rule::parse(a.modes[at], nan_true)?;
        let feature = u32::try_from(a.features[at]).ok().filter(|&f| f < LEAF);
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
            feature,
            threshold: a.values[at],
            children: [0, 0],
        });
        self.rules.push(rule);
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
        match self.shared_rule {
            Some(rule) => self.walk(row, |_, x, t| rule.holds(x, t), at_leaf),
            None => self.walk(row, |i, x, t| self.rules[i].holds(x, t), at_leaf),
        }
    }

    /// The leaf each of `LANES` rows reaches in the first tree, the rows
    /// walked together (their loads overlap, as trees' do in `walk`): what
    /// a one-tree forest does with a batch.
    #[inline]
    pub fn first_tree_leaves(&self, rows: [&[f32]; LANES]) -> [usize; LANES] {
        match self.shared_rule {
            Some(rule) => self.walk_rows(rows, |_, x, t| rule.holds(x, t)),
            None => self.walk_rows(rows, |i, x, t| self.rules[i].holds(x, t)),
        }
    }

    #[inline(always)]
    fn walk_rows(
        &self,
        rows: [&[f32]; LANES],
        holds: impl Fn(usize, f32, f32) -> bool,
    ) -> [usize; LANES] {
        let mut at = [self.roots[0]; LANES];
        while at.iter().any(|&a| a & LEAF == 0) {
            for (a, row) in at.iter_mut().zip(rows) {
                if *a & LEAF == 0 {
                    *a = self.step(*a, row, &holds);
                }
            }
        }
        at.map(|a| (a & !LEAF) as usize)
    }

    /// Where `row` goes from the split `at`.
    #[inline(always)]
    fn step(&self, at: u32, row: &[f32], holds: &impl Fn(usize, f32, f32) -> bool) -> u32 {
        let node = &self.nodes[at as usize];
        let x = row[node.feature as usize];
        node.children[usize::from(holds(at as usize, x, node.threshold))]
    }

    #[inline(always)]
    fn walk(
        &self,
        row: &[f32],
        holds: impl Fn(usize, f32, f32) -> bool,
        mut at_leaf: impl FnMut(usize),
    ) {
        let step = |at: u32| self.step(at, row, &holds);
        // LANES trees at a time: their walks do not depend on each other,
        // so the CPU overlaps their loads instead of waiting for each node.
        let mut groups = self.roots.chunks_exact(LANES);
        for group in &mut groups {
            let mut at: [u32; LANES] = std::array::from_fn(|lane| group[lane]);
            while at.iter().any(|&a| a & LEAF == 0) {
                for a in &mut at {
                    if *a & LEAF == 0 {
                        *a = step(*a);
                    }
                }
            }
            // In tree order, so sums add up as onnxruntime's do.
            at.iter().for_each(|&a| at_leaf((a & !LEAF) as usize));
        }
        for &root in groups.remainder() {
            let mut at = root;
            while at & LEAF == 0 {
                at = step(at);
            }
            at_leaf((at & !LEAF) as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_goes_where_the_rule_sends_it() {
        let nan = f32::NAN;
        assert!(!Rule::Leq { nan_true: false }.holds(nan, 1.0));
        assert!(Rule::Leq { nan_true: true }.holds(nan, 1.0));
        assert!(!Rule::Gt { nan_true: false }.holds(nan, 1.0));
        assert!(Rule::Gt { nan_true: true }.holds(nan, 1.0));
        assert!(Rule::Eq { nan_true: true }.holds(nan, 1.0));
        assert!(!Rule::Eq { nan_true: true }.holds(2.0, 1.0));
        assert!(Rule::Eq { nan_true: true }.holds(1.0, 1.0));
        assert!(Rule::Neq.holds(nan, 1.0));
        for rule in [
            Rule::Leq { nan_true: true },
            Rule::Lt { nan_true: true },
            Rule::Gte { nan_true: true },
        ] {
            let plain = match rule {
                Rule::Leq { .. } => Rule::Leq { nan_true: false },
                Rule::Lt { .. } => Rule::Lt { nan_true: false },
                _ => Rule::Gte { nan_true: false },
            };
            for x in [0.0, 1.0, 2.0] {
                assert_eq!(rule.holds(x, 1.0), plain.holds(x, 1.0), "{rule:?} {x}");
            }
        }
    }
}
