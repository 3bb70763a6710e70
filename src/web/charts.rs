//! Charts as server-rendered SVG, in pure Rust: bars per day, a histogram, a weekday × hour
//! heat map and horizontal bars for breakdowns. Each chart is an image for assistive
//! technology (`role="img"`, a `<title>` and a `<desc>` it is labelled by), each bar carries its
//! value in a `<title>` (a tooltip), every text is escaped, and the size comes from the
//! `viewBox` alone so the chart takes the width of its container, on a phone too. No script,
//! no `style` attribute (the pages' CSP forbids them): colours are presentation attributes and
//! classes `app.css` may refine.

use std::fmt::Write;

/// What names a chart: a page-unique `id` (for `aria-labelledby`), its title, and a sentence
/// saying what it shows for those who cannot see it.
#[derive(Debug, Clone, Copy)]
pub struct ChartText<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An id safe in an attribute and as an IDREF.
fn safe_id(id: &str) -> String {
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if id.is_empty() { "chart".into() } else { id }
}

const BAR: &str = "#2563eb";
const AXIS: &str = "#6b7280";
const FONT: f64 = 11.0;

fn open(out: &mut String, text: &ChartText<'_>, width: f64, height: f64, class: &str) {
    let id = safe_id(text.id);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart {class}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" font-family=\"system-ui, sans-serif\" font-size=\"{FONT}\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(text.title),
        escape(text.description)
    );
}

/// A round number at or above `max` for the top of an axis (1, 2, 5 × 10ⁿ).
pub fn nice_ceiling(max: u64) -> u64 {
    if max == 0 {
        return 1;
    }
    let mut step = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let candidate = step.saturating_mul(factor);
            if candidate >= max {
                return candidate;
            }
        }
        if step > u64::MAX / 10 {
            return max;
        }
        step *= 10;
    }
}

