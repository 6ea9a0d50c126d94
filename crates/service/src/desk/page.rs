//! The desk operator's page: plain HTML, no script, nothing loaded from elsewhere.
//!
//! It shows the open round (when it opened, who may claim, claims, refusals) and the
//! rounds before it, and a form to open the next round with the operator token. Nothing on
//! it identifies a person: no pseudonyms, no claim times, only counts.
//!
//! Accessibility: one `h1`, headed sections, a description list for the open round, a
//! table with caption and column headers for earlier rounds, a labelled form field, a
//! visible focus outline, and colours whose contrast ratios (checked by a test against the
//! WCAG 2 formula) are at least 7:1 for text. It works with the keyboard alone (the only
//! controls are a link, a field and a button) and without CSS.

use std::fmt::Write as _;

use masque_cred::Timestamp;

use super::RoundSummary;

/// Text colour.
pub const TEXT: (u8, u8, u8) = (0x1b, 0x1b, 0x1b);
/// Background colour.
pub const BACKGROUND: (u8, u8, u8) = (0xff, 0xff, 0xff);
/// Accent (links, button background, focus outline).
pub const ACCENT: (u8, u8, u8) = (0x0b, 0x3d, 0x6e);

fn css() -> String {
    let hex = |(r, g, b): (u8, u8, u8)| format!("#{r:02x}{g:02x}{b:02x}");
    let (text, bg, accent) = (hex(TEXT), hex(BACKGROUND), hex(ACCENT));
    format!(
        "body{{font-family:system-ui,sans-serif;font-size:1.125rem;line-height:1.5;\
         color:{text};background:{bg};margin:0 auto;max-width:48rem;padding:1rem}}\
         a{{color:{accent}}}\
         dl{{display:grid;grid-template-columns:max-content auto;gap:.25rem 1.5rem}}\
         dt{{font-weight:600}}dd{{margin:0}}\
         .count{{font-size:1.5rem;font-weight:700}}\
         table{{border-collapse:collapse}}th,td{{border:1px solid {text};padding:.25rem .75rem;text-align:right}}\
         th[scope=row],th[scope=col]:first-child{{text-align:left}}\
         form{{display:flex;flex-wrap:wrap;gap:.5rem}}label{{flex-basis:100%;font-weight:600}}\
         input{{font:inherit;padding:.25rem;border:2px solid {text};color:{text};background:{bg}}}\
         button{{font:inherit;padding:.375rem 1rem;color:{bg};background:{accent};border:0}}\
         :focus-visible{{outline:3px solid {accent};outline-offset:2px}}"
    )
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn utc_minute(t: Timestamp) -> String {
    match i64::try_from(t.0)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
    {
        Some(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        ),
        None => format!("{} s after 1970", t.0),
    }
}

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn who_may_claim(r: &RoundSummary) -> String {
    match r.info.enrolled_before {
        Some(q) => format!("People enrolled before {q}"),
        None => "Anyone with a valid credential".into(),
    }
}

/// The page for desk `desk`; `rounds` is the open round first, then earlier ones.
pub fn render(desk: &str, rounds: &[RoundSummary], rounds_form: bool) -> String {
    let mut h = String::new();
    let desk = esc(desk);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Aid desk {desk}</title><style>{}</style></head><body>\
         <header><h1>Aid desk {desk}</h1></header><main>",
        css()
    );
    if let Some(open) = rounds.first() {
        let n = open.info.number;
        let _ = write!(
            h,
            "<section aria-labelledby=\"open-round\"><h2 id=\"open-round\">Round {n} (open)</h2><dl>\
             <dt>Opened</dt><dd>{}</dd>\
             <dt>Who may claim</dt><dd>{}</dd>\
             <dt>Claims</dt><dd class=\"count\" id=\"claims\">{}</dd>\
             <dt>Refused: already claimed this round</dt><dd class=\"count\" id=\"duplicates\">{}</dd>\
             <dt>Refused: presentation did not verify</dt><dd class=\"count\" id=\"invalid\">{}</dd>\
             </dl></section>",
            utc_minute(open.info.opened_at),
            who_may_claim(open),
            open.claims,
            open.duplicates,
            open.invalid
        );
    }
    h.push_str("<section aria-labelledby=\"earlier\"><h2 id=\"earlier\">Earlier rounds</h2>");
    if rounds.len() > 1 {
        h.push_str(
            "<table><caption>Claims and refusals of earlier rounds, newest first</caption>\
             <thead><tr><th scope=\"col\">Round</th><th scope=\"col\">Opened</th>\
             <th scope=\"col\">Claims</th><th scope=\"col\">Already claimed</th>\
             <th scope=\"col\">Did not verify</th></tr></thead><tbody>",
        );
        for r in &rounds[1..] {
            let _ = write!(
                h,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.info.number,
                utc_minute(r.info.opened_at),
                r.claims,
                r.duplicates,
                r.invalid
            );
        }
        h.push_str("</tbody></table>");
    } else {
        h.push_str("<p>None yet.</p>");
    }
    h.push_str("</section>");
    if let (true, Some(open)) = (rounds_form, rounds.first()) {
        let next = open.info.number.saturating_add(1);
        let _ = write!(
            h,
            "<section aria-labelledby=\"new-round\"><h2 id=\"new-round\">Open round {next}</h2>\
             <p id=\"new-round-help\">Opening round {next} ends round {}: everyone may claim once more.</p>\
             <form method=\"post\" action=\"/rounds\">\
             <label for=\"token\">Operator token</label>\
             <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required \
             aria-describedby=\"new-round-help\">\
             <button type=\"submit\">Open round {next}</button></form></section>",
            open.info.number
        );
    }
    h.push_str(
        "<p><a href=\"/\">Refresh the counts</a></p>\
         <p>This page shows counts only: no names, no pseudonyms, no times of claims.</p>\
         </main></body></html>\n",
    );
    h
}

