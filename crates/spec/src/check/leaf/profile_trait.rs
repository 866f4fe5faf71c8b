//! `trait`: columns of the profiles table, compared (a demographic or psychographic
//! overlay on behaviour).
//!
//! ```yaml
//! trait: {plan: pro, country: {in: [DE, AT]}}
//! ```

use crate::check::lower::Lowerer;
use crate::diagnostic::{Code, Position};
use crate::model::{Leaf, Trait};
use crate::syntax::FilterMap;

impl Lowerer<'_, '_> {
    pub(in crate::check) fn profile_trait(
        &mut self,
        filters: &FilterMap,
        position: Position,
    ) -> Option<Leaf> {
        if !self.ctx.has_profiles {
            self.ctx.report(
                Code::NoProfiles,
                position,
                "`trait` reads the profiles table, but the project has none",
                "add `lake.profiles: {location: ..., key: ...}` to segmint.yaml",
            );
            return None;
        }
        if filters.is_empty() {
            self.ctx.report(
                Code::BadComparison,
                position,
                "`trait` has no columns to compare",
                "e.g. `trait: {plan: pro}`",
            );
            return None;
        }
        let profiles = self.ctx.schema.and_then(|s| s.profiles.clone());
        let filters = self.filters(filters, profiles.as_ref(), "profiles")?;
        Some(Leaf::Trait(Trait { filters }))
    }
}
