//! Integration tests: the library driven through its public API on committed fixtures.

mod xml_ingest;
