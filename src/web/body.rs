//! The response body: a list of reference-counted pieces sent one after another. The metrics
//! exposition is served as the pieces of its segments (headers and each segment's samples)
//! without joining them into one more copy of the text.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// A body of pieces, its length known up front (so it goes out with `Content-Length`).
#[derive(Debug, Default)]
pub struct Pieces {
    pieces: VecDeque<Bytes>,
    remaining: u64,
}

impl Pieces {
    /// A body of `pieces`, in order.
    pub fn new(pieces: impl IntoIterator<Item = Bytes>) -> Self {
        let pieces: VecDeque<Bytes> = pieces
            .into_iter()
            .filter(|piece| !piece.is_empty())
            .collect();
        let remaining = pieces.iter().map(|piece| piece.len() as u64).sum();
        Self { pieces, remaining }
    }
}

impl From<Bytes> for Pieces {
    fn from(bytes: Bytes) -> Self {
        Self::new([bytes])
    }
}

impl From<String> for Pieces {
    fn from(text: String) -> Self {
        Self::from(Bytes::from(text))
    }
}

impl HttpBody for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let piece = self.pieces.pop_front();
        if let Some(piece) = &piece {
            self.remaining -= piece.len() as u64;
        }
        Poll::Ready(piece.map(|piece| Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn pieces_arrive_in_order_with_their_exact_length() {
        let pieces: [&'static [u8]; 3] = [b"# HELP", b"", b" x\n"];
        let body = Pieces::new(pieces.map(Bytes::from_static));
        assert_eq!(body.size_hint().exact(), Some(9));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, Bytes::from_static(b"# HELP x\n"));
    }
}
