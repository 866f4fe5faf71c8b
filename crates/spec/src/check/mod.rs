//! `check`: the parsed syntax becomes the [`Checked`] model — names resolved, references
//! ordered, windows parsed, columns and literal types checked against the lake schema.
//!
//! All problems of all files are collected (not just the first), each a coded diagnostic.

mod activation;
mod context;
mod goal;
mod graph;
mod identity;
mod leaf;
mod lower;
mod models;
mod predicate;
mod project;
mod window;

use std::collections::BTreeSet;

pub use goal::check_goal;
pub use models::ModelsInput;

use sha2::{Digest, Sha256};

use crate::diagnostic::{Code, Diagnostics, Position, SourceText};
use crate::model::{Catalog, Cond, Output, Project, Segment, SegmentBody, Tier};
use crate::schema::LakeSchema;
use crate::syntax::{ProjectSyntax, SegmentSyntax};
use context::{FileContext, at};
use lower::{Lowerer, Purpose};

/// The parsed project file with its text.
pub struct ProjectInput {
    pub source: SourceText,
    pub syntax: ProjectSyntax,
    /// The folder holding the project file.
    pub root: std::path::PathBuf,
}

/// One parsed segment file with its text.
pub struct SegmentInput {
    pub source: SourceText,
    pub syntax: SegmentSyntax,
}

/// A fully checked project: the compiler's input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checked {
    pub project: Project,
    /// Every segment, each after the segments it references.
    pub segments: Vec<Segment>,
    /// Features, models and archetype sets (empty without such files).
    pub catalog: Catalog,
}

impl Checked {
    /// The segment of this name.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// The named segments plus everything they reference, in evaluation order.
    /// Errors with the first unknown name.
    pub fn closure(&self, names: &[String]) -> Result<Vec<&Segment>, String> {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        let mut stack: Vec<&str> = Vec::new();
        for n in names {
            if self.segment(n).is_none() {
                return Err(n.clone());
            }
            stack.push(n);
        }
        while let Some(n) = stack.pop() {
            if wanted.insert(n)
                && let Some(s) = self.segment(n)
            {
                for c in s.conditions() {
                    stack.extend(c.references());
                }
            }
        }
        Ok(self
            .segments
            .iter()
            .filter(|s| wanted.contains(s.name.as_str()))
            .collect())
    }
}

/// Check a project and its segments (no models). `schema: None` skips column and type
/// checks.
pub fn check(
    project: &ProjectInput,
    segments: &[SegmentInput],
    schema: Option<&LakeSchema>,
) -> Result<Checked, Diagnostics> {
    check_with(project, segments, &ModelsInput::default(), schema)
}

/// Check a project, its segments and its features, models and archetype sets.
pub fn check_with(
    project: &ProjectInput,
    segments: &[SegmentInput],
    models: &ModelsInput,
    schema: Option<&LakeSchema>,
) -> Result<Checked, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let checked_project = project::check_project(project, schema, &mut diagnostics);
    let has_profiles = project.syntax.lake.profiles.is_some();
    let catalog = models::check_catalog(models, schema, has_profiles, &mut diagnostics);

    let mut lowered: Vec<Option<Segment>> = Vec::with_capacity(segments.len());
    let mut references: Vec<Vec<(String, Position)>> = Vec::with_capacity(segments.len());
    for input in segments {
        let mut ctx = FileContext {
            source: &input.source,
            schema,
            has_profiles,
            catalog: Some(&catalog),
            diagnostics: &mut diagnostics,
        };
        let mut lowerer = Lowerer::new(&mut ctx);
        let segment = lower_segment(&mut lowerer, input);
        references.push(
            lowerer
                .references
                .into_iter()
                .map(|r| (r.name, r.position))
                .collect(),
        );
        lowered.push(segment);
    }

    let nodes: Vec<graph::Node> = segments
        .iter()
        .zip(&references)
        .map(|(input, refs)| graph::Node {
            name: &input.syntax.segment.value,
            name_position: at(&input.syntax.segment),
            source: &input.source,
            references: refs.iter().map(|(n, p)| (n.as_str(), *p)).collect(),
        })
        .collect();
    let order = graph::order(&nodes, &mut diagnostics);
    check_destination_segments(project, segments, &mut diagnostics);

    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let (Some(project), Some(lowered)) = (
        checked_project,
        lowered.into_iter().collect::<Option<Vec<Segment>>>(),
    ) else {
        return Err(diagnostics);
    };
    let mut slots: Vec<Option<Segment>> = lowered.into_iter().map(Some).collect();
    let segments = order.iter().filter_map(|&i| slots[i].take()).collect();
    Ok(Checked {
        project,
        segments,
        catalog,
    })
}

