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

/// Each frame as PNG bytes, in order; encoded on every core (a 36-frame turntable is 36
/// independent encodes).
pub fn encode_png_frames(frames: &[RenderedImage]) -> Result<Vec<Vec<u8>>, RenderError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = frames.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let workers: Vec<_> = frames
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(RenderedImage::to_png).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(frames.len());
        for w in workers {
            let encoded = w
                .join()
                .map_err(|_| RenderError::Encode("a PNG encoding thread panicked".into()))?;
            for png in encoded {
                out.push(png?);
            }
        }
        Ok(out)
    })
}

/// Animated GIF (loops forever) from frames of equal size.
pub fn encode_gif(frames: &[RenderedImage], frame_delay_ms: u32) -> Result<Vec<u8>, RenderError> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.set_repeat(Repeat::Infinite)
            .map_err(|e| RenderError::Encode(format!("GIF: {e}")))?;
        for f in frames {
            let frame = image::Frame::from_parts(
                f.image()?,
                0,
                0,
                image::Delay::from_numer_denom_ms(frame_delay_ms, 1),
            );
            enc.encode_frame(frame)
                .map_err(|e| RenderError::Encode(format!("GIF: {e}")))?;
        }
    }
    Ok(out)
}
