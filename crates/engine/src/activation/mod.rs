//! `segmint sync`: deliver membership changes to destinations.
//!
//! For each destination and each of its segments, the members committed at the as-of
//! (holdout members left out unless the destination asks for them) are compared with what
//! the destination holds ([`state`]): those who entered are sent with their outputs, those
//! who exited by id — the whole list on a first delivery, the accumulated difference after
//! missed days, nothing when the last sync already brought it there. Only when a segment's
//! delivery is complete is the destination's state moved to the new members, so a failed
//! sync is sent again, whole and with the same idempotency keys, by the next one: delivery
//! is at least once, and receivers deduplicate by `Idempotency-Key`.

pub mod files;
pub mod state;
pub mod webhook;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, sort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use segmint_spec::{Checked, Destination, DestinationTarget, FileMode};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::members::{ENTITY, HOLDOUT, TIER};
use crate::output::OutputTables;
use crate::storage::StoreRegistry;
use state::{Delivery, held, record};

/// One segment delivered to one destination.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentDelivery {
    pub destination: String,
    pub segment: String,
    pub as_of: String,
    /// The as-of the destination held before (`None`: the first delivery: the full list).
    pub previous_as_of: Option<String>,
    pub entered: u64,
    pub exited: u64,
    /// Webhook requests made (retries included).
    pub requests: u64,
    /// Files written.
    pub files: Vec<String>,
    /// Why nothing was delivered (the destination already holds a later as-of).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What `sync` did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub status: String,
    pub as_of: String,
    pub deliveries: Vec<SegmentDelivery>,
}

/// A segment's committed members for a destination: their rows (entity, tier, outputs
/// named without the segment prefix) and entity set.
struct Members {
    rows: Option<RecordBatch>,
    entities: HashSet<String>,
}

/// The committed members of `segment` at `as_of` for a destination.
async fn members_for(
    out: &OutputTables,
    as_of: NaiveDate,
    segment: &str,
    include_holdout: bool,
) -> Result<Members> {
    let batches = out.segment_rows(as_of, segment).await?;
    let prefix = format!("{segment}__");
    let mut kept = Vec::new();
    let mut schema: Option<SchemaRef> = None;
    for batch in batches {
        let keep: BooleanArray = match (include_holdout, batch.column_by_name(HOLDOUT)) {
            (false, Some(flags)) => {
                let flags = flags
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .ok_or_else(|| EngineError::Internal("holdout is not boolean".into()))?;
                flags.iter().map(|h| Some(h != Some(true))).collect()
            }
            _ => BooleanArray::from(vec![true; batch.num_rows()]),
        };
        let batch = filter_record_batch(&batch, &keep)?;
        // entity, tier (tiered segments), then the outputs by their own names.
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let name = field.name();
            let named = if name == ENTITY || (name == TIER && column.null_count() < column.len()) {
                Some(name.clone())
            } else {
                name.strip_prefix(&prefix).map(str::to_string)
            };
            if let Some(n) = named {
                fields.push(Field::new(n, field.data_type().clone(), true));
                columns.push(column.clone());
            }
        }
        let projected_schema = Arc::new(Schema::new(fields));
        kept.push(RecordBatch::try_new(projected_schema.clone(), columns)?);
        schema.get_or_insert(projected_schema);
    }
    let Some(schema) = schema else {
        return Ok(Members {
            rows: None,
            entities: HashSet::new(),
        });
    };
    let kept: Vec<RecordBatch> = kept.into_iter().filter(|b| b.schema() == schema).collect();
    let all = concat_batches(&schema, &kept)?;
    let order = sort_to_indices(all.column(0), None, None)?;
    let columns = all
        .columns()
        .iter()
        .map(|c| take(c, &order, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let sorted = RecordBatch::try_new(schema, columns)?;
    let entities = sorted
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .map(|s| s.iter().flatten().map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Members {
        rows: Some(sorted),
        entities,
    })
}

/// The rows of the entered entities.
fn entered_rows(members: &Members, entered: &HashSet<String>) -> Result<Option<RecordBatch>> {
    let Some(rows) = &members.rows else {
        return Ok(None);
    };
    let entities = rows
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| EngineError::Internal("entity is not text".into()))?;
    let mask: BooleanArray = entities
        .iter()
        .map(|e| Some(e.is_some_and(|e| entered.contains(e))))
        .collect();
    Ok(Some(filter_record_batch(rows, &mask)?))
}

