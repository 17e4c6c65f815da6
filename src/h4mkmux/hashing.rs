//! Merkle leaf hashing off the streaming thread, so that muxing is not bound to one core's
//! SHA-256 speed. Jobs hold references to the input buffers, not copies. Blocks are hashed
//! several at a time ([`leaf_hashes`]: four messages interleaved on one core hash about 1.7
//! times as fast as one): a worker waits for a full batch, so that the lanes stay busy and it
//! wakes once per batch rather than per block; no hash is needed before the next checkpoint,
//! when whatever is queued is hashed at once. When the queue is full the submitting thread
//! hashes a batch itself, so input never waits on a backlog and memory stays bounded.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::format::merkle::{Hash, leaf_hashes};
use crate::format::writer::BlockHead;

/// Blocks hashed together: enough to keep four lanes busy while some end before others.
const BATCH: usize = 8;
/// Blocks waiting before the submitting thread hashes a batch itself.
const QUEUE_MAX: usize = 2 * BATCH;

struct Job {
    leaf: u64,
    head: BlockHead,
    payload: Option<gst::Buffer>,
}

/// The leaf hashes of `jobs`, with their leaf numbers; `None` if a payload cannot be mapped.
fn hash_batch(jobs: &[Job]) -> Option<Vec<(u64, Hash)>> {
    let maps = jobs
        .iter()
        .map(|j| match &j.payload {
            Some(p) => p.map_readable().ok().map(Some),
            None => Some(None),
        })
        .collect::<Option<Vec<_>>>()?;
    let parts: Vec<[&[u8]; 2]> = jobs
        .iter()
        .zip(&maps)
        .map(|(j, m)| [&j.head[..], m.as_ref().map_or(&[][..], |m| &m[..])])
        .collect();
    let chunks: Vec<&[&[u8]]> = parts.iter().map(|p| &p[..]).collect();
    let hashes = leaf_hashes(&chunks);
    Some(jobs.iter().map(|j| j.leaf).zip(hashes).collect())
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Job>,
    done: Vec<(u64, Hash)>,
    idle: usize,
    failed: bool,
    closing: bool,
    /// Every hash is wanted now: workers take partial batches too.
    draining: bool,
}

impl Shared {
    /// Whether a worker should hash now: a full batch waits, or everything is wanted.
    fn batch_ready(&self) -> bool {
        self.queue.len() >= BATCH || (self.draining && !self.queue.is_empty())
    }

    fn take_batch(&mut self) -> Vec<Job> {
        let n = self.queue.len().min(BATCH);
        self.queue.drain(..n).collect()
    }

    fn finish_batch(&mut self, result: Option<Vec<(u64, Hash)>>) {
        match result {
            Some(mut r) => self.done.append(&mut r),
            None => self.failed = true,
        }
    }
}

#[derive(Default)]
struct Sync {
    shared: Mutex<Shared>,
    /// Signalled when a job is queued or the pool closes.
    work: Condvar,
    /// Signalled when a batch finishes.
    finished: Condvar,
}

impl Sync {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hashes one batch from the queue on this thread, the lock released meanwhile.
    fn hash_here<'a>(&'a self, mut shared: MutexGuard<'a, Shared>) -> MutexGuard<'a, Shared> {
        let batch = shared.take_batch();
        drop(shared);
        let result = hash_batch(&batch);
        drop(batch);
        let mut shared = self.lock();
        shared.finish_batch(result);
        self.finished.notify_all();
        shared
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

    /// Queues the hashing of `head` followed by `payload`'s bytes; hashes a batch here when
    /// the queue is full.
    pub fn submit(&mut self, leaf: u64, head: BlockHead, payload: Option<gst::Buffer>) {
        let mut shared = self.sync.lock();
        shared.queue.push_back(Job {
            leaf,
            head,
            payload,
        });
        self.outstanding += 1;
        if shared.queue.len() >= QUEUE_MAX {
            drop(self.sync.hash_here(shared));
        } else if shared.queue.len().is_multiple_of(BATCH) && shared.idle > 0 {
            drop(shared);
            self.sync.work.notify_one();
        }
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

    /// Every outstanding hash, helping with the queued ones; `None` if one could not be
    /// computed.
    pub fn wait_all(&mut self) -> Option<Vec<(u64, Hash)>> {
        let mut all = Vec::with_capacity(self.outstanding);
        let mut shared = self.sync.lock();
        shared.draining = true;
        self.sync.work.notify_all();
        loop {
            if shared.failed {
                shared.draining = false;
                return None;
            }
            self.outstanding -= shared.done.len();
            all.append(&mut shared.done);
            if self.outstanding == 0 {
                shared.draining = false;
                return Some(all);
            }
            shared = if shared.queue.is_empty() {
                self.sync
                    .finished
                    .wait(shared)
                    .unwrap_or_else(|e| e.into_inner())
            } else {
                self.sync.hash_here(shared)
            };
        }
    }
}

fn work(sync: &Sync) {
    let mut shared = sync.lock();
    loop {
        if shared.batch_ready() {
            shared = sync.hash_here(shared);
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
    use crate::format::merkle::leaf_hash;

    #[test]
    fn hashes_match_the_inline_leaf_hash() {
        gst::init().unwrap();
        let mut pool = HashPool::new(2);
        let mut want = Vec::new();
        for i in 0..100u64 {
            let head = BlockHead::from_slice(&vec![i as u8; 52 + (i as usize % 3) * 10]).unwrap();
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
