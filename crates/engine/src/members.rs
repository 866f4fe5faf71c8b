//! The one home of result rows: from the fused plan's rows (`entity`, one column per
//! segment, leaf values, outputs) to each segment's members, keyed by the compiled segment
//! columns — membership masks, member batches, entity sets, tier counts — and `preview`.
//!
//! A member batch has the columns `entity`, `as_of`, `tier` (tiered segments only),
//! `holdout` (segments with a holdout group only) and the segment's outputs, in that order.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, BooleanArray, Date32Array, RecordBatch, StringArray};
use datafusion::arrow::compute::{
    cast, concat_batches, filter, filter_record_batch, is_not_null, sort_to_indices,
    take_record_batch,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use segmint_compiler::{Compiled, LeafColumn, OutputColumn, SegmentColumn};

use crate::error::{EngineError, Result};
use crate::run::{compile_for, execute};
use crate::session::ProjectSession;

/// The entity column, in the fused result and in member batches.
pub const ENTITY: &str = "entity";
/// The as-of column of member batches.
pub const AS_OF: &str = "as_of";
/// The tier column of a tiered segment's member batches.
pub const TIER: &str = "tier";
/// The holdout flag of a segment with a holdout group.
pub const HOLDOUT: &str = "holdout";

/// A segment's holdout group and the project salt that places entities in it.
#[derive(Debug, Clone, Copy)]
pub struct HoldoutRule<'a> {
    pub salt: &'a str,
    pub holdout: segmint_spec::Holdout,
}

/// Which rows of a fused-result batch are members of `segment`: a true boolean, or (tiered)
/// a non-null tier. NULL is not a member.
pub fn membership_mask(batch: &RecordBatch, segment: &SegmentColumn) -> Result<BooleanArray> {
    let value = column(batch, &segment.name)?;
    if segment.tiered {
        return Ok(is_not_null(value)?);
    }
    let flags = value
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| EngineError::Internal(format!("{} is not boolean", segment.name)))?;
    Ok(flags.iter().map(|v| Some(v == Some(true))).collect())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Arc<dyn Array>> {
    batch
        .column_by_name(name)
        .ok_or_else(|| EngineError::Internal(format!("the plan lost column {name}")))
}

/// One segment's members at an as-of.
#[derive(Debug, Clone)]
pub struct SegmentMembers {
    pub segment: SegmentColumn,
    pub schema: SchemaRef,
    /// Non-empty batches of the member schema.
    pub batches: Vec<RecordBatch>,
}

impl SegmentMembers {
    /// The members of `segment` in the fused result, with its outputs (and who is held
    /// out, under `holdout`).
    pub fn from_result(
        batches: &[RecordBatch],
        segment: &SegmentColumn,
        outputs: &[&OutputColumn],
        as_of: NaiveDate,
        holdout: Option<HoldoutRule>,
    ) -> Result<Self> {
        let mut fields = vec![
            Field::new(ENTITY, DataType::Utf8, false),
            Field::new(AS_OF, DataType::Date32, false),
        ];
        if segment.tiered {
            fields.push(Field::new(TIER, DataType::Utf8, false));
        }
        if holdout.is_some() {
            fields.push(Field::new(HOLDOUT, DataType::Boolean, false));
        }
        for o in outputs {
            let data_type = batches
                .first()
                .and_then(|b| b.column_by_name(&o.column))
                .map_or(DataType::Null, |c| c.data_type().clone());
            fields.push(Field::new(&o.name, data_type, true));
        }
        let schema = Arc::new(Schema::new(fields));
        let as_of_days = days_since_epoch(as_of);
        let mut out = Vec::new();
        for batch in batches {
            let mask = membership_mask(batch, segment)?;
            let entities = cast(column(batch, ENTITY)?, &DataType::Utf8)?;
            let mut columns = vec![entities.clone()];
            columns.push(Arc::new(Date32Array::from(vec![
                as_of_days;
                batch.num_rows()
            ])));
            if segment.tiered {
                columns.push(cast(column(batch, &segment.name)?, &DataType::Utf8)?);
            }
            if let Some(rule) = holdout {
                let held: BooleanArray = strings(&entities)?
                    .iter()
                    .map(|e| {
                        Some(e.is_some_and(|e| rule.holdout.holds_out(rule.salt, &segment.name, e)))
                    })
                    .collect();
                columns.push(Arc::new(held));
            }
            for o in outputs {
                columns.push(column(batch, &o.column)?.clone());
            }
            // Filter before building the batch: non-members may hold NULL tiers.
            let columns = columns
                .iter()
                .map(|c| filter(c, &mask))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let members = RecordBatch::try_new(schema.clone(), columns)?;
            if members.num_rows() > 0 {
                out.push(members);
            }
        }
        Ok(SegmentMembers {
            segment: segment.clone(),
            schema,
            batches: out,
        })
    }

