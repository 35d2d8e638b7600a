//! Rendered images and their encodings.

use std::io::Cursor;

use super::RenderError;

/// RGBA8 pixels, rows top-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedImage {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl RenderedImage {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y.min(self.height - 1) * self.width + x.min(self.width - 1)) * 4) as usize;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    fn image(&self) -> Result<image::RgbaImage, RenderError> {
        image::RgbaImage::from_raw(self.width, self.height, self.rgba.clone())
            .ok_or_else(|| RenderError::Encode("pixel buffer does not match image size".into()))
    }

    /// PNG bytes (RGBA, so transparent backgrounds keep their alpha).
    pub fn to_png(&self) -> Result<Vec<u8>, RenderError> {
        let mut out = Cursor::new(Vec::new());
        self.image()?
            .write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| RenderError::Encode(format!("PNG: {e}")))?;
        Ok(out.into_inner())
    }
}

impl RenderedImage {
    /// JPEG bytes (RGB; alpha dropped).
    pub fn to_jpeg(&self, quality: u8) -> Result<Vec<u8>, RenderError> {
        let rgb = image::DynamicImage::ImageRgba8(self.image()?).to_rgb8();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
            .encode_image(&rgb)
            .map_err(|e| RenderError::Encode(format!("JPEG: {e}")))?;
        Ok(out)
    }

    /// Encodes in the requested delivery format (JPEG at quality 92).
    pub fn encode(&self, format: super::OutputFormat) -> Result<Vec<u8>, RenderError> {
        match format {
            super::OutputFormat::Png => self.to_png(),
            super::OutputFormat::Jpeg => self.to_jpeg(92),
        }
    }
}

/// `f` over `items` on every core (contiguous chunks, one thread each), results in order.
fn map_on_every_core<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Result<Vec<R>, RenderError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for w in workers {
            out.extend(
                w.join()
                    .map_err(|_| RenderError::Encode("an encoding thread panicked".into()))?,
            );
        }
        Ok(out)
    })
}

/// Each frame as PNG bytes, in order; encoded on every core (a 36-frame turntable is 36
/// independent encodes).
pub fn encode_png_frames(frames: &[RenderedImage]) -> Result<Vec<Vec<u8>>, RenderError> {
    map_on_every_core(frames, RenderedImage::to_png)?
        .into_iter()
        .collect()
}

/// A turntable's deliverables: the animated GIF and, when asked, one PNG per frame (through
/// [`TurntableEncoder`], so the same bytes as a turntable encoded while it renders).
pub fn encode_turntable(
    frames: &[RenderedImage],
    frame_delay_ms: u32,
    png_frames: bool,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), RenderError> {
    let mut encoder = TurntableEncoder::new(frame_delay_ms, png_frames);
    let mut pngs = Vec::new();
    for frame in frames {
        pngs.extend(encoder.push(frame.clone())?);
    }
    let (gif, rest) = encoder.finish()?;
    pngs.extend(rest);
    Ok((gif, pngs))
}

/// Animated GIF (loops forever) from frames of equal size (see [`TurntableEncoder`]).
pub fn encode_gif(frames: &[RenderedImage], frame_delay_ms: u32) -> Result<Vec<u8>, RenderError> {
    Ok(encode_turntable(frames, frame_delay_ms, false)?.0)
}

/// Encodes a turntable while it renders: frames are pushed one at a time and encoded a batch
/// (one frame per core) at a time, so at most one batch of raw frames is held however long
/// the turntable is. Colour quantization, nearly all of the cost, and each frame's PNG run
/// for the frames of a batch at once on every core; the GIF frames are then written in order
/// (the same bytes as `image`'s encoder at speed 10).
pub struct TurntableEncoder {
    delay: u16,
    png_frames: bool,
    batch: usize,
    pending: Vec<RenderedImage>,
    /// Created with the first frame, which fixes the size.
    gif: Option<gif::Encoder<Vec<u8>>>,
    size: (u32, u32),
    frames: usize,
    max_held: usize,
}

fn gif_err(e: gif::EncodingError) -> RenderError {
    RenderError::Encode(format!("GIF: {e}"))
}

