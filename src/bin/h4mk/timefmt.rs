//! Times on the command line: nanoseconds in, GStreamer-style `H:MM:SS.nnnnnnnnn` out.

/// Formats nanoseconds the way GStreamer prints clock times.
pub fn format_ns(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    format!(
        "{}:{:02}:{:02}.{:09}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ns % 1_000_000_000
    )
}

pub fn format_opt(t: Option<u64>) -> String {
    t.map_or_else(|| "none".into(), format_ns)
}

/// Parses `12.5` (seconds), `1:02:03.5`, `2:03`, or `1500ms` / `40us` / `7ns` into nanoseconds.
pub fn parse_time(s: &str) -> Result<u64, String> {
    if s.starts_with('-') {
        return Err(format!(
            "'{s}' is before the start: times count from the start of the file (0)"
        ));
    }
    let bad = || {
        format!(
            "'{s}' is not a time: use seconds (12.5), H:MM:SS.frac, or a number with ns/us/ms/s"
        )
    };
    for (suffix, scale) in [("ns", 1u64), ("us", 1_000), ("ms", 1_000_000)] {
        if let Some(n) = s.strip_suffix(suffix) {
            return n
                .trim()
                .parse::<u64>()
                .ok()
                .and_then(|v| v.checked_mul(scale))
                .ok_or_else(bad);
        }
    }
    let s_clean = s.strip_suffix('s').unwrap_or(s);
    let mut total: u64 = 0;
    let parts: Vec<&str> = s_clean.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let (whole, frac) = match p.split_once('.') {
            Some((w, f)) if last => (w, f),
            Some(_) => return Err(bad()),
            None => (*p, ""),
        };
        if !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 9
        {
            return Err(bad());
        }
        let w: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        if i > 0 && w >= 60 {
            return Err(bad());
        }
        total = total
            .checked_mul(60)
            .and_then(|t| t.checked_add(w))
            .ok_or_else(bad)?;
        if last {
            let frac_ns: u64 = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<9}").parse().map_err(|_| bad())?
            };
            return total
                .checked_mul(1_000_000_000)
                .and_then(|t| t.checked_add(frac_ns))
                .ok_or_else(bad);
        }
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_time("12.5").unwrap(), 12_500_000_000);
        assert_eq!(parse_time("1:02:03.000000001").unwrap(), 3_723_000_000_001);
        assert_eq!(parse_time("2:03").unwrap(), 123_000_000_000);
        assert_eq!(parse_time("1500ms").unwrap(), 1_500_000_000);
        assert_eq!(parse_time("7ns").unwrap(), 7);
        assert_eq!(parse_time("3s").unwrap(), 3_000_000_000);
        for bad in [
            "",
            "abc",
            "1:60",
            "1.5:00",
            "-1",
            "1.0000000001",
            "99999999999999999999",
            "1::2",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert_eq!(format_ns(3_723_000_000_001), "1:02:03.000000001");
    }
}