    /// How many members.
    pub fn size(&self) -> u64 {
        self.batches.iter().map(|b| b.num_rows() as u64).sum()
    }

    /// How the members changed since `previous` (the entity columns of the previous
    /// committed members): distinct entities compared as borrowed strings, none copied.
    pub fn change_since(&self, previous: &[StringArray]) -> Result<Change> {
        let mut arrays = Vec::with_capacity(self.batches.len());
        for batch in &self.batches {
            arrays.push(strings(column(batch, ENTITY)?)?);
        }
        let now = distinct_entities(&arrays);
        let then = distinct_entities(&previous.iter().collect::<Vec<_>>());
        Ok(Change {
            entered: now.difference(&then).count() as u64,
            exited: then.difference(&now).count() as u64,
            previous_size: then.len() as u64,
        })
    }

    /// Members in the holdout group (segments with one only).
    pub fn held_out(&self) -> Result<Option<u64>> {
        if self.schema.column_with_name(HOLDOUT).is_none() {
            return Ok(None);
        }
        let mut held = 0;
        for batch in &self.batches {
            let flags = column(batch, HOLDOUT)?
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| EngineError::Internal("holdout is not boolean".into()))?;
            held += flags.true_count() as u64;
        }
        Ok(Some(held))
    }

    /// Members per tier (tiered segments only).
    pub fn tier_counts(&self) -> Result<Option<BTreeMap<String, u64>>> {
        if !self.segment.tiered {
            return Ok(None);
        }
        let mut counts = BTreeMap::new();
        for batch in &self.batches {
            let tiers = strings(column(batch, TIER)?)?;
            for tier in tiers.iter().flatten() {
                *counts.entry(tier.to_string()).or_insert(0u64) += 1;
            }
        }
        Ok(Some(counts))
    }
}

/// How a segment's members changed since the previous committed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub entered: u64,
    pub exited: u64,
    /// Distinct members at the previous run.
    pub previous_size: u64,
}

/// The distinct non-null strings of `arrays`, borrowed.
fn distinct_entities<'a>(arrays: &[&'a StringArray]) -> datafusion::common::HashSet<&'a str> {
    let mut set = datafusion::common::HashSet::with_capacity_and_hasher(
        arrays.iter().map(|a| a.len()).sum(),
        Default::default(),
    );
    set.extend(arrays.iter().flat_map(|a| a.iter().flatten()));
    set
}

fn strings(array: &Arc<dyn Array>) -> Result<&StringArray> {
    array
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| EngineError::Internal(format!("{} is not text", array.data_type())))
}

/// Days since 1970-01-01 (a `DATE` value).
pub fn days_since_epoch(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (day - epoch).num_days() as i32
}

/// The day `days` after 1970-01-01 (an Arrow `Date32`).
pub fn date_of_days(days: i32) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    epoch + chrono::Duration::days(days as i64)
}

/// The members of every compiled segment, each with its outputs and holdout flags.
pub fn members_of_all(
    checked: &segmint_spec::Checked,
    compiled: &Compiled,
    batches: &[RecordBatch],
    as_of: NaiveDate,
) -> Result<Vec<SegmentMembers>> {
    // Each segment's rows are filtered out of the result on its own: side by side.
    crate::on_cores::map_on_cores(
        &compiled.segments,
        |segment| {
            let outputs: Vec<&OutputColumn> = compiled
                .outputs
                .iter()
                .filter(|o| o.segment == segment.name)
                .collect();
            let holdout = checked
                .segment(&segment.name)
                .and_then(|s| s.holdout)
                .map(|holdout| HoldoutRule {
                    salt: &checked.project.holdout_salt,
                    holdout,
                });
            SegmentMembers::from_result(batches, segment, &outputs, as_of, holdout)
        },
        || {
            Err(EngineError::Internal(
                "selecting a segment's members panicked".into(),
            ))
        },
    )
    .into_iter()
    .collect()
}

