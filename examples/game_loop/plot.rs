//! The game loop's picture: the signal, its value `horizon` frames later and the model's
//! prediction in the upper panel; the prediction's error in the lower one, each trace clipped to
//! its panel; axes with ticks, a legend and a title. Text is the public-domain 8×8 bitmap font of
//! `font8x8`; the file is written by the `png` crate.

use font8x8::UnicodeFonts;

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

type Rgb = [u8; 3];
const BLACK: Rgb = [0, 0, 0];
const AXIS: Rgb = [90, 90, 90];
const GRID: Rgb = [225, 225, 225];
const INPUT: Rgb = [175, 175, 175];
const TARGET: Rgb = [60, 110, 230];
const PREDICTED: Rgb = [220, 30, 30];
const ERROR: Rgb = [40, 40, 40];

/// A rectangle of pixels: left, top, width, height.
#[derive(Clone, Copy)]
struct Rect {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Rect {
    fn contains(&self, x: i64, y: i64) -> bool {
        (self.x..self.x + self.w).contains(&x) && (self.y..self.y + self.h).contains(&y)
    }
}

/// An RGB image drawn into with clipping.
struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            rgb: vec![255; w * h * 3],
        }
    }

    fn whole(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            w: self.w as i64,
            h: self.h as i64,
        }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb, clip: Rect) {
        if clip.contains(x, y) && self.whole().contains(x, y) {
            let i = (y as usize * self.w + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A polyline `thick` pixels high (Bresenham), clipped to `clip`.
    fn line(&mut self, points: &[(i64, i64)], thick: i64, c: Rgb, clip: Rect) {
        for pair in points.windows(2) {
            let ((x0, y0), end) = (pair[0], pair[1]);
            let (dx, dy) = ((end.0 - x0).abs(), -(end.1 - y0).abs());
            let (sx, sy) = ((end.0 - x0).signum(), (end.1 - y0).signum());
            let (mut x, mut y, mut e) = (x0, y0, dx + dy);
            loop {
                for k in 0..thick {
                    self.set(x, y + k - thick / 2, c, clip);
                }
                if (x, y) == end {
                    break;
                }
                let e2 = 2 * e;
                if e2 >= dy {
                    e += dy;
                    x += sx;
                }
                if e2 <= dx {
                    e += dx;
                    y += sy;
                }
            }
        }
    }

    /// `text` with its top-left corner at (x, y), 8×8 pixels per character.
    fn text(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
        let all = self.whole();
        for (i, ch) in text.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        self.set(x + 8 * i as i64 + col, y + row as i64, c, all);
                    }
                }
            }
        }
    }

    /// `text` ending at x (right-aligned), centred vertically on y.
    fn text_right(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
        self.text(x - 8 * text.len() as i64, y - 4, text, c);
    }
}

/// A panel: its rectangle and the value range of its y axis.
struct Panel {
    rect: Rect,
    lo: f32,
    hi: f32,
}

impl Panel {
    fn y(&self, v: f32) -> i64 {
        self.rect.y + ((self.hi - v) / (self.hi - self.lo) * (self.rect.h - 1) as f32) as i64
    }

    /// Frame, border, horizontal grid lines and labels every `step` from `-2·step` to `2·step`,
    /// and a label above.
    fn axes(&self, canvas: &mut Canvas, step: f32, label: &str) {
        let r = self.rect;
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        for k in -2..=2 {
            let t = k as f32 * step;
            let y = self.y(t);
            canvas.line(&[(r.x, y), (r.x + r.w - 1, y)], 1, GRID, r);
            canvas.line(&[(r.x - 4, y), (r.x - 1, y)], 1, AXIS, canvas.whole());
            canvas.text_right(r.x - 6, y, &format!("{t:.decimals$}"), BLACK);
        }
        let (x1, y1) = (r.x + r.w - 1, r.y + r.h - 1);
        let border = [(r.x, r.y), (x1, r.y), (x1, y1), (r.x, y1), (r.x, r.y)];
        canvas.line(&border, 1, AXIS, canvas.whole());
        canvas.text(r.x, r.y - 12, label, BLACK);
    }
}

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

    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, canvas.w as u32, canvas.h as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas.rgb)?;
    writer.finish()?;
    Ok(())
}

/// The smallest 1, 2 or 5 × 10^k at least `v` (a tick step for values up to `v`).
fn nice_step(v: f32) -> f32 {
    let v = v.max(1e-6);
    let base = 10f32.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&s| s >= v)
        .unwrap_or(10.0 * base)
}
