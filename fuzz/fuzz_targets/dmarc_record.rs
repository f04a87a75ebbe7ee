//! The strict DMARC record parser (`mailvet::records::dmarc::parse`) on
//! arbitrary UTF-8 text (TXT data reaches it as text).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mailvet::records::dmarc::parse(text);
    }
});
