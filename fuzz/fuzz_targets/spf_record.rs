//! The SPF record parser (`mailvet::spf::record`) on arbitrary TXT data.
//! `SpfRecord::parse` is only called on what `is_spf1` accepts, as the
//! evaluator and the audit do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet::spf::record::{SpfRecord, is_spf1};

fuzz_target!(|data: &[u8]| {
    if is_spf1(data) {
        let _ = SpfRecord::parse(data);
    }
});
