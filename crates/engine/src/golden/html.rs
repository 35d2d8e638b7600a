//! `parity.html`: one self-contained page (no scripts, no external files needed to see the
//! images: they are embedded as data URIs; scene files are linked beside it).

use std::fmt::Write as _;

use super::report::SuiteReport;
use super::runner::{CaseFile, CaseResult, RunSummary};
use crate::compare::{
    ArtifactComparison, ArtifactDetail, ComparisonReport, Finding, ImageComparison,
    NodeParityState, Verdict,
};

/// Text safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn data_uri(file: &CaseFile) -> String {
    format!("data:{};base64,{}", file.media_type, base64(&file.bytes))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}\
h1{margin-bottom:4px}section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:16px 0}\
.badge{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600;font-size:90%}\
.pass{background:#2e7d32}.warn{background:#ef6c00}.fail{background:#c62828}.error{background:#6a1b9a}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:90%}\
th{background:#f0f0f0}.pair{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}\
figure{margin:0}figcaption{font-size:85%;color:#555}img{border:1px solid #ccc;image-rendering:pixelated;max-width:384px;min-width:128px}\
.muted{color:#777}code{background:#f3f3f3;padding:0 3px}ul{margin:4px 0}";

fn badge(status: &str) -> String {
    format!("<span class=\"badge {s}\">{s}</span>", s = escape(status))
}

fn verdict_badge(v: Verdict) -> String {
    badge(v.as_str())
}

/// The whole page.
pub fn render_html(report: &SuiteReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Parity report: {}</title><style>{STYLE}</style></head><body>",
        report.status.as_str()
    );
    let _ = write!(
        h,
        "<h1>Golden-case parity {}</h1><p class=\"muted\">{} case(s) in {} ms · {} pass · {} warn · {} fail · {} error · exit code {} · cases <code>{}</code> · fixtures <code>{}</code></p>",
        badge(report.status.as_str()),
        report.cases.len(),
        report.duration_ms,
        report.counts.pass,
        report.counts.warn,
        report.counts.fail,
        report.counts.error,
        report.exit_code,
        escape(&report.cases_dir),
        escape(&report.fixtures),
    );
    h.push_str("<table><tr><th>case</th><th>status</th><th>verdict</th><th>kind</th><th>product</th><th>first differing node</th><th>time</th></tr>");
    for c in &report.cases {
        let _ = write!(
            h,
            "<tr><td><a href=\"#{n}\">{n}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td></tr>",
            badge(c.status.as_str()),
            c.verdict.map(verdict_badge).unwrap_or_default(),
            escape(c.artifact_kind.as_str()),
            escape(&c.product),
            c.attributed_node().map(escape).unwrap_or_else(|| "—".into()),
            c.duration_ms,
            n = escape(&c.name),
        );
    }
    h.push_str("</table>");
    for c in &report.cases {
        case_section(&mut h, c);
    }
    h.push_str("</body></html>\n");
    h
}

fn case_section(h: &mut String, c: &CaseResult) {
    let _ = write!(
        h,
        "<section id=\"{n}\"><h2>{n} {}</h2>",
        badge(c.status.as_str()),
        n = escape(&c.name)
    );
    if !c.description.is_empty() {
        let _ = write!(h, "<p>{}</p>", escape(&c.description));
    }
    let expected = match &c.expected.failure {
        Some(f) => format!("both paths fail with <code>{}</code>", escape(&f.code)),
        None => format!("verdict {}", c.expected.verdict),
    };
    let _ = write!(
        h,
        "<p class=\"muted\">{} · {} · product <code>{}</code> · expected: {} · {} ms{}</p>",
        escape(&c.family.to_string()),
        escape(c.artifact_kind.as_str()),
        escape(&c.product),
        expected,
        c.duration_ms,
        c.processing_ms
            .map(|p| format!(" (processing {p} ms)"))
            .unwrap_or_default()
    );
    if !c.problems.is_empty() {
        h.push_str("<ul>");
        for p in &c.problems {
            let _ = write!(h, "<li>{}</li>", escape(p));
        }
        h.push_str("</ul>");
    }
    h.push_str(
        "<table><tr><th>path</th><th>run</th><th>status</th><th>time</th><th>failure</th></tr>",
    );
    for (label, run) in [
        ("legacy", &c.legacy),
        ("graph", &c.graph),
        ("legacy (noise)", &c.noise),
    ] {
        if let Some(run) = run {
            run_row(h, label, run);
        }
    }
    h.push_str("</table>");
    if let Some(report) = &c.comparison {
        comparison(h, c, report);
    }
    h.push_str("</section>");
}

fn run_row(h: &mut String, label: &str, run: &RunSummary) {
    let failure = run
        .failure
        .as_ref()
        .map(|f| {
            format!(
                "<code>{}</code> at <code>{}</code>: {}",
                escape(&f.code),
                escape(&f.node),
                escape(&f.message)
            )
        })
        .unwrap_or_default();
    let _ = write!(
        h,
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
        escape(label),
        escape(&run.run_id),
        escape(run.status.as_str()),
        run.duration_ms,
        failure
    );
}

fn findings(h: &mut String, list: &[Finding]) {
    if list.is_empty() {
        return;
    }
    h.push_str("<ul>");
    for f in list {
        let _ = write!(
            h,
            "<li>{} <code>{}</code> {}</li>",
            verdict_badge(f.verdict),
            escape(&f.code),
            escape(&f.message)
        );
    }
    h.push_str("</ul>");
}

fn comparison(h: &mut String, c: &CaseResult, report: &ComparisonReport) {
    let _ = write!(h, "<h3>Comparison {}</h3>", verdict_badge(report.verdict));
    findings(h, &report.findings);
    if let Some(noise) = &report.noise_baseline {
        let _ = write!(
            h,
            "<p class=\"muted\">Noise baseline: legacy vs legacy {}{}.</p>",
            noise.noise_verdict,
            if noise.unstable {
                " (unstable: legacy differs from itself)"
            } else {
                ""
            }
        );
    }
    for a in &report.artifacts {
        artifact(h, c, a);
    }
    let se = &report.side_effects;
    let _ = write!(h, "<h4>Side effects {}</h4>", verdict_badge(se.verdict));
    findings(h, &se.findings);
    if !se.roles.is_empty() {
        h.push_str("<table><tr><th>role</th><th>legacy</th><th>graph</th><th>verdict</th></tr>");
        for r in &se.roles {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.role,
                r.reference,
                r.candidate,
                verdict_badge(r.verdict)
            );
        }
        h.push_str("</table>");
    }
    for d in &se.documents {
        let _ = write!(
            h,
            "<p>{} #{}: {} · {} difference(s)</p>",
            d.role,
            d.index,
            verdict_badge(d.verdict),
            d.total_differences
        );
        if !d.differences.is_empty() {
            h.push_str("<table><tr><th>path</th><th>legacy</th><th>graph</th></tr>");
            for diff in d.differences.iter().take(20) {
                let show = |v: &Option<serde_json::Value>| {
                    v.as_ref()
                        .map(|v| escape(&v.to_string()))
                        .unwrap_or_else(|| "—".into())
                };
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    escape(&diff.path),
                    show(&diff.reference),
                    show(&diff.candidate)
                );
            }
            h.push_str("</table>");
        }
    }
    if let Some(a) = &report.attribution {
        let _ = write!(h, "<h4>Attribution</h4><p>{}</p>", escape(&a.message));
        h.push_str("<table><tr><th>graph node</th><th>type</th><th>legacy step</th><th>state</th><th>detail</th></tr>");
        for n in &a.nodes {
            let state = match n.state {
                NodeParityState::Same => "same",
                NodeParityState::Differs => "differs",
                NodeParityState::NoCounterpart => "no counterpart",
                NodeParityState::NotRun => "not run",
            };
            let strong = a.node_id.as_deref() == Some(n.node_id.as_str());
            let _ = write!(
                h,
                "<tr><td>{}{}{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if strong { "<b>" } else { "" },
                escape(&n.node_id),
                if strong { "</b>" } else { "" },
                escape(&n.node_type),
                n.legacy_step.as_deref().map(escape).unwrap_or_default(),
                state,
                escape(&n.detail)
            );
        }
        h.push_str("</table>");
    }
}

fn metrics_row(h: &mut String, label: &str, c: &ImageComparison) {
    match &c.metrics {
        Some(m) => {
            let psnr = m
                .psnr_db
                .map(|p| format!("{p:.2} dB"))
                .unwrap_or_else(|| "∞ (identical)".into());
            let over = c
                .shares
                .as_ref()
                .map(|s| format!("{:.3} %", s.over_fail.percent))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}×{}</td><td>{psnr}</td><td>{:.5}</td><td>{:.4}</td><td>{over}</td><td>{}</td></tr>",
                escape(label),
                m.width,
                m.height,
                m.ssim,
                m.max_difference,
                verdict_badge(c.verdict)
            );
        }
        None => {
            let _ = write!(
                h,
                "<tr><td>{}</td><td colspan=\"5\">sizes differ: {:?} vs {:?}</td><td>{}</td></tr>",
                escape(label),
                c.reference_size,
                c.candidate_size,
                verdict_badge(c.verdict)
            );
        }
    }
}

