//! One file per leaf: each checks what its leaf needs, reports misuse with a coded
//! diagnostic and a hint, and builds the leaf's type in the model
//! ([`crate::model::Leaf`]). Each adds one method to [`super::lower::Lowerer`], called from
//! [`super::lower::Lowerer::condition`].

mod affinity;
mod archetype;
mod breadth;
mod cadence;
mod funnel;
mod metric;
mod momentum;
mod occurrence;
mod performed;
mod predict;
mod profile_trait;
mod rfm;
mod sequence;
mod sessions;
