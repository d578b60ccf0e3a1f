//! Kubernetes memory quantities (`512Mi`, `1G`, `1.5Gi`) as bytes.

use thiserror::Error;

/// Why a quantity did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    #[error("{0:?} is not a quantity: expected a number with an optional suffix Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P or E (for example 512Mi)")]
    Syntax(String),
    #[error("{0:?} uses the suffix 'm', which means milli (1/1000) in a Kubernetes quantity; write Mi for mebibytes (for example 512Mi)")]
    Milli(String),
    #[error("{0:?} is too large")]
    Overflow(String),
}

const SUFFIXES: &[(&str, u128)] = &[
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// Parses a quantity into bytes, rounding a fractional result up to a whole byte.
pub fn parse_quantity(text: &str) -> Result<u64, QuantityError> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if suffix == "m" {
        return Err(QuantityError::Milli(text.to_string()));
    }
    let multiplier = if suffix.is_empty() {
        1
    } else {
        SUFFIXES
            .iter()
            .find(|(name, _)| *name == suffix)
            .map(|(_, m)| *m)
            .ok_or_else(|| QuantityError::Syntax(text.to_string()))?
    };
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 9
    {
        return Err(QuantityError::Syntax(text.to_string()));
    }
    let overflow = || QuantityError::Overflow(text.to_string());
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| overflow())?
    };
    let scale = 10u128.pow(frac.len() as u32);
    let frac: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| overflow())?
    };
    let scaled = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac))
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(overflow)?;
    let bytes = scaled.div_ceil(scale);
    u64::try_from(bytes).map_err(|_| overflow())
}

/// Formats bytes with the largest binary suffix that divides them exactly (`536870912` →
/// `512Mi`), then a decimal one, else plain bytes.
pub fn format_bytes(bytes: u64) -> String {
    let b = u128::from(bytes);
    if b == 0 {
        return "0".to_string();
    }
    for (name, m) in SUFFIXES[..6].iter().rev().chain(SUFFIXES[6..].iter().rev()) {
        if b % m == 0 {
            return format!("{}{name}", b / m);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binary_and_decimal_suffixes() {
        assert_eq!(parse_quantity("512Mi"), Ok(512 << 20));
        assert_eq!(parse_quantity("1Gi"), Ok(1 << 30));
        assert_eq!(parse_quantity("1.5Gi"), Ok(3 << 29));
        assert_eq!(parse_quantity("1G"), Ok(1_000_000_000));
        assert_eq!(parse_quantity("64k"), Ok(64_000));
        assert_eq!(parse_quantity("1024"), Ok(1024));
        assert_eq!(parse_quantity(" 2Ki "), Ok(2048));
        assert_eq!(parse_quantity("0.5"), Ok(1), "fractions round up");
    }

    #[test]
    fn rejects_milli_and_garbage() {
        assert!(matches!(
            parse_quantity("512m"),
            Err(QuantityError::Milli(_))
        ));
        for bad in ["", "Mi", "12XB", "1.2.3Mi", "-5Mi", "1e3", "ten"] {
            assert!(
                matches!(parse_quantity(bad), Err(QuantityError::Syntax(_))),
                "{bad:?} should be a syntax error"
            );
        }
        assert!(matches!(
            parse_quantity("99999999999Ei"),
            Err(QuantityError::Overflow(_))
        ));
    }

    #[test]
    fn formats_with_the_exact_suffix() {
        assert_eq!(format_bytes(512 << 20), "512Mi");
        assert_eq!(format_bytes(1 << 30), "1Gi");
        assert_eq!(format_bytes(3 << 29), "1536Mi");
        assert_eq!(format_bytes(1_000_000_000), "1G");
        assert_eq!(format_bytes(1000), "1k");
        assert_eq!(format_bytes(1001), "1001");
        assert_eq!(format_bytes(0), "0");
    }
}
