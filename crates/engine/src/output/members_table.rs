//! The `members` Delta table: one row per (as_of, segment, entity), every segment in one
//! table, partitioned by `as_of` and `segment`.
//!
//! | column | type | |
//! |---|---|---|
//! | `as_of` | date | partition column |
//! | `segment` | string | partition column |
//! | `entity` | string | |
//! | `tier` | string | the tier of a tiered segment, else null |
//! | `holdout` | boolean | false until holdout groups exist |
//! | `<segment>__<output>` | the output's type | one column per output of every segment, null on other segments' rows |
//!
//! Each (as-of, segment) partition holds one Parquet file (larger segments split at
//! [`super::segment_files::TARGET_FILE_BYTES`]) with the fixed columns and that segment's
//! outputs ([`super::segment_files`]): "members of S as of D" reads one file, and a
//! `--segment` run replaces just its segments' partitions. Replacing an as-of — its files removed, the new
//! ones added — is one Delta commit whose `commitInfo` carries the run's summary.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake_core::DeltaTable;
use deltalake_core::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake_core::kernel::{Action, StructField, StructType};
use deltalake_core::protocol::{DeltaOperation, SaveMode};

use super::delta::{commit_error, read_file};
use super::segment_files::write_segment;
use crate::error::{EngineError, Result};
use crate::members::{ENTITY, SegmentMembers, TIER};

/// The table's folder below the output location.
pub const MEMBERS: &str = "members";
/// The commit metadata key holding the run's summary (see `runs`).
pub const RUN_METADATA: &str = "segmintRun";

/// The fixed columns, in order.
fn base_fields() -> Vec<Field> {
    vec![
        Field::new("as_of", DataType::Date32, false),
        Field::new("segment", DataType::Utf8, false),
        Field::new(ENTITY, DataType::Utf8, false),
        Field::new(TIER, DataType::Utf8, true),
        Field::new("holdout", DataType::Boolean, false),
    ]
}

/// The column of a segment's output.
pub fn output_column(segment: &str, output: &str) -> String {
    format!("{segment}__{output}")
}

/// The type an output is stored as: one every Delta reader knows.
pub fn stored_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::Dictionary(_, value) => stored_type(value),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 | DataType::Float32 => DataType::Float64,
        DataType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Date64 => DataType::Date32,
        DataType::Null => DataType::Utf8,
        other => other.clone(),
    }
}

/// An output column of the table: (segment, output name, stored type).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputField {
    pub segment: String,
    pub output: String,
    pub data_type: DataType,
}