/// What `preview` shows: a segment's size, its leaves and its first members.
#[derive(Debug, Clone)]
pub struct Preview {
    pub segment: String,
    pub description: String,
    pub as_of: NaiveDate,
    pub size: usize,
    /// Every leaf of the segment and of the segments it references, with its column.
    pub leaves: Vec<LeafColumn>,
    /// The first members by entity id: entity, membership, each leaf's value, the outputs.
    pub sample: Option<RecordBatch>,
    /// What the output tables hold for this segment and as-of, when it was committed.
    pub committed: Option<Committed>,
    /// With identity resolution: each sampled person's identifiers (`type:value`).
    pub identifiers: BTreeMap<String, Vec<String>>,
}

/// A segment's committed result at an as-of.
#[derive(Debug, Clone)]
pub struct Committed {
    pub size: u64,
    pub run_id: String,
}

/// Evaluate one segment with every leaf's value and take its first `limit` members by
/// entity id, so a preview reads the same on every run and on a cluster.
pub async fn preview(
    session: &ProjectSession,
    segment: &str,
    as_of: NaiveDate,
    limit: usize,
) -> Result<Preview> {
    let selected = vec![segment.to_string()];
    let compiled = compile_for(session, as_of, &selected, true)?;
    let batches = execute(session, &compiled).await?;
    let mut members: Vec<RecordBatch> = Vec::new();
    if let Some(column) = compiled.segments.iter().find(|s| s.name == segment) {
        for batch in &batches {
            let mask = membership_mask(batch, column)?;
            members.push(filter_record_batch(batch, &mask)?);
        }
    }
    let size = members.iter().map(RecordBatch::num_rows).sum();
    let mut sample = None;
    if let Some(first) = members.first() {
        let all = concat_batches(&first.schema(), &members)?;
        let order = sort_to_indices(column(&all, ENTITY)?, None, Some(limit))?;
        let rows = take_record_batch(&all, &order)?;
        sample = (rows.num_rows() > 0).then_some(rows);
    }
    let identifiers = match (&session.events, &sample) {
        (crate::session::EventsSource::People { map, .. }, Some(rows)) => {
            let people: Vec<String> = crate::identity::view::entity_ids(rows, ENTITY)?;
            crate::identity::view::identifiers_of(&session.ctx, map, &people).await?
        }
        _ => BTreeMap::new(),
    };
    let history = session.output.history().await?;
    let committed = history.runs_at(as_of).into_iter().rev().find_map(|run| {
        run.segments.get(segment).map(|s| Committed {
            size: s.size,
            run_id: run.run_id.clone(),
        })
    });
    Ok(Preview {
        committed,
        segment: segment.to_string(),
        description: session
            .checked
            .segment(segment)
            .map(|s| s.description.clone())
            .unwrap_or_default(),
        as_of,
        size,
        leaves: compiled.leaves,
        sample,
        identifiers,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn members(entities: &[&str]) -> SegmentMembers {
        let schema = Arc::new(Schema::new(vec![Field::new(ENTITY, DataType::Utf8, false)]));
        // Two batches, so entities are compared across them.
        let (a, b) = entities.split_at(entities.len() / 2);
        let batches = [a, b]
            .iter()
            .map(|part| {
                let column: Arc<dyn Array> = Arc::new(StringArray::from(part.to_vec()));
                RecordBatch::try_new(schema.clone(), vec![column]).unwrap()
            })
            .collect();
        SegmentMembers {
            segment: SegmentColumn {
                name: "s".into(),
                tiered: false,
            },
            schema,
            batches,
        }
    }

    #[test]
    fn change_counts_distinct_entities_entered_and_exited() {
        let now = members(&["a", "b", "c", "d"]);
        let previous = [
            StringArray::from(vec!["c", "e"]),
            StringArray::from(vec![Some("a"), None, Some("e"), Some("f")]),
        ];
        let change = now.change_since(&previous).unwrap();
        assert_eq!(
            change,
            Change {
                entered: 2,
                exited: 2,
                previous_size: 4
            }
        );
        // A first run of the segment: everyone entered.
        let change = now.change_since(&[]).unwrap();
        assert_eq!(
            (change.entered, change.exited, change.previous_size),
            (4, 0, 0)
        );
    }
}
