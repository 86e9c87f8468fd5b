//! The examples' picture toolkit: an RGB canvas with clipped polylines and 8×8 text (the
//! public-domain glyphs of `font8x8`), panels with a y scale and axes, written as PNG by the `png`
//! crate. Included by `examples/game_loop` and `examples/train` with
//! `#[path = "../common/canvas.rs"] mod canvas;`.

#![allow(
    dead_code,
    reason = "each example uses a different part of this shared file"
)]

use font8x8::UnicodeFonts;

pub type Rgb = [u8; 3];
pub const BLACK: Rgb = [0, 0, 0];
pub const AXIS: Rgb = [90, 90, 90];
pub const GRID: Rgb = [225, 225, 225];

/// A rectangle of pixels: left, top, width, height.
#[derive(Clone, Copy)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Rect {
    pub fn contains(&self, x: i64, y: i64) -> bool {
        (self.x..self.x + self.w).contains(&x) && (self.y..self.y + self.h).contains(&y)
    }
}

/// An RGB image drawn into with clipping.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub rgb: Vec<u8>,
}

impl Canvas {
    pub fn new(w: usize, h: usize) -> Self {
        Self {
            w,
            h,
            rgb: vec![255; w * h * 3],
        }
    }

    pub fn whole(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            w: self.w as i64,
            h: self.h as i64,
        }
    }

    pub fn set(&mut self, x: i64, y: i64, c: Rgb, clip: Rect) {
        if clip.contains(x, y) && self.whole().contains(x, y) {
            let i = (y as usize * self.w + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A polyline `thick` pixels high (Bresenham), clipped to `clip`.
    pub fn line(&mut self, points: &[(i64, i64)], thick: i64, c: Rgb, clip: Rect) {
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
    pub fn text(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
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
    pub fn text_right(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
        self.text(x - 8 * text.len() as i64, y - 4, text, c);
    }
}

/// A panel: its rectangle and the value range of its y axis.
pub struct Panel {
    pub rect: Rect,
    pub lo: f32,
    pub hi: f32,
}

impl Panel {
    pub fn y(&self, v: f32) -> i64 {
        self.rect.y + ((self.hi - v) / (self.hi - self.lo) * (self.rect.h - 1) as f32) as i64
    }

    /// Frame, border, horizontal grid lines and labels every `step` from `-2·step` to `2·step`,
    /// and a label above.
    pub fn axes(&self, canvas: &mut Canvas, step: f32, label: &str) {
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

impl Canvas {
    /// Writes the canvas as an 8-bit RGB PNG at `path`.
    pub fn save(&self, path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.w as u32, self.h as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.rgb)?;
        writer.finish()?;
        Ok(())
    }
}

/// The smallest 1, 2 or 5 × 10^k at least `v` (a tick step for values up to `v`).
pub fn nice_step(v: f32) -> f32 {
    let v = v.max(1e-6);
    let base = 10f32.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&s| s >= v)
        .unwrap_or(10.0 * base)
}
