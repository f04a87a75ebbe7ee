//! The element state machine of the aggregate report parser: what each
//! start tag, end tag, text run and the end of input do — the root must be
//! `<feedback>`, unknown and foreign elements are skipped whole, metadata
//! comes before the first `<record>`, and the record, result and value
//! caps hold.

use super::assemble::{HeaderParts, RecordContext, RecordParts};
use super::elements::{Frame, child};
use super::{MAX_DKIM, MAX_REPEATED, MAX_SPF, MAX_VALUE, Step};
use crate::reports::aggregate::{DkimAuth, OverrideKind, OverrideReason, ReportHeader, SpfAuth};
use crate::untrusted::quoted;

pub(super) struct State {
    frames: Vec<Frame>,
    /// Depth inside an element being skipped (0: not skipping).
    skip: usize,
    text: String,
    pub(super) parts: HeaderParts,
    pub(super) header: Option<ReportHeader>,
    pub(super) record: RecordParts,
    /// Records begun so far.
    pub(super) records: usize,
    max_records: usize,
    /// The current line, 1-based.
    pub(super) line: u64,
    record_line: u64,
}

type Outcome = Result<Step, String>;

impl State {
    pub(super) fn new(max_records: usize) -> State {
        State {
            frames: Vec::with_capacity(8),
            skip: 0,
            text: String::new(),
            parts: HeaderParts::default(),
            header: None,
            record: RecordParts::default(),
            records: 0,
            max_records,
            line: 1,
            record_line: 0,
        }
    }

    /// A start tag; `foreign` is its namespace when that is not DMARC's.
    pub(super) fn start(&mut self, name: &str, foreign: Option<&str>) -> Outcome {
        if self.skip > 0 {
            self.skip += 1;
            return Ok(Step::Continue);
        }
        let Some(&parent) = self.frames.last() else {
            if name != "feedback" {
                return Err(format!(
                    "the root element is {}, not <feedback>: not a DMARC aggregate report",
                    quoted(&format!("<{name}>"))
                ));
            }
            if let Some(namespace) = foreign {
                return Err(format!(
                    "the root element <feedback> is in the namespace {}, not DMARC's \
                     (urn:ietf:params:xml:ns:dmarc-2.0 or none): not a DMARC aggregate report",
                    quoted(namespace)
                ));
            }
            self.frames.push(Frame::Feedback);
            return Ok(Step::Continue);
        };
        let frame = match foreign {
            Some(_) => None,
            None => child(parent, name),
        };
        let Some(frame) = frame else {
            self.skip = 1;
            return Ok(Step::Continue);
        };
        let mut step = Step::Continue;
        match frame {
            Frame::Metadata | Frame::Policy if self.header.is_some() => {
                return Err(format!("<{name}> after the first <record>"));
            }
            Frame::Metadata => self.parts.seen_metadata = true,
            Frame::Policy => self.parts.seen_policy = true,
            Frame::Record => {
                if self.header.is_none() {
                    self.header = Some(self.finish_header(true)?);
                    step = Step::HeaderDone;
                }
                self.records += 1;
                if self.records > self.max_records {
                    return Err(format!(
                        "more than {} records: the report is over the record cap",
                        self.max_records
                    ));
                }
                self.record = RecordParts::default();
                self.record_line = self.line;
            }
            Frame::Reason => {
                if self.record.reasons.len() >= MAX_REPEATED {
                    return Err(self.in_record(format!("more than {MAX_REPEATED} <reason>s")));
                }
                self.record.reasons.push(OverrideReason {
                    kind: OverrideKind::Other,
                    comment: None,
                });
            }
            Frame::Dkim => {
                if self.record.dkim.len() >= MAX_DKIM {
                    return Err(self.in_record(format!("more than {MAX_DKIM} <dkim> results")));
                }
                self.record.dkim.push(DkimAuth {
                    domain: String::new(),
                    selector: None,
                    result: crate::message::dmarc::AuthResult::None,
                    human_result: None,
                });
            }
            Frame::Spf => {
                if self.record.spf.len() >= MAX_SPF {
                    return Err(self.in_record(format!("more than {MAX_SPF} <spf> results")));
                }
                self.record.spf.push(SpfAuth {
                    domain: String::new(),
                    scope: None,
                    result: crate::message::dmarc::AuthResult::None,
                    human_result: None,
                });
            }
            Frame::Leaf(_) => self.text.clear(),
            _ => {}
        }
        self.frames.push(frame);
        Ok(step)
    }

    pub(super) fn end(&mut self) -> Outcome {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(Step::Continue);
        }
        match self.frames.pop() {
            Some(Frame::Leaf(field)) => {
                let text = std::mem::take(&mut self.text);
                self.assign(field, text.trim())?;
                self.text = text;
                Ok(Step::Continue)
            }
            Some(Frame::Record) => self.finish_record().map(Step::Record),
            Some(Frame::Feedback) => {
                if self.header.is_none() {
                    self.header = Some(self.finish_header(false)?);
                }
                Ok(Step::End)
            }
            _ => Ok(Step::Continue),
        }
    }

    pub(super) fn text(&mut self, text: &str) -> Outcome {
        if self.skip == 0 && matches!(self.frames.last(), Some(Frame::Leaf(_))) {
            if self.text.len() + text.len() > MAX_VALUE {
                return Err(format!("a value longer than {MAX_VALUE} bytes"));
            }
            self.text.push_str(text);
        }
        Ok(Step::Continue)
    }

    pub(super) fn eof(&mut self) -> Outcome {
        if self.frames.is_empty() {
            Err("no <feedback> element: the document is empty".into())
        } else {
            Err("the document ends before </feedback>".into())
        }
    }

    fn in_record(&self, message: String) -> String {
        self.context().say(message)
    }

    pub(super) fn context(&self) -> RecordContext {
        RecordContext {
            index: self.records,
            line: self.record_line,
        }
    }
}
