//! `trait`: a comparison of profiles columns (joined once after the GROUP BY).

use datafusion::common::Column;
use datafusion::logical_expr::Expr;
use segmint_spec::Trait;

use crate::compare::{compare, conjunction};
use crate::describe::cmp;
use crate::error::Result;
use crate::leaf::{Aggregates, CompiledLeaf, LeafCompiler, LeafPlan, never_null};

impl LeafPlan for Trait {
    fn plan(&self, c: &LeafCompiler, _aggs: &mut Aggregates) -> Result<CompiledLeaf> {
        let parts = self
            .filters
            .iter()
            .map(|f| {
                let column = Column::new(Some(c.profiles_qualifier), &f.column);
                compare(Expr::Column(column), &f.cmp)
            })
            .collect();
        Ok(CompiledLeaf::truth(never_null(conjunction(parts))))
    }

    fn describe(&self) -> String {
        let f: Vec<String> = self
            .filters
            .iter()
            .map(|f| format!("{} {}", f.column, cmp(&f.cmp)))
            .collect();
        format!("trait {}", f.join(", "))
    }
}
