//! Reading the client: command lines and the DATA section, each under a
//! cap, from a buffered stream that may be plain TCP or TLS.
//!
//! This module decides how much of the client's input is held. A command
//! line may be at most [`MAX_COMMAND_LINE`] bytes with its CRLF (RFC 5321
//! §4.5.3.1.4 allows 512; the extensions' parameters need more); a longer
//! one is read to its end and thrown away, and answered as too long. The
//! DATA section is dot-unstuffed by `smtp-proto` as it arrives and kept up
//! to the message size limit; past it the rest is read and dropped, so the
//! client still gets its `552` at the end of the data rather than a
//! broken connection. What the sessions hold of message data in all is
//! bounded by a memory budget taken in [`MEMORY_UNIT`] steps as a message
//! grows: when it is spent the rest of that message is dropped and the
//! client is told to try again later. Lines inside DATA are not capped
//! apart from the message size: real mail breaks the 998-byte rule of
//! RFC 5322 often enough that refusing it would refuse real senders.

use smtp_proto::request::receiver::DataReceiver;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A client connection, plain or under TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The buffered connection a session reads and writes.
pub type Conn = BufReader<Box<dyn Io>>;

/// Most bytes of one command line, CRLF included.
pub const MAX_COMMAND_LINE: usize = 2048;

/// The step in which a message's memory is taken from the budget.
pub const MEMORY_UNIT: usize = 64 * 1024;

/// The client closed the connection (or it failed) mid-read.
#[derive(Debug)]
pub struct Closed;

/// One command line as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line with its line ending.
    Complete(Vec<u8>),
    /// Longer than [`MAX_COMMAND_LINE`]; read to its end and dropped.
    TooLong,
}

/// Reads one command line.
pub async fn command_line(conn: &mut Conn) -> Result<Line, Closed> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = conn.fill_buf().await.map_err(|_| Closed)?;
        if available.is_empty() {
            return Err(Closed);
        }
        let (taken, done) = match memchr::memchr(b'\n', available) {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        if !too_long && line.len() + taken <= MAX_COMMAND_LINE {
            line.extend_from_slice(&available[..taken]);
        } else {
            too_long = true;
            line = Vec::new();
        }
        conn.consume(taken);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete(line)
            });
        }
    }
}

/// The DATA section as read.
#[derive(Debug)]
pub enum Body {
    /// The message, unstuffed, with the budget it holds.
    Message(Vec<u8>, OwnedSemaphorePermit),
    /// Over the message size limit; dropped.
    TooLarge,
    /// The memory budget ran out; dropped.
    NoRoom,
}

/// The memory budget of message data across sessions, in
/// [`MEMORY_UNIT`]s.
pub fn memory_budget(bytes: usize) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(bytes.div_ceil(MEMORY_UNIT).max(1)))
}

/// Reads the DATA section, up to its terminating `.` line.
pub async fn data(conn: &mut Conn, limit: usize, memory: &Arc<Semaphore>) -> Result<Body, Closed> {
    let mut receiver = DataReceiver::new();
    let mut scratch = Vec::new();
    // The receiver finds the end and stuffed dots only after a CRLF; the
    // DATA command's own CRLF is one, so a message that is empty or
    // opens with a stuffed dot is read right.
    receiver.ingest(&mut b"\r\n".iter(), &mut scratch);
    scratch.clear();
    let mut message = Vec::new();
    let mut held = Arc::clone(memory)
        .try_acquire_many_owned(0)
        .map_err(|_| Closed)?;
    let mut dropped: Option<Body> = None;
    loop {
        let available = conn.fill_buf().await.map_err(|_| Closed)?;
        if available.is_empty() {
            return Err(Closed);
        }
        let mut bytes = available.iter();
        let sink = if dropped.is_some() {
            &mut scratch
        } else {
            &mut message
        };
        let done = receiver.ingest(&mut bytes, sink);
        let used = available.len() - bytes.as_slice().len();
        conn.consume(used);
        scratch.clear();
        if dropped.is_none() {
            if message.len() > limit {
                dropped = Some(Body::TooLarge);
            } else if !hold(memory, &mut held, message.len()) {
                dropped = Some(Body::NoRoom);
            }
            if dropped.is_some() {
                message = Vec::new();
                held = Arc::clone(memory)
                    .try_acquire_many_owned(0)
                    .map_err(|_| Closed)?;
            }
        }
        if done {
            return Ok(dropped.unwrap_or(Body::Message(message, held)));
        }
    }
}

