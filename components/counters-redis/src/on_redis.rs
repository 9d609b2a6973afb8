//! The counters contract on Redis: every operation one command or one
//! script, so one round trip to a Redis that may sit tens of milliseconds
//! from the edge region. Keys carry their ttl, so Redis forgets them and
//! nothing is swept.

use std::rc::Rc;

use wws_guest::bindings::fermyon::spin::redis::{self, Connection, RedisParameter, RedisResult};
use wws_guest::kv::{Addition, Counters, KvError};

use crate::scripts;

pub struct CountersOnRedis {
    connection: Rc<Connection>,
    /// Put before every key, so apps (or test runs) sharing one Redis keep
    /// apart (`redis_key_prefix`).
    prefix: String,
}

impl CountersOnRedis {
    pub fn new(connection: Rc<Connection>, prefix: String) -> Self {
        Self { connection, prefix }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn keys(&self, keys: &[String]) -> Vec<String> {
        keys.iter().map(|key| self.key(key)).collect()
    }

    fn run(
        &self,
        command: &str,
        arguments: &[RedisParameter],
    ) -> Result<Vec<RedisResult>, KvError> {
        self.connection
            .execute(command, arguments)
            .map_err(|error| KvError::Store(describe(&error)))
    }

    fn eval(&self, arguments: &[RedisParameter]) -> Result<Vec<RedisResult>, KvError> {
        self.run("EVAL", arguments)
    }
}

/// What an error says, never the address (it may hold the password).
pub fn describe(error: &redis::Error) -> String {
    match error {
        redis::Error::InvalidAddress => "redis: invalid or not allowed address".into(),
        redis::Error::TooManyConnections => "redis: too many connections".into(),
        redis::Error::TypeError => "redis: a key holds the wrong type".into(),
        redis::Error::Other(message) => format!("redis: {message}"),
    }
}

fn unexpected(error: scripts::UnexpectedReply) -> KvError {
    KvError::Store(error.to_string())
}

impl Counters for CountersOnRedis {
    fn add_then_read(&self, additions: &[Addition], keys: &[String]) -> Result<Vec<i64>, KvError> {
        if additions.is_empty() {
            return self.read(keys);
        }
        let additions: Vec<Addition> = additions
            .iter()
            .map(|addition| Addition {
                key: self.key(&addition.key),
                ..addition.clone()
            })
            .collect();
        let reply = self.eval(&scripts::add_then_read(&additions, &self.keys(keys)))?;
        scripts::counters(&reply, keys.len()).map_err(unexpected)
    }

    fn add(&self, key: &str, delta: i64, ttl_secs: u32) -> Result<i64, KvError> {
        let reply = self.eval(&scripts::add(&self.key(key), delta, ttl_secs))?;
        scripts::single_integer(&reply, "an add").map_err(unexpected)
    }

    fn read(&self, keys: &[String]) -> Result<Vec<i64>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let reply = self.run("MGET", &scripts::keys(&self.keys(keys)))?;
        scripts::counters(&reply, keys.len()).map_err(unexpected)
    }

    fn claim(&self, key: &str, ttl_secs: u32) -> Result<bool, KvError> {
        let reply = self.run("SET", &scripts::claim(&self.key(key), ttl_secs))?;
        scripts::claimed(&reply).map_err(unexpected)
    }

    fn record(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.connection
            .get(&self.key(key))
            .map_err(|error| KvError::Store(describe(&error)))
    }

    fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        value: &[u8],
        ttl_secs: u32,
    ) -> Result<bool, KvError> {
        let key = self.key(key);
        let reply = self.eval(&scripts::compare_and_set(&key, expected, value, ttl_secs))?;
        Ok(scripts::single_integer(&reply, "a compare-and-set").map_err(unexpected)? == 1)
    }

    fn remove(&self, keys: &[String]) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.connection
            .del(&self.keys(keys))
            .map(drop)
            .map_err(|error| KvError::Store(describe(&error)))
    }

    fn forgets(&self) -> bool {
        true
    }
}
