//! `identity show`: one person's identifiers, the edges that were not merged into it and the
//! people merged into it.

use std::collections::HashSet;

use segmint_spec::Identity;
use serde::Serialize;

use super::table::{self, Merge, State};
use crate::error::{EngineError, Result};
use crate::output::OutputTables;

/// One person as `identity show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub person_id: String,
    /// `(type, value, first seen, last seen)`.
    pub identifiers: Vec<(String, String, Option<String>, Option<String>)>,
    /// Edges touching this person that were not merged, with the reason.
    pub dropped_edges: Vec<String>,
    /// People merged into this one.
    pub merged_from: Vec<Merge>,
}

fn time_text(us: Option<i64>) -> Option<String> {
    us.and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.to_rfc3339())
}

/// The committed state (for `identity show` / `stats`).
pub async fn load_state(output: &OutputTables, identity: &Identity) -> Result<State> {
    super::stored::load(output, &identity.identifiers)
        .await?
        .ok_or_else(|| {
            EngineError::Usage(format!(
                "no identity map at {} yet: run `segmint identity build` first",
                output.describe(table::IDENTITY)
            ))
        })
}

/// A person by person id, or by any of its identifiers (`type:value` or a bare value).
pub fn person(state: &State, id: &str) -> Option<PersonView> {
    let by_identifier = state.nodes.iter().enumerate().find(|(_, n)| {
        let t = &state.types[n.rank as usize];
        n.value == id || format!("{t}:{}", n.value) == id
    });
    let person_id = if state.person.iter().any(|p| &**p == id) {
        id.to_string()
    } else if let Some(m) = state.merges.iter().rev().find(|m| m.merged == id) {
        m.into.clone()
    } else {
        state.person[by_identifier?.0].to_string()
    };
    let members: HashSet<u32> = (0..state.nodes.len() as u32)
        .filter(|i| *state.person[*i as usize] == *person_id)
        .collect();
    let mut identifiers: Vec<_> = members
        .iter()
        .map(|i| {
            let n = &state.nodes[*i as usize];
            (
                state.types[n.rank as usize].clone(),
                n.value.clone(),
                time_text(n.first_seen),
                time_text(n.last_seen),
            )
        })
        .collect();
    identifiers.sort();
    let dropped_edges = state
        .edges
        .iter()
        .zip(&state.dropped)
        .filter(|(e, d)| d.is_some() && (members.contains(&e.a) || members.contains(&e.b)))
        .map(|(e, d)| {
            let (a, b) = (&state.nodes[e.a as usize], &state.nodes[e.b as usize]);
            format!(
                "{}:{} — {}:{} ({})",
                state.types[a.rank as usize],
                a.value,
                state.types[b.rank as usize],
                b.value,
                d.clone().unwrap_or_default()
            )
        })
        .collect();
    let merged_from = state
        .merges
        .iter()
        .filter(|m| m.into == person_id)
        .cloned()
        .collect();
    Some(PersonView {
        person_id,
        identifiers,
        dropped_edges,
        merged_from,
    })
}
