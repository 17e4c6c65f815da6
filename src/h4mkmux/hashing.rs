//! Merkle leaf hashing off the streaming thread, so that muxing is not bound to one core's
//! SHA-256 speed. Jobs hold references to the input buffers, not copies. When every worker is
//! busy the submitting thread hashes the block itself instead of queueing it: it would
//! otherwise sit idle waiting for input while the backlog grows, and fewer threads fighting
//! over the cores means fewer context switches.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::format::merkle::{Hash, leaf_hash};
use crate::format::writer::BLOCK_HEAD_LEN;

struct Job {
    leaf: u64,
    head: [u8; BLOCK_HEAD_LEN],
    payload: Option<gst::Buffer>,
}

impl Job {
    /// The leaf hash; `None` if the payload cannot be mapped.
    fn run(&self) -> Option<(u64, Hash)> {
        let hash = match &self.payload {
            Some(p) => leaf_hash(&[&self.head, &p.map_readable().ok()?]),
            None => leaf_hash(&[&self.head]),
        };
        Some((self.leaf, hash))
    }
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Job>,
    done: Vec<(u64, Hash)>,
    idle: usize,
    failed: bool,
    closing: bool,
    /// The owner is blocked in `wait_all`.
    draining: bool,
}

#[derive(Default)]
struct Sync {
    shared: Mutex<Shared>,
    /// Signalled when a job is queued or the pool closes.
    work: Condvar,
    /// Signalled when a job finishes.
    finished: Condvar,
}

impl Sync {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct HashPool {
    sync: Arc<Sync>,
    workers: Vec<JoinHandle<()>>,
    outstanding: usize,
}

impl HashPool {
    /// A pool of `threads` workers (at least one).
    pub fn new(threads: usize) -> Self {
        let sync = Arc::new(Sync::default());
        let workers = (0..threads.max(1))
            .map(|i| {
                let sync = sync.clone();
                std::thread::Builder::new()
                    .name(format!("h4mkmux-hash-{i}"))
                    .spawn(move || work(&sync))
                    .expect("spawning a hash thread")
            })
            .collect();
        HashPool {
            sync,
            workers,
            outstanding: 0,
        }
    }

    /// Hashes `head` followed by `payload`'s bytes: on an idle worker, or here if none is idle.
    pub fn submit(&mut self, leaf: u64, head: [u8; BLOCK_HEAD_LEN], payload: Option<gst::Buffer>) {
        let job = Job {
            leaf,
            head,
            payload,
        };
        let mut shared = self.sync.lock();
        if shared.idle > shared.queue.len() {
            shared.queue.push_back(job);
            drop(shared);
            self.sync.work.notify_one();
        } else {
            drop(shared);
            let result = job.run();
            let mut shared = self.sync.lock();
            match result {
                Some(r) => shared.done.push(r),
                None => shared.failed = true,
            }
        }
        self.outstanding += 1;
    }

    /// The hashes finished so far, without waiting; `None` if one could not be computed.
    pub fn ready(&mut self) -> Option<Vec<(u64, Hash)>> {
        let mut shared = self.sync.lock();
        if shared.failed {
            return None;
        }
        let done = std::mem::take(&mut shared.done);
        self.outstanding -= done.len();
        Some(done)
    }

    /// Every outstanding hash; `None` if one could not be computed.
    pub fn wait_all(&mut self) -> Option<Vec<(u64, Hash)>> {
        let mut all = Vec::with_capacity(self.outstanding);
        let mut shared = self.sync.lock();
        loop {
            if shared.failed {
                return None;
            }
            self.outstanding -= shared.done.len();
            all.append(&mut shared.done);
            if self.outstanding == 0 {
                return Some(all);
            }
            shared.draining = true;
            shared = self
                .sync
                .finished
                .wait(shared)
                .unwrap_or_else(|e| e.into_inner());
            shared.draining = false;
        }
    }
}

fn work(sync: &Sync) {
    let mut shared = sync.lock();
    loop {
        if let Some(job) = shared.queue.pop_front() {
            drop(shared);
            let result = job.run();
            drop(job);
            shared = sync.lock();
            match result {
                Some(r) => shared.done.push(r),
                None => shared.failed = true,
            }
            if shared.draining {
                sync.finished.notify_one();
            }
        } else if shared.closing {
            return;
        } else {
            shared.idle += 1;
            shared = sync.work.wait(shared).unwrap_or_else(|e| e.into_inner());
            shared.idle -= 1;
        }
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.sync.lock().closing = true;
        self.sync.work.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_inline_leaf_hash() {
        gst::init().unwrap();
        let mut pool = HashPool::new(2);
        let mut want = Vec::new();
        for i in 0..100u64 {
            let head = [i as u8; BLOCK_HEAD_LEN];
            let data = vec![(i * 3) as u8; (i * 97 % 5000) as usize];
            want.push((i, leaf_hash(&[&head, &data])));
            let payload = (!data.is_empty()).then(|| gst::Buffer::from_slice(data));
            pool.submit(i, head, payload);
        }
        let mut got = pool.ready().unwrap();
        got.extend(pool.wait_all().unwrap());
        got.sort();
        assert_eq!(got, want);
    }
}
