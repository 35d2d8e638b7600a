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

/// A turntable's deliverables: the animated GIF and, when asked, one PNG per frame. The GIF
/// (one thread) and the PNGs (every core) are encoded at the same time.
pub fn encode_turntable(
    frames: &[RenderedImage],
    frame_delay_ms: u32,
    png_frames: bool,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), RenderError> {
    std::thread::scope(|s| {
        let gif = s.spawn(|| encode_gif(frames, frame_delay_ms));
        let pngs = if png_frames {
            encode_png_frames(frames)?
        } else {
            Vec::new()
        };
        let gif = gif
            .join()
            .map_err(|_| RenderError::Encode("the GIF encoding thread panicked".into()))??;
        Ok((gif, pngs))
    })
}

/// Animated GIF (loops forever) from frames of equal size. Colour quantization, nearly all
/// of the cost, runs for several frames at once on every core; the frames are then written
/// in order (the same bytes as `image`'s encoder at speed 10).
pub fn encode_gif(frames: &[RenderedImage], frame_delay_ms: u32) -> Result<Vec<u8>, RenderError> {
    let Some(first) = frames.first() else {
        return Ok(Vec::new());
    };
    let size = |v: u32| {
        u16::try_from(v)
            .map_err(|_| RenderError::Encode(format!("GIF: {v} px is over the format's 65535")))
    };
    let (width, height) = (size(first.width)?, size(first.height)?);
    if let Some(f) = frames
        .iter()
        .find(|f| (f.width, f.height) != (first.width, first.height))
    {
        return Err(RenderError::Encode(format!(
            "GIF: frames differ in size ({}×{} and {}×{})",
            first.width, first.height, f.width, f.height
        )));
    }
    let pixels = usize::from(width) * usize::from(height) * 4;
    if frames.iter().any(|f| f.rgba.len() != pixels) {
        return Err(RenderError::Encode(
            "pixel buffer does not match image size".into(),
        ));
    }
    let delay = u16::try_from(frame_delay_ms / 10).unwrap_or(u16::MAX);
    let quantized = map_on_every_core(frames, |f| {
        let mut rgba = f.rgba.clone();
        let mut frame = gif::Frame::from_rgba_speed(width, height, &mut rgba, 10);
        frame.delay = delay;
        frame.dispose = gif::DisposalMethod::Background;
        frame
    })?;
    let mut out = Vec::new();
    {
        let gif_err = |e: gif::EncodingError| RenderError::Encode(format!("GIF: {e}"));
        let mut enc = gif::Encoder::new(&mut out, width, height, &[]).map_err(gif_err)?;
        enc.set_repeat(gif::Repeat::Infinite).map_err(gif_err)?;
        for frame in &quantized {
            enc.write_frame(frame).map_err(gif_err)?;
        }
    }
    Ok(out)
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
