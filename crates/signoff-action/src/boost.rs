//! Small gradient-boosted regression trees for the support scorer: they add to a logistic
//! regression's margin what a linear model cannot say ("the cosine is high *but* a number
//! was swapped"). Logistic loss, Newton leaf values with an L2 penalty, splits at feature
//! quantiles, no sampling: the same rows always give the same trees.

use serde::{Deserialize, Serialize};

fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// One node of a tree: a split (`feature`, `threshold`, children) or a leaf (`value`); zero
/// fields are left out of the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Node {
    /// Feature index split on (ignored in a leaf).
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub feature: usize,
    /// Rows with `x[feature] <= threshold` go left.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub threshold: f64,
    /// Index of the left child (0 = this node is a leaf).
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub left: usize,
    /// Index of the right child.
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub right: usize,
    /// Leaf output added to the margin.
    #[serde(default, skip_serializing_if = "is_zero_f64")]
    pub value: f64,
}

/// A regression tree; node 0 is the root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tree {
    /// The nodes, root first.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The tree's output for a feature vector (a missing feature reads as 0).
    pub fn eval(&self, x: &[f64]) -> f64 {
        let mut i = 0;
        for _ in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.left == 0 {
                return n.value;
            }
            let v = x.get(n.feature).copied().unwrap_or(0.0);
            i = if v <= n.threshold { n.left } else { n.right };
        }
        0.0
    }

    /// Whether every child index points inside the tree and after its parent (no cycles).
    pub fn is_well_formed(&self) -> bool {
        !self.nodes.is_empty()
            && self.nodes.iter().enumerate().all(|(i, n)| {
                n.left == 0
                    || (n.left > i
                        && n.right > i
                        && n.left < self.nodes.len()
                        && n.right < self.nodes.len())
            })
    }
}

/// Boosting settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoostParams {
    /// Trees to grow.
    pub trees: usize,
    /// Depth of each tree.
    pub depth: usize,
    /// Shrinkage of each tree's output.
    pub learning_rate: f64,
    /// Least rows in a leaf.
    pub min_leaf: f64,
    /// L2 penalty on leaf values.
    pub l2: f64,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams {
            trees: 120,
            depth: 3,
            learning_rate: 0.1,
            min_leaf: 20.0,
            l2: 1.0,
        }
    }
}

/// Candidate split points of each feature: up to 32 distinct quantiles.
fn cut_points(x: &[Vec<f64>], d: usize) -> Vec<Vec<f64>> {
    (0..d)
        .map(|j| {
            let mut v: Vec<f64> = x.iter().map(|r| r[j]).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            if v.len() <= 33 {
                return v[..v.len().saturating_sub(1)].to_vec();
            }
            let mut c: Vec<f64> = (1..33).map(|q| v[q * (v.len() - 1) / 33]).collect();
            c.dedup();
            c
        })
        .collect()
}

/// Fits trees on top of a base margin per row (labels: true = positive), row weights `w`.
pub fn fit(x: &[Vec<f64>], y: &[bool], w: &[f64], base: &[f64], p: BoostParams) -> Vec<Tree> {
    let d = x.first().map_or(0, Vec::len);
    let cuts = cut_points(x, d);
    let min_leaf = p.min_leaf;
    let mut margin = base.to_vec();
    let mut trees = Vec::with_capacity(p.trees);
    for _ in 0..p.trees {
        let (g, h): (Vec<f64>, Vec<f64>) = margin
            .iter()
            .zip(y)
            .zip(w)
            .map(|((m, &yi), wi)| {
                let pr = crate::support::sigmoid(*m);
                (
                    wi * (pr - f64::from(u8::from(yi))),
                    (wi * pr * (1.0 - pr)).max(1e-12),
                )
            })
            .unzip();
        let mut nodes = Vec::new();
        grow(
            &mut nodes,
            (0..x.len()).collect(),
            x,
            &g,
            &h,
            &cuts,
            p,
            min_leaf,
            0,
        );
        let tree = Tree { nodes };
        for (m, xi) in margin.iter_mut().zip(x) {
            *m += tree.eval(xi);
        }
        trees.push(tree);
    }
    trees
}

