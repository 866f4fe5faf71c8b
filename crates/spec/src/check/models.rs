//! Checking the forward-looking files: `features.yaml`, `models/*.yaml` and
//! `archetypes/*.yaml`, into the [`Catalog`] that `predict` and `archetype` leaves resolve
//! against.

use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use super::lower::{Lowerer, Purpose};
use super::{description, spec_hash, valid_name};
use crate::diagnostic::{Code, Diagnostics, SourceText};
use crate::model::{
    ArchetypeSpec, Catalog, Cond, Feature, KChoice, Leaf, ModelSpec, features_hash,
};
use crate::schema::LakeSchema;
use crate::syntax::{ArchetypesSyntax, FeaturesSyntax, ModelSyntax};

/// The parsed forward-looking files of a project (all optional).
#[derive(Default)]
pub struct ModelsInput {
    pub features: Option<(SourceText, FeaturesSyntax)>,
    pub models: Vec<(SourceText, ModelSyntax)>,
    pub archetypes: Vec<(SourceText, ArchetypesSyntax)>,
}

impl ModelsInput {
    pub fn is_empty(&self) -> bool {
        self.features.is_none() && self.models.is_empty() && self.archetypes.is_empty()
    }
}

/// The most archetypes a set may have.
const MAX_K: u32 = 20;

