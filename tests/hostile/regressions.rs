//! Inputs the fuzzers (`fuzz/`) found, each kept as a test: the input inline, what went wrong,
//! and what must hold now.