#[allow(clippy::too_many_arguments)]
fn grow(
    nodes: &mut Vec<Node>,
    rows: Vec<usize>,
    x: &[Vec<f64>],
    g: &[f64],
    h: &[f64],
    cuts: &[Vec<f64>],
    p: BoostParams,
    min_leaf: f64,
    depth: usize,
) -> usize {
    let at = nodes.len();
    let (gs, hs): (f64, f64) = rows
        .iter()
        .fold((0.0, 0.0), |a, &i| (a.0 + g[i], a.1 + h[i]));
    nodes.push(Node {
        feature: 0,
        threshold: 0.0,
        left: 0,
        right: 0,
        value: -gs / (hs + p.l2) * p.learning_rate,
    });
    if depth >= p.depth {
        return at;
    }
    let parent = gs * gs / (hs + p.l2);
    let mut best: Option<(f64, usize, f64)> = None;
    for (j, cj) in cuts.iter().enumerate() {
        if cj.is_empty() {
            continue;
        }
        // Histogram of gradient sums per bin (bin k: cj[k-1] < v <= cj[k]).
        let mut bg = vec![0.0; cj.len() + 1];
        let mut bh = vec![0.0; cj.len() + 1];
        let mut bn = vec![0.0; cj.len() + 1];
        for &i in &rows {
            let b = cj.partition_point(|c| *c < x[i][j]);
            bg[b] += g[i];
            bh[b] += h[i];
            bn[b] += 1.0;
        }
        let (mut lg, mut lh, mut ln) = (0.0, 0.0, 0.0);
        let all = rows.len() as f64;
        for k in 0..cj.len() {
            lg += bg[k];
            lh += bh[k];
            ln += bn[k];
            let (rg, rh) = (gs - lg, hs - lh);
            if ln < min_leaf || all - ln < min_leaf {
                continue;
            }
            let gain = lg * lg / (lh + p.l2) + rg * rg / (rh + p.l2) - parent;
            if gain > 1e-9 && best.is_none_or(|b| gain > b.0) {
                best = Some((gain, j, cj[k]));
            }
        }
    }
    let Some((_, j, t)) = best else {
        return at;
    };
    let (l, r): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| x[i][j] <= t);
    let left = grow(nodes, l, x, g, h, cuts, p, min_leaf, depth + 1);
    let right = grow(nodes, r, x, g, h, cuts, p, min_leaf, depth + 1);
    nodes[at].feature = j;
    nodes[at].threshold = t;
    nodes[at].left = left;
    nodes[at].right = right;
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_learn_an_interaction_a_line_cannot() {
        // XOR of two binary features (no linear margin separates it), the four cells in
        // unequal numbers so that the first split already gains something.
        let cell = |a: u8, b: u8, n: usize| vec![vec![f64::from(a), f64::from(b)]; n];
        let x: Vec<Vec<f64>> = [
            cell(0, 0, 60),
            cell(1, 1, 20),
            cell(0, 1, 40),
            cell(1, 0, 40),
        ]
        .concat();
        let y: Vec<bool> = x.iter().map(|r| (r[0] > 0.5) != (r[1] > 0.5)).collect();
        let w = vec![1.0; x.len()];
        let p = BoostParams {
            trees: 60,
            depth: 2,
            learning_rate: 0.3,
            min_leaf: 5.0,
            l2: 1.0,
        };
        let trees = fit(&x, &y, &w, &vec![0.0; x.len()], p);
        assert!(trees.iter().all(Tree::is_well_formed));
        let margin = |r: &[f64]| trees.iter().map(|t| t.eval(r)).sum::<f64>();
        for (r, yi) in x.iter().zip(&y) {
            assert_eq!(margin(r) > 0.0, *yi, "{r:?}");
        }
    }

    #[test]
    fn only_forward_in_range_children_are_well_formed() {
        let n = |left, right| Node {
            feature: 0,
            threshold: 0.5,
            left,
            right,
            value: 1.0,
        };
        let ok = Tree {
            nodes: vec![n(1, 2), n(0, 0), n(0, 0)],
        };
        assert!(ok.is_well_formed());
        assert_eq!(ok.eval(&[0.0]), 1.0);
        assert!(!Tree {
            nodes: vec![n(1, 0)]
        }
        .is_well_formed());
        assert!(!Tree {
            nodes: vec![n(1, 2), n(1, 1), n(0, 0)]
        }
        .is_well_formed());
        assert!(!Tree { nodes: vec![] }.is_well_formed());
    }
}