/// Check the project file alone (no segments): enough to reach the lake for SQL and the
/// output for history. `schema: None` skips the column checks.
pub fn check_project(
    project: &ProjectInput,
    schema: Option<&LakeSchema>,
) -> Result<Project, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    match project::check_project(project, schema, &mut diagnostics) {
        Some(p) if diagnostics.is_empty() => Ok(p),
        _ => Err(diagnostics),
    }
}

/// Every segment a destination names exists.
fn check_destination_segments(
    project: &ProjectInput,
    segments: &[SegmentInput],
    diagnostics: &mut Diagnostics,
) {
    let names: Vec<&str> = segments
        .iter()
        .map(|s| s.syntax.segment.value.as_str())
        .collect();
    let mut ctx = FileContext {
        source: &project.source,
        schema: None,
        has_profiles: false,
        catalog: None,
        diagnostics,
    };
    for node in project.syntax.destinations.iter().flat_map(|d| d.values()) {
        for name in node.value.segments.iter().flat_map(|s| s.value.iter()) {
            if !names.contains(&name.value.as_str()) {
                ctx.report(
                    Code::UnknownSegment,
                    at(name),
                    format!(
                        "the destination names segment `{}`, which does not exist",
                        name.value
                    ),
                    crate::source::did_you_mean(&name.value, &names, "segments"),
                );
            }
        }
    }
}

/// The hash a checked spec carries: SHA-256 of its file's text.
pub(crate) fn spec_hash(source: &SourceText) -> String {
    format!("{:x}", Sha256::digest(source.text.as_bytes()))
}

/// A file's `description:`, trimmed (empty when absent).
pub(crate) fn description(written: Option<&serde_saphyr::Spanned<String>>) -> String {
    written
        .map(|d| d.value.trim().to_string())
        .unwrap_or_default()
}

/// Names are used as column names and path components: `a-z`, digits and `_`.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn lower_segment(lowerer: &mut Lowerer, input: &SegmentInput) -> Option<Segment> {
    let syntax = &input.syntax;
    let name = &syntax.segment;
    let mut ok = true;
    if !valid_name(&name.value) {
        lowerer.ctx.report(
            Code::BadName,
            at(name),
            format!("`{}` is not a valid segment name", name.value),
            "use lowercase letters, digits and `_`, starting with a letter (e.g. `cart_abandoners`)",
        );
        ok = false;
    }
    let body = match (&syntax.condition, &syntax.tiers) {
        (Some(c), None) => lowerer.condition(c).map(SegmentBody::Where),
        (None, Some(tiers)) => lower_tiers(lowerer, tiers).map(SegmentBody::Tiers),
        (None, None) => {
            lowerer.ctx.report(
                Code::BadSegmentBody,
                at(name),
                format!("segment `{}` has neither `where:` nor `tiers:`", name.value),
                "add `where:` with a condition, or `tiers:` with named buckets",
            );
            None
        }
        (Some(c), Some(_)) => {
            lowerer.ctx.report(
                Code::BadSegmentBody,
                at(c),
                format!("segment `{}` has both `where:` and `tiers:`", name.value),
                "a segment is either one condition (`where:`) or named buckets (`tiers:`), not both",
            );
            None
        }
    };
    let outputs = lower_outputs(lowerer, syntax);
    let holdout = match &syntax.holdout {
        Some(h) => match activation::holdout(lowerer.ctx, h) {
            Some(h) => Some(h),
            None => {
                ok = false;
                None
            }
        },
        None => None,
    };
    let body = body?;
    if !ok {
        return None;
    }
    Some(Segment {
        name: name.value.clone(),
        description: description(syntax.description.as_ref()),
        file: input.source.name.clone(),
        body,
        outputs: outputs?,
        spec_hash: spec_hash(&input.source),
        holdout,
    })
}

