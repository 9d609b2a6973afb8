//! One keep-alive HTTP/1.1 connection per worker, reopened after any error,
//! as a client SDK holds it. Bodies are read to the end so a stream is only
//! judged once it finished.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

pub struct Client {
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    pub fn new(base_url: &str) -> Self {
        Self {
            authority: base_url.trim_start_matches("http://").to_string(),
            sender: None,
        }
    }

    pub async fn send(&mut self, request: hyper::Request<Full<Bytes>>) -> Result<Answer> {
        let answer = self.try_send(request).await;
        if answer.is_err() {
            // The connection may be half-broken; the next request starts afresh.
            self.sender = None;
        }
        answer
    }

    async fn try_send(&mut self, mut request: hyper::Request<Full<Bytes>>) -> Result<Answer> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            slot => slot.insert(connect(&self.authority).await?),
        };
        request
            .headers_mut()
            .insert(hyper::header::HOST, self.authority.parse()?);
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let (head, body) = response.into_parts();
        let body = body.collect().await.context("body broke")?.to_bytes();
        Ok(Answer {
            status: head.status.as_u16(),
            headers: head.headers,
            body,
        })
    }
}

async fn connect(authority: &str) -> Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}
