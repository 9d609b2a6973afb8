//! A request body that must keep arriving: a client that stops sending in
//! the middle of its body would otherwise hold the guest instance reading
//! it, and its connection, for as long as it likes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Wraps a body so that a gap longer than `idle` between frames ends it
/// with a read timeout, which the guest sees as a failed body read.
pub struct IdleDeadline<B> {
    inner: Pin<Box<B>>,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<B> IdleDeadline<B> {
    pub fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl<B> Body for IdleDeadline<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = Instant::now() + this.idle;
                this.deadline.as_mut().reset(next);
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn chunks(
        receiver: tokio::sync::mpsc::Receiver<Bytes>,
    ) -> impl Body<Data = Bytes, Error = wasmtime_wasi_http::Error> {
        let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
        let frames = tokio_stream::StreamExt::map(stream, |bytes| {
            Ok::<_, wasmtime_wasi_http::Error>(Frame::data(bytes))
        });
        StreamBody::new(frames)
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_coming_is_read_whole() {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let body = IdleDeadline::new(chunks(receiver), Duration::from_secs(1));
        let feeding = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(900)).await;
                let _ = sender.send(Bytes::from_static(b"ab")).await;
            }
        });
        let collected = body.collect().await.map(|body| body.to_bytes());
        let _ = feeding.await;
        assert!(matches!(collected, Ok(bytes) if bytes.as_ref() == b"ababababab"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_ends_with_a_read_timeout() {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let mut body = IdleDeadline::new(chunks(receiver), Duration::from_secs(1));
        let _ = sender.send(Bytes::from_static(b"a")).await;
        assert!(matches!(body.frame().await, Some(Ok(_))));
        let started = Instant::now();
        let ended = body.frame().await;
        assert!(matches!(
            ended,
            Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout))
        ));
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        drop(sender);
    }
}
