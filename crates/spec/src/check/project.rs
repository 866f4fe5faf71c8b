//! Checking the project file: timezone, partition columns, column roles.

use std::str::FromStr;

use super::ProjectInput;
use super::context::{FileContext, at};
use crate::diagnostic::{Code, Diagnostics};
use crate::model::{EventsTable, Incremental, PERSON_ID, ProfilesTable, Project, StorageOptions};
use crate::schema::{ColumnKind, LakeSchema};
use crate::syntax::TableFormat;

/// The resolved project, or `None` after reporting problems.
pub fn check_project(
    input: &ProjectInput,
    schema: Option<&LakeSchema>,
    diagnostics: &mut Diagnostics,
) -> Option<Project> {
    let syntax = &input.syntax;
    let mut ctx = FileContext {
        source: &input.source,
        schema,
        has_profiles: syntax.lake.profiles.is_some(),
        catalog: None,
        diagnostics,
    };
    let mut ok = true;
    let timezone = match &syntax.timezone {
        None => "UTC".to_string(),
        Some(tz) => match chrono_tz::Tz::from_str(&tz.value) {
            Ok(_) => tz.value.clone(),
            Err(_) => {
                ctx.report(
                    Code::BadTimezone,
                    at(tz),
                    format!("`{}` is not a known timezone", tz.value),
                    "use an IANA name such as UTC, Europe/Berlin or America/New_York",
                );
                ok = false;
                String::new()
            }
        },
    };
    let events = &syntax.lake.events;
    let columns = &events.columns;
    if let Some(schema) = schema {
        for (role, column, want) in [
            ("entity", &columns.entity, None),
            ("time", &columns.time, Some(ColumnKind::Timestamp)),
            ("event", &columns.event, Some(ColumnKind::Text)),
        ] {
            match schema.events.get(&column.value) {
                None => {
                    let names: Vec<&str> = schema.events.keys().map(String::as_str).collect();
                    ctx.report(
                        Code::UnknownColumn,
                        at(column),
                        format!(
                            "the {role} column `{}` is not in the events table",
                            column.value
                        ),
                        crate::source::did_you_mean(&column.value, &names, "columns"),
                    );
                    ok = false;
                }
                Some(kind) if want.is_some_and(|w| w != *kind) => {
                    ctx.report(
                        Code::TypeMismatch,
                        at(column),
                        format!(
                            "the {role} column `{}` is {}, not {}",
                            column.value,
                            kind.name(),
                            want.map_or("", |w| w.name())
                        ),
                        "point the role at a column of the right type in `lake.events.columns`",
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        if let (Some(profiles), Some(p)) = (&schema.profiles, &syntax.lake.profiles)
            && !profiles.contains_key(&p.key.value)
        {
            let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
            ctx.report(
                Code::UnknownColumn,
                at(&p.key),
                format!("the profiles table has no key column `{}`", p.key.value),
                crate::source::did_you_mean(&p.key.value, &names, "columns"),
            );
            ok = false;
        }
    }
    let format = events.format.as_ref().map(|f| f.value).unwrap_or_default();
    if format == TableFormat::Delta
        && let Some((name, t)) = events.partitioning.iter().flatten().next()
    {
        ctx.report(
            Code::BadLake,
            at(t),
            format!("`partitioning` ({name}) is for hive-partitioned Parquet; a Delta table's log says how it is partitioned"),
            "remove `partitioning:`; segmint skips files outside the scanned time range using the Delta log's statistics",
        );
        ok = false;
    }
    let partitioning = events
        .partitioning
        .iter()
        .flatten()
        .map(|(name, t)| (name.clone(), t.value))
        .collect();
    let destinations = match &syntax.destinations {
        Some(d) => super::activation::destinations(&mut ctx, d),
        None => Some(Vec::new()),
    };
    let destinations = destinations?;
    let memory_limit = match &syntax.memory_limit {
        Some(m) => match crate::size::parse_size(&m.value) {
            Some(bytes) => Some(bytes as u64),
            None => {
                ctx.report(
                    Code::BadSetting,
                    at(m),
                    format!("`{}` is not a memory size", m.value),
                    "write bytes with a unit, e.g. `memory_limit: 2GiB` or `512MB`",
                );
                ok = false;
                None
            }
        },
        None => None,
    };
    let incremental = match &syntax.incremental {
        Some(i) => match &i.lookback_days {
            Some(days) if !(0..=crate::model::MAX_LOOKBACK_DAYS).contains(&days.value) => {
                ctx.report(
                    Code::BadSetting,
                    at(days),
                    format!("`lookback_days: {}` is out of range", days.value),
                    format!(
                        "give 0 to {} days; the as-of day itself is always summarised",
                        crate::model::MAX_LOOKBACK_DAYS
                    ),
                );
                ok = false;
                None
            }
            Some(days) => Some(Incremental {
                lookback_days: days.value as u32,
            }),
            None => Some(Incremental { lookback_days: 1 }),
        },
        None => None,
    };
    let identity = match &syntax.identity {
        Some(i) => {
            let checked = super::identity::check_identity(&mut ctx, i, syntax);
            ok &= checked.is_some();
            checked
        }
        None => None,
    };
    // With identity resolution, segments group by person and profiles join by person.
    let entity = match &identity {
        Some(_) => PERSON_ID.to_string(),
        None => columns.entity.value.clone(),
    };
    ok.then(|| Project {
        root: input.root.clone(),
        events: EventsTable {
            location: events.location.value.clone(),
            format,
            partitioning,
            entity,
            time: columns.time.value.clone(),
            event: columns.event.value.clone(),
        },
        profiles: syntax.lake.profiles.as_ref().map(|p| ProfilesTable {
            location: p.location.value.clone(),
            format: p.format.as_ref().map(|f| f.value).unwrap_or_default(),
            key: match &identity {
                Some(_) => PERSON_ID.to_string(),
                None => p.key.value.clone(),
            },
        }),
        output_location: syntax.output.location.value.clone(),
        timezone,
        storage: storage_options(syntax.storage.as_ref()),
        holdout_salt: syntax
            .holdout_salt
            .as_ref()
            .map_or_else(|| "segmint".to_string(), |s| s.value.clone()),
        destinations,
        memory_limit,
        incremental,
        identity,
    })
}

/// The project's object-store settings with defaults filled in.
fn storage_options(syntax: Option<&crate::syntax::StorageSyntax>) -> StorageOptions {
    let defaults = StorageOptions::default();
    let Some(s) = syntax else {
        return defaults;
    };
    StorageOptions {
        endpoint: s.endpoint.clone(),
        allow_http: s.allow_http,
        region: s.region.clone(),
        virtual_hosted_style: s.virtual_hosted_style,
        retries: s.retries.unwrap_or(defaults.retries),
        timeout_seconds: s.timeout_seconds.unwrap_or(defaults.timeout_seconds),
        connect_timeout_seconds: s
            .connect_timeout_seconds
            .unwrap_or(defaults.connect_timeout_seconds),
    }
}
