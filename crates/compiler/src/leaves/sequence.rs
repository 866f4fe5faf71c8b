//! `sequence`: `sequence_match(pattern, time, step…) FILTER (WHERE events window)`, the
//! pattern built from the steps' gaps in ClickHouse's syntax.

use segmint_spec::{Gap, Sequence, SequenceStep};
use segmint_udfs::expr_fn::sequence_match;

use crate::compare::conjunction;
use crate::describe::{matching, window};
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null};

/// The ClickHouse pattern of a sequence's steps: `(?1)` then, per step, `.*(?k)`
/// (eventually), `(?k)` (immediately), `(?t<=S)(?k)` (within) or `(?t>=S)(?k)` (after).
pub fn sequence_pattern(steps: &[SequenceStep]) -> String {
    let mut pattern = String::new();
    for (i, step) in steps.iter().enumerate() {
        let k = i + 1;
        if i > 0 {
            match step.gap {
                Gap::Eventually => pattern.push_str(".*"),
                Gap::Immediately => {}
                Gap::Within(s) => pattern.push_str(&format!("(?t<={})", s.fixed_seconds())),
                Gap::After(s) => pattern.push_str(&format!("(?t>={})", s.fixed_seconds())),
            }
        }
        pattern.push_str(&format!("(?{k})"));
    }
    pattern
}

impl LeafPlan for Sequence {
    fn plan(&self, c: &LeafCompiler, aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let steps = self
            .steps
            .iter()
            .map(|s| conjunction(c.matching(&s.matching)))
            .collect();
        let matched = sequence_match(&sequence_pattern(&self.steps), c.time(), steps);
        let matched = aggs.column(LeafCompiler::filtered(matched, c.window(self.events)?)?);
        Ok(CompiledLeaf::truth(never_null(matched)))
    }

    fn describe(&self) -> String {
        let steps: Vec<String> = self.steps.iter().map(|s| matching(&s.matching)).collect();
        format!("sequence({}) {}", steps.join(" → "), window(&self.events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use segmint_spec::{EventMatch, Span, Unit};

    #[test]
    fn sequence_patterns_follow_the_gaps() {
        let step = |gap| SequenceStep {
            matching: EventMatch {
                event: Some("e".into()),
                filters: vec![],
            },
            gap,
        };
        let ten_minutes = Span {
            amount: 10,
            unit: Unit::Minutes,
        };
        let steps = [
            step(Gap::Eventually),
            step(Gap::Within(ten_minutes)),
            step(Gap::Immediately),
            step(Gap::After(ten_minutes)),
            step(Gap::Eventually),
        ];
        assert_eq!(
            sequence_pattern(&steps),
            "(?1)(?t<=600)(?2)(?3)(?t>=600)(?4).*(?5)"
        );
    }
}
