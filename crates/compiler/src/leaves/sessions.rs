//! `sessions`: `session_stats(time, gap) FILTER (…)`; the number of sessions, the mean
//! length in minutes and the mean events per session, each compared when asked.

use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::lit;
use segmint_spec::Sessions;
use segmint_udfs::expr_fn::session_stats;

use crate::compare::{compare_all, conjunction};
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null, seconds, zero};

impl LeafPlan for Sessions {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let cond = c.events_in(&self.matching, self.window)?;
        let stats = aggs.column(LeafCompiler::filtered(
            session_stats(c.time(), seconds(self.gap)),
            cond,
        )?);
        let sessions = zero(get_field(stats.clone(), "sessions"));
        let minutes = get_field(stats.clone(), "mean_session_seconds") / lit(60.0);
        let per = get_field(stats, "mean_events_per_session");
        let holds = conjunction(
            [
                (&sessions, &self.count),
                (&minutes, &self.mean_minutes),
                (&per, &self.events_per_session),
            ]
            .into_iter()
            .filter(|(_, cmps)| !cmps.is_empty())
            .map(|(value, cmps)| compare_all(value, cmps))
            .collect(),
        );
        Ok(CompiledLeaf {
            value: sessions,
            holds: never_null(holds),
        })
    }

    fn describe(&self) -> String {
        format!(
            "sessions(gap {} | {}) {}",
            self.gap,
            matching(&self.matching),
            window(&self.window)
        )
    }
}
