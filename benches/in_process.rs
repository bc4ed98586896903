//! `cargo bench --bench in_process`: the parse and the edit, in process, on
//! generated engine-style domain XMLs. No timing framework: each case runs
//! in batches long enough for the clock, and the median batch is reported
//! with the 10th-90th percentile spread as the noise.

use std::hint::black_box;
use std::time::{Duration, Instant};

use vdsm_hook_largeguest::commands::rewrite;
use vdsm_hook_largeguest::cpuset::CpuSet;
use vdsm_hook_largeguest::domain::document::{self, Pruned};
use vdsm_hook_largeguest::domain::facts::Domain;
use vdsm_hook_largeguest::host::topology::HostLimits;
use vdsm_hook_largeguest::properties::{Property, Request};
use vdsm_hook_largeguest::xml::check;

#[path = "support/domxml.rs"]
mod domxml;
#[path = "support/stats.rs"]
mod stats;

use domxml::{Shape, SIZES};

const SAMPLES: usize = 21;

type Step<'a> = (&'static str, Box<dyn FnMut() + 'a>);
const SAMPLE_TIME: Duration = Duration::from_millis(40);

/// Median microseconds per call, and the spread over the samples.
fn measure(mut f: impl FnMut()) -> (f64, f64, f64) {
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < SAMPLE_TIME / 4 || calls == 0 {
        f();
        calls += 1;
    }
    let per = start.elapsed() / calls;
    let batch = (SAMPLE_TIME.as_nanos() / per.as_nanos().max(1)).max(1) as u32;
    let mut us: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(batch)
        })
        .collect();
    let (lo, hi) = stats::spread(&mut us);
    (stats::median(&mut us), lo, hi)
}

fn request(shape: &Shape) -> Request {
    let props = shape.properties();
    let pairs = props.iter().map(|(name, value)| {
        let property = Property::from_name(name).expect("a known property");
        (property, value.as_str())
    });
    Request::from_pairs(pairs).expect("values the grammar accepts")
}

fn host() -> HostLimits {
    HostLimits {
        online_cpus: CpuSet::from_range(0, 2047),
        memory_nodes: CpuSet::from_range(0, 7),
        kernel: None,
    }
}

fn rewrite_us(shape: &Shape) -> f64 {
    let (text, request, host) = (shape.domxml(), request(shape), host());
    measure(|| {
        black_box(rewrite::rewrite(black_box(&text), &request, Some(&host)).expect("rewrite"));
    })
    .0
}

fn sizes() {
    println!("| size | bytes | step | median µs | p10-p90 µs |");
    println!("|---|---|---|---|---|");
    for (name, shape) in SIZES {
        let text = shape.domxml();
        let props = shape.properties();
        let (request, host) = (request(&shape), host());
        let out = rewrite::rewrite(&text, &request, Some(&host))
            .expect("rewrite")
            .document;
        let mut pruned = Pruned::default();
        drop(document::parse(&text, &mut pruned).expect("parse"));
        let steps: [Step; 6] = [
            (
                "properties",
                Box::new(|| {
                    for (name, value) in &props {
                        let property = Property::from_name(name).expect("a known property");
                        drop(black_box(property.parse(value)));
                    }
                }),
            ),
            (
                "whole tree (roxmltree)",
                Box::new(|| drop(black_box(document::parse_whole(black_box(&text))))),
            ),
            (
                "pruned tree (scan + pruned tree)",
                Box::new(|| {
                    let mut pruned = Pruned::default();
                    drop(black_box(document::parse(black_box(&text), &mut pruned)));
                }),
            ),
            (
                "pruned tree + read",
                Box::new(|| {
                    let mut pruned = Pruned::default();
                    let doc = document::parse(black_box(&text), &mut pruned).expect("parse");
                    drop(black_box(Domain::read(&doc).map(|d| d.vcpus)));
                }),
            ),
            (
                "rewrite (all)",
                Box::new(|| {
                    drop(black_box(rewrite::rewrite(
                        black_box(&text),
                        &request,
                        Some(&host),
                    )));
                }),
            ),
            (
                "check of the output",
                Box::new(|| {
                    drop(black_box(check::edit(black_box(&out), pruned.boundaries())));
                }),
            ),
        ];
        for (step, mut f) in steps {
            let (median, lo, hi) = measure(&mut f);
            println!(
                "| {name} | {} | {step} | {median:.1} | {lo:.1}-{hi:.1} |",
                text.len()
            );
        }
    }
}

fn scaling(title: &str, unit: &str, points: Vec<(f64, Shape)>) {
    println!("\n{title}\n");
    println!("| {unit} | bytes | rewrite median µs |");
    println!("|---|---|---|");
    let mut fitted = Vec::new();
    for (x, shape) in points {
        let us = rewrite_us(&shape);
        println!("| {x} | {} | {us:.1} |", shape.domxml().len());
        fitted.push((x, us));
    }
    let (intercept, slope, r2) = stats::fit(&fitted);
    println!("\nfit: {intercept:.1} µs + {slope:.4} µs per {unit}, R² = {r2:.4}");
}

fn main() {
    sizes();
    for pinned in [false, true] {
        let title = match pinned {
            false => "Scaling with vCPU pins (20 devices, 2 cells, empty <cputune>)",
            true => "Scaling with vCPU pins (20 devices, 2 cells, every vCPU already pinned)",
        };
        let points = [16, 64, 256, 1024].map(|n| {
            (
                f64::from(n),
                Shape {
                    pinned,
                    ..Shape::new(n, 2, 20)
                },
            )
        });
        scaling(title, "pin", points.to_vec());
    }
    let kib = |s: &Shape| s.domxml().len() as f64 / 1024.0;
    let points = [20, 300, 3000, 10000]
        .map(|d| Shape::new(16, 2, d))
        .map(|s| ((kib(&s) * 10.0).round() / 10.0, s));
    scaling(
        "Scaling with document size (16 vCPUs, 2 cells)",
        "KiB",
        points.to_vec(),
    );
}
