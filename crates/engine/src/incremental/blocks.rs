//! Blocks: runs of settled days merged into one summary file, so that a run merges a few
//! files per window instead of one per day (docs/incremental.md, "Blocks").
//!
//! Days fall into aligned chunks of [`CHUNK_DAYS`] days (by day number). A chunk is
//! *closed* once all its days are settled — before the lookback days, which every run
//! summarises again. After summarising, a run keeps:
//! - for every closed chunk, its suffixes `[a, chunk end)` for each summarised day `a` but
//!   the last (whose suffix is its day file); the suffix from the chunk's first day is the
//!   whole chunk. They are built right to left, each from its day and the next suffix;
//! - the histories `[first day, end of each closed chunk)`, each from the previous one and
//!   the chunk;
//! - the aligned runs of 2, 4, … 32 closed chunks (a run of `2^k` chunks starts on a chunk
//!   number divisible by `2^k`), each from its two halves;
//! - the open chunk's prefix, from its first day to the last multiple of
//!   [`PREFIX_STEP_DAYS`] days from the chunk's start before the first lookback day, from the
//!   longest earlier prefix and the days after it.
//!
//! Blocks hold only the parts whose state does not grow with the rows merged
//! ([`BOUNDED`]: counts, sums, extremes, day sets, value counts): funnels, sequences and
//! sessions keep their events, so a block of them is as large as its days and is not worth
//! its writing; those parts are read from the day files.
//!
//! Any window `[lo, hi)` is then a suffix, a few aligned runs of chunks (at most two per
//! length), the prefix, at most three settled days after it and the lookback days (or the
//! history and the same from the first day): a handful of files.
//! A block is named with the fingerprint of the day files it was merged from, so blocks
//! over a re-summarised day (late data) are not read, and are rebuilt. Blocks no longer kept
//! are removed in the commit that adds the new ones.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, col, lit};
use std::sync::Arc;

use super::hash16;
use super::inner::InnerCall;
use super::merge::summaries_source;
use super::merge_of::MergeOf;
use super::summarise::stored_batch;
use super::table::{Span, SummaryTable, Written};
use crate::error::{EngineError, Result};
use crate::session::ProjectSession;

/// Days per chunk: a window reads at most one suffix, a few aligned runs of whole chunks,
/// one prefix and the lookback days; the day a chunk closes builds its suffixes.
pub(super) const CHUNK_DAYS: i64 = 16;

/// The open chunk's prefix ends on a multiple of this many days from the chunk's start: it is
/// rebuilt every fourth day (merging the whole prefix again each day was ~0.3 s of a daily
/// run), and a window reads at most three settled days after it as day files.
const PREFIX_STEP_DAYS: i64 = 4;

/// Aligned runs of closed chunks are kept up to `2^MAX_LEVEL` chunks (512 days): a window of
/// a year reads about `log2(365 / 16)` of them instead of 22 chunks.
const MAX_LEVEL: u32 = 5;

/// Functions whose state is bounded whatever the rows merged: their parts are kept in
/// blocks.
const BOUNDED: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "bool_and",
    "bool_or",
    "cadence",
    "dominant",
    "distinct_count",
];

/// Whether the part merged by `call` is kept in blocks.
pub(super) fn in_blocks(call: &InnerCall) -> bool {
    BOUNDED.contains(&call.udaf.name())
}

/// The row schema of blocks: the summary schema's `entity`, `day` and the parts kept in
/// blocks.
pub(super) fn block_schema(
    schema: &SchemaRef,
    calls: &BTreeMap<String, InnerCall>,
) -> datafusion::error::Result<SchemaRef> {
    let kept: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, f)| *i < 2 || calls.get(f.name()).is_some_and(in_blocks))
        .map(|(i, _)| i)
        .collect();
    Ok(Arc::new(schema.project(&kept)?))
}

/// The first day of `day`'s chunk.
fn chunk_of(day: NaiveDate) -> NaiveDate {
    let number = (day - NaiveDate::default()).num_days();
    NaiveDate::default() + Duration::days(number.div_euclid(CHUNK_DAYS) * CHUNK_DAYS)
}

/// The first days of the aligned runs of 2, 4, … `2^MAX_LEVEL` chunks that end where the
/// chunk starting on `start` ends: a run of `2^k` chunks starts on a chunk whose number
/// (days from 1970-01-01 / [`CHUNK_DAYS`]) is a multiple of `2^k`.
fn aligned_runs_ending_with(start: NaiveDate) -> Vec<NaiveDate> {
    let chunk = (start - NaiveDate::default())
        .num_days()
        .div_euclid(CHUNK_DAYS);
    (1..=MAX_LEVEL)
        .map(|level| 1i64 << level)
        .take_while(|chunks| (chunk + 1) % chunks == 0)
        .map(|chunks| start - Duration::days((chunks - 1) * CHUNK_DAYS))
        .collect()
}

