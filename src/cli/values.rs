//! Value parsers for flags that take a duration, a bounded count or the
//! server's public URL.
//!
//! This module decides how `--deadline 500ms`, `--max-batch 50` or
//! `--base-url https://mailvet.example.com` are written and which values
//! are refused at startup, with a message saying what to write instead.

use std::time::Duration;

/// `500ms`, `2s`, `1m`, or a bare number of seconds; from 1ms to 60m.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. 500ms, 2s or 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("`{s}`: unit must be ms, s or m")),
    };
    if !(0.001..=3600.0).contains(&seconds) {
        return Err(format!("`{s}` is out of range (1ms to 60m)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses a count from 1 to `max`.
pub fn count(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s| match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number from 1 to {max}")),
    }
}

/// A period of days to minutes (a retention, a token's life): `7d`,
/// `12h`, `30m` or `90s`, from one minute to ten years.
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let seconds_per = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("`{s}`: write a number and d, h, m or s, e.g. 7d")),
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per))
        .ok_or_else(|| format!("`{s}` is not a duration; write e.g. 7d or 12h"))?;
    if !(60..=10 * 365 * 86_400).contains(&seconds) {
        return Err(format!("`{s}` is out of range (1m to 3650d)"));
    }
    Ok(Duration::from_secs(seconds))
}

/// Largest byte count a size flag takes (1 TiB): larger is a typo.
pub const MAX_BYTES: usize = 1 << 40;

/// `https://HOST[:PORT]`, a trailing slash allowed: the origin, as
/// [`crate::reports::rua::https_origin`] writes it.
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let host = text
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| text[8..].strip_suffix('/').unwrap_or(&text[8..]));
    host.and_then(crate::reports::rua::https_origin)
        .ok_or_else(|| {
            format!(
                "`{}` is not https:// and a host name with an optional port; give the URL mail \
                 servers reach mailvet serve by, e.g. https://mailvet.example.com (RFC 8460 \
                 reports are posted over HTTPS only)",
                crate::untrusted::escape_controls(text)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(count(10)("10").unwrap(), 10);
        assert!(count(10)("0").is_err());
        assert!(count(10)("11").is_err());
    }

    #[test]
    fn a_base_url_is_an_https_origin() {
        for (text, origin) in [
            ("https://Mailvet.Example", "https://mailvet.example"),
            (
                "HTTPS://mailvet.example:8443/",
                "https://mailvet.example:8443",
            ),
            (" https://[2001:db8::1] ", "https://[2001:db8::1]"),
        ] {
            assert_eq!(parse_base_url(text).as_deref(), Ok(origin), "{text}");
        }
        for text in [
            "http://mailvet.example",
            "mailvet.example",
            "https://mailvet.example/mailvet",
            "https://user@mailvet.example",
            "https://",
        ] {
            let refusal = parse_base_url(text).unwrap_err();
            assert!(refusal.contains("is not https://"), "{text}: {refusal}");
        }
    }
}
