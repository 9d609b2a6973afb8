//! Who may hold what: open connections and running guest instances are
//! counted per client address, so one client cannot take every instance
//! (or every socket) and leave the others, health checks included, with
//! nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts of something a client holds, per client address.
#[derive(Clone, Default)]
pub struct PerClient {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerClient {
    /// One more for `client`, unless it already holds `cap` (0: no cap).
    /// The claim is given back when the returned guard is dropped.
    pub fn claim(&self, client: IpAddr, cap: usize) -> Option<Claim> {
        let mut counts = self.counts.lock().ok()?;
        let held = counts.entry(client).or_default();
        if cap != 0 && *held >= cap {
            return None;
        }
        *held += 1;
        Some(Claim {
            counts: self.counts.clone(),
            client,
        })
    }

    /// How many `client` holds now.
    #[cfg(test)]
    fn held(&self, client: IpAddr) -> usize {
        self.counts
            .lock()
            .map(|counts| counts.get(&client).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// One unit held by one client; released on drop.
pub struct Claim {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock()
            && let Some(held) = counts.get_mut(&self.client)
        {
            *held = held.saturating_sub(1);
            // Addresses come and go: an entry lives only while it holds something.
            if *held == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const BOB: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_client_at_its_cap_is_refused_and_others_are_not() {
        let counts = PerClient::default();
        let first = counts.claim(ALICE, 2);
        let second = counts.claim(ALICE, 2);
        assert!(first.is_some() && second.is_some());
        assert!(counts.claim(ALICE, 2).is_none());
        assert!(counts.claim(BOB, 2).is_some());
    }

    #[test]
    fn dropping_a_claim_gives_it_back_and_forgets_idle_addresses() {
        let counts = PerClient::default();
        let claim = counts.claim(ALICE, 1);
        assert!(counts.claim(ALICE, 1).is_none());
        drop(claim);
        assert_eq!(counts.held(ALICE), 0);
        assert!(counts.counts.lock().is_ok_and(|map| map.is_empty()));
        assert!(counts.claim(ALICE, 1).is_some());
    }

    #[test]
    fn zero_means_no_cap() {
        let counts = PerClient::default();
        let claims: Vec<_> = (0..1000).filter_map(|_| counts.claim(ALICE, 0)).collect();
        assert_eq!(claims.len(), 1000);
    }
}