impl TurntableEncoder {
    /// A batch of one frame per core.
    pub fn new(frame_delay_ms: u32, png_frames: bool) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_batch(frame_delay_ms, png_frames, cores)
    }

    pub fn with_batch(frame_delay_ms: u32, png_frames: bool, batch: usize) -> Self {
        TurntableEncoder {
            delay: u16::try_from(frame_delay_ms / 10).unwrap_or(u16::MAX),
            png_frames,
            batch: batch.max(1),
            pending: Vec::new(),
            gif: None,
            size: (0, 0),
            frames: 0,
            max_held: 0,
        }
    }

    /// Frames a batch holds (a renderer feeding this encoder need not run further ahead).
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The most raw frames this encoder held at once.
    pub fn max_held(&self) -> usize {
        self.max_held
    }

    /// Adds the next frame. Returns the PNGs of the frames encoded by this call, in order
    /// (empty until a batch is full, and always without `png_frames`).
    pub fn push(&mut self, frame: RenderedImage) -> Result<Vec<Vec<u8>>, RenderError> {
        if self.gif.is_none() {
            let size = |v: u32| {
                u16::try_from(v).map_err(|_| {
                    RenderError::Encode(format!("GIF: {v} px is over the format's 65535"))
                })
            };
            let (width, height) = (size(frame.width)?, size(frame.height)?);
            let mut enc = gif::Encoder::new(Vec::new(), width, height, &[]).map_err(gif_err)?;
            enc.set_repeat(gif::Repeat::Infinite).map_err(gif_err)?;
            self.gif = Some(enc);
            self.size = (frame.width, frame.height);
        }
        if (frame.width, frame.height) != self.size {
            return Err(RenderError::Encode(format!(
                "GIF: frames differ in size ({}×{} and {}×{})",
                self.size.0, self.size.1, frame.width, frame.height
            )));
        }
        if frame.rgba.len() != frame.width as usize * frame.height as usize * 4 {
            return Err(RenderError::Encode(
                "pixel buffer does not match image size".into(),
            ));
        }
        self.pending.push(frame);
        self.frames += 1;
        self.max_held = self.max_held.max(self.pending.len());
        if self.pending.len() >= self.batch {
            self.flush()
        } else {
            Ok(Vec::new())
        }
    }

    /// Encodes what is left and returns the GIF and the last PNGs. No frame at all gives an
    /// empty GIF.
    pub fn finish(mut self) -> Result<(Vec<u8>, Vec<Vec<u8>>), RenderError> {
        let pngs = self.flush()?;
        let gif = match self.gif.take() {
            Some(enc) => enc.into_inner().map_err(gif_err)?,
            None => Vec::new(),
        };
        Ok((gif, pngs))
    }

    fn flush(&mut self) -> Result<Vec<Vec<u8>>, RenderError> {
        let (w, h) = (self.size.0 as u16, self.size.1 as u16);
        let (delay, png_frames) = (self.delay, self.png_frames);
        let mut batch = std::mem::take(&mut self.pending);
        let encoded = map_on_every_core_mut(&mut batch, |f| {
            // The PNG first: quantization rewrites the pixel buffer in place.
            let png = if png_frames { Some(f.to_png()) } else { None };
            let mut frame = gif::Frame::from_rgba_speed(w, h, &mut f.rgba, 10);
            frame.delay = delay;
            frame.dispose = gif::DisposalMethod::Background;
            (frame, png)
        })?;
        drop(batch);
        let Some(enc) = self.gif.as_mut() else {
            return Ok(Vec::new());
        };
        let mut pngs = Vec::new();
        for (frame, png) in encoded {
            enc.write_frame(&frame).map_err(gif_err)?;
            if let Some(png) = png {
                pngs.push(png?);
            }
        }
        Ok(pngs)
    }
}

