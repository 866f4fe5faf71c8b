//! docs/segments.md shows an example per leaf and the SQL it compiles to. This test compiles
//! every `<!-- example: … -->` YAML block of the page (against the generated lake's schema,
//! as-of 2026-11-22 UTC) and checks that the ```sql block after it is exactly the
//! compiler's output, so the page cannot go stale. `SEGMINT_UPDATE_DOCS=1` rewrites it.

use std::path::Path;

use chrono::NaiveDate;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Expr, LogicalPlan};
use segmint_compiler::{AsOf, compile};
use segmint_spec::load::{parse_project, parse_segment};
use segmint_spec::source::source_from_bytes;
use segmint_tests::{lake_schema, project_yaml};

use crate::plans::sources;

fn sql_of(expr: &Expr) -> String {
    match expr {
        Expr::Alias(a) => format!("{} AS {}", sql_of(&a.expr), a.name),
        e => match datafusion::sql::unparser::expr_to_sql(e) {
            Ok(sql) => sql.to_string(),
            Err(err) => panic!("cannot unparse {e}: {err}"),
        },
    }
}

/// The aggregate columns, window columns and membership expression of one segment's plan.
fn render(plan: &LogicalPlan, segment: &str) -> String {
    let mut aggregates = Vec::new();
    let mut windows: Vec<(String, String)> = Vec::new();
    let mut window_names = std::collections::HashMap::new();
    let mut membership = None;
    plan.apply(|node| {
        match node {
            LogicalPlan::Aggregate(a) => aggregates.extend(a.aggr_expr.iter().map(sql_of)),
            LogicalPlan::Window(w) => windows.extend(
                w.window_expr
                    .iter()
                    .map(|e| (e.schema_name().to_string(), sql_of(e))),
            ),
            LogicalPlan::Projection(p) => {
                for e in &p.expr {
                    match e {
                        Expr::Alias(a) if a.name == segment && membership.is_none() => {
                            membership = Some(sql_of(e));
                        }
                        Expr::Alias(a) if a.name.starts_with("__win_") => {
                            if let Expr::Column(c) = a.expr.as_ref() {
                                window_names.insert(c.name.clone(), a.name.clone());
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .unwrap();
    let mut windows: Vec<String> = windows
        .into_iter()
        .map(|(name, sql)| format!("{sql} AS {}", window_names[&name]))
        .collect();
    windows.sort_by_key(|w| w.rsplit(' ').next().map(str::to_string));
    let mut out = String::from("-- per entity (one GROUP BY for the whole run)\n");
    out.push_str(&aggregates.join(",\n"));
    if !windows.is_empty() {
        out.push_str("\n-- over all entities (window functions over the grouped rows)\n");
        out.push_str(&windows.join(",\n"));
    }
    out.push_str("\n-- membership\n");
    out.push_str(&membership.expect("membership column"));
    out.push('\n');
    out
}

/// Compile one example segment and render its SQL.
fn compile_example(yaml: &str) -> String {
    let project_src = source_from_bytes("segmint.yaml", project_yaml().into_bytes()).unwrap();
    let project = parse_project(project_src, ".".into()).unwrap();
    let segment = source_from_bytes("example.yaml", yaml.as_bytes().to_vec())
        .and_then(parse_segment)
        .unwrap_or_else(|d| panic!("{}", d));
    let checked = segmint_spec::check(&project, &[segment], Some(&lake_schema()))
        .unwrap_or_else(|d| panic!("{}", d.render(false)));
    let name = checked.segments[0].name.clone();
    let as_of = AsOf::new(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), "UTC").unwrap();
    let (events, profiles) = sources();
    let compiled = compile(
        &checked,
        &[],
        as_of,
        events,
        Some(profiles),
        false,
        &Default::default(),
    )
    .unwrap();
    render(&compiled.plan, &name)
}

/// The page with every example's SQL block regenerated; also the number of examples.
fn regenerate(page: &str) -> (String, usize) {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    let mut examples = 0;
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_string());
        if lines[i].starts_with("<!-- example:") {
            examples += 1;
            assert_eq!(lines[i + 1], "```yaml", "yaml block after {}", lines[i]);
            let mut j = i + 2;
            let mut yaml = String::new();
            while lines[j] != "```" {
                yaml.push_str(lines[j]);
                yaml.push('\n');
                j += 1;
            }
            out.extend(lines[i + 1..=j].iter().map(|l| l.to_string()));
            assert_eq!(lines[j + 1], "<!-- compiles to -->");
            assert_eq!(lines[j + 2], "```sql");
            let mut k = j + 3;
            while lines[k] != "```" {
                k += 1;
            }
            out.push("<!-- compiles to -->".into());
            out.push("```sql".into());
            out.push(compile_example(&yaml).trim_end().to_string());
            out.push("```".into());
            i = k + 1;
            continue;
        }
        i += 1;
    }
    (out.join("\n") + "\n", examples)
}

#[test]
fn docs_segments_sql_matches_the_compiler() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/segments.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let (expected, examples) = regenerate(&page);
    assert!(examples >= 12, "one example per leaf, found {examples}");
    if std::env::var_os("SEGMINT_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        page == expected,
        "docs/segments.md is stale: run SEGMINT_UPDATE_DOCS=1 cargo nextest run --workspace -E 'test(docs)'"
    );
}
