//! The game loop's picture: the signal, its value `horizon` frames later and the model's
//! prediction in the upper panel; the prediction's error in the lower one, each trace clipped to
//! its panel; axes with ticks, a legend and a title, drawn on the examples' shared canvas
//! (`examples/common/canvas.rs`).

use crate::canvas::{AXIS, BLACK, Canvas, Panel, Rect, Rgb, nice_step};

/// What is plotted, per frame.
pub struct Series<'a> {
    /// The input at each frame.
    pub input: &'a [f32],
    /// The model's prediction at each frame of the input `horizon` frames later.
    pub predicted: &'a [f32],
    /// Frames ahead the model predicts.
    pub horizon: usize,
    /// Frames the model needs to lock on (marked, and left out of the error scale).
    pub warmup: usize,
    /// The title line.
    pub title: &'a str,
}

const INPUT: Rgb = [175, 175, 175];
const TARGET: Rgb = [60, 110, 230];
const PREDICTED: Rgb = [220, 30, 30];
const ERROR: Rgb = [40, 40, 40];

/// Writes the picture of `s` as a PNG at `path`.
pub fn write(path: &std::path::Path, s: &Series<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let frames = s.input.len();
    let (left, plot_w) = (56i64, 680i64);
    let mut canvas = Canvas::new((left + plot_w + 24) as usize, 530);
    canvas.text(left, 8, s.title, BLACK);
    let signal = Panel {
        rect: Rect {
            x: left,
            y: 44,
            w: plot_w,
            h: 270,
        },
        lo: -1.25,
        hi: 1.25,
    };
    // The error scale fits the errors after warm-up (ticks at 1 and 2 steps, the panel 2.5 steps
    // each way); the warm-up's larger ones are clipped to the panel.
    let ahead = 0..frames - s.horizon;
    let error_at = |t: usize| s.predicted[t] - s.input[t + s.horizon];
    let worst = (s.warmup..frames - s.horizon)
        .map(|t| error_at(t).abs())
        .fold(0f32, f32::max);
    let scale = nice_step(worst / 2.0);
    let error = Panel {
        rect: Rect {
            x: left,
            y: 372,
            w: plot_w,
            h: 110,
        },
        lo: -2.5 * scale,
        hi: 2.5 * scale,
    };
    signal.axes(&mut canvas, 0.5, "signal");
    error.axes(
        &mut canvas,
        scale,
        &format!("error: prediction - input {} frames later", s.horizon),
    );

    let x = |t: usize| left + (t as i64 * (plot_w - 1)) / (frames as i64 - 1);
    // Frame ticks under the lower panel, the end of warm-up through both.
    for t in (0..frames).step_by(100).chain([frames - 1]) {
        let bottom = error.rect.y + error.rect.h;
        canvas.line(
            &[(x(t), bottom), (x(t), bottom + 3)],
            1,
            AXIS,
            canvas.whole(),
        );
        let label = format!("{t}");
        canvas.text(x(t) - 4 * label.len() as i64, bottom + 7, &label, BLACK);
    }
    canvas.text(
        left + plot_w / 2 - 20,
        error.rect.y + error.rect.h + 22,
        "frame",
        BLACK,
    );
    for panel in [&signal, &error] {
        let r = panel.rect;
        canvas.line(
            &[(x(s.warmup), r.y), (x(s.warmup), r.y + r.h - 1)],
            1,
            INPUT,
            r,
        );
    }
    canvas.text(x(s.warmup) + 3, signal.rect.y + 3, "end of warm-up", AXIS);

    let trace = |panel: &Panel, values: &mut dyn Iterator<Item = (usize, f32)>| -> Vec<_> {
        values.map(|(t, v)| (x(t), panel.y(v))).collect()
    };
    let input = trace(&signal, &mut (0..frames).map(|t| (t, s.input[t])));
    let target = trace(
        &signal,
        &mut ahead.clone().map(|t| (t, s.input[t + s.horizon])),
    );
    let guess = trace(&signal, &mut (0..frames).map(|t| (t, s.predicted[t])));
    let errors = trace(&error, &mut ahead.map(|t| (t, error_at(t))));
    canvas.line(&input, 1, INPUT, signal.rect);
    canvas.line(&target, 5, TARGET, signal.rect);
    canvas.line(&guess, 2, PREDICTED, signal.rect);
    canvas.line(&errors, 1, ERROR, error.rect);

    // The legend, under the upper panel.
    let later = format!("input {} frames later", s.horizon);
    let entries = [
        ("input", INPUT, 1),
        (later.as_str(), TARGET, 5),
        ("prediction", PREDICTED, 2),
    ];
    let (mut lx, ly) = (left, signal.rect.y + signal.rect.h + 16);
    for (label, color, thick) in entries {
        canvas.line(&[(lx, ly), (lx + 24, ly)], thick, color, canvas.whole());
        canvas.text(lx + 30, ly - 4, label, BLACK);
        lx += 30 + 8 * label.len() as i64 + 24;
    }

    canvas.save(path)
}
