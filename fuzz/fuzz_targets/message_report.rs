//! The full message report (`mailvet::message::report::report`, what
//! `POST /v1/messages` answers) on arbitrary bytes, then its JSON.
//!
//! DNS is offline: the fixture zones of fixtures/messages (msg.test,
//! esp.test, the reverse zone) are the only data, every other name is
//! NXDOMAIN, and nothing leaves the process. The first input byte chooses
//! the envelope, the rest is the message:
//!   bit 0: client IP 192.0.2.10 given (else inferred from Received)
//!   bit 1: HELO mail.msg.test given
//!   bit 2: MAIL FROM bounce@msg.test given (bit 3 with it: null sender)
//!   bit 4: bulk declared (bit 5: its value)
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailvet::message::Clock;
use mailvet::message::envelope::Envelope;
use mailvet_fuzz::{FIXTURE_TIME, Offline};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

fn offline() -> &'static Offline {
    static OFFLINE: OnceLock<Offline> = OnceLock::new();
    OFFLINE.get_or_init(|| Offline::new("", ""))
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, raw)) = data.split_first() else {
        return;
    };
    let envelope = Envelope {
        ip: (flags & 1 != 0).then_some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
        helo: (flags & 2 != 0).then(|| "mail.msg.test".to_string()),
        mail_from: (flags & 4 != 0).then(|| {
            if flags & 8 != 0 {
                String::new()
            } else {
                "bounce@msg.test".to_string()
            }
        }),
    };
    let answer = offline().report(
        raw.to_vec(),
        envelope,
        (flags & 16 != 0).then_some(flags & 32 != 0),
        Clock::at(FIXTURE_TIME),
    );
    if let Ok(report) = answer {
        serde_json::to_vec(&report).expect("a report serialises");
    }
});
