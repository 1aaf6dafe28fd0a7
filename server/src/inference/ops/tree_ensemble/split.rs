//! How a split of a tree ensemble sends a value on: its comparison with
//! the threshold (the ONNX `nodes_modes` rule), where NaN goes, and a walk
//! compiled for the comparison all splits share.

use tract_onnx::tract_hir::internal::*;

/// Set in a split's `feature` when a missing value (NaN) goes to its true
/// child (`nodes_missing_value_tracks_true`).
pub(super) const NAN_TRUE: u32 = 1 << 31;

/// How a split compares a value with its threshold to send it to its
/// "true" child: the ONNX `nodes_modes` rule. Without the [`NAN_TRUE`] flag
/// NaN goes where the comparison with NaN sends it: the false child, but
/// for `!=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Comparison {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

impl Comparison {
    /// The comparison of `mode` (a `nodes_modes` value other than `LEAF`).
    pub(super) fn parse(mode: &str) -> TractResult<Self> {
        Ok(match mode {
            "BRANCH_LEQ" => Comparison::Leq,
            "BRANCH_LT" => Comparison::Lt,
            "BRANCH_GTE" => Comparison::Gte,
            "BRANCH_GT" => Comparison::Gt,
            "BRANCH_EQ" => Comparison::Eq,
            "BRANCH_NEQ" => Comparison::Neq,
            other => bail!(
                "node mode `{other}` is not one of BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, \
                 BRANCH_GT, BRANCH_EQ, BRANCH_NEQ, LEAF"
            ),
        })
    }

    #[inline(always)]
    pub(super) fn holds(self, x: f32, threshold: f32) -> bool {
        match self {
            Comparison::Leq => x <= threshold,
            Comparison::Lt => x < threshold,
            Comparison::Gte => x >= threshold,
            Comparison::Gt => x > threshold,
            Comparison::Eq => x == threshold,
            Comparison::Neq => x != threshold,
        }
    }
}

/// Whether a value `x` goes to a split's true child: its comparison
/// `holds`, or it is NaN and the split sends NaN there. No branch: a walk
/// takes one step per node whatever it meets.
#[inline(always)]
pub(super) fn goes_true(holds: bool, nan_true: bool, x: f32) -> bool {
    holds | (nan_true & x.is_nan())
}

/// Calls `$forest.$walk($args…, holds)` with `holds` a comparison fixed at
/// compile time when all splits share one, so each walk is made for its
/// comparison (a comparison chosen at run time inside the walk compiled to
/// a jump through a table at every node); else it looks each split's up.
macro_rules! made_for_comparison {
    ($forest:ident, $walk:ident($($arg:expr),*)) => {
        match $forest.shared {
            Some(Comparison::Leq) => $forest.$walk($($arg,)* |_, x, t| x <= t),
            Some(Comparison::Lt) => $forest.$walk($($arg,)* |_, x, t| x < t),
            Some(Comparison::Gte) => $forest.$walk($($arg,)* |_, x, t| x >= t),
            Some(Comparison::Gt) => $forest.$walk($($arg,)* |_, x, t| x > t),
            Some(Comparison::Eq) => $forest.$walk($($arg,)* |_, x, t| x == t),
            Some(Comparison::Neq) => $forest.$walk($($arg,)* |_, x, t| x != t),
            None => $forest.$walk($($arg,)* |i, x, t| $forest.comparisons[i].holds(x, t)),
        }
    };
}
pub(super) use made_for_comparison;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_goes_where_the_split_sends_it() {
        let nan = f32::NAN;
        let goes = |c: Comparison, nan_true: bool, x: f32| goes_true(c.holds(x, 1.0), nan_true, x);
        for c in [
            Comparison::Leq,
            Comparison::Lt,
            Comparison::Gte,
            Comparison::Gt,
            Comparison::Eq,
        ] {
            assert!(!goes(c, false, nan), "{c:?}");
            assert!(goes(c, true, nan), "{c:?}");
            // A number goes where the comparison sends it, flag or not.
            for x in [0.0, 1.0, 2.0] {
                assert_eq!(goes(c, true, x), c.holds(x, 1.0), "{c:?} {x}");
                assert_eq!(goes(c, false, x), c.holds(x, 1.0), "{c:?} {x}");
            }
        }
        assert!(goes(Comparison::Neq, false, nan));
        assert!(goes(Comparison::Leq, false, 1.0));
        assert!(!goes(Comparison::Lt, false, 1.0));
        assert!(goes(Comparison::Eq, false, 1.0));
        assert!(!goes(Comparison::Eq, true, 2.0));
    }
}
