//! The gateway serving now, and its replacement when the supergraph changes. Every request
//! takes the current [`Gateway`] once, as it comes in ([`crate::http`]), and keeps it to
//! the end; a reload swaps in a gateway built on the new supergraph for the requests
//! after it, so no request is dropped or sees two schemas. What lives across supergraphs
//! — the callers' checks, the access log, caches, rate limits, metrics — is carried over
//! by [`Gateway::reloaded`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::pipeline::Gateway;

/// The gateway serving now.
pub struct LiveGateway {
    current: RwLock<Arc<Gateway>>,
    /// Shutting down: still serving, but no longer to be sent requests.
    draining: AtomicBool,
}

impl LiveGateway {
    pub fn new(gateway: Gateway) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(Arc::new(gateway)),
            draining: AtomicBool::new(false),
        })
    }

    /// The gateway a request that starts now is served by.
    pub fn current(&self) -> Arc<Gateway> {
        // A panic while holding the lock leaves the gateway as it was: still a whole one.
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Serves the requests from now on with `gateway`; requests under way finish with the
    /// one they started with.
    pub fn replace(&self, gateway: Gateway) {
        let gateway = Arc::new(gateway);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = gateway;
    }

    /// Marks the process as shutting down: readiness fails from now on.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether the process is shutting down.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
