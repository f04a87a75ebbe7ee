//! The zone-file loader (`mailvet::dns::zone::parse`, what `--zone` uses)
//! on arbitrary UTF-8 text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(zone) = mailvet::dns::zone::parse(text, None) {
            // What the overlay asks of a loaded zone.
            for r in &zone.records {
                let _ = zone.covers(&r.record.name);
            }
        }
    }
});
