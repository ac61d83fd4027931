//! Local transcoder: probe, plan and run on files, with a progress bar.
//! Also the benchmark's entry point.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use vod_pipeline::{PipelineError, ProbeOptions, RunOptions, Stage};
use vod_plan::Limits;

#[derive(Parser, Debug)]
#[command(version, about = "Transcode one media file into an HLS package")]
struct Args {
    input: PathBuf,
    outdir: PathBuf,
    /// Longest accepted source, in seconds.
    #[arg(long, default_value_t = 6.0 * 3600.0)]
    max_duration: f64,
    /// Shortest accepted source, in seconds.
    #[arg(long, default_value_t = 0.5)]
    min_duration: f64,
    #[arg(long, default_value_t = 4096)]
    max_width: u32,
    #[arg(long, default_value_t = 4096)]
    max_height: u32,
    #[arg(long, default_value_t = 120.0)]
    max_fps: f64,
    /// Abort when no output is produced for this many seconds.
    #[arg(long, default_value_t = 60)]
    stall_timeout: u64,
    #[arg(long, default_value_t = 30)]
    probe_timeout: u64,
    /// x264 speed preset.
    #[arg(long, default_value = "veryfast")]
    preset: String,
    /// Scaler kernel (`vodscale method`: bilinear, catrom, bicubic, mitchell, lanczos), for tuning.
    #[arg(long)]
    scale_method: Option<String>,
    /// Scale every rung from the source frames (no cascade), for A/B tuning.
    #[arg(long)]
    no_cascade: bool,
    /// x264 threads per rung (0: x264 decides), for tuning.
    #[arg(long)]
    x264_threads: Option<u32>,
    /// Raw frames queued per rung, for tuning.
    #[arg(long)]
    queue_frames: Option<u32>,
    /// Print the probe result as JSON (used to record test fixtures).
    #[arg(long)]
    probe_json: bool,
    /// Print the plan as JSON instead of a table.
    #[arg(long)]
    plan_json: bool,
    /// Stop after printing the plan.
    #[arg(long)]
    dry_run: bool,
    /// No progress bar (for logs and benchmarks).
    #[arg(long, short)]
    quiet: bool,
    /// Encode in chunks of about this many seconds (whole segments), as the
    /// workers do, instead of one pass; sources shorter than two chunks stay
    /// single-pass. 0: one pass.
    #[arg(long, default_value_t = 0.0)]
    chunk_seconds: f64,
    /// Chunks encoded at once with `--chunk-seconds` (each on its own graph).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// After a chunked run, print the simulated time to ready for 1–64
    /// workers from the measured task times, with this many seconds of
    /// dispatch (queue pickup, claim, opening the source) per task.
    #[arg(long)]
    estimate_dispatch: Option<f64>,
}

/// Time to ready for 1–64 workers, each task costing what it cost here.
fn print_estimate(run: &vod_pipeline::chunked::ChunkedRun, probe_s: f64, dispatch_s: f64) {
    let costs = vod_plan::estimate::TaskCosts {
        prepare_s: probe_s,
        chunks_s: run.chunk_s.clone(),
        audio_s: run.audio_s,
        assemble_s: run.assemble_s,
        dispatch_s,
    };
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "measured: prepare {probe_s:.2} s, chunks [{}] s, audio {:.1} s, assemble {:.2} s",
        fmt(&run.chunk_s),
        run.audio_s.unwrap_or(0.0),
        run.assemble_s
    );
    let one = vod_plan::estimate::simulate(&costs, 1).ready_s;
    for workers in [1, 2, 4, 8, 16, 32, 64] {
        let e = vod_plan::estimate::simulate(&costs, workers);
        println!(
            "estimate: {workers:>2} workers  ready in {:>7.1} s  ({:.2}x of one worker)",
            e.ready_s,
            e.ready_s / one
        );
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            // 2: the file is at fault; 1: we are.
            ExitCode::from(if e.is_media_error() { 2 } else { 1 })
        }
    }
}

