//! Records: the wire formats that both the domain audit and the message
//! report read — one tag-list tokenizer ([`tag_list`]) and, on it, the DKIM
//! key record, DMARC, MTA-STS (record and policy file), TLS-RPT and BIMI
//! records; the domain names audited ([`name`]), the address classes
//! that say how far an IP address reaches ([`address`]), and how values
//! are written into the trace header fields a receiver adds
//! ([`trace_field`]).
//!
//! This layer sits just above `dns` and below everything that judges: it
//! decides what a record or header field *says*, never whether that is
//! good. A parser here returns the record's parts and its syntax errors;
//! the findings about them are made by the checks above.

pub mod address;
pub mod bimi;
pub mod dkim_key;
pub mod dmarc;
pub mod mta_sts;
pub mod name;
pub mod tag_list;
pub mod tls_rpt;
pub mod trace_field;

/// Why a record's text is refused when its grammar allows only printable
/// ASCII and HTAB (BIMI, TLS-RPT): the first byte outside them.
fn unprintable(text: &str) -> Option<String> {
    text.bytes()
        .find(|b| !(0x20..=0x7e).contains(b) && *b != b'\t')
        .map(|bad| {
            format!("the record contains the byte 0x{bad:02X}; only printable ASCII is allowed")
        })
}