/// Vertical bars, one per labelled value (days of a period, a histogram's buckets). With many
/// bars only some labels are written, evenly spaced; every bar keeps its own in its tooltip.
pub fn bar_chart(text: &ChartText<'_>, bars: &[(String, u64)]) -> String {
    let (width, height) = (640.0, 240.0);
    let (left, right, top, bottom) = (36.0, 8.0, 10.0, 34.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let top_value = nice_ceiling(bars.iter().map(|b| b.1).max().unwrap_or(0));
    let mut out = String::new();
    open(&mut out, text, width, height, "chart-bars");
    axes(&mut out, left, top, plot_w, plot_h, top_value);
    let n = bars.len().max(1) as f64;
    let slot = plot_w / n;
    let gap = (slot * 0.2).min(4.0);
    // Room for about one label per 48 units of width.
    let label_every = ((bars.len() as f64 * 48.0 / plot_w).ceil() as usize).max(1);
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = plot_h * (*value as f64) / top_value as f64;
        let x = left + slot * i as f64 + gap / 2.0;
        let y = top + plot_h - h;
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{BAR}\">\
             <title>{}: {value}</title></rect>",
            (slot - gap).max(0.5),
            escape(label)
        );
        if i % label_every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{AXIS}\">{}</text>",
                left + slot * (i as f64 + 0.5),
                top + plot_h + 16.0,
                escape(label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn axes(out: &mut String, left: f64, top: f64, plot_w: f64, plot_h: f64, top_value: u64) {
    let bottom = top + plot_h;
    let _ = write!(
        out,
        "<g class=\"axis\" stroke=\"{AXIS}\" stroke-width=\"1\">\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{:.1}\" y2=\"{bottom}\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{:.1}\" y2=\"{top}\" stroke-dasharray=\"3 3\" stroke-opacity=\"0.5\"/></g>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{AXIS}\">{top_value}</text>\
         <text x=\"{:.1}\" y=\"{bottom}\" text-anchor=\"end\" fill=\"{AXIS}\">0</text>",
        left + plot_w,
        left + plot_w,
        left - 4.0,
        top + 4.0,
        left - 4.0,
    );
}

/// A histogram: bars for buckets, each labelled and with its count written above it.
pub fn histogram(text: &ChartText<'_>, buckets: &[(String, u64)]) -> String {
    let (width, height) = (400.0, 200.0);
    let (left, right, top, bottom) = (8.0, 8.0, 18.0, 30.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let mut out = String::new();
    open(&mut out, text, width, height, "chart-histogram");
    let slot = plot_w / buckets.len().max(1) as f64;
    for (i, (label, value)) in buckets.iter().enumerate() {
        let h = plot_h * (*value as f64) / max as f64;
        let x = left + slot * i as f64 + 6.0;
        let y = top + plot_h - h;
        let centre = left + slot * (i as f64 + 0.5);
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{BAR}\">\
             <title>{label}: {value}</title></rect>\
             <text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{value}</text>\
             <text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{AXIS}\">{label}</text>",
            (slot - 12.0).max(1.0),
            y - 4.0,
            top + plot_h + 18.0,
            label = escape(label),
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"{AXIS}\"/></svg>",
        top + plot_h,
        left + plot_w
    );
    out
}

/// Horizontal bars for a breakdown (per contact, intent, employee): label, bar, value.
pub fn horizontal_bars(text: &ChartText<'_>, rows: &[(String, u64)]) -> String {
    let row_h = 22.0;
    let (width, label_w, value_w) = (480.0, 150.0, 44.0);
    let height = (rows.len().max(1) as f64) * row_h + 8.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let bar_room = width - label_w - value_w;
    let mut out = String::new();
    open(&mut out, text, width, height, "chart-hbars");
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let w = bar_room * (*value as f64) / max as f64;
        let shown: String = if label.chars().count() > 24 {
            label.chars().take(23).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{BAR}\">\
             <title>{}: {value}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{value}</text>",
            label_w - 6.0,
            y + 15.0,
            escape(&shown),
            y + 3.0,
            row_h - 6.0,
            escape(label),
            label_w + w + 4.0,
            y + 15.0,
        );
    }
    out.push_str("</svg>");
    out
}

/// A weekday × hour heat map: seven rows (labels given, Monday first) of 24 cells whose
/// opacity follows the count; every cell says its count in a tooltip.
pub fn heat_map(text: &ChartText<'_>, days: &[String; 7], grid: &[[u64; 24]; 7]) -> String {
    let (left, top, cell, gap) = (40.0, 16.0, 24.0, 2.0);
    let width = left + 24.0 * cell + 4.0;
    let height = top + 7.0 * cell + 4.0;
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut out = String::new();
    open(&mut out, text, width, height, "chart-heat");
    for hour in (0..24).step_by(3) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{AXIS}\">{hour}</text>",
            left + cell * (hour as f64 + 0.5),
            top - 4.0
        );
    }
    for (d, (label, hours)) in days.iter().zip(grid.iter()).enumerate() {
        let y = top + cell * d as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + cell / 2.0 + 4.0,
            escape(label)
        );
        for (h, &count) in hours.iter().enumerate() {
            let opacity = if count == 0 {
                0.06
            } else {
                0.15 + 0.85 * count as f64 / max as f64
            };
            let _ = write!(
                out,
                "<rect class=\"cell\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" \
                 fill=\"{BAR}\" fill-opacity=\"{opacity:.2}\"><title>{} {h:02}:00–{h:02}:59: {count}</title></rect>",
                left + cell * h as f64,
                y,
                cell - gap,
                cell - gap,
                escape(label),
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small well-formedness check: tags nest and close, attributes are quoted, `&` only
    /// starts an entity, no `<` in text. Returns the element names in document order.
    pub(crate) fn check_xml(xml: &str) -> Result<Vec<String>, String> {
        let mut stack: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut rest = xml;
        while !rest.is_empty() {
            match rest.find('<') {
                Some(start) => {
                    check_text(&rest[..start])?;
                    let end = rest[start..].find('>').ok_or("unterminated tag")? + start;
                    let tag = &rest[start + 1..end];
                    if let Some(name) = tag.strip_prefix('/') {
                        let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                        if open != name.trim() {
                            return Err(format!("<{open}> closed by </{name}>"));
                        }
                    } else {
                        let self_closing = tag.ends_with('/');
                        let body = tag.trim_end_matches('/');
                        let name = body.split_whitespace().next().ok_or("empty tag")?;
                        check_attributes(&body[name.len()..])?;
                        elements.push(name.to_string());
                        if !self_closing {
                            stack.push(name.to_string());
                        }
                    }
                    rest = &rest[end + 1..];
                }
                None => {
                    check_text(rest)?;
                    rest = "";
                }
            }
            if stack.is_empty() && !rest.trim().is_empty() && !elements.is_empty() {
                return Err("content after the root element".into());
            }
        }
        if let Some(open) = stack.pop() {
            return Err(format!("<{open}> never closed"));
        }
        Ok(elements)
    }

    fn check_text(text: &str) -> Result<(), String> {
        if text.contains('>') {
            return Err(format!("raw > in {text:?}"));
        }
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            let end = rest[at..].find(';').ok_or(format!("bare & in {text:?}"))? + at;
            let entity = &rest[at + 1..end];
            let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
                || entity
                    .strip_prefix('#')
                    .is_some_and(|n| n.parse::<u32>().is_ok());
            if !known {
                return Err(format!("unknown entity &{entity};"));
            }
            rest = &rest[end + 1..];
        }
        Ok(())
    }

    fn check_attributes(mut attrs: &str) -> Result<(), String> {
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                return Ok(());
            }
            let eq = attrs
                .find('=')
                .ok_or(format!("attribute without value: {attrs}"))?;
            let name = &attrs[..eq];
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("bad attribute name {name:?}"));
            }
            let value = &attrs[eq + 1..];
            let value = value.strip_prefix('"').ok_or(format!("unquoted {name}"))?;
            let close = value.find('"').ok_or(format!("unterminated {name}"))?;
            let inner = &value[..close];
            if inner.contains('<') {
                return Err(format!("< in attribute {name}"));
            }
            check_text(inner)?;
            attrs = &value[close + 1..];
        }
    }

    fn text<'a>() -> ChartText<'a> {
        ChartText {
            id: "t\"x",
            title: "Tickets & <messages>",
            description: "Per day",
        }
    }

    fn count(elements: &[String], name: &str) -> usize {
        elements.iter().filter(|e| *e == name).count()
    }

    #[test]
    fn the_checker_catches_broken_xml() {
        assert!(check_xml("<a><b/></a>").is_ok());
        assert!(check_xml("<a><b></a>").is_err());
        assert!(check_xml("<a x=1></a>").is_err());
        assert!(check_xml("<a>&</a>").is_err());
        assert!(check_xml("<a>x > y</a>").is_err());
        assert!(check_xml("<a></a><b></b>").is_err());
    }

    #[test]
    fn bar_charts_are_accessible_well_formed_and_escaped() {
        let bars: Vec<(String, u64)> = (1..=31)
            .map(|d| (format!("2026-10-{d:02} <&>"), d as u64 % 7))
            .collect();
        let svg = bar_chart(&text(), &bars);
        let elements = check_xml(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        assert_eq!(elements[0], "svg");
        assert_eq!(svg.matches("class=\"bar\"").count(), 31);
        // One title for the chart, one per bar.
        assert_eq!(count(&elements, "title"), 32);
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"tx-title tx-desc\""));
        assert!(svg.contains("<title id=\"tx-title\">Tickets &amp; &lt;messages&gt;</title>"));
        assert!(svg.contains("viewBox=\"0 0 640 240\""));
        assert!(!svg.contains(" width=\"640\""), "sized by the viewBox only");
        assert!(!svg.contains("<script") && !svg.contains("style="));
        // Fewer labels than bars when they would overlap, and the axis tops at a round value.
        let labels = svg.matches("text-anchor=\"middle\"").count();
        assert!(labels > 3 && labels < 31, "{labels}");
        assert!(svg.contains(">10</text>"), "{svg}");
        // No data: still a chart.
        check_xml(&bar_chart(&text(), &[])).unwrap();
    }

    #[test]
    fn histograms_and_breakdowns_have_one_bar_per_value() {
        let buckets: Vec<(String, u64)> = ["< 1 h", "1–4 h", "4–24 h", "1–3 j", "> 3 j"]
            .iter()
            .zip([5, 3, 0, 1, 2])
            .map(|(l, n)| (l.to_string(), n))
            .collect();
        let svg = histogram(&text(), &buckets);
        let elements = check_xml(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        assert_eq!(count(&elements, "rect"), 5);
        assert!(svg.contains("&lt; 1 h: 5"));
        let rows = vec![
            ("Service client".to_string(), 12),
            ("A contact whose name is far too long to fit".to_string(), 3),
        ];
        let svg = horizontal_bars(&text(), &rows);
        let elements = check_xml(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        assert_eq!(count(&elements, "rect"), 2);
        assert!(svg.contains("A contact whose name is…"));
        assert!(svg.contains("A contact whose name is far too long to fit: 3"));
    }

    #[test]
    fn the_heat_map_has_a_cell_per_hour_of_the_week() {
        let mut grid = [[0u64; 24]; 7];
        grid[0][9] = 8;
        grid[4][14] = 2;
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun<"].map(String::from);
        let svg = heat_map(&text(), &days, &grid);
        let elements = check_xml(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        assert_eq!(svg.matches("class=\"cell\"").count(), 168);
        assert!(svg.contains("Mon 09:00–09:59: 8"));
        assert!(svg.contains("fill-opacity=\"1.00\""));
        assert!(svg.contains("Sun&lt;"));
        assert_eq!(count(&elements, "title"), 169);
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(6), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(201), 500);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }
}