/// The summary files a run can read: the file of each read day, and the blocks whose day
/// files are those.
pub(super) struct Readable {
    days: BTreeMap<NaiveDate, String>,
    /// First day → end → path.
    blocks: BTreeMap<NaiveDate, BTreeMap<NaiveDate, String>>,
}

impl Readable {
    /// The readable files of `table` for the days `read`.
    pub(super) fn new(table: &SummaryTable, read: &[NaiveDate]) -> Self {
        let days: BTreeMap<NaiveDate, String> = read
            .iter()
            .filter_map(|d| table.days.get(d).map(|f| (*d, f.path.clone())))
            .collect();
        let mut readable = Readable {
            days,
            blocks: BTreeMap::new(),
        };
        for ((first, end), file) in &table.blocks {
            if first < end && file.fingerprint == readable.fingerprint(*first, *end) {
                readable.add(*first, *end, file.path.clone());
            }
        }
        readable
    }

    /// Names the day files of `[first, end)`.
    fn fingerprint(&self, first: NaiveDate, end: NaiveDate) -> String {
        let mut text = String::new();
        for (day, path) in self.days.range(first..end) {
            text.push_str(&format!("{day} {path}\n"));
        }
        hash16(&text)
    }

    fn add(&mut self, first: NaiveDate, end: NaiveDate, path: String) {
        self.blocks.entry(first).or_default().insert(end, path);
    }

    fn block(&self, first: NaiveDate, end: NaiveDate) -> Option<&String> {
        self.blocks.get(&first)?.get(&end)
    }

    /// The files that hold the days `[lo, hi)`: from each day, the block that reaches
    /// furthest without passing `hi`, else the day's file.
    pub(super) fn cover(&self, lo: NaiveDate, hi: NaiveDate) -> Vec<String> {
        let mut files = Vec::new();
        if lo >= hi {
            return files;
        }
        let mut at = lo;
        while let Some((&day, path)) = self.days.range(at..hi).next() {
            let reach = self
                .blocks
                .get(&day)
                .and_then(|ends| ends.range(..=hi).next_back());
            match reach {
                Some((&end, block)) => {
                    files.push(block.clone());
                    at = end;
                }
                None => {
                    files.push(path.clone());
                    at = day + Duration::days(1);
                }
            }
        }
        files
    }

    /// The day files of `[lo, hi)`.
    pub(super) fn days_of(&self, lo: NaiveDate, hi: NaiveDate) -> Vec<String> {
        if lo >= hi {
            return Vec::new();
        }
        self.days.range(lo..hi).map(|(_, p)| p.clone()).collect()
    }

    /// Whether any of `[lo, hi)` is summarised.
    pub(super) fn any_in(&self, lo: NaiveDate, hi: NaiveDate) -> bool {
        lo < hi && self.days.range(lo..hi).next().is_some()
    }
}

/// Blocks built and not committed yet ([`Builder::build`]).
pub(super) struct Built {
    pub written: Vec<Written>,
    pub dropped: Vec<Span>,
    /// The files a run can read once `written` and `dropped` are committed.
    pub readable: Readable,
}

/// What building blocks needs: the session, the blocks' row schema and how each part merges.
pub(super) struct Builder<'a> {
    pub session: &'a ProjectSession,
    /// [`block_schema`].
    pub schema: &'a SchemaRef,
    pub calls: &'a BTreeMap<String, InnerCall>,
}