const METRICS_HEAD: &str = "<table><tr><th>image</th><th>size</th><th>PSNR</th><th>SSIM</th><th>max diff</th><th>pixels over fail tolerance</th><th>verdict</th></tr>";

fn figure(h: &mut String, caption: &str, file: Option<&CaseFile>) {
    let Some(file) = file else {
        return;
    };
    if file.media_type.starts_with("image/") {
        let _ = write!(
            h,
            "<figure><img alt=\"{c}\" src=\"{}\"><figcaption>{c}</figcaption></figure>",
            data_uri(file),
            c = escape(caption)
        );
    } else {
        let _ = write!(
            h,
            "<figure><a href=\"{}\">{}</a><figcaption>{} ({} bytes)</figcaption></figure>",
            escape(&file.path),
            escape(&file.path),
            escape(caption),
            file.bytes.len()
        );
    }
}

fn artifact(h: &mut String, c: &CaseResult, a: &ArtifactComparison) {
    let _ = write!(
        h,
        "<h4>{} #{} ({}) {}</h4>",
        a.role,
        a.index,
        escape(&a.media_type),
        verdict_badge(a.verdict)
    );
    findings(h, &a.findings);
    let find = |id: &str| c.files.iter().find(|f| f.artifact == id);
    h.push_str("<div class=\"pair\">");
    figure(h, "legacy", find(&a.reference_artifact));
    figure(h, "graph", find(&a.candidate_artifact));
    if let Some(name) = &a.diff_image {
        figure(h, "difference (heat map)", find(name));
    }
    h.push_str("</div>");
    match &a.comparison {
        ArtifactDetail::Image(img) => {
            h.push_str(METRICS_HEAD);
            metrics_row(h, "image", img);
            h.push_str("</table>");
        }
        ArtifactDetail::Turntable(t) => {
            let _ = write!(
                h,
                "<p>{} legacy frame(s), {} graph frame(s); worst frame {}</p>",
                t.reference_frames,
                t.candidate_frames,
                t.worst_frame
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| "—".into())
            );
            h.push_str(METRICS_HEAD);
            for f in &t.frames {
                metrics_row(h, &format!("frame {}", f.frame), &f.comparison);
            }
            h.push_str("</table>");
        }
        ArtifactDetail::Scene(s) => {
            let _ = write!(
                h,
                "<table><tr><th></th><th>parts</th><th>triangles</th><th>cameras</th><th>lights</th></tr>\
                 <tr><td>legacy</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\
                 <tr><td>graph</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
                s.reference.parts,
                s.reference.triangles,
                s.reference.cameras,
                s.reference.lights,
                s.candidate.parts,
                s.candidate.triangles,
                s.candidate.cameras,
                s.candidate.lights
            );
            if !s.parts.is_empty() {
                h.push_str("<table><tr><th>part key</th><th>aspect</th><th>verdict</th><th>message</th></tr>");
                for p in s.parts.iter().take(40) {
                    let _ = write!(
                        h,
                        "<tr><td><code>{}</code></td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
                        escape(&p.part_key),
                        p.aspect,
                        verdict_badge(p.verdict),
                        escape(&p.message)
                    );
                }
                h.push_str("</table>");
            }
        }
        ArtifactDetail::Bytes { identical } => {
            let _ = write!(
                h,
                "<p>compared byte for byte: {}</p>",
                if *identical { "identical" } else { "different" }
            );
        }
        ArtifactDetail::Error { code, message } => {
            let _ = write!(
                h,
                "<p><code>{}</code> {}</p>",
                escape(code),
                escape(message)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
