//! Folding new observations into stored ones, and the merges a re-stitch implies: a person
//! of the previous map that no identifier carries any more went into the person its anchor
//! identifier belongs to now.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::Array;

use chrono::NaiveDate;

use super::table::{Merge, State};

pub(super) fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

pub(super) fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

/// Record a merge for each earlier person that no node carries any more: it went into the
/// person its anchor identifier (the earliest seen of its identifiers, then priority, then
/// value) belongs to now. `nodes` are the nodes of `after` that may have changed person and
/// `old[i]` the person `nodes[i]` had before (`None`: a new identifier).
pub(super) fn record_merges(
    after: &mut State,
    nodes: &[u32],
    old: &[Option<Arc<str>>],
    as_of: NaiveDate,
) -> u64 {
    let now: HashSet<&str> = nodes.iter().map(|g| &*after.person[*g as usize]).collect();
    let mut gone = Gone::default();
    for (g, old_person) in nodes.iter().zip(old) {
        let Some(old_person) = old_person else {
            continue;
        };
        if old_person.is_empty() || now.contains(&**old_person) {
            continue;
        }
        let n = &after.nodes[*g as usize];
        gone.note(
            old_person,
            (n.first_seen, n.rank, &n.value),
            &after.person[*g as usize],
        );
    }
    gone.record(&mut after.merges, as_of)
}

/// Earlier people that no identifier carries any more, each with the person its anchor
/// identifier (seen first, then priority, then value) belongs to now.
#[derive(Default)]
struct Gone(BTreeMap<String, ((i64, u8, String), String)>);

impl Gone {
    /// Identifier `(first seen, rank, value)` of `old` belongs to `into` now.
    fn note(&mut self, old: &str, (first, rank, value): (Option<i64>, u8, &str), into: &str) {
        let first = first.unwrap_or(i64::MAX);
        match self.0.get_mut(old) {
            Some((anchor, person)) => {
                if (first, rank, value) < (anchor.0, anchor.1, anchor.2.as_str()) {
                    *anchor = (first, rank, value.to_string());
                    *person = into.to_string();
                }
            }
            None => {
                self.0.insert(
                    old.to_string(),
                    ((first, rank, value.to_string()), into.to_string()),
                );
            }
        }
    }

    /// A merge record per gone person, appended to `merges`; how many.
    fn record(self, merges: &mut Vec<Merge>, as_of: NaiveDate) -> u64 {
        let count = self.0.len() as u64;
        merges.extend(self.0.into_iter().map(|(merged, (_, into))| Merge {
            as_of,
            merged,
            into,
        }));
        count
    }
}

/// Merges of a rebuild against the previous map (`delta`), computed by a DataFusion join of
/// the new nodes with the stored ones — the previous map is never loaded into memory. Adds
/// the previous map's merges and the new ones to `state`; the number of new ones.
pub(super) async fn record_merges_against(
    delta: &deltalake_core::DeltaTable,
    location: &crate::storage::Located,
    state: &mut State,
    as_of: NaiveDate,
    object: &str,
) -> crate::error::Result<u64> {
    use datafusion::arrow::array::{
        ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    use crate::error::EngineError;
    let plan = EngineError::Plan;
    let mut previous = State {
        types: state.types.clone(),
        ..State::default()
    };
    super::stored::load_meta(delta, &mut previous, object).await?;
    let Some(old_nodes) = super::stored::kind_listing(delta, "node", object)? else {
        state.merges = previous.merges;
        return Ok(0);
    };
    let local = SessionContext::new();
    local.register_object_store(&location.store_url, location.store.clone());
    local
        .register_table("old_nodes", Arc::new(old_nodes))
        .map_err(plan)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id_type", DataType::Utf8, false),
        Field::new("id_value", DataType::Utf8, false),
        Field::new("person", DataType::Utf8, false),
        Field::new("rank", DataType::Int64, false),
        Field::new(
            "first_seen",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let mut batches = Vec::new();
    for lo in (0..state.nodes.len()).step_by(1 << 20) {
        let nodes = &state.nodes[lo..(lo + (1 << 20)).min(state.nodes.len())];
        let people = &state.person[lo..lo + nodes.len()];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                nodes.iter().map(|n| state.types[n.rank as usize].as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                nodes.iter().map(|n| n.value.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(people.iter().map(|p| &**p))),
            Arc::new(Int64Array::from_iter_values(
                nodes.iter().map(|n| n.rank as i64),
            )),
            Arc::new(
                TimestampMicrosecondArray::from(
                    nodes.iter().map(|n| n.first_seen).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        ];
        batches.push(RecordBatch::try_new(schema.clone(), columns).map_err(EngineError::Arrow)?);
    }
    local
        .register_table(
            "new_nodes",
            Arc::new(MemTable::try_new(schema, vec![batches]).map_err(plan)?),
        )
        .map_err(plan)?;
    // Identifiers whose previous person no longer exists, with their person now.
    let gone = local
        .sql(
            "SELECT o.person_id, n.person, n.first_seen, n.rank, n.id_value \
             FROM old_nodes o JOIN new_nodes n \
               ON o.id_type = n.id_type AND o.id_value = n.id_value \
             LEFT ANTI JOIN (SELECT DISTINCT person FROM new_nodes) p ON o.person_id = p.person",
        )
        .await
        .map_err(plan)?
        .collect()
        .await
        .map_err(plan)?;
    let mut anchors = Gone::default();
    for b in &gone {
        let (old, new) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
        );
        let first = b
            .column(2)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .ok_or_else(|| EngineError::Internal("first_seen is not a timestamp".into()))?;
        let (rank, value) = (
            b.column(3).as_primitive::<Int64Type>(),
            b.column(4).as_string::<i32>(),
        );
        for i in 0..b.num_rows() {
            let seen = super::batches::opt(first, i);
            anchors.note(
                old.value(i),
                (seen, rank.value(i) as u8, value.value(i)),
                new.value(i),
            );
        }
    }
    state.merges = previous.merges;
    Ok(anchors.record(&mut state.merges, as_of))
}
