//! Markup written as text, for the page's data-driven figures.
//!
//! Every element built with `html!` compiles to WebAssembly of its own
//! (a few hundred bytes each), so a plot of fifty kinds of element costs
//! kilobytes of page. A figure without listeners — an SVG plot, a table of
//! numbers — can instead be written as text with `write!` and handed to the
//! browser whole ([`raw`]); the code is then one formatting call per
//! element. Anything in that text that is not the page's own — a name the
//! student typed, a message the server sent — goes through [`Esc`], so it
//! is shown as text and never read as markup.

use std::fmt;

use yew::{AttrValue, Html};

/// Text made safe to write inside an element or a quoted attribute: `&`,
/// `<`, `>`, `"` and `'` become character references.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// Markup written with [`Esc`] around everything not the page's own, as
/// nodes of the page. (Inside an `<svg>` the nodes are SVG elements.)
pub fn raw(markup: String) -> Html {
    Html::from_html_unchecked(AttrValue::from(markup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_shown_not_parsed() {
        assert_eq!(
            Esc(r#"<b a="1" b='2'>Tom & Jerry</b>"#).to_string(),
            "&lt;b a=&quot;1&quot; b=&#39;2&#39;&gt;Tom &amp; Jerry&lt;/b&gt;"
        );
    }

    #[test]
    fn plain_text_and_unicode_are_kept() {
        assert_eq!(Esc("").to_string(), "");
        assert_eq!(
            Esc("p50 1.2 ms ≥ 3 → done").to_string(),
            "p50 1.2 ms ≥ 3 → done"
        );
        assert_eq!(Esc("a&&b").to_string(), "a&amp;&amp;b");
    }
}
