//! Connected components of the identifier graph as DataFusion queries: the randomized
//! contraction of Bögeholz, Brand and Todor ("In-database connected component analysis",
//! ICDE 2020).
//!
//! Each round draws a fresh random permutation `h` of the 64-bit node ids; every node picks
//! the neighbour (or itself) with the smallest `h` as its representative, and the edge list
//! is rewritten onto representatives, dropping loops and duplicates. Each round shrinks the
//! graph by a constant factor in expectation, so O(log n) rounds suffice; the final label of
//! a node is its representatives composed back through the rounds. Every round is two
//! `GROUP BY`s and two joins — plain DataFusion plans, so they run on a Ballista cluster
//! exactly as locally. `h(x) = ((x ⊕ a)·c₁ ⊕ b)·c₂` (wrapping, odd `c`) and its inverse
//! need no user function.

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::functions_aggregate::expr_fn::min;
use datafusion::logical_expr::{BinaryExpr, Expr, JoinType, Operator, col, lit};
use datafusion::prelude::{DataFrame, SessionContext};

use crate::error::{EngineError, Result};

use super::scratch::Scratch;

/// A node numbering's component labels, and how many rounds it took.
pub struct Components {
    /// Per node (dense index), a label shared by exactly its component.
    pub labels: Vec<u32>,
    pub rounds: usize,
}

/// Rounds after which the contraction gives up (expected: about log₂ of the nodes).
pub const MAX_ROUNDS: usize = 64;

/// The multiplicative inverse of odd `c` modulo 2⁶⁴ (Newton's iteration).
fn inverse(c: i64) -> i64 {
    let mut x = c;
    for _ in 0..6 {
        x = x.wrapping_mul(2i64.wrapping_sub(c.wrapping_mul(x)));
    }
    x
}

/// A seeded bijection of `i64` and its inverse, as expressions.
struct Permutation {
    a: i64,
    b: i64,
    c1: i64,
    c2: i64,
}

impl Permutation {
    fn new(round: usize) -> Self {
        // splitmix64 of the round: fixed, so a build is reproducible.
        let mut state = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(round as u64 + 1);
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as i64
        };
        Permutation {
            a: next(),
            b: next(),
            c1: next() | 1,
            c2: next() | 1,
        }
    }

    fn apply(&self, x: Expr) -> Expr {
        let step = xor(x, self.a) * lit(self.c1);
        xor(step, self.b) * lit(self.c2)
    }

    fn invert(&self, y: Expr) -> Expr {
        let step = xor(y * lit(inverse(self.c2)), self.b);
        xor(step * lit(inverse(self.c1)), self.a)
    }
}

fn xor(x: Expr, k: i64) -> Expr {
    Expr::BinaryExpr(BinaryExpr::new(
        Box::new(x),
        Operator::BitwiseXor,
        Box::new(lit(k)),
    ))
}

/// Components of the graph whose edges are `edges` (`a`, `b`: Int64 node indices below
/// `nodes`). Nodes on no edge are their own component.
pub async fn components(
    ctx: &SessionContext,
    scratch: &Scratch,
    edges: DataFrame,
    nodes: usize,
) -> Result<Components> {
    let plan = EngineError::Plan;
    let mut current = scratch.keep(ctx, "edges_0", edges).await?;
    let mut reps: Vec<DataFrame> = Vec::new();
    let mut rounds = 0;
    while current.rows > 0 {
        let current_df = current.df;
        rounds += 1;
        if rounds > MAX_ROUNDS {
            return Err(EngineError::Internal(format!(
                "connected components did not converge in {MAX_ROUNDS} rounds"
            )));
        }
        let h = Permutation::new(rounds);
        // Closed neighbourhoods: both directions and each node itself.
        let side = |v: &str, u: &str| {
            current_df
                .clone()
                .select(vec![col(v).alias("v"), col(u).alias("u")])
        };
        let both = side("a", "b")
            .and_then(|d| d.union(side("b", "a")?))
            .and_then(|d| d.union(side("a", "a")?))
            .and_then(|d| d.union(side("b", "b")?))
            .map_err(plan)?;
        let rep = both
            .aggregate(vec![col("v")], vec![min(h.apply(col("u"))).alias("hmin")])
            .and_then(|d| d.select(vec![col("v"), h.invert(col("hmin")).alias("r")]))
            .map_err(plan)?;
        let rep = scratch.keep(ctx, &format!("rep_{rounds}"), rep).await?.df;
        // Edges onto representatives, without loops and duplicates.
        let ra = rep
            .clone()
            .select(vec![col("v").alias("va"), col("r").alias("ra")])
            .map_err(plan)?;
        let rb = rep
            .clone()
            .select(vec![col("v").alias("vb"), col("r").alias("rb")])
            .map_err(plan)?;
        let next = current_df
            .join(ra, JoinType::Inner, &["a"], &["va"], None)
            .and_then(|d| d.join(rb, JoinType::Inner, &["b"], &["vb"], None))
            .and_then(|d| d.filter(col("ra").not_eq(col("rb"))))
            .and_then(|d| {
                d.select(vec![
                    datafusion::functions::expr_fn::least(vec![col("ra"), col("rb")]).alias("a"),
                    datafusion::functions::expr_fn::greatest(vec![col("ra"), col("rb")]).alias("b"),
                ])
            })
            .and_then(|d| d.distinct())
            .map_err(plan)?;
        current = scratch.keep(ctx, &format!("edges_{rounds}"), next).await?;
        reps.push(rep);
    }
    // Compose the representatives back, last round first: a node's label is its
    // representative's label in the next round, or the representative itself.
    let mut labels: Vec<u32> = (0..nodes as u32).collect();
    let mut composed: Option<DataFrame> = None;
    for (i, rep) in reps.into_iter().enumerate().rev() {
        let next = match composed {
            None => rep,
            Some(later) => {
                let later = later
                    .select(vec![col("v").alias("lv"), col("r").alias("lr")])
                    .map_err(plan)?;
                rep.join(later, JoinType::Left, &["r"], &["lv"], None)
                    .and_then(|d| {
                        d.select(vec![
                            col("v"),
                            datafusion::functions::expr_fn::coalesce(vec![col("lr"), col("r")])
                                .alias("r"),
                        ])
                    })
                    .map_err(plan)?
            }
        };
        composed = Some(scratch.keep(ctx, &format!("label_{i}"), next).await?.df);
    }
    if let Some(final_labels) = composed {
        for batch in scratch.collect(final_labels).await? {
            fill(&mut labels, &batch)?;
        }
    }
    Ok(Components { labels, rounds })
}

fn fill(labels: &mut [u32], batch: &RecordBatch) -> Result<()> {
    let v = batch.column(0).as_primitive_opt::<Int64Type>();
    let r = batch.column(1).as_primitive_opt::<Int64Type>();
    let (Some(v), Some(r)) = (v, r) else {
        return Err(EngineError::Internal("labels are not Int64".into()));
    };
    for i in 0..v.len() {
        if let Some(slot) = labels.get_mut(v.value(i) as usize) {
            *slot = r.value(i) as u32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_inverts() {
        for round in 1..5 {
            let h = Permutation::new(round);
            for x in [0i64, 1, 2, 12345, i64::MAX, -7] {
                let y = ((x ^ h.a).wrapping_mul(h.c1) ^ h.b).wrapping_mul(h.c2);
                let back =
                    ((y.wrapping_mul(inverse(h.c2))) ^ h.b).wrapping_mul(inverse(h.c1)) ^ h.a;
                assert_eq!(back, x);
            }
        }
    }
}
