//! The spec and the functions name the same vocabulary: every RFM class and funnel mode the
//! checker accepts, `rfm_class` and `window_funnel` know — and no other.

#[test]
fn rfm_classes_are_the_same_in_the_spec_and_the_function() {
    assert_eq!(
        segmint_spec::RFM_CLASSES,
        segmint_udfs::rfm_class::RFM_CLASSES
    );
}

#[test]
fn funnel_modes_are_the_same_in_the_spec_and_the_function() {
    let spec = segmint_spec::FunnelMode::ALL.map(segmint_spec::FunnelMode::name);
    assert_eq!(spec, segmint_udfs::window_funnel::FUNNEL_MODES);
}