/// `f` over `items` on every core, each item mutable (contiguous chunks, one thread each),
/// results in order.
fn map_on_every_core_mut<T: Send, R: Send>(
    items: &mut [T],
    f: impl Fn(&mut T) -> R + Sync,
) -> Result<Vec<R>, RenderError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let len = items.len();
    let chunk = len.div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let workers: Vec<_> = items
            .chunks_mut(chunk)
            .map(|part| s.spawn(move || part.iter_mut().map(f).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(len);
        for w in workers {
            out.extend(
                w.join()
                    .map_err(|_| RenderError::Encode("an encoding thread panicked".into()))?,
            );
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames with gradients and a moving square, so quantization has work to do.
    fn frames(n: u32, w: u32, h: u32) -> Vec<RenderedImage> {
        (0..n)
            .map(|i| {
                let mut rgba = Vec::with_capacity((w * h * 4) as usize);
                for y in 0..h {
                    for x in 0..w {
                        let inside = x / 8 == i % (w / 8) && y / 8 == 1;
                        let r = if inside { 255 } else { (x * 255 / w) as u8 };
                        rgba.extend([r, (y * 255 / h) as u8, (i * 40 % 256) as u8, 255]);
                    }
                }
                RenderedImage {
                    width: w,
                    height: h,
                    rgba,
                }
            })
            .collect()
    }

    /// The reference: `image`'s own GIF encoder, which `encode_gif` used before it
    /// quantized frames in parallel.
    fn image_crate_gif(frames: &[RenderedImage], delay_ms: u32) -> Vec<u8> {
        use image::codecs::gif::{GifEncoder, Repeat};
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new_with_speed(&mut out, 10);
            enc.set_repeat(Repeat::Infinite).expect("repeat");
            for f in frames {
                let frame = image::Frame::from_parts(
                    f.image().expect("image"),
                    0,
                    0,
                    image::Delay::from_numer_denom_ms(delay_ms, 1),
                );
                enc.encode_frame(frame).expect("frame");
            }
        }
        out
    }

    #[test]
    fn parallel_gif_is_byte_identical_to_the_image_crates() {
        let frames = frames(7, 48, 32);
        assert_eq!(
            encode_gif(&frames, 83).expect("gif"),
            image_crate_gif(&frames, 83)
        );
        let (gif, pngs) = encode_turntable(&frames, 83, true).expect("turntable");
        assert_eq!(gif, image_crate_gif(&frames, 83));
        assert_eq!(pngs.len(), 7);
        assert_eq!(
            pngs[3],
            frames[3].to_png().expect("png"),
            "frames stay in order"
        );
        assert!(encode_turntable(&frames, 83, false)
            .expect("gif only")
            .1
            .is_empty());
    }

    /// Frames go in one at a time and a batch is encoded as soon as it is full: the encoder
    /// never holds more than one batch of raw frames, hands each PNG back once its batch is
    /// encoded, and still writes the bytes of an all-at-once encode.
    #[test]
    fn the_encoder_holds_one_batch_and_hands_pngs_over_as_it_goes() {
        let frames = frames(10, 48, 32);
        let mut enc = TurntableEncoder::with_batch(83, true, 3);
        let mut pngs = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let out = enc.push(f.clone()).expect("push");
            let expected = if (i + 1) % 3 == 0 { 3 } else { 0 };
            assert_eq!(out.len(), expected, "after frame {i}");
            pngs.extend(out);
        }
        assert_eq!((enc.frames(), enc.max_held()), (10, 3));
        let (gif, rest) = enc.finish().expect("finish");
        assert_eq!(rest.len(), 1, "the last, partial batch");
        pngs.extend(rest);
        assert_eq!(gif, image_crate_gif(&frames, 83));
        assert_eq!(pngs.len(), 10);
        for (png, f) in pngs.iter().zip(&frames) {
            assert_eq!(png, &f.to_png().expect("png"), "in order");
        }
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let mut frames = frames(2, 16, 16);
        assert!(encode_gif(&[], 83).expect("empty").is_empty());
        frames[1].width = 8;
        assert!(encode_gif(&frames, 83).is_err(), "sizes differ");
        frames[1].width = 16;
        frames[1].rgba.truncate(10);
        assert!(encode_gif(&frames, 83).is_err(), "short buffer");
        let wide = RenderedImage {
            width: 70_000,
            height: 1,
            rgba: vec![0; 280_000],
        };
        assert!(encode_gif(&[wide], 83).is_err(), "over 65535 px");
    }
}