fn run(args: &Args) -> Result<(), PipelineError> {
    let limits = Limits {
        max_duration_s: args.max_duration,
        min_duration_s: args.min_duration,
        max_width: args.max_width,
        max_height: args.max_height,
        max_fps: args.max_fps,
    };
    let probe_started = std::time::Instant::now();
    let probe = vod_pipeline::probe(
        &args.input,
        &ProbeOptions {
            timeout: Duration::from_secs(args.probe_timeout),
        },
    )?;
    if args.probe_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&probe).unwrap_or_default()
        );
    }
    let plan = vod_plan::plan(&probe, &limits)?.with_chunks(args.chunk_seconds);
    let probe_s = probe_started.elapsed().as_secs_f64();
    if args.plan_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        );
    } else {
        print_plan(&probe, &plan);
    }
    if args.dry_run {
        return Ok(());
    }
    let mut opts = RunOptions {
        stall_timeout: Duration::from_secs(args.stall_timeout),
        speed_preset: args.preset.clone(),
        cascade_scaling: !args.no_cascade,
        ..RunOptions::default()
    };
    if let Some(m) = &args.scale_method {
        opts.scale_method.clone_from(m);
    }
    if let Some(t) = args.x264_threads {
        opts.x264_threads = t;
    }
    if let Some(q) = args.queue_frames {
        opts.queue_frames = q;
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1000)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:12} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let manifest = if plan.chunks.is_some() {
        bar.set_message("chunks");
        let input = vod_pipeline::chunked::Input::File(args.input.clone());
        let started = std::time::Instant::now();
        let run = vod_pipeline::chunked::transcode_chunked(
            &plan,
            &input,
            &args.outdir,
            &opts,
            args.jobs,
        )?;
        bar.finish_and_clear();
        println!(
            "{} chunks, {} at a time, in {:.1} s",
            run.chunks.len(),
            args.jobs.max(1),
            started.elapsed().as_secs_f64()
        );
        if let Some(dispatch_s) = args.estimate_dispatch {
            print_estimate(&run, probe_s, dispatch_s);
        }
        run.manifest
    } else {
        let manifest = vod_pipeline::run(&plan, &args.input, &args.outdir, &opts, |p| {
            bar.set_message(match p.stage {
                Stage::Transcoding => "transcoding",
                Stage::Packaging => "packaging",
                Stage::Done => "done",
            });
            bar.set_position((p.percent * 10.0) as u64);
        })?;
        bar.finish();
        manifest
    };
    for r in manifest.video.iter().chain(manifest.audio.iter()) {
        println!(
            "{:>6}  {:<28} peak {:>6} kb/s  avg {:>6} kb/s  {} segments  {} bytes",
            r.name,
            r.codecs,
            r.peak_bitrate_bps / 1000,
            r.average_bitrate_bps / 1000,
            r.segment_count,
            r.bytes
        );
    }
    println!("wrote {}", args.outdir.join("manifest.json").display());
    Ok(())
}

fn print_plan(probe: &vod_plan::Probe, plan: &vod_plan::Plan) {
    println!("source: {} {:.2}s", probe.container, probe.duration_s);
    if let Some(v) = &probe.video {
        println!(
            "  video: {} {}x{} {}/{} fps{} orientation {:?}",
            v.codec,
            v.width,
            v.height,
            v.fps_num,
            v.fps_den,
            if v.variable_fps { " (variable)" } else { "" },
            v.orientation
        );
    }
    if let Some(a) = &probe.audio {
        println!(
            "  audio: {} {} ch {} Hz",
            a.codec, a.channels, a.sample_rate
        );
    }
    println!(
        "plan: segments {}s, GOP {}s",
        plan.segment_target_s, plan.gop_s
    );
    for r in &plan.video {
        println!(
            "  {:>6} {:>5}x{:<5} {:>6} kb/s (max {}, buf {}) {:.3} fps GOP {}",
            r.name,
            r.width,
            r.height,
            r.bitrate_bps / 1000,
            r.maxrate_bps / 1000,
            r.bufsize_bits / 1000,
            r.fps(),
            r.gop_frames
        );
    }
    if let Some(a) = &plan.audio {
        println!(
            "  {:>6} AAC-LC {} kb/s {} ch {} Hz",
            a.name,
            a.bitrate_bps / 1000,
            a.channels,
            a.sample_rate
        );
    }
    if let Some(t) = &plan.thumbnails {
        println!(
            "  thumbs: {}x{} every {}s, poster {}x{}",
            t.tile_width, t.tile_height, t.interval_s, t.poster_width, t.poster_height
        );
    }
    if let Some(c) = &plan.chunks {
        println!(
            "  chunks: {} of {} segments ({:.2}s)",
            c.chunks.len(),
            c.segments_per_chunk(),
            c.segments_per_chunk() as f64 * c.segment_frames as f64 * c.frame_s()
        );
    }
}
