//! The share link as a QR code, drawn as one SVG path (a run of dark modules per `h`
//! segment) with the 4-module quiet zone the standard asks for (ISO/IEC 18004, 6.3.8).
//! Encoding is Nayuki's `qrcodegen` (well kept, no dependencies, small in wasm).

use std::fmt::Write;

use qrcodegen::{QrCode, QrCodeEcc};

const QUIET: i32 = 4;

/// The QR code of `text` as an SVG image named "QR code", or why it cannot be made.
pub fn svg(text: &str) -> Result<String, String> {
    // Medium: survives a smudged projector screen; a share link stays well within range.
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| "The link is too long for a QR code.".to_owned())?;
    let n = qr.size() + 2 * QUIET;
    let mut h = format!(
        r##"<svg role="img" aria-label="QR code" class="qr" viewBox="0 0 {n} {n}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/><path fill="#000" d=""##
    );
    for y in 0..qr.size() {
        let mut x = 0;
        while x < qr.size() {
            if qr.get_module(x, y) {
                let start = x;
                while x < qr.size() && qr.get_module(x, y) {
                    x += 1;
                }
                let _ = write!(
                    h,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET,
                    y + QUIET,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    h.push_str(r#""/></svg>"#);
    Ok(h)
}

/// The module matrix (true = dark), for tests and checks.
pub fn modules(text: &str) -> Option<Vec<Vec<bool>>> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    Some(
        (0..qr.size())
            .map(|y| (0..qr.size()).map(|x| qr.get_module(x, y)).collect())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 7×7 finder pattern: dark ring, light ring, dark 3×3 centre (ISO/IEC 18004, 6.3.3).
    fn finder_at(m: &[Vec<bool>], x0: usize, y0: usize) -> bool {
        (0..7).all(|y| {
            (0..7).all(|x| {
                let ring = x == 0 || y == 0 || x == 6 || y == 6;
                let centre = (2..=4).contains(&x) && (2..=4).contains(&y);
                m[y0 + y][x0 + x] == (ring || centre)
            })
        })
    }

    #[test]
    fn a_share_link_gives_a_standard_symbol() {
        let link = "http://192.168.1.20:8080/?host=192.168.1.20&port=8080&path=/mqtt&sub=class/%23&sub_qos=1&connect=1";
        let m = modules(link).unwrap();
        let n = m.len();
        assert_eq!((n - 17) % 4, 0, "size is 17 + 4 × version");
        assert!(
            (17 + 4 * 5..=17 + 4 * 10).contains(&n),
            "version 5-10 for ~100 characters at M: {n}"
        );
        assert!(finder_at(&m, 0, 0) && finder_at(&m, n - 7, 0) && finder_at(&m, 0, n - 7));
        // Timing pattern: row 6 alternates between the finders ([6.3.5]).
        assert!((8..n - 8).all(|x| m[6][x] == (x % 2 == 0)));
        // Known vector: version 1-M "HELLO WORLD" (ISO/IEC 18004 Annex I uses 01234567).
        let hello = modules("HELLO WORLD").unwrap();
        assert_eq!(hello.len(), 21);
        let row0: String = hello[0]
            .iter()
            .map(|d| if *d { '#' } else { '.' })
            .collect();
        assert_eq!(&row0[..7], "#######");
        assert_eq!(&row0[14..], "#######");
    }

    #[test]
    fn the_svg_is_named_and_has_a_quiet_zone() {
        let s = svg("hi").unwrap();
        assert!(
            s.starts_with(r#"<svg role="img" aria-label="QR code""#),
            "{s}"
        );
        assert!(s.contains(r#"viewBox="0 0 29 29""#), "21 + 2 × 4: {s}");
        assert!(
            s.contains("M4 4h7v1h-7z"),
            "the first finder row starts at the quiet zone"
        );
        assert!(svg(&"x".repeat(5000)).is_err());
    }
}