impl Builder<'_> {
    /// Build the blocks over the days before `settled_end` that are not readable yet, commit
    /// them and remove the blocks no longer kept: the files a run can read afterwards.
    pub(super) async fn maintain(
        &self,
        table: &mut SummaryTable,
        read: &[NaiveDate],
        settled_end: NaiveDate,
    ) -> Result<Readable> {
        let built = self.build(table, read, settled_end).await?;
        table.commit(built.written, &built.dropped).await?;
        Ok(Readable::new(table, read))
    }

    /// [`Self::maintain`] without the commit: the blocks written and dropped, and the files
    /// a run can read once they are committed. Reads only the day files before
    /// `settled_end`, so it can run while later days are summarised.
    pub(super) async fn build(
        &self,
        table: &SummaryTable,
        read: &[NaiveDate],
        settled_end: NaiveDate,
    ) -> Result<Built> {
        let mut readable = Readable::new(table, read);
        let mut chunks: BTreeMap<NaiveDate, Vec<NaiveDate>> = BTreeMap::new();
        for day in readable.days.keys().filter(|d| **d < settled_end) {
            chunks.entry(chunk_of(*day)).or_default().push(*day);
        }
        let first = chunks.values().flatten().next().copied();
        let mut kept: BTreeSet<(NaiveDate, NaiveDate)> = BTreeSet::new();
        let mut written: Vec<Written> = Vec::new();
        // The history so far: its end and its file.
        let mut history: Option<(NaiveDate, String)> = None;
        for (start, days) in &chunks {
            let (Some(first), Some(last)) = (first, days.last()) else {
                continue;
            };
            let end = *start + Duration::days(CHUNK_DAYS);
            if end <= settled_end {
                // Suffixes, right to left; `whole` ends as the chunk's file.
                let mut whole = readable.days[last].clone();
                for day in days.iter().rev().skip(1) {
                    let inputs = [readable.days[day].clone(), whole];
                    whole = self
                        .ensure(table, &mut readable, &mut written, (*day, end), &inputs)
                        .await?;
                    kept.insert((*day, end));
                }
                history = Some(match history {
                    None => (end, whole),
                    Some((_, previous)) => {
                        let inputs = [previous, whole];
                        let path = self
                            .ensure(table, &mut readable, &mut written, (first, end), &inputs)
                            .await?;
                        kept.insert((first, end));
                        (end, path)
                    }
                });
                // The aligned runs of chunks that end with this one, each from the blocks
                // that cover it (its two halves, once built).
                for run_start in aligned_runs_ending_with(*start) {
                    let Some(&run_first) =
                        readable.days.range(run_start..end).next().map(|(d, _)| d)
                    else {
                        continue;
                    };
                    let inputs = readable.cover(run_first, end);
                    if inputs.len() > 1 || readable.block(run_first, end).is_some() {
                        self.ensure(
                            table,
                            &mut readable,
                            &mut written,
                            (run_first, end),
                            &inputs,
                        )
                        .await?;
                        kept.insert((run_first, end));
                    }
                }
            } else {
                // The open chunk's prefix, to the last multiple of PREFIX_STEP_DAYS days from
                // the chunk's start, from the longest earlier one; the settled days after it
                // are read as days.
                let whole_steps = (settled_end - *start).num_days() / PREFIX_STEP_DAYS;
                let prefix_end = *start + Duration::days(whole_steps * PREFIX_STEP_DAYS);
                let covered: Vec<NaiveDate> =
                    days.iter().filter(|d| **d < prefix_end).copied().collect();
                if covered.len() < 2 {
                    continue;
                }
                let span = (covered[0], prefix_end);
                let earlier = readable
                    .blocks
                    .get(&covered[0])
                    .and_then(|ends| ends.range(..prefix_end).next_back())
                    .map(|(end, path)| (*end, path.clone()));
                let mut inputs: Vec<String> = earlier.iter().map(|(_, p)| p.clone()).collect();
                let from = earlier.map_or(covered[0], |(end, _)| end);
                inputs.extend(
                    covered
                        .iter()
                        .filter(|d| **d >= from)
                        .map(|d| readable.days[d].clone()),
                );
                self.ensure(table, &mut readable, &mut written, span, &inputs)
                    .await?;
                kept.insert(span);
            }
        }
        let dropped: Vec<Span> = table
            .blocks
            .keys()
            .filter(|span| !kept.contains(span))
            .map(|(first, end)| Span::Block(*first, *end))
            .collect();
        for span in &dropped {
            if let Span::Block(first, end) = span
                && let Some(ends) = readable.blocks.get_mut(first)
            {
                ends.remove(end);
            }
        }
        Ok(Built {
            written,
            dropped,
            readable,
        })
    }

    /// The file of the block `(first, end)`: the readable one, else one merged from
    /// `inputs` (written, to be committed with `written`).
    async fn ensure(
        &self,
        table: &SummaryTable,
        readable: &mut Readable,
        written: &mut Vec<Written>,
        (first, end): (NaiveDate, NaiveDate),
        inputs: &[String],
    ) -> Result<String> {
        if let Some(path) = readable.block(first, end) {
            return Ok(path.clone());
        }
        let fingerprint = readable.fingerprint(first, end);
        let batches = self.merged(table, first, inputs).await?;
        let file = table
            .write(self.schema, Span::Block(first, end), &fingerprint, &batches)
            .await?;
        let path = file.path().to_string();
        readable.add(first, end, path.clone());
        written.push(file);
        Ok(path)
    }

    /// The rows of `inputs` merged per entity, as a block starting on `first`.
    async fn merged(
        &self,
        table: &SummaryTable,
        first: NaiveDate,
        inputs: &[String],
    ) -> Result<Vec<datafusion::arrow::array::RecordBatch>> {
        let mut states = Vec::new();
        let mut columns = vec![col("entity"), lit(date(first)).alias("day")];
        for field in self.schema.fields().iter().skip(2) {
            let name = field.name();
            let call = self.calls.get(name).ok_or_else(|| {
                EngineError::Internal(format!("no merge of summary column `{name}`"))
            })?;
            let merged = MergeOf::state_udaf(call.clone(), name).map_err(EngineError::Plan)?;
            states.push(
                Expr::AggregateFunction(AggregateFunction::new_udf(
                    Arc::new(merged),
                    vec![col(name.as_str())],
                    false,
                    None,
                    vec![],
                    None,
                ))
                .alias(name),
            );
            columns.push(col(name.as_str()));
        }
        let plan = LogicalPlanBuilder::scan(
            "summaries",
            summaries_source(table, self.schema, inputs).map_err(EngineError::Plan)?,
            None,
        )
        .and_then(|b| b.aggregate(vec![col("entity")], states))
        .and_then(|b| b.project(columns))
        .and_then(|b| b.build())
        .map_err(EngineError::Plan)?;
        let batches = crate::run::collect_plan(self.session, plan)
            .await
            .map_err(|e| super::execution_error(self.session, e))?;
        batches
            .iter()
            .map(|b| stored_batch(b, self.schema).map_err(EngineError::Plan))
            .collect()
    }
}