/// Check every file; the catalog (`None` when something was reported).
pub fn check_catalog(
    input: &ModelsInput,
    schema: Option<&LakeSchema>,
    has_profiles: bool,
    diagnostics: &mut Diagnostics,
) -> Catalog {
    let (features, invalid) = match &input.features {
        Some((source, syntax)) => {
            let mut ctx = FileContext {
                source,
                schema,
                has_profiles,
                catalog: None,
                diagnostics,
            };
            lower_features(&mut ctx, syntax)
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut catalog = Catalog {
        features,
        invalid,
        ..Catalog::default()
    };
    let mut names = BTreeSet::new();
    for (source, syntax) in &input.models {
        let mut ctx = FileContext {
            source,
            schema,
            has_profiles,
            catalog: None,
            diagnostics,
        };
        match lower_model(&mut ctx, syntax, &catalog) {
            Some(model) if unique(&mut ctx, &mut names, &syntax.model, "model") => {
                catalog.models.push(model);
            }
            Some(_) => {}
            None => catalog.invalid.push(syntax.model.value.clone()),
        }
    }
    for (source, syntax) in &input.archetypes {
        let mut ctx = FileContext {
            source,
            schema,
            has_profiles,
            catalog: None,
            diagnostics,
        };
        match lower_archetypes(&mut ctx, syntax, &catalog) {
            Some(set) if unique(&mut ctx, &mut names, &syntax.archetypes, "archetype set") => {
                catalog.archetypes.push(set);
            }
            Some(_) => {}
            None => catalog.invalid.push(syntax.archetypes.value.clone()),
        }
    }
    catalog
}

/// Models and archetype sets share one namespace (their parameters are stored by name).
fn unique(
    ctx: &mut FileContext,
    names: &mut BTreeSet<String>,
    name: &Spanned<String>,
    what: &str,
) -> bool {
    if names.insert(name.value.clone()) {
        return true;
    }
    ctx.report(
        Code::BadModel,
        at(name),
        format!(
            "a model or archetype set named `{}` exists already",
            name.value
        ),
        format!("give this {what} another name"),
    );
    false
}

/// The valid features, and the names of those with errors.
fn lower_features(ctx: &mut FileContext, syntax: &FeaturesSyntax) -> (Vec<Feature>, Vec<String>) {
    let mut out = Vec::new();
    let mut invalid = Vec::new();
    let mut lowerer = Lowerer::new(ctx);
    lowerer.purpose = Purpose::Output;
    for (name, node) in &syntax.features.value {
        if !valid_name(name) {
            lowerer.ctx.report(
                Code::BadModel,
                at(node),
                format!("`{name}` cannot name a feature"),
                "use lowercase letters, digits and `_`, starting with a letter",
            );
            invalid.push(name.clone());
            continue;
        }
        match lowerer.condition(node) {
            Some(Cond::Leaf(leaf))
                if !matches!(leaf, Leaf::Trait(_) | Leaf::Predict(_) | Leaf::Archetype(_)) =>
            {
                out.push(Feature {
                    name: name.clone(),
                    leaf,
                });
            }
            Some(_) => {
                lowerer.ctx.report(
                    Code::BadModel,
                    at(node),
                    format!("feature `{name}` is not a measure of behaviour"),
                    "a feature is one leaf as in `outputs:` (`performed`, `metric`, `last_performed`, `momentum`, `cadence`, `rfm`, …) — not a condition, a trait, a prediction or an archetype",
                );
                invalid.push(name.clone());
            }
            None => invalid.push(name.clone()),
        }
    }
    (out, invalid)
}

/// The named features, each once, in the order written.
fn resolve_features(
    ctx: &mut FileContext,
    names: &Spanned<Vec<Spanned<String>>>,
    catalog: &Catalog,
) -> Option<Vec<Feature>> {
    let features = &catalog.features;
    if names.value.is_empty() {
        ctx.report(
            Code::BadModel,
            at(names),
            "`features` is empty",
            "list features declared in features.yaml, e.g. `features: [purchases_90d, days_since_last_event]`",
        );
        return None;
    }
    let known: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    let mut out: Vec<Feature> = Vec::new();
    let mut ok = true;
    for name in &names.value {
        match features.iter().find(|f| f.name == name.value) {
            Some(f) if out.iter().any(|o| o.name == f.name) => {
                ctx.report(
                    Code::BadModel,
                    at(name),
                    format!("feature `{}` is listed twice", name.value),
                    "list each feature once",
                );
                ok = false;
            }
            Some(f) => out.push(f.clone()),
            // Its own declaration has an error, reported there.
            None if catalog.is_invalid(&name.value) => ok = false,
            None => {
                ctx.report(
                    Code::UnknownModel,
                    at(name),
                    format!("feature `{}` is not declared", name.value),
                    if known.is_empty() {
                        "declare it in features.yaml (`features: {name: <leaf>}`)".to_string()
                    } else {
                        crate::source::did_you_mean(&name.value, &known, "features")
                    },
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `20%` as a fraction strictly between 0 and 1.
fn share(ctx: &mut FileContext, text: &Spanned<String>, key: &str) -> Option<f64> {
    let parsed = text
        .value
        .trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|p| *p > 0.0 && *p < 100.0);
    if parsed.is_none() {
        ctx.report(
            Code::BadModel,
            at(text),
            format!("`{}` is not a share for `{key}`", text.value),
            format!("write a percentage between 0% and 100%, e.g. `{key}: 20%`"),
        );
    }
    parsed.map(|p| p / 100.0)
}

/// The `log:` list: each one of the listed features.
fn logged(
    ctx: &mut FileContext,
    log: &Option<Spanned<Vec<Spanned<String>>>>,
    features: &Spanned<Vec<Spanned<String>>>,
) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut ok = true;
    for f in log.iter().flat_map(|l| l.value.iter()) {
        if features.value.iter().any(|n| n.value == f.value) {
            out.push(f.value.clone());
        } else {
            ctx.report(
                Code::UnknownModel,
                at(f),
                format!(
                    "`{}` under `log` is not one of the listed features",
                    f.value
                ),
                "list features of `features:` only",
            );
            ok = false;
        }
    }
    ok.then_some(out)
}

/// Whether `name` is a valid name for a `what`; reports it when not.
fn named(ctx: &mut FileContext, name: &Spanned<String>, what: &str, example: &str) -> bool {
    if valid_name(&name.value) {
        return true;
    }
    ctx.report(
        Code::BadName,
        at(name),
        format!("`{}` is not a valid {what} name", name.value),
        format!("use lowercase letters, digits and `_`, starting with a letter (e.g. `{example}`)"),
    );
    false
}

fn lower_model(
    ctx: &mut FileContext,
    syntax: &ModelSyntax,
    catalog: &Catalog,
) -> Option<ModelSpec> {
    let name = &syntax.model;
    let mut ok = named(ctx, name, "model", "will_purchase_30d");
    let resolved = resolve_features(ctx, &syntax.features, catalog);
    let log = logged(ctx, &syntax.log, &syntax.features);
    let test_share = match &syntax.test_share {
        Some(t) => share(ctx, t, "test_share"),
        None => Some(0.2),
    };
    let l2 = match &syntax.l2 {
        Some(v) if v.value >= 0.0 && v.value.is_finite() => Some(v.value),
        Some(v) => {
            ctx.report(
                Code::BadModel,
                at(v),
                format!("{} is not a regularization strength", v.value),
                "`l2` is 0 or more, e.g. `l2: 1.0`",
            );
            None
        }
        None => Some(1.0),
    };
    let mut lowerer = Lowerer::new(ctx);
    let label = &syntax.predict.value;
    let matching = lowerer.matching(&label.event, &label.filters);
    let horizon = lowerer.span_of(&label.within);
    if let Some(h) = horizon
        && h.calendar_days().is_none()
    {
        lowerer.bad(
            at(&label.within),
            format!("`{}` is not a number of days", label.within.value),
            "the horizon is calendar days, e.g. `within: 30d` or `within: 4w`",
        );
        ok = false;
    }
    let resolved = resolved?;
    if !ok {
        return None;
    }
    Some(ModelSpec {
        name: name.value.clone(),
        description: description(syntax.description.as_ref()),
        file: ctx.source.name.clone(),
        label: matching?,
        horizon: horizon?,
        features_hash: features_hash(&resolved, log.as_ref()?),
        features: resolved,
        log: log?,
        test_share: test_share?,
        min_positives: syntax.min_positives.as_ref().map_or(30, |m| m.value),
        l2: l2?,
        spec_hash: spec_hash(ctx.source),
    })
}

fn lower_archetypes(
    ctx: &mut FileContext,
    syntax: &ArchetypesSyntax,
    catalog: &Catalog,
) -> Option<ArchetypeSpec> {
    let name = &syntax.archetypes;
    let mut ok = named(ctx, name, "archetype set", "activity_styles");
    let resolved = resolve_features(ctx, &syntax.features, catalog);
    let k_ok = |k: u32| (2..=MAX_K).contains(&k);
    let k = match (&syntax.k, &syntax.k_range) {
        (Some(k), None) if k_ok(k.value) => Some(KChoice::Fixed(k.value)),
        (None, Some(r))
            if r.value.len() == 2
                && k_ok(r.value[0].value)
                && k_ok(r.value[1].value)
                && r.value[0].value < r.value[1].value =>
        {
            Some(KChoice::Range(r.value[0].value, r.value[1].value))
        }
        (Some(k), None) => {
            ctx.report(
                Code::BadModel,
                at(k),
                format!("k = {} is out of range", k.value),
                format!("between 2 and {MAX_K} archetypes, e.g. `k: 6`"),
            );
            None
        }
        (None, Some(r)) => {
            ctx.report(
                Code::BadModel,
                at(r),
                "`k_range` is not a range of archetype counts",
                format!(
                    "two counts between 2 and {MAX_K}, the first smaller, e.g. `k_range: [3, 8]`"
                ),
            );
            None
        }
        (Some(k), Some(_)) => {
            ctx.report(
                Code::BadModel,
                at(k),
                "both `k` and `k_range`",
                "give one: `k: 6`, or `k_range: [3, 8]` to choose by silhouette",
            );
            None
        }
        (None, None) => {
            ctx.report(
                Code::BadModel,
                at(name),
                format!("archetype set `{}` has no `k`", name.value),
                "e.g. `k: 6`, or `k_range: [3, 8]` to choose by silhouette",
            );
            None
        }
    };
    let log = logged(ctx, &syntax.log, &syntax.features);
    ok &= log.is_some();
    let resolved = resolved?;
    if !ok {
        return None;
    }
    Some(ArchetypeSpec {
        name: name.value.clone(),
        description: description(syntax.description.as_ref()),
        file: ctx.source.name.clone(),
        // The log transforms change the space the centroids live in: part of the hash.
        features_hash: features_hash(&resolved, log.as_ref()?),
        features: resolved,
        k: k?,
        log: log?,
        seed: syntax.seed.as_ref().map_or(42, |s| s.value),
        spec_hash: spec_hash(ctx.source),
    })
}