/// Rows as JSON objects.
fn json_rows(batch: &RecordBatch) -> Result<Vec<serde_json::Value>> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(batch)?;
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// The key of a batch: the same content gets the same key on every sync.
fn idempotency_key(parts: &[&str], entered: &[serde_json::Value], exited: &[String]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update(p.as_bytes());
        hash.update([0]);
    }
    for e in entered {
        hash.update(e.get(ENTITY).and_then(|v| v.as_str()).unwrap_or_default());
        hash.update([1]);
    }
    for e in exited {
        hash.update(e.as_bytes());
        hash.update([2]);
    }
    format!("{:x}", hash.finalize())[..32].to_string()
}

/// Deliver every destination's segments (or only `only`'s) as of `as_of`.
pub async fn sync(
    checked: &Checked,
    out: &OutputTables,
    as_of: NaiveDate,
    only: Option<&str>,
) -> Result<SyncReport> {
    let project = &checked.project;
    let destinations: Vec<&Destination> = project
        .destinations
        .iter()
        .filter(|d| only.is_none_or(|o| o == d.name))
        .collect();
    if let Some(name) = only
        && destinations.is_empty()
    {
        return Err(EngineError::Usage(format!("unknown destination `{name}`")));
    }
    let history = out.history().await?;
    let committed = history.segments_at(as_of);
    let registry = StoreRegistry::new(project.storage.clone());
    let mut report = SyncReport {
        status: "ok".into(),
        as_of: as_of.to_string(),
        deliveries: Vec::new(),
    };
    for destination in destinations {
        // Secrets are read (and missing ones reported) before anything is sent.
        let mut sender = match &destination.target {
            DestinationTarget::Webhook(w) => Some(webhook::Sender::new(&destination.name, w)?),
            DestinationTarget::Files(_) => None,
        };
        let segments: Vec<String> = if destination.segments.is_empty() {
            checked.segments.iter().map(|s| s.name.clone()).collect()
        } else {
            destination.segments.clone()
        };
        for segment in segments {
            if !committed.contains_key(&segment) {
                return Err(EngineError::Usage(format!(
                    "segment `{segment}` has no committed run at {as_of}: run it first"
                )));
            }
            let delivery = deliver(
                out,
                &registry,
                &checked.project.root,
                destination,
                sender.as_mut(),
                &segment,
                as_of,
            )
            .await?;
            report.deliveries.push(delivery);
        }
    }
    Ok(report)
}

