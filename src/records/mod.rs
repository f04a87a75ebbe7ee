//! Records: the wire formats that both the domain audit and the message
//! report read — the tag lists of DKIM, DMARC, BIMI, TLS-RPT and MTA-STS
//! records, and (as they move here) the records themselves.
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
