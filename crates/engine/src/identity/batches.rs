//! Between Arrow batches and the in-memory graph: nodes and edges read from query results,
//! and nodes numbered for the joins of the contraction.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use super::graph::{Edge, Node};
use crate::error::{EngineError, Result};

pub(super) fn numbered_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id_type", DataType::Utf8, false),
        Field::new("id_value", DataType::Utf8, false),
        Field::new("n", DataType::Int64, false),
    ]))
}

fn text_col(b: &RecordBatch, i: usize) -> Result<&StringArray> {
    b.column(i)
        .as_string_opt::<i32>()
        .ok_or_else(|| EngineError::Internal(format!("column {i} is not text")))
}

fn time_col(b: &RecordBatch, i: usize) -> Result<&TimestampMicrosecondArray> {
    b.column(i)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(|| EngineError::Internal(format!("column {i} is not a timestamp")))
}

/// A timestamp cell, `None` when NULL.
pub(super) fn opt(a: &TimestampMicrosecondArray, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

/// Nodes of `id_type, id_value, first_seen, last_seen` batches.
pub(super) fn read_nodes(types: &[String], b: &RecordBatch) -> Result<Vec<Node>> {
    let (t, v, f, l) = (
        text_col(b, 0)?,
        text_col(b, 1)?,
        time_col(b, 2)?,
        time_col(b, 3)?,
    );
    (0..b.num_rows())
        .map(|i| {
            let rank = types
                .iter()
                .position(|x| x == t.value(i))
                .ok_or_else(|| EngineError::Internal("unknown identifier type".into()))?;
            Ok(Node {
                rank: rank as u8,
                value: v.value(i).to_string(),
                first_seen: opt(f, i),
                last_seen: opt(l, i),
            })
        })
        .collect()
}

/// The nodes in order, and the same numbered (`id_type`, `id_value`, `n`) for joins.
pub(super) fn number_nodes(
    types: &[String],
    batches: Vec<RecordBatch>,
) -> Result<(Vec<Node>, Vec<RecordBatch>)> {
    let mut nodes = Vec::new();
    let mut numbered = Vec::new();
    for b in batches {
        let start = nodes.len() as i64;
        nodes.extend(read_nodes(types, &b)?);
        let n = Int64Array::from_iter_values(start..start + b.num_rows() as i64);
        numbered.push(
            RecordBatch::try_new(
                numbered_schema(),
                vec![b.column(0).clone(), b.column(1).clone(), Arc::new(n)],
            )
            .map_err(EngineError::Arrow)?,
        );
    }
    Ok((nodes, numbered))
}

/// Edges of `a, b, first_seen, last_seen` batches (node numbers).
pub(super) fn read_numbered_edges(b: &RecordBatch, out: &mut Vec<Edge>) -> Result<()> {
    let num = |i: usize| {
        b.column(i)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| EngineError::Internal("edge ends are not Int64".into()))
    };
    let (a, bb, f, l) = (num(0)?, num(1)?, time_col(b, 2)?, time_col(b, 3)?);
    for i in 0..b.num_rows() {
        out.push(Edge {
            a: a.value(i) as u32,
            b: bb.value(i) as u32,
            first_seen: opt(f, i),
            last_seen: opt(l, i),
        });
    }
    Ok(())
}

type EndKey = (u8, String);

/// One edge read back: its two ends and when it was first and last seen.
pub(super) type StringEdge = (EndKey, EndKey, Option<i64>, Option<i64>);

/// Edges of `a_type, a_value, b_type, b_value, first_seen, last_seen` batches.
pub(super) fn read_string_edges(types: &[String], b: &RecordBatch) -> Result<Vec<StringEdge>> {
    let rank = |t: &str| {
        types
            .iter()
            .position(|x| x == t)
            .map(|r| r as u8)
            .ok_or_else(|| EngineError::Internal("unknown identifier type".into()))
    };
    let (at, av, bt, bv) = (
        text_col(b, 0)?,
        text_col(b, 1)?,
        text_col(b, 2)?,
        text_col(b, 3)?,
    );
    let (f, l) = (time_col(b, 4)?, time_col(b, 5)?);
    (0..b.num_rows())
        .map(|i| {
            Ok((
                (rank(at.value(i))?, av.value(i).to_string()),
                (rank(bt.value(i))?, bv.value(i).to_string()),
                opt(f, i),
                opt(l, i),
            ))
        })
        .collect()
}