/// Deliver one segment to one destination.
async fn deliver(
    out: &OutputTables,
    registry: &StoreRegistry,
    root: &Path,
    destination: &Destination,
    sender: Option<&mut webhook::Sender>,
    segment: &str,
    as_of: NaiveDate,
) -> Result<SegmentDelivery> {
    let before = held(out, &destination.name, segment).await?;
    if let Some(previous) = before.as_of
        && previous > as_of
    {
        // A re-run of an earlier day (an Airflow clear): sending it would take the
        // destination back in time. Nothing is sent; the report says why.
        tracing::warn!(destination = %destination.name, %segment, %previous, %as_of, "destination is ahead: skipped");
        return Ok(SegmentDelivery {
            destination: destination.name.clone(),
            segment: segment.to_string(),
            as_of: as_of.to_string(),
            previous_as_of: Some(previous.to_string()),
            entered: 0,
            exited: 0,
            requests: 0,
            files: Vec::new(),
            skipped: Some(format!(
                "the destination already holds {previous}, after {as_of}: nothing sent"
            )),
        });
    }
    let now = members_for(out, as_of, segment, destination.include_holdout).await?;
    let entered: HashSet<String> = now.entities.difference(&before.entities).cloned().collect();
    let mut exited: Vec<String> = before.entities.difference(&now.entities).cloned().collect();
    exited.sort();
    let entered_batch = entered_rows(&now, &entered)?;
    let mut delivery = SegmentDelivery {
        destination: destination.name.clone(),
        segment: segment.to_string(),
        as_of: as_of.to_string(),
        previous_as_of: before.as_of.map(|d| d.to_string()),
        entered: entered.len() as u64,
        exited: exited.len() as u64,
        requests: 0,
        files: Vec::new(),
        skipped: None,
    };
    match &destination.target {
        DestinationTarget::Webhook(w) => {
            let Some(sender) = sender else {
                return Err(EngineError::Internal("a webhook without a sender".into()));
            };
            let entered_json = match &entered_batch {
                Some(b) => json_rows(b)?,
                None => Vec::new(),
            };
            let items = entered_json.len() + exited.len();
            let size = w.batch_size.max(1);
            let batches = items.div_ceil(size);
            let day = as_of.to_string();
            let (mut e, mut x) = (entered_json.as_slice(), exited.as_slice());
            for index in 0..batches {
                let take_entered = e.len().min(size);
                let (entered_part, rest) = e.split_at(take_entered);
                e = rest;
                let take_exited = x.len().min(size - take_entered);
                let (exited_part, rest) = x.split_at(take_exited);
                x = rest;
                let position = format!("{}/{batches}", index + 1);
                let key = idempotency_key(
                    &[&destination.name, segment, &day, &position],
                    entered_part,
                    exited_part,
                );
                let body = serde_json::json!({
                    "destination": destination.name,
                    "segment": segment,
                    "as_of": day,
                    "previous_as_of": delivery.previous_as_of,
                    "first_sync": before.as_of.is_none(),
                    "batch": index + 1,
                    "batches": batches,
                    "idempotency_key": key,
                    "entered": entered_part,
                    "exited": exited_part,
                });
                delivery.requests += sender
                    .send(serde_json::to_vec(&body)?, &key, segment)
                    .await?;
            }
        }
        DestinationTarget::Files(target) => {
            let located = registry.locate(root, &target.location)?;
            let names = (destination.name.as_str(), segment, as_of);
            let member_schema = now.rows.as_ref().map_or_else(
                || Arc::new(Schema::new(vec![Field::new(ENTITY, DataType::Utf8, false)])),
                |r| r.schema(),
            );
            let written = match target.mode {
                FileMode::Full => vec![
                    files::write(
                        &located,
                        target,
                        names,
                        "members",
                        member_schema,
                        now.rows.as_slice(),
                    )
                    .await?,
                ],
                FileMode::Delta => {
                    let exited_schema =
                        Arc::new(Schema::new(vec![Field::new(ENTITY, DataType::Utf8, false)]));
                    let exited_batch = RecordBatch::try_new(
                        exited_schema.clone(),
                        vec![Arc::new(StringArray::from(exited.clone()))],
                    )?;
                    vec![
                        files::write(
                            &located,
                            target,
                            names,
                            "entered",
                            member_schema,
                            entered_batch.as_slice(),
                        )
                        .await?,
                        files::write(
                            &located,
                            target,
                            names,
                            "exited",
                            exited_schema,
                            &[exited_batch],
                        )
                        .await?,
                    ]
                }
            };
            delivery.files = written;
        }
    }
    record(
        out,
        &Delivery {
            destination: destination.name.clone(),
            segment: segment.to_string(),
            as_of,
            previous_as_of: before.as_of,
            entered: delivery.entered,
            exited: delivery.exited,
            requests: delivery.requests,
        },
        &now.entities,
    )
    .await?;
    Ok(delivery)
}