/// Grows `held` to cover `bytes`; `false` when the budget cannot.
fn hold(memory: &Arc<Semaphore>, held: &mut OwnedSemaphorePermit, bytes: usize) -> bool {
    let needed = bytes.div_ceil(MEMORY_UNIT);
    let have = held.num_permits();
    if needed <= have {
        return true;
    }
    let Ok(more) = u32::try_from(needed - have) else {
        return false;
    };
    match Arc::clone(memory).try_acquire_many_owned(more) {
        Ok(permit) => {
            held.merge(permit);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn conn_with(input: &'static [u8]) -> Conn {
        let (client, server) = tokio::io::duplex(64);
        tokio::spawn(async move {
            let mut client = client;
            let _ = client.write_all(input).await;
            let _ = client.shutdown().await;
            // Keep the pipe open until the reader is done.
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        });
        BufReader::with_capacity(16, Box::new(server))
    }

    #[tokio::test]
    async fn lines_past_the_cap_are_dropped_whole() {
        let long: &'static [u8] = Box::leak(
            [vec![b'A'; MAX_COMMAND_LINE + 10], b"\r\nNOOP\r\n".to_vec()]
                .concat()
                .into_boxed_slice(),
        );
        let mut conn = conn_with(long).await;
        assert_eq!(command_line(&mut conn).await.unwrap(), Line::TooLong);
        assert_eq!(
            command_line(&mut conn).await.unwrap(),
            Line::Complete(b"NOOP\r\n".to_vec())
        );
        assert!(command_line(&mut conn).await.is_err());
    }

    #[tokio::test]
    async fn data_is_unstuffed_and_capped() {
        let memory = memory_budget(1 << 20);
        let mut conn = conn_with(b"a: b\r\n\r\n..dot\r\n.\r\nQUIT\r\n").await;
        match data(&mut conn, 100, &memory).await.unwrap() {
            Body::Message(m, _) => assert_eq!(m, b"a: b\r\n\r\n.dot\r\n"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            command_line(&mut conn).await.unwrap(),
            Line::Complete(b"QUIT\r\n".to_vec()),
            "what follows the data is the next command"
        );
        let mut conn = conn_with(b"..first\r\n.\r\n").await;
        match data(&mut conn, 100, &memory).await.unwrap() {
            Body::Message(m, _) => assert_eq!(m, b".first\r\n"),
            other => panic!("{other:?}"),
        }
        let mut conn = conn_with(b".\r\n").await;
        match data(&mut conn, 100, &memory).await.unwrap() {
            Body::Message(m, _) => assert!(m.is_empty()),
            other => panic!("{other:?}"),
        }
        let mut conn = conn_with(b"0123456789\r\n0123456789\r\n.\r\nQUIT\r\n").await;
        assert!(matches!(
            data(&mut conn, 15, &memory).await.unwrap(),
            Body::TooLarge
        ));
        assert_eq!(
            command_line(&mut conn).await.unwrap(),
            Line::Complete(b"QUIT\r\n".to_vec())
        );
    }

    #[tokio::test]
    async fn the_memory_budget_is_shared_and_given_back() {
        let memory = memory_budget(MEMORY_UNIT);
        let mut conn = conn_with(b"small\r\n.\r\n").await;
        let held = data(&mut conn, 1 << 20, &memory).await.unwrap();
        let mut conn = conn_with(b"other\r\n.\r\n").await;
        assert!(matches!(
            data(&mut conn, 1 << 20, &memory).await.unwrap(),
            Body::NoRoom
        ));
        drop(held);
        let mut conn = conn_with(b"other\r\n.\r\n").await;
        assert!(matches!(
            data(&mut conn, 1 << 20, &memory).await.unwrap(),
            Body::Message(..)
        ));
    }
}
