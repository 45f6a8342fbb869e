//! Numbers to and from text without `core::fmt`'s float machinery and `str::parse::<f64>`,
//! whose tables and code would cost about 12 KB of the compressed bundle (measured; see
//! web/README.md, "Bundle"). Display needs a fixed number of decimals and plotting needs
//! about 15 significant digits, which plain arithmetic gives.

/// 10^e as f64 (exact up to 10^±22, then within a few ulp).
pub fn pow10(e: i32) -> f64 {
    if e < 0 {
        return 1.0 / pow10(-e);
    }
    let mut r = 1.0;
    let mut base = 10.0;
    let mut n = e.unsigned_abs();
    while n > 0 {
        if n & 1 == 1 {
            r *= base;
        }
        base *= base;
        n >>= 1;
    }
    r
}

/// ⌊log10(v)⌋ for v > 0 (0 otherwise).
pub fn floor_log10(v: f64) -> i32 {
    if !(v > 0.0 && v.is_finite()) {
        return 0;
    }
    let mut e = 0;
    let mut x = v;
    while x >= 10.0 {
        x /= 10.0;
        e += 1;
    }
    while x < 1.0 {
        x *= 10.0;
        e -= 1;
    }
    e
}

/// `v` with exactly `decimals` decimals (rounded half away from zero); non-finite values
/// as "–".
pub fn fixed(v: f64, decimals: u32) -> String {
    if !v.is_finite() || v.abs() >= 9.0e15 {
        return "–".into();
    }
    let scale = pow10(decimals as i32);
    #[allow(clippy::cast_possible_truncation)] // |v| < 9e15 and decimals small
    let n = ((v.abs() * scale) + 0.5).floor() as i64;
    let digits = n.to_string();
    let d = decimals as usize;
    let mut out = String::with_capacity(digits.len() + 3);
    if v < 0.0 && n != 0 {
        out.push('-');
    }
    if d == 0 {
        out.push_str(&digits);
    } else if digits.len() <= d {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', d - digits.len()));
        out.push_str(&digits);
    } else {
        let (a, b) = digits.split_at(digits.len() - d);
        out.push_str(a);
        out.push('.');
        out.push_str(b);
    }
    out
}

/// Up to `decimals` decimals, trailing zeros dropped: `21`, `21.5`, `0.001`.
pub fn short(v: f64, decimals: u32) -> String {
    let s = fixed(v, decimals);
    if !s.contains('.') {
        return s;
    }
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A number in JSON's grammar (`-? int frac? exp?`, surrounding spaces allowed); `None`
/// for anything else, including `inf` and `NaN`.
pub fn parse(s: &str) -> Option<f64> {
    let b = s.trim().as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg || b.first() == Some(&b'+') {
        i += 1;
    }
    let mut mant: u64 = 0;
    let mut exp: i32 = 0;
    let mut digits = 0;
    let mut any = false;
    while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        any = true;
        if digits < 19 {
            mant = mant * 10 + u64::from(c - b'0');
            if mant > 0 {
                digits += 1;
            }
        } else {
            exp += 1;
        }
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut frac = false;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            frac = true;
            if digits < 19 {
                mant = mant * 10 + u64::from(c - b'0');
                exp -= 1;
                if mant > 0 {
                    digits += 1;
                }
            }
            i += 1;
        }
        if !frac {
            return None;
        }
    }
    if !any {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = b.get(i) == Some(&b'-');
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let mut e: i32 = 0;
        let mut edigits = false;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            edigits = true;
            e = e.saturating_mul(10).saturating_add(i32::from(c - b'0'));
            i += 1;
        }
        if !edigits {
            return None;
        }
        exp = exp.saturating_add(if eneg { -e } else { e });
    }
    if i != b.len() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // at most 19 digits; plotting precision
    let m = mant as f64;
    // Split the scaling so 10^exp itself cannot overflow before the product is known.
    let v = if exp < -300 {
        m / pow10(-exp - 300) / pow10(300)
    } else if exp < 0 {
        m / pow10(-exp)
    } else {
        m * pow10(exp)
    };
    let v = if neg { -v } else { v };
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_short_round_like_people_do() {
        assert_eq!(fixed(21.45, 1), "21.5");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(-1.25, 1), "-1.3");
        assert_eq!(fixed(0.005, 3), "0.005");
        assert_eq!(fixed(1234.0, 0), "1234");
        assert_eq!(fixed(f64::NAN, 2), "–");
        assert_eq!(short(21.0, 4), "21");
        assert_eq!(short(1.23456, 4), "1.2346");
        assert_eq!(short(-0.00001, 4), "0");
    }

    #[test]
    fn parses_json_numbers_closely() {
        for (s, v) in [
            ("0", 0.0),
            ("21.5", 21.5),
            ("-3e2", -300.0),
            (" 1.25E-3 ", 0.00125),
            ("123456789012345678901234", 1.2345678901234568e23),
            ("1e-300", 1e-300),
        ] {
            let got = parse(s).unwrap();
            assert!((got - v).abs() <= v.abs() * 1e-14, "{s}: {got} vs {v}");
        }
        for bad in [
            "", "-", "1.", ".5", "1e", "1.2.3", "inf", "NaN", "0x10", "1e999",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn powers_and_logs() {
        assert_eq!(pow10(3), 1000.0);
        assert_eq!(pow10(-2), 0.01);
        assert_eq!(floor_log10(999.0), 2);
        assert_eq!(floor_log10(0.05), -2);
        assert_eq!(floor_log10(1.0), 0);
    }
}
