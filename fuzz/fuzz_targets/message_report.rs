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
use mailvet::dns::{Dns, Settings, UpstreamChoice, zone};
use mailvet::message::Clock;
use mailvet::message::envelope::Envelope;
use mailvet::message::limits::MessageLimits;
use mailvet::message::report::{MessageRequest, report};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::runtime::Runtime;

struct Setup {
    runtime: Runtime,
    dns: Arc<Dns>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/messages/");
        let zones = ["messages.zone", "esp.zone", "reverse.zone"]
            .iter()
            .map(|f| zone::Zone::load(format!("{dir}{f}").as_ref()).expect("fixture zone"))
            .collect();
        let settings = Settings {
            upstream: UpstreamChoice::Offline,
            query_timeout: Duration::from_millis(200),
            attempts: 1,
            deadline: Duration::from_secs(2),
            cache_capacity: 0,
            max_questions: mailvet::dns::DEFAULT_MAX_QUESTIONS,
        };
        let dns = runtime.block_on(async { Dns::new(settings, zones).expect("resolver layer") });
        Setup { runtime, dns }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, raw)) = data.split_first() else {
        return;
    };
    let setup = setup();
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
    let request = MessageRequest {
        raw: raw.to_vec(),
        envelope,
        bulk: (flags & 16 != 0).then_some(flags & 32 != 0),
        authserv_id: "mailvet".to_string(),
        // 2026-06-02, so fixture signatures are neither future nor expired.
        clock: Clock::at(1_780_400_000),
        limits: MessageLimits::default(),
    };
    let answer = setup
        .runtime
        .block_on(async { report(&setup.dns, &request, true).await });
    if let Ok(report) = answer {
        serde_json::to_vec(&report).expect("a report serialises");
    }
});
