//! A provider's answer as the gateway holds it before passing it on.

use std::io::{Cursor, Read};

use wws_guest::http::{BodyReader, HttpError};

use crate::bindings::mylder::wws::router::Target;
use crate::head::Head;

pub enum AnswerBody {
    /// Still arriving; `first` is what was read before committing to it.
    Live { first: Vec<u8>, rest: BodyReader },
    /// Read whole already (error answers, which are small).
    Buffered(Vec<u8>),
}

impl AnswerBody {
    /// The whole body as one reader, the part already read first.
    pub fn into_reader(self) -> Box<dyn Read> {
        match self {
            AnswerBody::Buffered(body) => Box::new(Cursor::new(body)),
            AnswerBody::Live { first, rest } => Box::new(Cursor::new(first).chain(rest)),
        }
    }
}

pub enum Bounded {
    Whole(Vec<u8>),
    TooLarge(Answer),
}

pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: AnswerBody,
    pub target: Target,
    /// Upstream calls made to get this answer, retries included.
    pub attempts: u32,
}

impl Answer {
    /// The response head every use of an answer shares: status, content
    /// type, and which provider and model produced it after how many calls.
    pub fn head(&self) -> Head {
        let mut head = Head::new(self.status);
        if let Some(content_type) = &self.content_type {
            head.set("content-type", content_type.clone());
        }
        head.set("x-wws-provider", self.target.provider.clone());
        head.set("x-wws-model", self.target.model.clone());
        head.set("x-wws-attempts", self.attempts.to_string());
        head
    }

    /// Reads the whole body if it is at most `limit` bytes; a larger one
    /// comes back as an answer still to be streamed, its read part in front.
    pub fn read_bounded(mut self, limit: usize) -> Result<Bounded, HttpError> {
        match self.body {
            AnswerBody::Buffered(body) => Ok(Bounded::Whole(body)),
            AnswerBody::Live { mut first, rest } => {
                let wanted = (limit + 1).saturating_sub(first.len()) as u64;
                let mut limited = rest.take(wanted);
                limited
                    .read_to_end(&mut first)
                    .map_err(|error| HttpError::Transport(error.to_string()))?;
                if first.len() <= limit {
                    return Ok(Bounded::Whole(first));
                }
                self.body = AnswerBody::Live {
                    first,
                    rest: limited.into_inner(),
                };
                Ok(Bounded::TooLarge(self))
            }
        }
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    pub fn read_all(self, limit: usize) -> Result<Vec<u8>, HttpError> {
        match self.read_bounded(limit)? {
            Bounded::Whole(body) => Ok(body),
            Bounded::TooLarge(_) => Err(HttpError::TooLarge(limit)),
        }
    }
}

/// Largest plain completion read whole to be cached; larger ones are passed
/// through as `BYPASS` (Spin's default store refuses values over 1 MB).
pub const MAX_CACHED_BODY: usize = 1024 * 1024;
