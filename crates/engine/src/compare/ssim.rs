//! SSIM as Wang, Bovik, Sheikh & Simoncelli define it (IEEE TIP 2004; the authors'
//! `ssim_index.m`): an 11×11 Gaussian window (σ = 1.5) slid over every position where it fits,
//! K1 = 0.01, K2 = 0.03, L = 255, population statistics, the mean of the SSIM map. This is
//! what scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False, data_range=255)` computes; a colour image's SSIM is the mean
//! of its channels' (scikit-image's `channel_axis`).
//!
//! Why not a crate: `dssim-core` is AGPL (this workspace is MIT/Apache-2.0), and
//! `image-compare` 0.5's SSIM sums the window (co)variances instead of averaging them, which
//! makes its constant C2 64× too small and its scores far from standard SSIM (±2 steps of
//! noise on a flat area scores ≈ 0.3 there, ≈ 0.99 here).

const WINDOW: usize = 11;
const SIGMA: f64 = 1.5;
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

fn gaussian() -> [f64; WINDOW] {
    let mut w = [0.0; WINDOW];
    let half = (WINDOW / 2) as f64;
    for (i, v) in w.iter_mut().enumerate() {
        let d = i as f64 - half;
        *v = (-(d * d) / (2.0 * SIGMA * SIGMA)).exp();
    }
    let sum: f64 = w.iter().sum();
    w.map(|v| v / sum)
}

/// `data` filtered with the separable window, 'valid' region only: `(w−10)×(h−10)` values.
fn filter_valid(data: &[f64], w: usize, h: usize, k: &[f64; WINDOW]) -> Vec<f64> {
    let ow = w + 1 - WINDOW;
    let oh = h + 1 - WINDOW;
    let mut rows = vec![0.0; ow * h];
    for y in 0..h {
        let line = &data[y * w..(y + 1) * w];
        for x in 0..ow {
            rows[y * ow + x] = k.iter().zip(&line[x..x + WINDOW]).map(|(a, b)| a * b).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = k
                .iter()
                .enumerate()
                .map(|(i, a)| a * rows[(y + i) * ow + x])
                .sum();
        }
    }
    out
}

fn ssim_formula(mx: f64, my: f64, vx: f64, vy: f64, cxy: f64) -> f64 {
    ((2.0 * mx * my + C1) * (2.0 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))
}

/// Mean SSIM of one channel (`a`, `b`: `w × h` samples, 0..255). Images smaller than the
/// window in either direction are one window: their global statistics, uniformly weighted.
pub fn ssim_channel(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    let n = w * h;
    if n == 0 || a.len() != n || b.len() != n {
        return 1.0;
    }
    if w < WINDOW || h < WINDOW {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
        let (mx, my) = (mean(a), mean(b));
        let vx = a.iter().map(|x| (x - mx) * (x - mx)).sum::<f64>() / n as f64;
        let vy = b.iter().map(|y| (y - my) * (y - my)).sum::<f64>() / n as f64;
        let cxy = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - mx) * (y - my))
            .sum::<f64>()
            / n as f64;
        return ssim_formula(mx, my, vx, vy, cxy);
    }
    let k = gaussian();
    let mu_x = filter_valid(a, w, h, &k);
    let mu_y = filter_valid(b, w, h, &k);
    let xx: Vec<f64> = a.iter().map(|x| x * x).collect();
    let yy: Vec<f64> = b.iter().map(|y| y * y).collect();
    let xy: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
    let e_xx = filter_valid(&xx, w, h, &k);
    let e_yy = filter_valid(&yy, w, h, &k);
    let e_xy = filter_valid(&xy, w, h, &k);
    let total: f64 = (0..mu_x.len())
        .map(|i| {
            let (mx, my) = (mu_x[i], mu_y[i]);
            ssim_formula(
                mx,
                my,
                e_xx[i] - mx * mx,
                e_yy[i] - my * my,
                e_xy[i] - mx * my,
            )
        })
        .sum();
    total / mu_x.len() as f64
}

/// Mean SSIM over interleaved channels: `a`, `b` hold `channels` samples per pixel; the
/// result is the mean of the first `compared` channels' SSIM.
pub fn ssim_interleaved(
    a: &[u8],
    b: &[u8],
    w: usize,
    h: usize,
    channels: usize,
    compared: usize,
) -> f64 {
    let compared = compared.min(channels).max(1);
    let plane = |data: &[u8], c: usize| -> Vec<f64> {
        data.iter()
            .skip(c)
            .step_by(channels)
            .map(|&v| f64::from(v))
            .collect()
    };
    let sum: f64 = (0..compared)
        .map(|c| ssim_channel(&plane(a, c), &plane(b, c), w, h))
        .sum();
    sum / compared as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(w: usize, h: usize) -> Vec<f64> {
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                ((x * 7 + y * 13) % 256) as f64 * 0.5
                    + if (x / 4 + y / 4) % 2 == 0 { 0.0 } else { 100.0 }
            })
            .collect()
    }

    #[test]
    fn identical_is_one_and_changes_lower_it() {
        let a = pattern(40, 30);
        assert!((ssim_channel(&a, &a, 40, 30) - 1.0).abs() < 1e-12);
        let mut b = a.clone();
        for v in b.iter_mut().take(200) {
            *v = 255.0 - *v;
        }
        let s = ssim_channel(&a, &b, 40, 30);
        assert!(s < 0.99, "{s}");
        // a tiny image is one window
        let t = ssim_channel(&a[..20], &b[..20], 5, 4);
        assert!(t < 1.0);
    }

    /// Reference values from scikit-image 0.26 `structural_similarity(a, b,
    /// gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)` on the
    /// same generated 48×40 images.
    #[test]
    fn matches_scikit_image() {
        let (w, h) = (48usize, 40usize);
        let gen = |f: &dyn Fn(usize, usize) -> usize| -> Vec<f64> {
            (0..w * h).map(|i| f(i % w, i / w) as f64).collect()
        };
        let a = gen(&|x, y| (x * 7 + y * 13) % 256);
        let b = gen(&|x, y| {
            if (x * y) % 9 != 0 {
                (x * 7 + y * 13) % 256
            } else {
                (x * 5 + y * 11) % 256
            }
        });
        let c =
            gen(&|x, y| (x * 3 + y * 2 + if (x / 6 + y / 6) % 2 == 1 { 5 } else { 0 }).min(255));
        let s_ab = ssim_channel(&a, &b, w, h);
        let s_ac = ssim_channel(&a, &c, w, h);
        assert!((s_ab - 0.4332827660109878).abs() < 1e-9, "{s_ab}");
        assert!((s_ac - 0.2277080671639669).abs() < 1e-9, "{s_ac}");
    }

    #[test]
    fn flat_area_noise_scores_near_one() {
        let a = vec![128.0; 32 * 32];
        let b: Vec<f64> = (0..32 * 32)
            .map(|i| 128.0 + [-2.0, 0.0, 2.0, 1.0, -1.0][i % 5])
            .collect();
        let s = ssim_channel(&a, &b, 32, 32);
        assert!(s > 0.95, "{s}");
    }
}