/// Column names the members table uses itself.
const RESERVED_OUTPUTS: [&str; 3] = ["entity", "as_of", "tier"];

/// `outputs:`: each a measurable leaf without its comparison.
fn lower_outputs(lowerer: &mut Lowerer, syntax: &SegmentSyntax) -> Option<Vec<Output>> {
    let Some(map) = &syntax.outputs else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    let mut ok = true;
    lowerer.purpose = Purpose::Output;
    for (name, node) in &map.value {
        if !valid_name(name) || RESERVED_OUTPUTS.contains(&name.as_str()) {
            lowerer.ctx.report(
                Code::BadOutput,
                at(node),
                format!("`{name}` cannot name an output column"),
                "use lowercase letters, digits and `_`, starting with a letter, and not entity, as_of or tier",
            );
            ok = false;
            continue;
        }
        match lowerer.condition(node) {
            Some(Cond::Leaf(measure)) if !matches!(measure, crate::model::Leaf::Trait(_)) => {
                out.push(Output {
                    name: name.clone(),
                    measure,
                });
            }
            Some(_) => {
                lowerer.ctx.report(
                    Code::BadOutput,
                    at(node),
                    format!("output `{name}` is not a measure of behaviour"),
                    "an output is one leaf such as `metric`, `performed`, `affinity`, `rfm`, `momentum` or `cadence` — not all/any/not/in_segment/trait",
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    lowerer.purpose = Purpose::Condition;
    ok.then_some(out)
}

fn lower_tiers(
    lowerer: &mut Lowerer,
    tiers: &serde_saphyr::Spanned<Vec<serde_saphyr::Spanned<crate::syntax::TierSyntax>>>,
) -> Option<Vec<Tier>> {
    if tiers.value.is_empty() {
        lowerer.ctx.report(
            Code::EmptyGroup,
            at(tiers),
            "`tiers` is empty",
            "list at least one tier: `- name: daily` with a `where:`",
        );
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut ok = true;
    let last = tiers.value.len() - 1;
    for (i, tier) in tiers.value.iter().enumerate() {
        let name = &tier.value.name;
        if !valid_name(&name.value) {
            lowerer.ctx.report(
                Code::BadName,
                at(name),
                format!("`{}` is not a valid tier name", name.value),
                "use lowercase letters, digits and `_`, starting with a letter",
            );
            ok = false;
        }
        if !seen.insert(name.value.clone()) {
            lowerer.ctx.report(
                Code::BadTiers,
                at(name),
                format!("tier `{}` appears twice", name.value),
                "tier names must be unique within a segment",
            );
            ok = false;
        }
        let condition = match &tier.value.condition {
            Some(c) => match lowerer.condition(c) {
                Some(c) => Some(c),
                None => {
                    ok = false;
                    None
                }
            },
            None if i == last => None,
            None => {
                lowerer.ctx.report(
                    Code::BadTiers,
                    at(tier),
                    format!("tier `{}` has no `where:` but is not the last tier", name.value),
                    "only the last tier may omit `where:` (it then takes everyone left); move it last or add a condition",
                );
                ok = false;
                None
            }
        };
        out.push(Tier {
            name: name.value.clone(),
            condition,
        });
    }
    ok.then_some(out)
}