/// A short page with one message and a link back (answers to the form).
pub fn message(title: &str, text: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{t}</title><style>{}</style></head><body><main><h1>{t}</h1><p>{}</p>\
         <p><a href=\"/\">Back to the desk</a></p></main></body></html>\n",
        css(),
        esc(text),
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::RoundInfo;

    /// WCAG 2 contrast ratio of two sRGB colours.
    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        fn lum((r, g, b): (u8, u8, u8)) -> f64 {
            let ch = |c: u8| {
                let c = f64::from(c) / 255.0;
                if c <= 0.03928 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)
        }
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn colours_meet_wcag_aaa_contrast() {
        assert!(contrast(TEXT, BACKGROUND) >= 7.0);
        assert!(
            contrast(ACCENT, BACKGROUND) >= 7.0,
            "{}",
            contrast(ACCENT, BACKGROUND)
        );
        assert!(contrast((0, 0, 0), (255, 255, 255)) > 20.9);
    }

    fn summary(number: u64, claims: u64) -> RoundSummary {
        RoundSummary {
            info: RoundInfo {
                number,
                opened_at: Timestamp(1_798_761_599),
                enrolled_before: None,
            },
            claims,
            duplicates: 1,
            invalid: 2,
        }
    }

    #[test]
    fn page_shows_counts_and_labels_its_form() {
        let page = render("north", &[summary(2, 5), summary(1, 9)], true);
        assert!(page.contains("<html lang=\"en\">"));
        assert!(page.contains("Round 2 (open)"));
        assert!(page.contains("id=\"claims\">5<"));
        assert!(page.contains("<th scope=\"row\">1</th>"));
        assert!(page.contains("<label for=\"token\">") && page.contains("id=\"token\""));
        assert!(page.contains("2026-12-31 23:59 UTC"));
        assert!(
            !page.contains("<script") && !page.contains("http://") && !page.contains("https://")
        );
        assert!(!render("north", &[summary(1, 0)], false).contains("<form"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(message("T", "<b>").contains("&lt;b&gt;"));
    }
}
