//! The training example's picture: the loss of every step and each epoch's mean on a log scale in
//! the upper panel; one held-out sequence with the trained model's prediction in the lower one.

use crate::canvas::{AXIS, BLACK, Canvas, GRID, Panel, Rect, Rgb};

/// What is plotted.
pub struct Training<'a> {
    /// The loss of every step.
    pub per_step: &'a [f32],
    /// Steps per epoch (the mean curve).
    pub epoch: usize,
    /// One held-out input sequence.
    pub input: &'a [f32],
    /// The trained model's prediction at each frame of the input `horizon` frames later.
    pub predicted: &'a [f32],
    /// Frames ahead the model predicts.
    pub horizon: usize,
    /// Frames the loss ignores.
    pub warmup: usize,
    /// The title line.
    pub title: &'a str,
}

const STEP_LOSS: Rgb = [185, 185, 185];
const EPOCH_LOSS: Rgb = [220, 30, 30];
const INPUT: Rgb = [175, 175, 175];
const TARGET: Rgb = [60, 110, 230];
const PREDICTED: Rgb = [220, 30, 30];

/// Writes the picture of `s` as a PNG at `path`.
pub fn write(path: &std::path::Path, s: &Training<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let (left, plot_w) = (64i64, 672i64);
    let mut canvas = Canvas::new((left + plot_w + 24) as usize, 600);
    canvas.text(left, 8, s.title, BLACK);

    // Loss: decades that cover every step's loss.
    let steps = s.per_step.len();
    let positive = s.per_step.iter().copied().filter(|&l| l > 0.0);
    let lo = positive
        .clone()
        .fold(f32::INFINITY, f32::min)
        .log10()
        .floor();
    let hi = positive.fold(0f32, f32::max).log10().ceil().max(lo + 1.0);
    let loss = Panel {
        rect: Rect {
            x: left,
            y: 44,
            w: plot_w,
            h: 230,
        },
        lo,
        hi,
    };
    let r = loss.rect;
    for decade in lo as i32..=hi as i32 {
        let y = loss.y(decade as f32);
        canvas.line(&[(r.x, y), (r.x + r.w - 1, y)], 1, GRID, r);
        canvas.text_right(r.x - 6, y, &format!("1e{decade}"), BLACK);
    }
    frame(&mut canvas, r, "mse loss (log scale)");
    let x =
        |k: f32, count: usize| left + (k * (plot_w - 1) as f32 / (count.max(2) - 1) as f32) as i64;
    for k in (0..steps)
        .step_by(steps.div_ceil(6).max(1))
        .chain([steps - 1])
    {
        let bottom = r.y + r.h;
        canvas.line(
            &[
                (x(k as f32, steps), bottom),
                (x(k as f32, steps), bottom + 3),
            ],
            1,
            AXIS,
            canvas.whole(),
        );
        let label = format!("{}", k + 1);
        canvas.text(
            x(k as f32, steps) - 4 * label.len() as i64,
            bottom + 7,
            &label,
            BLACK,
        );
    }
    canvas.text(left + plot_w / 2 - 16, r.y + r.h + 20, "step", BLACK);
    let log_y = |l: f32| loss.y(l.max(1e-12).log10());
    let per_step: Vec<_> = s
        .per_step
        .iter()
        .enumerate()
        .map(|(k, &l)| (x(k as f32, steps), log_y(l)))
        .collect();
    canvas.line(&per_step, 1, STEP_LOSS, r);
    let means: Vec<_> = s
        .per_step
        .chunks(s.epoch)
        .enumerate()
        .map(|(e, chunk)| {
            let mean = chunk.iter().sum::<f32>() / chunk.len() as f32;
            let middle = (e * s.epoch) as f32 + (chunk.len() as f32 - 1.0) / 2.0;
            (x(middle, steps), log_y(mean))
        })
        .collect();
    canvas.line(&means, 3, EPOCH_LOSS, r);
    let entries = [("every step", STEP_LOSS, 1), ("epoch mean", EPOCH_LOSS, 3)];
    legend(&mut canvas, left, r.y + r.h + 40, &entries);

    // One held-out sequence.
    let frames = s.input.len();
    let signal = Panel {
        rect: Rect {
            x: left,
            y: 370,
            w: plot_w,
            h: 180,
        },
        lo: -1.25,
        hi: 1.25,
    };
    signal.axes(&mut canvas, 0.5, "held-out sequence after training");
    let sr = signal.rect;
    let xf = |t: usize| x(t as f32, frames);
    canvas.line(
        &[(xf(s.warmup), sr.y), (xf(s.warmup), sr.y + sr.h - 1)],
        1,
        INPUT,
        sr,
    );
    canvas.text(xf(s.warmup) + 3, sr.y + 3, "warm-up ends", AXIS);
    let trace = |values: &mut dyn Iterator<Item = (usize, f32)>| -> Vec<_> {
        values.map(|(t, v)| (xf(t), signal.y(v))).collect()
    };
    let ahead = 0..frames - s.horizon;
    canvas.line(
        &trace(&mut (0..frames).map(|t| (t, s.input[t]))),
        1,
        INPUT,
        sr,
    );
    canvas.line(
        &trace(&mut ahead.map(|t| (t, s.input[t + s.horizon]))),
        5,
        TARGET,
        sr,
    );
    canvas.line(
        &trace(&mut (0..frames).map(|t| (t, s.predicted[t]))),
        2,
        PREDICTED,
        sr,
    );
    for t in (0..frames).step_by(64).chain([frames - 1]) {
        let bottom = sr.y + sr.h;
        canvas.line(
            &[(xf(t), bottom), (xf(t), bottom + 3)],
            1,
            AXIS,
            canvas.whole(),
        );
        let label = format!("{t}");
        canvas.text(xf(t) - 4 * label.len() as i64, bottom + 7, &label, BLACK);
    }
    let later = format!("input {} frames later", s.horizon);
    let entries = [
        ("input", INPUT, 1),
        (later.as_str(), TARGET, 5),
        ("prediction", PREDICTED, 2),
    ];
    legend(&mut canvas, left, sr.y + sr.h + 28, &entries);
    canvas.save(path)
}

/// The border of a panel and its label above.
fn frame(canvas: &mut Canvas, r: Rect, label: &str) {
    let (x1, y1) = (r.x + r.w - 1, r.y + r.h - 1);
    let border = [(r.x, r.y), (x1, r.y), (x1, y1), (r.x, y1), (r.x, r.y)];
    canvas.line(&border, 1, AXIS, canvas.whole());
    canvas.text(r.x, r.y - 12, label, BLACK);
}

/// A row of legend entries (label, colour, line thickness) starting at (x, y).
fn legend(canvas: &mut Canvas, x: i64, y: i64, entries: &[(&str, Rgb, i64)]) {
    let mut lx = x;
    for &(label, color, thick) in entries {
        canvas.line(&[(lx, y), (lx + 24, y)], thick, color, canvas.whole());
        canvas.text(lx + 30, y - 4, label, BLACK);
        lx += 30 + 8 * label.len() as i64 + 24;
    }
}
