//! Checking `identity:`: identifier columns exist and are text or integers, limits and edge
//! tables name identifier types, blocked patterns are regexes, the entity and profile key
//! columns are identifiers.

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use crate::diagnostic::Code;
use crate::model::{DEFAULT_BLOCKED, EdgeTable, Identity};
use crate::schema::ColumnKind;
use crate::syntax::{IdentitySyntax, ProjectSyntax};

/// The checked identity settings, or `None` after reporting problems.
pub fn check_identity(
    ctx: &mut FileContext<'_>,
    syntax: &Spanned<IdentitySyntax>,
    project: &ProjectSyntax,
) -> Option<Identity> {
    let s = &syntax.value;
    let mut ok = true;
    let mut identifiers: Vec<String> = Vec::new();
    for id in &s.identifiers.value {
        if identifiers.contains(&id.value) {
            ctx.report(
                Code::BadIdentity,
                at(id),
                format!("identifier `{}` is listed twice", id.value),
                "list each identifier column once, highest priority first",
            );
            ok = false;
            continue;
        }
        ok &= identifier_column(ctx, id);
        identifiers.push(id.value.clone());
    }
    if identifiers.is_empty() {
        ctx.report(
            Code::BadIdentity,
            at(&s.identifiers),
            "`identifiers` is empty",
            "list the identifier columns of the events table, e.g. `[user_id, anonymous_id]`",
        );
        return None;
    }
    let hint_types = format!("identifier types are: {}", identifiers.join(", "));
    let entity = &project.lake.events.columns.entity;
    if !identifiers.contains(&entity.value) {
        ctx.report(
            Code::BadIdentity,
            at(entity),
            format!(
                "the entity column `{}` is not one of `identity.identifiers`",
                entity.value
            ),
            format!("add it to `identifiers` (usually first); {hint_types}"),
        );
        ok = false;
    }
    let profiles_key = project.lake.profiles.as_ref().map(|p| &p.key);
    if let Some(key) = profiles_key
        && !identifiers.contains(&key.value)
    {
        ctx.report(
            Code::BadIdentity,
            at(key),
            format!(
                "the profiles key `{}` is not an identifier type, so profiles cannot be joined to people",
                key.value
            ),
            format!("name the profiles key after the identifier it holds; {hint_types}"),
        );
        ok = false;
    }
    let mut limits = Vec::new();
    for (id_type, n) in s.limits.iter().flatten() {
        if !identifiers.contains(id_type) {
            ctx.report(
                Code::BadIdentity,
                at(n),
                format!("limit on `{id_type}`, which is not an identifier"),
                hint_types.clone(),
            );
            ok = false;
        } else if n.value == 0 {
            ctx.report(
                Code::BadIdentity,
                at(n),
                format!("a limit of 0 `{id_type}` per person leaves no one"),
                "limits are at least 1; remove the entry for no limit",
            );
            ok = false;
        } else {
            limits.push((id_type.clone(), n.value));
        }
    }
    limits.sort_by_key(|(t, _)| identifiers.iter().position(|i| i == t));
    let defaults = s.default_blocked.as_ref().is_none_or(|d| d.value);
    let mut blocked: Vec<String> = if defaults {
        DEFAULT_BLOCKED.iter().map(|p| p.to_string()).collect()
    } else {
        Vec::new()
    };
    for pattern in s.blocked.iter().flatten() {
        match regex::Regex::new(&pattern.value) {
            Ok(_) => blocked.push(pattern.value.clone()),
            Err(e) => {
                ctx.report(
                    Code::BadIdentity,
                    at(pattern),
                    format!("`{}` is not a regular expression: {e}", pattern.value),
                    "blocked values are Rust regexes, e.g. '^test-' or '^(?i)n/a$'",
                );
                ok = false;
            }
        }
    }
    let mut edges = Vec::new();
    for table in s.edges.iter().flatten() {
        let t = &table.value;
        let mut columns = Vec::new();
        for (id_type, column) in &t.columns {
            if identifiers.contains(id_type) {
                columns.push((id_type.clone(), column.value.clone()));
            } else {
                ctx.report(
                    Code::BadIdentity,
                    at(column),
                    format!("edge column for `{id_type}`, which is not an identifier"),
                    hint_types.clone(),
                );
                ok = false;
            }
        }
        if t.columns.len() < 2 {
            ctx.report(
                Code::BadIdentity,
                at(&t.location),
                "an edge table needs two or more identifier columns",
                "map identifier types to its columns, e.g. `columns: {user_id: uid, email_hash: email}`",
            );
            ok = false;
        }
        columns.sort_by_key(|(t, _)| identifiers.iter().position(|i| i == t));
        edges.push(EdgeTable {
            location: t.location.value.clone(),
            format: t.format.as_ref().map(|f| f.value).unwrap_or_default(),
            columns,
        });
    }
    let max_person_size = s.max_person_size.as_ref().map_or(1000, |m| m.value);
    if let Some(m) = &s.max_person_size
        && m.value < 2
    {
        ctx.report(
            Code::BadIdentity,
            at(m),
            "`max_person_size` must be at least 2",
            "it is the number of identifiers above which a person is suspicious (default 1000)",
        );
        ok = false;
    }
    ok.then(|| Identity {
        identifiers,
        limits,
        blocked,
        edges,
        max_person_size,
        allow_oversized: s.allow_oversized.as_ref().is_some_and(|a| a.value),
        profiles_key: profiles_key.map(|k| k.value.clone()),
    })
}

/// An identifier column must be in the events table, as text or an integer.
fn identifier_column(ctx: &mut FileContext<'_>, id: &Spanned<String>) -> bool {
    let Some(schema) = ctx.schema else {
        return true;
    };
    match schema.events.get(&id.value) {
        None => {
            let names: Vec<&str> = schema.events.keys().map(String::as_str).collect();
            let hint = crate::source::did_you_mean(&id.value, &names, "columns");
            ctx.report(
                Code::UnknownColumn,
                at(id),
                format!(
                    "identifier column `{}` is not in the events table",
                    id.value
                ),
                hint,
            );
            false
        }
        Some(ColumnKind::Text | ColumnKind::Integer) => true,
        Some(kind) => {
            ctx.report(
                Code::TypeMismatch,
                at(id),
                format!("identifier column `{}` is {}", id.value, kind.name()),
                "identifiers are text or integer columns",
            );
            false
        }
    }
}