fn date(day: NaiveDate) -> ScalarValue {
    ScalarValue::Date32(Some((day - NaiveDate::default()).num_days() as i32))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        // 2026-01-01 is day 20454, a multiple of neither 16 nor anything in particular.
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(i64::from(d))
    }

    fn readable(days: &[u32], blocks: &[(u32, u32)]) -> Readable {
        let mut r = Readable {
            days: days.iter().map(|d| (day(*d), format!("d{d}"))).collect(),
            blocks: BTreeMap::new(),
        };
        for (first, end) in blocks {
            r.add(day(*first), day(*end), format!("b{first}-{end}"));
        }
        r
    }

    #[test]
    fn a_range_is_covered_by_the_furthest_blocks_and_days() {
        let r = readable(&[0, 1, 2, 3, 5, 6, 7, 8, 9], &[(1, 4), (1, 8), (5, 7)]);
        assert_eq!(r.cover(day(0), day(10)), ["d0", "b1-8", "d8", "d9"]);
        // A block that passes the end is not read.
        assert_eq!(r.cover(day(1), day(7)), ["b1-4", "b5-7"]);
        assert_eq!(r.cover(day(2), day(4)), ["d2", "d3"]);
        // Days without a summary are skipped.
        assert_eq!(r.cover(day(4), day(6)), ["d5"]);
        assert!(r.cover(day(10), day(20)).is_empty());
        // A window that ends before it starts (dates before the lake) has no files.
        assert!(r.cover(day(6), day(2)).is_empty());
        assert!(r.days_of(day(6), day(2)).is_empty() && !r.any_in(day(6), day(2)));
    }

    #[test]
    fn aligned_runs_end_with_the_chunks_whose_number_they_divide() {
        let chunk = |n: i64| NaiveDate::default() + Duration::days(n * CHUNK_DAYS);
        // Chunk 7 ends runs of 2 (6–7), 4 (4–7) and 8 (0–7) chunks; chunk 6 ends none.
        assert_eq!(
            aligned_runs_ending_with(chunk(7)),
            [chunk(6), chunk(4), chunk(0)]
        );
        assert!(aligned_runs_ending_with(chunk(6)).is_empty());
        assert_eq!(aligned_runs_ending_with(chunk(1281)), [chunk(1280)]);
        // Never longer than 2^MAX_LEVEL chunks.
        assert_eq!(
            aligned_runs_ending_with(chunk(1023)).len(),
            MAX_LEVEL as usize
        );
        // A year-long window is a suffix and a few aligned runs, instead of 21 chunks.
        let mut r = readable(&[], &[]);
        let first = chunk(1280) + Duration::days(5);
        r.days = first
            .iter_days()
            .take(365)
            .map(|d| (d, format!("d{d}")))
            .collect();
        r.add(first, chunk(1281), "suffix".into());
        for c in 1281..1280 + 22 {
            r.add(chunk(c), chunk(c + 1), format!("c{c}"));
            for run in aligned_runs_ending_with(chunk(c)) {
                r.add(
                    run,
                    chunk(c + 1),
                    format!("r{}-{c}", (run - chunk(0)).num_days() / 16),
                );
            }
        }
        let files = r.cover(first, chunk(1280 + 22));
        assert_eq!(
            files,
            [
                "suffix",
                "c1281",
                "r1282-1283",
                "r1284-1287",
                "r1288-1295",
                "r1296-1299",
                "r1300-1301"
            ]
        );
    }

    #[test]
    fn chunks_are_aligned_on_day_numbers() {
        for d in 0..64 {
            let start = chunk_of(day(d));
            assert_eq!((start - NaiveDate::default()).num_days() % CHUNK_DAYS, 0);
            assert!(start <= day(d) && day(d) < start + Duration::days(CHUNK_DAYS));
        }
    }
}
