//! Segment references: duplicate names, unknown references, cycles, and evaluation order.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Position, SourceText};

/// One segment as seen by the graph check.
pub struct Node<'a> {
    pub name: &'a str,
    pub name_position: Position,
    pub source: &'a SourceText,
    pub references: Vec<(&'a str, Position)>,
}

/// Report duplicates, unknown references and cycles; return an order where every segment
/// comes after the segments it references (ties keep file order).
pub fn order(nodes: &[Node], diagnostics: &mut Diagnostics) -> Vec<usize> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if let Some(&first) = index.get(node.name) {
            diagnostics.push(Diagnostic::new(
                Code::DuplicateSegment,
                node.source,
                node.name_position,
                format!("segment `{}` is defined twice", node.name),
                format!(
                    "it is also defined in {}:{}; segment names must be unique — rename one",
                    nodes[first].source.name, nodes[first].name_position.line
                ),
            ));
        } else {
            index.insert(node.name, i);
        }
    }
    let names: Vec<&str> = index.keys().copied().collect();
    for node in nodes {
        for (reference, position) in &node.references {
            if !index.contains_key(reference) {
                diagnostics.push(Diagnostic::new(
                    Code::UnknownSegment,
                    node.source,
                    *position,
                    format!("`in_segment` refers to `{reference}`, which is not defined"),
                    crate::source::did_you_mean(reference, &sorted(&names), "segments"),
                ));
            }
        }
    }

    // Depth-first topological sort; a back edge is a cycle, reported where it closes.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; nodes.len()];
    let mut out = Vec::with_capacity(nodes.len());
    fn visit(
        i: usize,
        nodes: &[Node],
        index: &HashMap<&str, usize>,
        marks: &mut Vec<Mark>,
        path: &mut Vec<usize>,
        out: &mut Vec<usize>,
        diagnostics: &mut Diagnostics,
    ) {
        marks[i] = Mark::Active;
        path.push(i);
        for (reference, position) in &nodes[i].references {
            let Some(&j) = index.get(reference) else {
                continue;
            };
            match marks[j] {
                Mark::New => visit(j, nodes, index, marks, path, out, diagnostics),
                Mark::Active => {
                    let start = path.iter().position(|&p| p == j).unwrap_or(0);
                    let mut cycle: Vec<&str> =
                        path[start..].iter().map(|&p| nodes[p].name).collect();
                    cycle.push(nodes[j].name);
                    diagnostics.push(Diagnostic::new(
                        Code::ReferenceCycle,
                        nodes[i].source,
                        *position,
                        format!("segments reference each other in a cycle: {}", cycle.join(" → ")),
                        "a segment cannot depend on itself, directly or through others; remove one `in_segment`",
                    ));
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        out.push(i);
    }
    for i in 0..nodes.len() {
        if marks[i] == Mark::New && index.get(nodes[i].name) == Some(&i) {
            let mut path = Vec::new();
            visit(
                i,
                nodes,
                &index,
                &mut marks,
                &mut path,
                &mut out,
                diagnostics,
            );
        }
    }
    out
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    v.sort_unstable();
    v
}
