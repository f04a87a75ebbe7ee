//! Value parsers for flags that take a duration, a bounded number, a size,
//! an IP address, an address to listen on or the server's public URL.
//!
//! This module decides how `--deadline 500ms`, `--max-batch 50` or
//! `--base-url https://mailvet.example.com` are written and which values
//! are refused at startup, with a message saying what to write instead.

use std::fmt::Display;
use std::net::SocketAddr;
use std::str::FromStr;
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

/// A whole number from `min` to `max`, written in digits only.
pub fn number<T>(
    min: T,
    max: T,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |s| {
        let t = s.trim();
        let range = format!("a whole number from {min} to {max}");
        match t.parse::<T>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err(format!("`{t}` is out of range; write {range}")),
            Err(_) => Err(format!("`{t}` is not {range}{}", digits_only(t))),
        }
    }
}

/// A count from 1 to `max`.
pub fn count(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    number(1, max)
}

/// A hint for a number written with thousands separators: the same
/// digits without them.
fn digits_only(t: &str) -> String {
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' '))
        .collect();
    if digits != t && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("; write digits only, e.g. {digits}")
    } else {
        String::new()
    }
}

/// A size from `min` to `max` bytes: a number of bytes, or one with a
/// unit: KB, MB, GB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024),
/// in any case (`25MiB`, `500 kb`).
pub fn bytes<T>(
    min: u64,
    max: u64,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: TryFrom<u64>,
{
    move |s| {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let per: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => {
                return Err(format!(
                    "`{t}` is not a size; write a whole number of bytes, or one with KB, MB, GB \
                     (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 25MiB"
                ));
            }
        };
        let range = format!("from {} to {}", shown_bytes(min), shown_bytes(max));
        let n = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(per))
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("`{t}` is out of range; write a size {range}"))?;
        T::try_from(n).map_err(|_| format!("`{t}` is too large for this machine"))
    }
}

/// A byte count as a size flag's message shows it: in the largest binary
/// unit it is a whole number of.
fn shown_bytes(n: u64) -> String {
    for (unit, size) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    format!("{n} bytes")
}

/// An address and port to listen on.
pub fn listen_address(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    if let Ok(address) = t.parse() {
        return Ok(address);
    }
    let example = match t.trim_start_matches(':').parse::<u16>() {
        Ok(port) => format!(
            "`{t}` is a port alone; write an address and the port, e.g. 127.0.0.1:{port} \
             (this machine only) or 0.0.0.0:{port} (every interface)"
        ),
        Err(_) => format!(
            "`{}` is not an address and port; write e.g. 127.0.0.1:8080, 0.0.0.0:8080 or \
             [::1]:8080",
            crate::untrusted::escape_controls(t)
        ),
    };
    Err(example)
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
        assert_eq!(
            count(100_000)("10,000").unwrap_err(),
            "`10,000` is not a whole number from 1 to 100000; write digits only, e.g. 10000"
        );
        assert_eq!(
            number(0u32, 1000)("abc").unwrap_err(),
            "`abc` is not a whole number from 0 to 1000"
        );
        assert_eq!(number(0u32, 1000)("0").unwrap(), 0);
        // A point may be a decimal one: no digits are suggested for it.
        assert_eq!(
            number(1u32, 10)("2.5").unwrap_err(),
            "`2.5` is not a whole number from 1 to 10"
        );
    }

    #[test]
    fn sizes_take_a_unit() {
        let size = bytes::<usize>(1, 1 << 40);
        assert_eq!(size("25MiB").unwrap(), 25 << 20);
        assert_eq!(size("25 mb").unwrap(), 25_000_000);
        assert_eq!(size("1024").unwrap(), 1024);
        assert_eq!(size("2KiB").unwrap(), 2048);
        assert!(size("25M").unwrap_err().contains("e.g. 25MiB"));
        assert!(size("2.5MiB").unwrap_err().contains("is not a size"));
        assert_eq!(
            bytes::<u64>(1024, 1 << 30)("2GiB").unwrap_err(),
            "`2GiB` is out of range; write a size from 1KiB to 1GiB"
        );
    }

    #[test]
    fn addresses_teach_their_form() {
        assert_eq!(listen_address("0.0.0.0:25").unwrap().port(), 25);
        assert!(
            listen_address("8081")
                .unwrap_err()
                .contains("a port alone; write an address and the port, e.g. 127.0.0.1:8081")
        );
        assert!(
            listen_address("localhost:80")
                .unwrap_err()
                .contains("[::1]:8080")
        );
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
