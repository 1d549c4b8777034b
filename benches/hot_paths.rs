//! Criterion benchmarks of the pipeline's hot paths, on the committed `samples/` (and, when
//! `RDPTRIAGE_CORPUS` names the shared corpus, on its largest file). Run with `cargo bench`;
//! whole-process timings against `evtx_dump` are in `bench/compare.sh` (see docs/performance.md).
//!
//! - `ingest/*`: reading every sample file in parallel — events built from template values (the
//!   default) against rendering every record to JSON first (the fallback route);
//! - `timeline/*`: merging the samples' per-file events into the timeline, as read and with every
//!   file read twice (the second copy of each record found and left out);
//! - `correlate`: rebuilding the attempts from the samples' events;
//! - `judge`: running the built-in rule pack over every failed attempt;
//! - `spool/*`: the `events` timeline — the samples' events written as JSONL into a spool and
//!   merged back in order, held in memory (default budget) or through run files (256 KiB);
//! - `decode`: decoding a client error code pair.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rdptriage::analysis::Analysis;
use rdptriage::attempt::{AttemptOptions, Timeline, correlate};
use rdptriage::ingest::{IngestOptions, ingest_all};
use rdptriage::rules::RulePack;
use rdptriage::source::{Source, discover};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

fn samples() -> Vec<Source> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
    discover(&[dir]).sources
}

fn read(sources: &[Source], options: &IngestOptions) -> Vec<rdptriage::event::Event> {
    ingest_all(sources, options, &|_, _| {})
        .into_iter()
        .flat_map(|f| f.events)
        .collect()
}

fn rendering_every_record() -> IngestOptions {
    IngestOptions {
        render_every_record: true,
        ..IngestOptions::default()
    }
}

fn ingest(c: &mut Criterion) {
    let sources = samples();
    let mut group = c.benchmark_group("ingest");
    group.bench_function("samples/template-values", |b| {
        b.iter(|| black_box(read(&sources, &IngestOptions::default())))
    });
    group.bench_function("samples/render-every-record", |b| {
        b.iter(|| black_box(read(&sources, &rendering_every_record())))
    });
    if let Some(largest) = corpus_largest() {
        group.sample_size(10);
        group.bench_function("corpus-largest/template-values", |b| {
            b.iter(|| {
                black_box(read(
                    std::slice::from_ref(&largest),
                    &IngestOptions::default(),
                ))
            })
        });
        group.bench_function("corpus-largest/render-every-record", |b| {
            b.iter(|| {
                black_box(read(
                    std::slice::from_ref(&largest),
                    &rendering_every_record(),
                ))
            })
        });
    }
    group.finish();
}

/// The largest `.evtx` file of the corpus, when `RDPTRIAGE_CORPUS` is set.
fn corpus_largest() -> Option<Source> {
    let dir = std::env::var_os("RDPTRIAGE_CORPUS")?;
    discover(&[PathBuf::from(dir)])
        .sources
        .into_iter()
        .filter(|s| s.format == rdptriage::source::InputFormat::Evtx)
        .max_by_key(|s| s.size)
}

fn analysis_parts(c: &mut Criterion) {
    let events = read(&samples(), &IngestOptions::default());
    c.bench_function("correlate", |b| {
        b.iter(|| {
            let timeline = Timeline::new(events.clone());
            black_box(correlate(&timeline, &AttemptOptions::default()))
        })
    });
    let pack = RulePack::embedded().expect("the built-in rules compile");
    let timeline = Timeline::new(events);
    let correlation = correlate(&timeline, &AttemptOptions::default());
    let inputs = ingest_all(&samples(), &IngestOptions::default(), &|_, _| {})
        .into_iter()
        .map(|f| f.report)
        .collect();
    let analysis = Analysis {
        inputs,
        timeline,
        correlation,
        verdicts: None,
    };
    c.bench_function("judge", |b| {
        b.iter(|| black_box(rdptriage::verdict::judge(&analysis, &pack)))
    });
}

fn timeline(c: &mut Criterion) {
    let files = ingest_all(&samples(), &IngestOptions::default(), &|_, _| {});
    let once: Vec<(Arc<str>, Vec<rdptriage::event::Event>)> = files
        .into_iter()
        .map(|f| (Arc::from(f.report.path.as_str()), f.events))
        .collect();
    let copies = once
        .iter()
        .map(|(name, events)| (Arc::from(format!("{name} (copy)")), events.clone()));
    let twice: Vec<_> = once.iter().cloned().chain(copies).collect();
    let mut group = c.benchmark_group("timeline");
    for (name, runs) in [("samples", &once), ("samples-read-twice", &twice)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || runs.clone(),
                |runs| black_box(Timeline::from_inputs(runs)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Push `events` (as one file) through a spool of `memory` bytes and merge them into a sink.
fn spool_round_trip(events: &[rdptriage::event::Event], memory: usize) -> usize {
    use rdptriage::spool::{Spool, SpoolOptions};
    let spool = Spool::new(SpoolOptions { memory, dir: None });
    let mut file = spool.file("bench.evtx");
    for e in events {
        file.push(e).expect("events serialise");
    }
    spool.commit(file);
    let mut bytes = 0;
    spool
        .finish()
        .expect("runs read back")
        .for_each_line(|line| {
            bytes += line.len();
            Ok(())
        })
        .expect("runs read back");
    bytes
}

fn spool(c: &mut Criterion) {
    let events = read(&samples(), &IngestOptions::default());
    let mut group = c.benchmark_group("spool");
    group.bench_function("samples/in-memory", |b| {
        b.iter(|| black_box(spool_round_trip(&events, rdptriage::spool::DEFAULT_MEMORY)))
    });
    group.bench_function("samples/run-files", |b| {
        b.iter(|| black_box(spool_round_trip(&events, 256 << 10)))
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    c.bench_function("decode", |b| {
        b.iter(|| {
            black_box(rdptriage::codes::decode(
                black_box(0x904),
                Some(black_box(0x7)),
            ))
        })
    });
}

criterion_group!(benches, ingest, timeline, analysis_parts, spool, decode);
criterion_main!(benches);
