//! The single integration-test binary (`autotests = false`): each module is one area.

/// `rdptriage analyze`, `rules` and `explain` run as a user would, on fixtures.
mod analyze;
/// One test per rule case, generated from `rules/**/cases/*.yaml`.
mod rule_cases;