/// The table schema for these outputs.
pub fn schema(outputs: &[OutputField]) -> Result<SchemaRef> {
    let mut fields = base_fields();
    let mut seen: HashSet<String> = fields.iter().map(|f| f.name().clone()).collect();
    for o in outputs {
        let name = output_column(&o.segment, &o.output);
        if !seen.insert(name.clone()) {
            return Err(EngineError::Usage(format!(
                "output `{}` of segment `{}` would be stored as column `{name}`, which another \
                 output already uses: rename one of them",
                o.output, o.segment
            )));
        }
        fields.push(Field::new(name, stored_type(&o.data_type), true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The Delta schema of an Arrow schema.
pub fn delta_schema(schema: &Schema) -> Result<StructType> {
    schema
        .try_into_kernel()
        .map_err(|e| EngineError::Internal(format!("table schema: {e}")))
}

/// Bring the table's schema up to `wanted`: missing output columns are added (one metadata
/// commit); a column whose type changed is refused, naming it.
pub async fn evolve(table: DeltaTable, wanted: &Schema, object: &str) -> Result<DeltaTable> {
    let current = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?
        .snapshot()
        .arrow_schema();
    let mut missing = Vec::new();
    for field in wanted.fields() {
        match current.field_with_name(field.name()) {
            Ok(existing) if existing.data_type() == field.data_type() => {}
            Ok(existing) => {
                return Err(EngineError::Output {
                    object: object.to_string(),
                    message: format!(
                        "column `{}` holds {} but the specs now compute {}: give the output \
                         a new name (old rows keep the old column)",
                        field.name(),
                        existing.data_type(),
                        field.data_type()
                    ),
                });
            }
            Err(_) => missing.push(field.as_ref().clone()),
        }
    }
    if missing.is_empty() {
        return Ok(table);
    }
    let fields: Vec<StructField> = delta_schema(&Schema::new(missing))?
        .fields()
        .cloned()
        .collect();
    table
        .add_columns()
        .with_fields(fields)
        .await
        .map_err(|e| commit_error(object, e))
}

/// One as-of's members of some segments, ready to commit.
pub struct AsOfRows<'a> {
    pub as_of: NaiveDate,
    pub run_id: &'a str,
    pub members: &'a [SegmentMembers],
    /// Replace only these segments' rows of the as-of (`None`: the whole as-of).
    pub only: Option<&'a [String]>,
    /// The run summary stored in the commit (and, after it, in the runs table).
    pub summary: serde_json::Value,
}

/// One current file of an as-of.
struct AsOfFile {
    path: deltalake_core::Path,
    segment: Option<String>,
    remove: deltalake_core::kernel::Remove,
}

/// The current files of one as-of.
fn as_of_files(table: &DeltaTable, as_of: NaiveDate, object: &str) -> Result<Vec<AsOfFile>> {
    let day = as_of.to_string();
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    Ok(snapshot
        .log_data()
        .iter()
        .filter(|f| f.partition_values_map().get("as_of").cloned().flatten() == Some(day.clone()))
        .map(|f| AsOfFile {
            path: f.object_store_path(),
            segment: f.partition_values_map().get("segment").cloned().flatten(),
            remove: f.remove_action(true),
        })
        .collect())
}

/// Write and commit one as-of: the new files added and the old ones of the replaced
/// segments removed, in one Delta commit. Returns the new table version.
pub async fn replace_as_of(table: &DeltaTable, rows: AsOfRows<'_>, object: &str) -> Result<i64> {
    let snapshot = table
        .snapshot()
        .map_err(|e| EngineError::output(object, e))?;
    let schema = snapshot.snapshot().arrow_schema();
    let store = table.log_store().object_store(None);
    // One file (or more, past the target size) per segment; up to four segments at once,
    // each encoded on a blocking thread (so on several cores) and uploaded as each file
    // closes (on an object store each PUT is slow, a few side by side are not), in segment
    // order: at most four files are held.
    let written: Vec<Vec<_>> = {
        use futures::{StreamExt, TryStreamExt};
        let (store, schema) = (&store, &schema);
        futures::stream::iter(rows.members)
            .map(|members| write_segment(store, schema, members, rows.as_of, rows.run_id, object))
            .buffered(4)
            .try_collect()
            .await?
    };
    let mut actions: Vec<Action> = written.into_iter().flatten().map(Action::Add).collect();
    let replaced: Option<BTreeSet<&str>> = rows
        .only
        .map(|only| only.iter().map(String::as_str).collect());
    for AsOfFile {
        segment, remove, ..
    } in as_of_files(table, rows.as_of, object)?
    {
        let doomed = match (&replaced, &segment) {
            (None, _) => true,
            (Some(only), Some(s)) => only.contains(s.as_str()),
            (Some(_), None) => false,
        };
        if doomed {
            actions.push(Action::Remove(remove));
        }
    }
    // What the commit read and replaces: the as-of's partitions (of the chosen segments).
    // Concurrent runs of other as-ofs, or of other segments, do not conflict with it.
    let mut predicate = format!("as_of = '{}'", rows.as_of);
    if let Some(only) = &replaced {
        let names: Vec<String> = only.iter().map(|s| format!("'{s}'")).collect();
        predicate.push_str(&format!(" AND segment IN ({})", names.join(", ")));
    }
    let operation = DeltaOperation::Write {
        mode: SaveMode::Overwrite,
        partition_by: Some(vec!["as_of".to_string(), "segment".to_string()]),
        predicate: Some(predicate),
    };
    let metadata = HashMap::from([(RUN_METADATA.to_string(), rows.summary)]);
    let finalized = crate::output::committer()
        .with_actions(actions)
        .with_app_metadata(metadata)
        .build(Some(snapshot.snapshot()), table.log_store(), operation)
        .await
        .map_err(|e| commit_error(object, e))?;
    Ok(finalized.version() as i64)
}

/// The entity column of each segment's files at `as_of` (only `segments`, when given), as
/// committed: no string is copied. Several files are fetched at once (an object store
/// answers each request slowly, but many side by side).
pub async fn read_entities_as_of(
    table: &DeltaTable,
    as_of: NaiveDate,
    segments: Option<&BTreeSet<String>>,
    object: &str,
) -> Result<BTreeMap<String, Vec<StringArray>>> {
    use futures::{StreamExt, TryStreamExt};
    let files: Vec<(String, deltalake_core::Path)> = as_of_files(table, as_of, object)?
        .into_iter()
        .filter_map(|f| {
            let segment = f.segment?;
            segments
                .is_none_or(|wanted| wanted.contains(&segment))
                .then_some((segment, f.path))
        })
        .collect();
    let read: Vec<(String, Vec<StringArray>)> = futures::stream::iter(files)
        .map(|(segment, path)| async move {
            let where_ = format!("{object}/{path}");
            let mut arrays = Vec::new();
            for batch in read_file(table, &path, Some(&[ENTITY]), object).await? {
                let column = batch
                    .column_by_name(ENTITY)
                    .ok_or_else(|| EngineError::Output {
                        object: where_.clone(),
                        message: format!("no column `{ENTITY}`"),
                    })?;
                // A cast to `Utf8` is a `StringArray`.
                arrays.push(cast(column, &DataType::Utf8)?.as_string::<i32>().clone());
            }
            Ok::<_, EngineError>((segment, arrays))
        })
        .buffered(8)
        .try_collect()
        .await?;
    let mut out: BTreeMap<String, Vec<StringArray>> = BTreeMap::new();
    for (segment, arrays) in read {
        out.entry(segment).or_default().extend(arrays);
    }
    Ok(out)
}

/// The entities of each segment at `as_of` (only `segments`, when given), as committed.
pub async fn read_as_of(
    table: &DeltaTable,
    as_of: NaiveDate,
    segments: Option<&BTreeSet<String>>,
    object: &str,
) -> Result<BTreeMap<String, HashSet<String>>> {
    Ok(read_entities_as_of(table, as_of, segments, object)
        .await?
        .into_iter()
        .map(|(segment, arrays)| {
            let entities = arrays
                .iter()
                .flat_map(|a| a.iter().flatten().map(str::to_string))
                .collect();
            (segment, entities)
        })
        .collect())
}

/// Every column of the files of one segment at `as_of` (entity, tier, holdout and the
/// segment's outputs), as committed.
pub async fn read_segment(
    table: &DeltaTable,
    as_of: NaiveDate,
    segment: &str,
    object: &str,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
    let mut out = Vec::new();
    for file in as_of_files(table, as_of, object)? {
        if file.segment.as_deref() == Some(segment) {
            out.extend(read_file(table, &file.path, None, object).await?);
        }
    }
    Ok(out)
}
