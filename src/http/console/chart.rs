//! The overview's chart: attempts per time bucket, stacked by verdict, as inline SVG drawn
//! here (no script, no library). Each bar has a title for a tooltip, and the figure a text
//! summary for screen readers.

use crate::store::VerdictCount;
use maud::{html, Markup};

/// The verdicts stacked, bottom up, with their colours (each also named in the legend).
pub const SERIES: [(&str, &str); 4] = [
    ("allow", "#2e7d32"),
    ("review", "#b26a00"),
    ("block", "#c62828"),
    ("error", "#6b7280"),
];

/// Draws `buckets` bars from the counts; `label` names a bucket's start for its tooltip.
pub fn stacked(counts: &[VerdictCount], buckets: i64, label: impl Fn(i64) -> String) -> Markup {
    let (width, height, pad) = (720.0_f64, 220.0_f64, 28.0_f64);
    let mut totals = vec![[0i64; 4]; buckets.max(1) as usize];
    for c in counts {
        if let (Some(row), Some(series)) = (
            totals.get_mut(c.bucket as usize),
            SERIES.iter().position(|(v, _)| *v == c.verdict),
        ) {
            row[series] += c.count;
        }
    }
    let max = totals
        .iter()
        .map(|r| r.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = (width - pad) / totals.len() as f64;
    let bar = (slot * 0.8).max(1.0);
    let scale = (height - pad) / max as f64;
    let total: i64 = totals.iter().flatten().sum();
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (width) " " (height) } role="img" aria-label={ (total) " attempts; the tallest bar holds " (max) } {
                line x1=(pad) y1=(height - pad) x2=(width) y2=(height - pad) stroke="#9ca3af" {}
                text x="0" y="12" font-size="11" fill="#374151" { (max) }
                text x="0" y=(height - pad) font-size="11" fill="#374151" { "0" }
                @for (i, row) in totals.iter().enumerate() {
                    @let x = pad + i as f64 * slot;
                    @let mut y = height - pad;
                    g {
                        title { (label(i as i64)) ": " @for (s, (name, _)) in SERIES.iter().enumerate() { (name) " " (row[s]) " " } }
                        @for (s, (_, colour)) in SERIES.iter().enumerate() {
                            @if row[s] > 0 {
                                @let h = row[s] as f64 * scale;
                                @let top = { y -= h; y };
                                rect x=(format!("{x:.1}")) y=(format!("{top:.1}")) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) fill=(colour) {}
                            }
                        }
                        // An invisible full-height target so the tooltip shows on empty bars too.
                        rect x=(format!("{x:.1}")) y="0" width=(format!("{slot:.1}")) height=(height - pad) fill="transparent" {}
                    }
                }
                text x=(pad) y=(height - 8.0) font-size="11" fill="#374151" { (label(0)) }
                text x=(width) y=(height - 8.0) font-size="11" fill="#374151" text-anchor="end" { "now" }
            }
            figcaption.legend {
                @for (name, colour) in SERIES {
                    span { svg.swatch width="12" height="12" aria-hidden="true" { rect width="12" height="12" fill=(colour) {} } " " (name) }
                }
            }
        }
    }
}
